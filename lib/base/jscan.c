/*
 * jscan.c: members of a JSON object found in its bytes, without building
 * it. A reader that needs a few members of a stored record (the case's
 * channel and status, the user's custom ids) would otherwise build a jv
 * for every member, which costs ten times the walk: parsing a record of
 * 250 bytes into a jv object takes some 30,000 instructions.
 *
 * The walk checks the object's structure (strings closed, brackets
 * matched, nothing after it) but not the values it skips: what a caller
 * uses it parses (desk_json_parse_all), which checks it strictly.
 */
#include <stdint.h>
#include <string.h>

#include "base/base.h"

static const char *
ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/*
 * Past the string at p (its '"'), or NULL; *esc set when it has an escape.
 * Its bytes are not looked at but for the quote that ends it: a record's
 * were checked when it was written, and what is used is parsed.
 */
static const char *
skip_str(const char *p, const char *e, int *esc)
{
	for (p++; p < e;) {
		const char *q = memchr(p, '"', (size_t)(e - p));
		if (!q)
			return NULL;
		const char *bs = memchr(p, '\\', (size_t)(q - p));
		if (!bs)
			return q + 1;
		/* The byte after a backslash is not the end, whatever it is. */
		*esc = 1;
		p = bs + 2;
	}
	return NULL;
}

static const char *skip_value(const char *p, const char *e, int depth);

