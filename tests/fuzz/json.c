/*
 * libFuzzer target: the JSON parser (desk_json_parse, desk_json_parse_all)
 * and the printer, over arbitrary bytes. Beyond "no crash, no leak, no UB"
 * it checks what the stream loop relies on:
 *
 *  - eof only decides what running out of bytes means: a parse that did not
 *    run out (OK or ERROR without eof) gives the same answer with eof, and
 *    eof never gives INCOMPLETE;
 *  - a prefix decides no differently from the whole: OK or ERROR on the
 *    first k bytes (without eof) is the whole's answer, used or offset and
 *    value included, and a value is complete once the byte after it is read;
 *  - printing round-trips: the dump of a parsed value parses back to an
 *    equal value, and prints the same again;
 *  - desk_json_parse_all is desk_json_parse plus "only white space after".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct res {
	int r;
	jv v;
	size_t used;
	struct desk_jerr err;
};

static struct res
parse(const char *p, size_t n, int eof)
{
	struct res x;

	memset(&x, 0, sizeof x);
	x.v = jv_invalid();
	x.r = desk_json_parse(p, n, eof, &x.v, &x.used, &x.err);
	if (x.r == DESK_JSON_OK && (x.used == 0 || x.used > n))
		abort();
	if (x.r == DESK_JSON_ERROR && (x.err.off > n || !x.err.msg[0]))
		abort();
	if (x.r != DESK_JSON_OK && jv_is_valid(x.v))
		abort();      /* *out untouched: still our invalid */
	return x;
}

/* Whether a and b (borrowed) are the same answer. */
static int
same(const struct res *a, const struct res *b)
{
	if (a->r != b->r)
		return 0;
	if (a->r == DESK_JSON_OK)
		return a->used == b->used && jv_equal(jv_copy(a->v), jv_copy(b->v));
	if (a->r == DESK_JSON_ERROR)
		return a->err.off == b->err.off && !strcmp(a->err.msg, b->err.msg);
	return 1;
}

static void
done(struct res *x)
{
	jv_free(x->v);
}

/* The printed form of v parses back to an equal value and prints the same. */
static void
roundtrip(jv v)
{
	struct desk_buf a = DESK_BUF_INIT, b = DESK_BUF_INIT;

	desk_json_dump(&a, v);
	if (desk_json_size(v) != a.len)
		abort();
	jv w = desk_json_parse_all(a.p, a.len);
	if (!jv_is_valid(w) || !jv_equal(jv_copy(v), jv_copy(w)))
		abort();
	desk_json_dump(&b, w);
	if (a.len != b.len || memcmp(a.p, b.p, a.len))
		abort();
	jv_free(w);
	desk_buf_free(&a);
	desk_buf_free(&b);
}

static int
all_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(" \t\n\r", p[i]) || !p[i])
			return 0;
	return 1;
}

/* A split point from the bytes themselves, so that a crash reproduces. */
static size_t
split_at(const uint8_t *p, size_t n)
{
	return n > 1 ? 1 + desk_hash32((const char *)p, n) % (n - 1) : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	struct res whole = parse(p, size, 1), open = parse(p, size, 0);

	if (whole.r == DESK_JSON_INCOMPLETE)
		abort();
	/* Not running out of bytes: eof makes no difference. */
	if (open.r != DESK_JSON_INCOMPLETE && !same(&open, &whole))
		abort();
	/* Running out: at eof the value ends at the end, or is an error. */
	if (open.r == DESK_JSON_INCOMPLETE && whole.r == DESK_JSON_OK &&
	    whole.used != size)
		abort();

	if (whole.r == DESK_JSON_OK) {
		roundtrip(whole.v);
		/* The value followed by the end of input is the same value. */
		struct res cut = parse(p, whole.used, 1);
		if (!same(&cut, &whole))
			abort();
		done(&cut);
		/* And it is complete, without eof, once one more byte is read. */
		if (whole.used < size) {
			struct res next = parse(p, whole.used + 1, 0);
			if (!same(&next, &whole))
				abort();
			done(&next);
		}
	}

	/* A prefix that decides decides as the whole does. */
	size_t k = split_at(data, size);
	if (k) {
		struct res pre = parse(p, k, 0);
		if (pre.r != DESK_JSON_INCOMPLETE && !same(&pre, &whole))
			abort();
		done(&pre);
	}

	jv all = desk_json_parse_all(p, size);
	int want = whole.r == DESK_JSON_OK && all_space(p + whole.used,
	    size - whole.used);
	if (jv_is_valid(all) != want)
		abort();
	if (want && !jv_equal(jv_copy(all), jv_copy(whole.v)))
		abort();
	if (!want) {
		jv m = jv_invalid_get_msg(all);
		if (jv_get_kind(m) != JV_KIND_STRING)
			abort();
		jv_free(m);
	} else
		jv_free(all);
	done(&whole);
	done(&open);
	return 0;
}
