/* key.c: index keys (BLAKE2b), checksums and hex. */
#include <pthread.h>
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

/*
 * An event's keys are derived more than once (looked up, then set by
 * apply from the record; a user's looked up, then set again when the user
 * is saved): the last few tuples are kept with their keys, compared byte
 * for byte. What is hashed does not change: the same encoding, in one go.
 * The tuples are what the index and the log hold already (a code's is
 * its hash, never the code).
 */
#define KEY_MEMO 64
#define KEY_MEMO_MAX 200
static _Thread_local struct key_memo {
	size_t n;
	unsigned char in[KEY_MEMO_MAX];
	struct desk_key k;
} key_memo[KEY_MEMO];

/* Appends part p[0..n) with its length to the encoding e (*len bytes); 0 if over. */
static int
enc_part(unsigned char *e, size_t *len, const void *p, size_t n)
{
	if (n > KEY_MEMO_MAX - 4 || *len > KEY_MEMO_MAX - 4 - n)
		return 0;
	le32(e + *len, (uint32_t)n);
	if (n)
		memcpy(e + *len + 4, p, n);
	*len += 4 + n;
	return 1;
}

static void
key_final(struct desk_key *k, crypto_generichash_state *s)
{
	crypto_generichash_final(s, k->h, sizeof k->h);
	/* All zeroes marks an empty index entry. */
	k->h[0] |= !memcmp(k->h, (unsigned char[16]){ 0 }, 16);
}

void
desk_key(struct desk_key *k, const char *kind, int nparts, ...)
{
	crypto_generichash_state s;
	unsigned char e[KEY_MEMO_MAX];
	size_t len = 0;
	int fits = enc_part(e, &len, kind, strlen(kind));
	va_list ap;

	va_start(ap, nparts);
	for (int i = 0; i < nparts && fits; i++) {
		const void *p = va_arg(ap, const void *);
		size_t n = va_arg(ap, size_t);
		fits = enc_part(e, &len, p, n);
	}
	va_end(ap);
	if (fits) {
		uint32_t h = 2166136261u;      /* FNV-1a */
		for (size_t i = 0; i < len; i++)
			h = (h ^ e[i]) * 16777619u;
		struct key_memo *m = &key_memo[(h ^ (h >> 16)) % KEY_MEMO];
		if (m->n == len && !memcmp(m->in, e, len)) {
			*k = m->k;
			return;
		}
		crypto_generichash_init(&s, NULL, 0, sizeof k->h);
		crypto_generichash_update(&s, e, len);
		key_final(k, &s);
		m->n = len;
		memcpy(m->in, e, len);
		m->k = *k;
		return;
	}
	crypto_generichash_init(&s, NULL, 0, sizeof k->h);
	key_part(&s, kind, strlen(kind));
	va_start(ap, nparts);
	for (int i = 0; i < nparts; i++) {
		const void *p = va_arg(ap, const void *);
		size_t n = va_arg(ap, size_t);
		key_part(&s, p, n);
	}
	va_end(ap);
	key_final(k, &s);
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
desk_key_near(struct desk_key *k, const struct desk_key *group)
{
	k->h[10] = DESK_KEY_NEAR0;
	k->h[11] = DESK_KEY_NEAR1;
	memcpy(k->h + 12, group->h, 4);
}

void
desk_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

/*
 * CRC-32 (reflected, polynomial 0xedb88320), table made in advance: a
 * table filled on first use is a write that two threads can race on.
 * tests/unit/hx.c checks the table against the bitwise definition.
 */
static const uint32_t crc_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu,
	0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
	0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
	0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
	0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
	0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu,
	0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
	0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
	0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u, 0x01db7106u,
	0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
	0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du,
	0x91646c97u, 0xe6635c01u, 0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
	0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
	0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u,
	0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
	0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau,
	0xbe0b1010u, 0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
	0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
	0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u, 0xe3630b12u, 0x94643b84u,
	0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
	0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
	0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
	0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
	0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u,
	0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u,
	0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
	0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
	0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
	0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
	0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u,
	0x616bffd3u, 0x166ccf45u, 0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
	0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
	0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u, 0xcdd70693u,
	0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
	0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

/*
 * Eight bytes a step ("slicing-by-8"): crc8[k][b] is the table's entry for
 * b followed by k zero bytes. Every slot and index page written is summed,
 * a byte at a time that was some 3% of a reply's instructions.
 */
static uint32_t crc8[8][256];
static pthread_once_t crc8_once = PTHREAD_ONCE_INIT;

static void
crc8_init(void)
{
	for (int i = 0; i < 256; i++)
		crc8[0][i] = crc_table[i];
	for (int k = 1; k < 8; k++)
		for (int i = 0; i < 256; i++)
			crc8[k][i] = (crc8[k - 1][i] >> 8) ^
			    crc_table[crc8[k - 1][i] & 0xff];
}

uint32_t
desk_crc32(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint32_t crc = 0xffffffffu;

	(void)pthread_once(&crc8_once, crc8_init);
	for (; n >= 8; c += 8, n -= 8) {
		uint32_t a = crc ^ ((uint32_t)c[0] | (uint32_t)c[1] << 8 |
		    (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24);
		crc = crc8[7][a & 0xff] ^ crc8[6][(a >> 8) & 0xff] ^
		    crc8[5][(a >> 16) & 0xff] ^ crc8[4][a >> 24] ^
		    crc8[3][c[4]] ^ crc8[2][c[5]] ^ crc8[1][c[6]] ^ crc8[0][c[7]];
	}
	while (n--)
		crc = crc_table[(crc ^ *c++) & 0xff] ^ (crc >> 8);
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
