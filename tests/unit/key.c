/*
 * Unit tests for desk_key (lib/base/key.c): keys are part of the store's
 * format, so each is checked against BLAKE2b-128 over the encoding
 * desk-store(5) gives (each part's length, 4 bytes little-endian, then its
 * bytes), computed here apart, the first time and again when the memo of
 * recent tuples answers, for tuples whose bytes run together alike.
 */
#include <sodium.h>
#include <string.h>

#include "desk.h"
#include "tap.h"

static void
part(crypto_generichash_state *s, const void *p, size_t n)
{
	unsigned char len[4] = { (unsigned char)n, (unsigned char)(n >> 8),
		(unsigned char)(n >> 16), (unsigned char)(n >> 24) };

	crypto_generichash_update(s, len, 4);
	crypto_generichash_update(s, p, n);
}

/* The key of (kind, a, b) as the format defines it. */
static struct desk_key
want(const char *kind, const char *a, size_t an, const char *b, size_t bn)
{
	crypto_generichash_state s;
	struct desk_key k;

	crypto_generichash_init(&s, NULL, 0, sizeof k.h);
	part(&s, kind, strlen(kind));
	part(&s, a, an);
	part(&s, b, bn);
	crypto_generichash_final(&s, k.h, sizeof k.h);
	k.h[0] |= !memcmp(k.h, (unsigned char[16]){ 0 }, 16);
	return k;
}

static int
same(const char *kind, const char *a, size_t an, const char *b, size_t bn)
{
	struct desk_key k, w = want(kind, a, an, b, bn);

	desk_key(&k, kind, 2, a, an, b, bn);
	return !memcmp(k.h, w.h, sizeof k.h);
}

int
main(void)
{
	static char big[300];
	const char *tuples[][2] = { { "ab", "c" }, { "a", "bc" }, { "abc", "" },
		{ "", "abc" }, { "app", "u-1" }, { "app", "u-10" } };
	int bad = 0;

	memset(big, 'x', sizeof big);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof tuples / sizeof *tuples; i++)
			bad += !same("ucid", tuples[i][0], strlen(tuples[i][0]),
			    tuples[i][1], strlen(tuples[i][1]));
	ok(bad == 0, "tuples alike in their bytes: each its own key, again from the memo (%d bad)", bad);
	bad = 0;
	for (int i = 0; i < 2000; i++) {
		char a[16];
		snprintf(a, sizeof a, "u-%d", i % 300);
		bad += !same("event", "app", 3, a, strlen(a));
	}
	ok(bad == 0, "2000 keys of 300 tuples, the memo's slots reused (%d bad)", bad);
	ok(same("conv", "app", 3, big, sizeof big) && same("conv", "app", 3, big,
	    sizeof big), "a tuple too long for the memo, twice");
	ok(same("conv", "app", 3, big, 190) && same("conv", "app", 3, big, 191),
	    "tuples about the memo's bound");
	return done_testing();
}
