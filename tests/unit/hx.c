/*
 * Unit tests for lib/hx.c through a real store: many keys, growth, updates,
 * and lookups from a second handle that did not do the writing.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

int
main(void)
{
	char dir[] = "/tmp/desk-unit-hx.XXXXXX";
	struct desk_key k;
	uint64_t v;
	uint32_t aux;
	int bad = 0;
	enum { N = 60000 };
	struct desk_store *st = scratch_writer(dir);

	for (uint64_t i = 0; i < N; i++) {
		desk_key_id(&k, "test", i, "x");
		desk_hx_put(st, &k, i * 3, (uint32_t)i);
	}
	for (uint64_t i = 0; i < N; i++) {
		desk_key_id(&k, "test", i, "x");
		if (!desk_hx_get(st, &k, &v, &aux) || v != i * 3 || aux != (uint32_t)i)
			bad++;
	}
	ok(bad == 0, "%d keys through several doublings: all found (%d bad)", N, bad);
	desk_key_id(&k, "test", N + 1, "x");
	ok(!desk_hx_get(st, &k, &v, &aux), "a key never put is absent");
	desk_key_id(&k, "test", 7, "y");
	ok(!desk_hx_get(st, &k, &v, &aux), "the same id with another string is another key");
	desk_key_id(&k, "test", 7, "x");
	desk_hx_put(st, &k, 12345, 9);
	ok(desk_hx_get(st, &k, &v, &aux) && v == 12345 && aux == 9, "put over an existing key updates it");
	desk_store_commit(st);

	/* A reader that opens the store afresh sees the same. */
	struct desk_store *r = desk_open(0);
	bad = 0;
	for (uint64_t i = 0; i < N; i += 7) {
		desk_key_id(&k, "test", i, "x");
		if (!desk_hx_get(r, &k, &v, NULL) || v != (i == 7 ? 12345 : i * 3))
			bad++;
	}
	ok(bad == 0, "a second handle reads them all (%d bad)", bad);
	desk_store_close(r);
	desk_store_close(st);

	/* Keys: parts are length-prefixed, so ("ab","c") is not ("a","bc"). */
	struct desk_key a, b;
	desk_key(&a, "k", 2, "ab", (size_t)2, "c", (size_t)1);
	desk_key(&b, "k", 2, "a", (size_t)1, "bc", (size_t)2);
	ok(memcmp(a.h, b.h, 16) != 0, "key parts cannot run into each other");

	/* desk_crc32's table, made in advance, against the bitwise CRC-32. */
	ok(desk_crc32("123456789", 9) == 0xcbf43926u, "CRC-32 check value");
	unsigned char bytes[256];
	int crc_ok = 1;
	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof bytes; len += 17) {
		uint32_t c = 0xffffffffu;
		for (size_t i = 0; i < len; i++) {
			c ^= bytes[i];
			for (int j = 0; j < 8; j++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		}
		crc_ok = crc_ok && desk_crc32(bytes, len) == (c ^ 0xffffffffu);
	}
	ok(crc_ok, "desk_crc32 agrees with the bitwise CRC-32");

	return done_testing_in(dir);
}
