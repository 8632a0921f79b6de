/*
 * Unit tests for the packing of index/batch.redo's records: any bytes
 * come back whole, in at most 2n + 20 bytes, runs of zeros of any length
 * and literals past one length byte among them; a slot's mostly zero
 * bytes take less room; and packed bytes that do not make exactly the
 * length asked (cut short, one too many, a length that never ends) are
 * refused.
 */
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "store/engine.h"
#include "tap.h"

static unsigned char in[3 * 2 * 16385 + 70000], out[sizeof in];

/* Whether in[0..n) packs within bounds and unpacks to itself: its packed length, or 0. */
static size_t
round_trip(size_t n)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_buf_add(&b, "head", 4);       /* packs onto the end of what is there */
	desk_redo_pack(&b, in, n);
	size_t got = b.len - 4;
	memset(out, 0xa5, n + 1);
	int r = memcmp(b.p, "head", 4) == 0 && got <= 2 * n + 20 &&
	    desk_redo_unpack((unsigned char *)b.p + 4, got, out, n) == 0 &&
	    memcmp(in, out, n) == 0 && out[n] == 0xa5;
	desk_buf_free(&b);
	return r ? (got ? got : 1) : 0;
}

/* in[0..n) with each byte zero at odds zero in 1000, else 1..255. */
static void
fill(size_t n, int zero, unsigned *seed)
{
	for (size_t i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		unsigned r = (*seed >> 8) % 1000;
		in[i] = r < (unsigned)zero ? 0 : (unsigned char)(1 + (*seed >> 20) % 255);
	}
}

int
main(void)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 63,
	    64, 127, 128, 129, 200, 4096, 16383, 16384, 16385, 65536 };
	static const int zeros[] = { 0, 10, 300, 600, 900, 990, 1000 };
	unsigned seed = 42;
	int bad = 0, cases = 0;

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
		for (size_t z = 0; z < sizeof zeros / sizeof zeros[0]; z++)
			for (int k = 0; k < 4; k++) {
				fill(sizes[s], zeros[z], &seed);
				cases++;
				bad += !round_trip(sizes[s]);
			}
	ok(!bad, "%d of %d random buffers (0 to 64 KiB, none to all of their "
	    "bytes zero) come back whole from at most 2n + 20 bytes", cases - bad,
	    cases);

	/* Runs of every length about the cut (REDO_ZEROS) and the length bytes. */
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 8, 9, 127, 128, 129,
	    255, 256, 16383, 16384, 16385 };
	size_t nl = sizeof lens / sizeof lens[0];
	bad = 0;
	for (size_t i = 0; i < nl; i++)
		for (size_t j = 0; j < nl; j++) {
			size_t lit = lens[i], run = lens[j], n = 0;
			for (int rep = 0; rep < 3; rep++) {
				memset(in + n, 7, lit);
				memset(in + n + lit, 0, run);
				n += lit + run;
			}
			in[n++] = 9;
			bad += !round_trip(n) || !round_trip(n - 1);
		}
	ok(!bad, "literals of 0 to 16,385 bytes between zero runs of 0 to "
	    "16,385, ending in either: all whole");

	/* A slot: ids and positions in 64 bytes, the rest zero. */
	memset(in, 0, 64 * 100);
	for (int i = 0; i < 100; i++) {
		in[64 * i] = (unsigned char)i;
		in[64 * i + 8] = 0x40;
		in[64 * i + 9] = 0x12;
		memcpy(in + 64 * i + 60, "\x9b\x3c\x11\xe4", 4);
	}
	size_t got = round_trip(64 * 100);
	ok(got && got < 64 * 100 / 3, "100 slots of 64 bytes, mostly zero: %zu "
	    "bytes packed", got);

	/* What does not unpack to exactly the length asked. */
	struct desk_buf b = DESK_BUF_INIT;
	fill(5000, 600, &seed);
	desk_redo_pack(&b, in, 5000);
	const unsigned char *p = (const unsigned char *)b.p;
	ok(desk_redo_unpack(p, b.len, out, 5000) == 0, "a packed buffer unpacks");
	ok(desk_redo_unpack(p, b.len - 1, out, 5000) < 0, "... not cut short by a byte");
	ok(desk_redo_unpack(p, b.len, out, 4999) < 0, "... not to a byte fewer");
	ok(desk_redo_unpack(p, b.len, out, 5001) < 0, "... nor to one more");
	desk_buf_add(&b, "", 1);
	ok(desk_redo_unpack((const unsigned char *)b.p, b.len, out, 5000) < 0,
	    "... nor with a byte after its end");
	desk_buf_free(&b);
	static const unsigned char endless[12] = { 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
	ok(desk_redo_unpack(endless, sizeof endless, out, 100) < 0,
	    "a length of more than five bytes is refused");
	static const unsigned char big[] = { 0x80, 0x80, 0x04, 0x00 };
	ok(desk_redo_unpack(big, sizeof big, out, 100) < 0,
	    "a literal longer than what is asked is refused");
	return done_testing();
}
