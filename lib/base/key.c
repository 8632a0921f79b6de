/* key.c: index keys (BLAKE2b), checksums and hex. */
#include <sodium.h>
#include <string.h>

#include "base/base.h"

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static void
key_part(crypto_generichash_state *s, const void *p, size_t n)
{
	unsigned char len[4];

	le32(len, (uint32_t)n);
	crypto_generichash_update(s, len, 4);
	crypto_generichash_update(s, p, n);
}

void
desk_key(struct desk_key *k, const char *kind, int nparts, ...)
{
	crypto_generichash_state s;
	va_list ap;

	crypto_generichash_init(&s, NULL, 0, sizeof k->h);
	key_part(&s, kind, strlen(kind));
	va_start(ap, nparts);
	for (int i = 0; i < nparts; i++) {
		const void *p = va_arg(ap, const void *);
		size_t n = va_arg(ap, size_t);
		key_part(&s, p, n);
	}
	va_end(ap);
	crypto_generichash_final(&s, k->h, sizeof k->h);
	/* All zeroes marks an empty index entry. */
	k->h[0] |= !memcmp(k->h, (unsigned char[16]){ 0 }, 16);
}

void
desk_key_id(struct desk_key *k, const char *kind, uint64_t id, const char *s)
{
	unsigned char b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(id >> (8 * i));
	desk_key(k, kind, 2, b, (size_t)8, s ? s : "", s ? strlen(s) : (size_t)0);
}

void
desk_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

uint32_t
desk_crc32(const void *p, size_t n)
{
	static uint32_t table[256];
	const unsigned char *c = p;
	uint32_t crc = 0xffffffffu;

	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;
			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
	while (n--)
		crc = table[(crc ^ *c++) & 0xff] ^ (crc >> 8);
	return crc ^ 0xffffffffu;
}

uint32_t
desk_hash32(const char *s, size_t n)
{
	uint32_t h = 2166136261u;    /* FNV-1a */

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h ? h : 1;
}

void
desk_hex(const unsigned char *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}
