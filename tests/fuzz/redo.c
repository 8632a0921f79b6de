/*
 * libFuzzer target: the packing of index/batch.redo's records. A record's
 * bytes are checked by CRC before they are unpacked, but a crash or a
 * damaged disk is what the journal is read after, so the unpacker takes
 * any bytes: it never writes past the length asked, and either fills it
 * exactly or says no. And any units pack within 2n + 20 bytes and unpack
 * to themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "store/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* The length asked, from the first two bytes; the rest, as packed. */
	size_t want = (size_t)data[0] << 8 | data[1];
	const unsigned char *p = data + 2;
	size_t n = size - 2;
	unsigned char *out = malloc(want ? want : 1);
	(void)desk_redo_unpack(p, n, out, want);
	free(out);

	/* The same bytes as units: packed and back. */
	struct desk_buf b = DESK_BUF_INIT;
	desk_redo_pack(&b, p, n);
	if (b.len > 2 * n + 20)
		abort();
	unsigned char *back = malloc(n ? n : 1);
	if (desk_redo_unpack((const unsigned char *)b.p, b.len, back, n) < 0 ||
	    memcmp(back, p, n))
		abort();
	free(back);
	desk_buf_free(&b);
	return 0;
}
