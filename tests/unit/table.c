/* Unit tests for lib/base/table.c: widths, cuts, alignment, safety, colour. */
#include "desk.h"
#include "tap.h"

static const struct desk_hue hues[] = { { "open", "32" }, { NULL, NULL } };
static const struct desk_col cols[] = {
	{ "ID", "id", 0, DESK_COL_RIGHT, NULL },
	{ "NAME", "name", 6, 0, NULL },
	{ "STATUS", "st", 0, 0, hues },
	{ "WHEN", "at", 0, DESK_COL_TIME, NULL },
	{ "TO", "to.who", 0, 0, NULL } };
static const struct desk_view view = DESK_VIEW(cols);

static char *
table(const char *json, int colour, size_t limit)
{
	struct desk_buf b = DESK_BUF_INIT;
	jv rows = desk_json_parse_all(json, strlen(json));

	desk_table_print(&b, &view, rows, colour, limit);
	jv_free(rows);
	return desk_buf_str(&b);
}

static void
width(const char *s, size_t want)
{
	size_t w = desk_text_width(s, strlen(s));

	ok(w == want, "width of %s: %zu (got %zu)", s, want, w);
}

static void
cell(const char *s, size_t w, const char *want)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_text_cell(&b, s, strlen(s), w);
	is_str(desk_buf_str(&b), want, "cell \"%s\" in %zu", s, w);
	desk_buf_free(&b);
}

int
main(void)
{
	char *t;

	width("abc", 3);
	width("Привет", 6);
	width("你好", 4);
	width("e\xcc\x81", 1);                 /* e + combining acute */
	width("\xf0\x9f\x98\x80", 2);          /* an emoji */
	cell("abcdef", 6, "abcdef");
	cell("abcdefg", 6, "abcde\xe2\x80\xa6");
	cell("你好世界", 5, "你好\xe2\x80\xa6");
	cell("你好世界", 6, "你好\xe2\x80\xa6");
	cell("a\033[31mb\nc", 20, "a [31mb c");    /* no escape reaches the terminal */
	cell("a\xe2\x80\xae" "b", 20, "a b");         /* nor a right-to-left override */

	t = table("[{\"id\":7,\"name\":\"Ann\",\"st\":\"open\",\"at\":\"2026-11-21T09:30:00Z\","
	    "\"to\":{\"who\":\"x\"}},{\"id\":123,\"name\":\"你好世界\",\"st\":null,"
	    "\"at\":\"soon\"}]", 0, 0);
	is_str(t,
	    " ID  NAME    STATUS  WHEN              TO\n"
	    "  7  Ann     open    2026-11-21 09:30  x\n"
	    "123  你好…   -       soon              -\n",
	    "aligned columns: numbers right, widths in cells, a cut at the bound");
	free(t);

	t = table("[{\"id\":1,\"name\":[\"a\",\"b\"],\"st\":true,\"at\":{\"c\":\"app\",\"u\":\"42\"},"
	    "\"to\":{\"who\":[]}}]", 0, 0);
	is_str(t,
	    "ID  NAME  STATUS  WHEN    TO\n"
	    " 1  a,b   yes     app:42  -\n",
	    "arrays joined, objects by their values, booleans as yes/no");
	free(t);

	t = table("[{\"id\":1,\"name\":\"Ann\",\"st\":\"open\",\"at\":\"x\",\"to\":{\"who\":\"Bob\"}}]", 1, 0);
	is_str(t,
	    "\033[1mID\033[0m  \033[1mNAME\033[0m  \033[1mSTATUS\033[0m  \033[1mWHEN\033[0m  \033[1mTO\033[0m\n"
	    " 1  Ann   \033[32mopen\033[0m    x     Bob\n",
	    "colour: titles bold, a value in its hue");
	free(t);

	t = table("[{\"id\":1,\"name\":\"Ann\",\"st\":\"open\",\"at\":\"a-long-value-here\","
	    "\"to\":{\"who\":\"Bob\"}}]", 0, 29);
	is_str(t,
	    "ID  NAME  STATUS  WHEN    TO\n"
	    " 1  Ann   open    a-lon…  Bob\n",
	    "narrowed to the terminal, the widest column first, titles whole");
	free(t);

	t = table("[]", 0, 0);
	is_str(t, "ID  NAME  STATUS  WHEN  TO\n", "no rows: the titles");
	free(t);
	return done_testing();
}
