/*
 * out.c: what subcommands print, one JSON value a line, written in chunks
 * (the filters' output goes through the loop, which writes it at commit).
 */
#include "base/base.h"

#define CHUNK 65536

static struct desk_buf outbuf;

void
desk_out(jv v)
{
	desk_json_dump(&outbuf, v);
	desk_buf_addc(&outbuf, '\n');
	jv_free(v);
	if (outbuf.len >= CHUNK)
		desk_out_flush();
}

void
desk_out_flush(void)
{
	desk_buf_write(&outbuf, 1, "stdout");
}

int
desk_out_all(jv list)
{
	int n = 0;

	jv_array_foreach(list, i, v) {
		desk_out(v);
		n++;
	}
	jv_free(list);
	desk_out_flush();
	return n;
}
