/*
 * out.c: what subcommands print, one JSON value a line, written in chunks
 * (the filters' output goes through the loop, which writes it at commit),
 * or in a --table view, as one table at the flush (table.c draws it).
 */
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/base.h"

#define CHUNK 65536

static struct desk_buf outbuf;

void
desk_out(jv v)
{
	if (desk_out_row(v))
		return;    /* a --table view prints at the flush */
	desk_json_dump(&outbuf, v);
	desk_buf_addc(&outbuf, '\n');
	jv_free(v);
	if (outbuf.len >= CHUNK)
		desk_out_flush();
}

void
desk_out_flush(void)
{
	desk_out_view_flush();
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

/* The terminal's width for fd, else $COLUMNS, else 0 (no bound). */
static size_t
term_width(int fd)
{
	struct winsize ws;
	uint64_t c;
	const char *s;

	if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	if ((s = getenv("COLUMNS")) && desk_parse_u64(s, 10, 10000, &c))
		return (size_t)c;
	return 0;
}

/* ---- desk_out in a view ---- */

static const struct desk_view *view;    /* set by --table */
static jv rows;

int
desk_out_view(const struct desk_view *v)
{
	if (view)
		jv_free(rows);
	view = v;
	rows = v ? jv_array() : jv_invalid();
	return v != NULL;
}

int
desk_out_row(jv v)
{
	if (!view)
		return 0;
	rows = jv_array_append(rows, v);
	return 1;
}

void
desk_out_view_flush(void)
{
	struct desk_buf b = DESK_BUF_INIT;

	if (!view || !jv_array_length(jv_copy(rows)))
		return;
	desk_table_print(&b, view, rows, desk_colour(1), term_width(1));
	jv_free(rows);
	rows = jv_array();
	desk_buf_write(&b, 1, "stdout");
	desk_buf_free(&b);
}
