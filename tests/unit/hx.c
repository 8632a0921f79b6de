/*
 * Unit tests for lib/hx.c through a real store: many keys, growth, updates,
 * and lookups from a second handle that did not do the writing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

/* Key i of those kept near groups: of 40 groups, with one of 3000 if big. */
static void
near_key(struct desk_key *k, uint64_t i, int big)
{
	struct desk_key g;

	desk_key_id(&g, "group", big && i >= 12000 ? 99 : i % 40, NULL);
	desk_key_id(k, "near", i, NULL);
	desk_key_near(k, &g);
}

/* Near keys 0 to n-1, every step-th, looked up: how many are not i + 1. */
static int
near_bad(struct desk_store *st, uint64_t n, uint64_t step, int big)
{
	struct desk_key k;
	uint64_t v;
	int bad = 0;

	for (uint64_t i = 0; i < n; i += step) {
		near_key(&k, i, big);
		if (!desk_hx_get(st, &k, &v, NULL) || v != i + 1)
			bad++;
	}
	return bad;
}

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

	/*
	 * Keys kept near a group: 40 groups of 300 and one of 3000, more than a
	 * bucket holds, so most spill to their homes' chains; the table
	 * doubles under them, then under the plain keys below.
	 */
	for (uint64_t i = 0; i < 15000; i++) {
		near_key(&k, i, 1);
		desk_hx_put(st, &k, i + 1, 0);
	}
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
	bad = near_bad(st, 15000, 1, 1);
	ok(bad == 0, "15000 keys near 41 groups, spilling and doubling: all found (%d bad)", bad);
	near_key(&k, 15001, 1);
	ok(!desk_hx_get(st, &k, &v, NULL), "a key near a group never put is absent");
	desk_key_id(&k, "near", 5, NULL);
	ok(!desk_hx_get(st, &k, &v, NULL), "... and the same key not near is another");
	desk_store_commit(st);

	/* A reader that opens the store afresh sees the same. */
	struct desk_store *r = desk_open(0);
	bad = 0;
	for (uint64_t i = 0; i < N; i += 7) {
		desk_key_id(&k, "test", i, "x");
		if (!desk_hx_get(r, &k, &v, NULL) || v != (i == 7 ? 12345 : i * 3))
			bad++;
	}
	bad += near_bad(r, 15000, 7, 1);
	ok(bad == 0, "a second handle reads them all, near keys too (%d bad)", bad);
	desk_store_close(r);
	desk_store_close(st);

	/*
	 * An older desk's index (version 1): every key at its home, also one
	 * with the near mark (1 in 65536 keys hashes to it), when it grows.
	 */
	char v1[96], path[128];
	snprintf(v1, sizeof v1, "%s/v1", dir);
	/* A store with one user made, then given an old, empty index. */
	st = desk_store_open(v1, DESK_ST_CREATE, &desk_store_schema);
	desk_store_lock(st);
	desk_slot_put(st, 0, 1, &(struct desk_slot){ .word = { 1 } });
	desk_store_commit(st);
	desk_store_close(st);
	snprintf(path, sizeof path, "%s/index/keys.hx", v1);
	static unsigned char head[4096 * 17] = "desk hx 1\n";
	head[16] = 16;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ok(fd >= 0 && write(fd, head, sizeof head) == (ssize_t)sizeof head &&
	    close(fd) == 0, "an empty version 1 index, as an older desk made it");
	st = desk_store_open(v1, 0, &desk_store_schema);
	desk_store_lock(st);
	ok(!desk_hx_near(st), "... keeps no key near");
	for (uint64_t i = 0; i < 15000; i++) {
		near_key(&k, i, 0);
		desk_hx_put(st, &k, i + 1, 0);
	}
	bad = near_bad(st, 15000, 1, 0);
	desk_store_commit(st);
	ok(bad == 0, "keys with the mark in it, through its doublings: all found (%d bad)", bad);
	char got[11] = "";
	fd = open(path, O_RDONLY);
	int n = fd >= 0 ? (int)read(fd, got, 10) : -1;
	if (fd >= 0)
		close(fd);
	ok(n == 10 && !strcmp(got, "desk hx 1\n"), "... and it is still version 1 "
	    "(%d: %.9s)", n, got);
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
