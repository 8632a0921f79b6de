/*
 * table.c: --table, the view for people. The values a list or show
 * command prints (objects) as aligned columns: widths from the data,
 * bounded per column and by the terminal, text cut with an ellipsis,
 * widths counted in terminal cells (UTF-8: wide East Asian characters
 * take two, combining marks none), colour only on a terminal and never
 * under NO_COLOR. It knows nothing of what it prints: the columns, their
 * keys and the colour of a value come from the tool.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

/* One code point from p[0..n), *len its bytes; U+FFFD for a bad byte. */
static unsigned
utf8_next(const unsigned char *p, size_t n, size_t *len)
{
	unsigned c = p[0], need;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	need = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
	if (!need || c > 0xf4 || need >= n) {
		*len = 1;
		return 0xfffd;
	}
	c &= 0x3f >> need;
	for (size_t i = 1; i <= need; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*len = i;
			return 0xfffd;
		}
		c = c << 6 | (p[i] & 0x3f);
	}
	*len = need + 1;
	return c;
}

struct range {
	unsigned lo, hi;
};

/* Combining marks, zero-width and format characters: no cell. */
static const struct range zero[] = { { 0x0300, 0x036f }, { 0x0483, 0x0489 },
	{ 0x0591, 0x05bd }, { 0x0610, 0x061a }, { 0x064b, 0x065f },
	{ 0x0e31, 0x0e31 }, { 0x0e34, 0x0e3a }, { 0x0e47, 0x0e4e },
	{ 0x1ab0, 0x1aff }, { 0x1dc0, 0x1dff }, { 0x200b, 0x200f },
	{ 0x2028, 0x202e }, { 0x2060, 0x206f }, { 0x20d0, 0x20ff },
	{ 0xfe00, 0xfe0f }, { 0xfe20, 0xfe2f }, { 0xfeff, 0xfeff },
	{ 0xe0100, 0xe01ef } };
/* East Asian wide and fullwidth, and the emoji blocks: two cells. */
static const struct range wide[] = { { 0x1100, 0x115f }, { 0x231a, 0x231b },
	{ 0x2329, 0x232a }, { 0x23e9, 0x23ec }, { 0x25fd, 0x25fe },
	{ 0x2614, 0x2615 }, { 0x26aa, 0x26ab }, { 0x26bd, 0x26be },
	{ 0x2705, 0x2705 }, { 0x274c, 0x274c }, { 0x2e80, 0x303e },
	{ 0x3041, 0x33ff }, { 0x3400, 0x4dbf }, { 0x4e00, 0x9fff },
	{ 0xa000, 0xa4cf }, { 0xa960, 0xa97f }, { 0xac00, 0xd7a3 },
	{ 0xf900, 0xfaff }, { 0xfe10, 0xfe19 }, { 0xfe30, 0xfe6f },
	{ 0xff00, 0xff60 }, { 0xffe0, 0xffe6 }, { 0x1f300, 0x1f64f },
	{ 0x1f680, 0x1f6ff }, { 0x1f900, 0x1f9ff }, { 0x1fa70, 0x1faff },
	{ 0x20000, 0x2fffd }, { 0x30000, 0x3fffd } };