/* Past the array or object at p, or NULL. */
static const char *
skip_nest(const char *p, const char *e, int depth)
{
	char close = *p == '{' ? '}' : ']';
	int esc;

	if (depth >= DESK_JSON_MAXDEPTH)
		return NULL;
	p = ws(p + 1, e);
	if (p < e && *p == close)
		return p + 1;
	for (;;) {
		if (close == '}') {
			p = ws(p, e);
			if (p >= e || *p != '"' || !(p = skip_str(p, e, &esc)))
				return NULL;
			p = ws(p, e);
			if (p >= e || *p++ != ':')
				return NULL;
		}
		if (!(p = skip_value(p, e, depth + 1)))
			return NULL;
		p = ws(p, e);
		if (p >= e)
			return NULL;
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

/* Past the value at p (white space skipped first), or NULL. */
static const char *
skip_value(const char *p, const char *e, int depth)
{
	int esc;

	p = ws(p, e);
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_str(p, e, &esc);
	if (*p == '{' || *p == '[')
		return skip_nest(p, e, depth);
	/* A number or a literal: its bytes are checked when it is parsed. */
	const char *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
	    *p != '\t' && *p != '\n' && *p != '\r')
		p++;
	return p > s ? p : NULL;
}

/*
 * The steps of a walk over one whole text that is an object or an array
 * (open, close): past its opening, then past each ',' between its items.
 * 1: an item at *pp; 0: the end, nothing after it; -1: not sound.
 */
static int
walk_open(const char **pp, const char *e, char open, char close)
{
	const char *p = ws(*pp, e);

	if (p >= e || *p != open)
		return -1;
	*pp = p + 1;
	p = ws(p + 1, e);
	if (p < e && *p == close)
		return ws(p + 1, e) == e ? 0 : -1;
	return 1;
}

static int
walk_next(const char **pp, const char *e, char close)
{
	const char *p = ws(*pp, e);

	if (p >= e)
		return -1;
	if (*p == close)
		return ws(p + 1, e) == e ? 0 : -1;
	if (*p != ',')
		return -1;
	*pp = p + 1;
	return 1;
}

int
desk_json_members(const char *p, size_t n, const char *const *keys,
    size_t nkeys, struct desk_jspan *out)
{
	const char *e = p + n;
	size_t klen[DESK_JSON_MEMBERS_MAX];
	int more;

	if (nkeys > DESK_JSON_MEMBERS_MAX)
		return -1;
	for (size_t i = 0; i < nkeys; i++) {
		out[i].p = NULL;
		out[i].n = 0;
		klen[i] = strlen(keys[i]);
	}
	for (more = walk_open(&p, e, '{', '}'); more > 0;
	    more = walk_next(&p, e, '}')) {
		int esc = 0;
		p = ws(p, e);
		if (p >= e || *p != '"')
			return -1;
		const char *k = p + 1, *ke = skip_str(p, e, &esc);
		/* A key with an escape may spell one of ours: the caller parses. */
		if (!ke || esc)
			return -1;
		p = ws(ke, e);
		if (p >= e || *p++ != ':')
			return -1;
		p = ws(p, e);
		const char *v = p;
		if (!(p = skip_value(p, e, 1)))
			return -1;
		size_t kn = (size_t)(ke - 1 - k);
		/* A key given twice: the last one counts, as when parsed. */
		for (size_t i = 0; i < nkeys; i++)
			if (klen[i] == kn && !memcmp(keys[i], k, kn)) {
				out[i].p = v;
				out[i].n = (size_t)(p - v);
			}
	}
	return more;
}

int
desk_json_elements(const char *p, size_t n, struct desk_jspan *out,
    size_t max)
{
	const char *e = p + n;
	size_t i = 0;
	int more;

	for (more = walk_open(&p, e, '[', ']'); more > 0;
	    more = walk_next(&p, e, ']')) {
		p = ws(p, e);
		const char *v = p;
		if (i == max || !(p = skip_value(p, e, 1)))
			return -1;
		out[i].p = v;
		out[i++].n = (size_t)(p - v);
	}
	return more < 0 ? -1 : (int)i;
}

const char *
desk_json_skim(const char *p, size_t n, const char *key)
{
	const char *e = p + n;
	size_t klen = strlen(key);

	p = ws(p, e);
	if (p >= e || *p++ != '{')
		return NULL;
	for (;;) {
		int esc = 0;
		p = ws(p, e);
		if (p >= e || *p != '"')
			return NULL;
		const char *k = p + 1, *ke = skip_str(p, e, &esc);
		if (!ke)
			return NULL;
		p = ws(ke, e);
		if (p >= e || *p++ != ':')
			return NULL;
		p = ws(p, e);
		if (p >= e)
			return NULL;
		if ((size_t)(ke - 1 - k) == klen && !memcmp(k, key, klen))
			return p;
		if (!(p = skip_value(p, e, 1)))
			return NULL;
		p = ws(p, e);
		if (p >= e || *p++ != ',')
			return NULL;
	}
}

jv
desk_json_span_parse(struct desk_jspan s)
{
	const char *p = s.p;
	size_t n = s.n, i;

	/* The values stored records are made of, without the parser's setup. */
	if (n == 4 && !memcmp(p, "null", 4))
		return jv_null();
	if (n == 2 && (!memcmp(p, "{}", 2) || !memcmp(p, "[]", 2)))
		return *p == '{' ? jv_object() : jv_array();
	if (n >= 1 && n <= 15 && p[0] >= '1' && p[0] <= '9') {
		int64_t v = 0;
		for (i = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			v = v * 10 + (p[i] - '0');
		if (i == n)
			return jv_number((double)v);
	}
	/* A string of printable ASCII without escapes is its bytes. */
	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		for (i = 1; i < n - 1; i++)
			if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] >= 0x7f ||
			    p[i] == '"' || p[i] == '\\')
				break;
		if (i == n - 1)
			return jv_string_sized(p + 1, (int)(n - 2));
	}
	return desk_json_parse_all(p, n);
}

void
desk_json_splice(struct desk_buf *b, struct desk_jspan text,
    struct desk_jsplice *sp, size_t n)
{
	const char *at = text.p;

	/* Into their order in text: a few, mostly in it already. */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && sp[j].at.p < sp[j - 1].at.p; j--) {
			struct desk_jsplice t = sp[j];
			sp[j] = sp[j - 1];
			sp[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (!sp[i].by.len)
			continue;
		desk_buf_add(b, at, (size_t)(sp[i].at.p - at));
		desk_buf_add(b, sp[i].by.p, sp[i].by.len);
		at = sp[i].at.p + sp[i].at.n;
	}
	desk_buf_add(b, at, (size_t)(text.p + text.n - at));
}