static int
in(unsigned c, const struct range *r, size_t n)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (c < r[mid].lo)
			hi = mid;
		else if (c > r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

/* Terminal cells of c; control characters are shown as one space. */
static unsigned
cells(unsigned c)
{
	if (c < 0x300)
		return 1;
	if (in(c, zero, sizeof zero / sizeof *zero))
		return 0;
	return in(c, wide, sizeof wide / sizeof *wide) ? 2 : 1;
}

/*
 * A control character, or one that reorders or hides text: never sent to
 * a terminal as it is (an escape in a customer's message must not drive
 * the agent's terminal).
 */
static int
unsafe(unsigned c)
{
	return c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

size_t
desk_text_width(const char *s, size_t n)
{
	size_t w = 0, len;

	for (size_t i = 0; i < n; i += len)
		w += cells(utf8_next((const unsigned char *)s + i, n - i, &len));
	return w;
}

size_t
desk_text_cell(struct desk_buf *b, const char *s, size_t n, size_t width)
{
	size_t w = 0, len, total = desk_text_width(s, n);

	for (size_t i = 0; i < n; i += len) {
		unsigned c = utf8_next((const unsigned char *)s + i, n - i, &len);
		unsigned cw = cells(c);
		/* Cut with room for the ellipsis when the rest does not fit. */
		if (total > width && w + cw + 1 > width) {
			if (w < width) {
				desk_buf_adds(b, "\xe2\x80\xa6");
				w++;
			}
			break;
		}
		if (unsafe(c))
			desk_buf_addc(b, ' ');
		else if (c == 0xfffd && len == 1)
			desk_buf_adds(b, "\xef\xbf\xbd");
		else
			desk_buf_add(b, s + i, len);
		w += cw;
	}
	return w;
}

int
desk_colour(int fd)
{
	const char *nc = getenv("NO_COLOR");

	/* no-color.org: set and not empty turns colour off. */
	return isatty(fd) && !(nc && *nc);
}

/* v at a dotted path ("to.user_id"), borrowed. */
static jv
lookup(jv v, const char *key)
{
	char part[64];

	while (jv_is_valid(v)) {
		size_t len = strcspn(key, ".");
		if (!key[len])
			return desk_jget(v, key);
		if (len >= sizeof part)
			return jv_invalid();
		memcpy(part, key, len);
		part[len] = '\0';
		v = desk_jget(v, part);
		key += len + 1;
	}
	return v;
}

/* v as a cell's text: arrays joined by sep, an object's values by ':'. */
static void
cell_text(struct desk_buf *b, jv v, unsigned flags, const char *sep)
{
	const char *s;

	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		desk_buf_adds(b, "-");
		break;
	case JV_KIND_TRUE:
		desk_buf_adds(b, "yes");
		break;
	case JV_KIND_FALSE:
		desk_buf_adds(b, "no");
		break;
	case JV_KIND_STRING:
		s = jv_string_value(v);
		/* "2026-11-21T09:30:00Z" as "2026-11-21 09:30". */
		if ((flags & DESK_COL_TIME) && strlen(s) >= 16 && s[10] == 'T') {
			desk_buf_add(b, s, 10);
			desk_buf_addc(b, ' ');
			desk_buf_add(b, s + 11, 5);
		} else
			desk_buf_add(b, s, (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_ARRAY:
		if (!jv_array_length(jv_copy(v)))
			desk_buf_adds(b, "-");
		jv_array_foreach(v, i, x) {
			if (i)
				desk_buf_adds(b, sep);
			cell_text(b, x, flags, "/");
			jv_free(x);
		}
		break;
	case JV_KIND_OBJECT: {
		/* An object in a cell: its values (a custom id: "app:client-42"). */
		int first = 1;
		jv_object_foreach(v, k, x) {
			if (!first)
				desk_buf_addc(b, ':');
			first = 0;
			cell_text(b, x, flags, "/");
			jv_free(k);
			jv_free(x);
		}
		if (first)
			desk_buf_adds(b, "-");
		break;
	}
	default:
		desk_json_dump(b, v);
	}
}

struct row {
	char **cell;
	size_t *w;
};

static const char *
hue(const struct desk_col *c, const char *text)
{
	for (const struct desk_hue *h = c->hues; h && h->value; h++)
		if (!strcmp(h->value, text))
			return h->sgr;
	return NULL;
}

static void
put_cell(struct desk_buf *b, const struct desk_col *c, const char *text,
    size_t tw, size_t width, int last, const char *sgr)
{
	size_t lead = (c->flags & DESK_COL_RIGHT) && tw < width ? width - tw : 0;

	for (size_t i = 0; i < lead; i++)
		desk_buf_addc(b, ' ');
	if (sgr)
		desk_buf_addf(b, "\033[%sm", sgr);
	size_t w = lead + desk_text_cell(b, text, strlen(text), width - lead);
	if (sgr)
		desk_buf_adds(b, "\033[0m");
	if (!last)
		for (size_t pad = width - w + 2; pad--; )
			desk_buf_addc(b, ' ');
}

/* Narrows the widest columns until the row fits in limit cells. */
static void
fit(size_t *width, const size_t *floor, size_t n, size_t limit)
{
	for (;;) {
		size_t total = 2 * (n - 1), widest = n;
		for (size_t i = 0; i < n; i++) {
			total += width[i];
			if (width[i] > floor[i] && (widest == n || width[i] > width[widest]))
				widest = i;
		}
		if (total <= limit || widest == n)
			return;
		width[widest]--;
	}
}

void
desk_table_print(struct desk_buf *b, const struct desk_view *v, jv rows,
    int colour, size_t limit)
{
	size_t n = v->n, nrows = (size_t)jv_array_length(jv_copy(rows));
	size_t *width = desk_xcalloc(n, sizeof *width);
	size_t *floor = desk_xcalloc(n, sizeof *floor);
	struct row *r = desk_xcalloc(nrows ? nrows : 1, sizeof *r);

	for (size_t i = 0; i < n; i++) {
		width[i] = desk_text_width(v->cols[i].title, strlen(v->cols[i].title));
		floor[i] = width[i];    /* a title is never cut */
	}
	for (size_t j = 0; j < nrows; j++) {
		jv row = jv_array_get(jv_copy(rows), (int)j);
		r[j].cell = desk_xcalloc(n, sizeof *r[j].cell);
		r[j].w = desk_xcalloc(n, sizeof *r[j].w);
		for (size_t i = 0; i < n; i++) {
			struct desk_buf t = DESK_BUF_INIT;
			cell_text(&t, lookup(row, v->cols[i].key), v->cols[i].flags, ",");
			r[j].cell[i] = desk_buf_str(&t);
			r[j].w[i] = desk_text_width(t.p, t.len);
			size_t cap = v->cols[i].max ? v->cols[i].max : SIZE_MAX;
			size_t w = r[j].w[i] < cap ? r[j].w[i] : cap;
			if (w > width[i])
				width[i] = w;
		}
		jv_free(row);
	}
	if (limit)
		fit(width, floor, n, limit);
	for (size_t i = 0; i < n; i++) {
		const char *t = v->cols[i].title;
		put_cell(b, &v->cols[i], t, desk_text_width(t, strlen(t)), width[i],
		    i + 1 == n, colour ? "1" : NULL);
	}
	desk_buf_addc(b, '\n');
	for (size_t j = 0; j < nrows; j++) {
		for (size_t i = 0; i < n; i++) {
			put_cell(b, &v->cols[i], r[j].cell[i], r[j].w[i], width[i],
			    i + 1 == n, colour ? hue(&v->cols[i], r[j].cell[i]) : NULL);
			free(r[j].cell[i]);
		}
		desk_buf_addc(b, '\n');
		free(r[j].cell);
		free(r[j].w);
	}
	free(r);
	free(width);
	free(floor);
}
