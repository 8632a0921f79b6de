/*
 * json.c: a strict RFC 8259 parser that builds jv values, a compact printer,
 * and borrowing getters.
 *
 * libjq 1.6's own parser accepts "nan", replaces invalid UTF-8 silently and
 * cannot say where a value starts or ends in a stream; desk needs exact
 * record boundaries (for line numbers and quarantine) and must not alter a
 * message, so it parses for itself and uses jv only as the value model.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

struct jp {
	const char *p, *end, *start;
	int eof;
	int depth;
	int status;               /* DESK_JSON_* once something went wrong */
	int canon;                /* so far, printing the value gives its bytes */
	struct desk_jerr *err;
	struct desk_buf scratch;
};

static jv
fail(struct jp *j, const char *at, const char *fmt, ...) DESK_PRINTF(3, 4);

/*
 * Object keys, interned per thread. Every jv string libjq builds is
 * UTF-8-checked byte by byte, allocated and later hashed; a stream of
 * bodies of one shape (and every getter's literal key) names the same few
 * dozen keys again and again, so each short key is built once and then
 * shared by reference (its hash, cached in the string, with it). jv
 * reference counts are not atomic, hence one cache per thread, freed when
 * the thread ends.
 */
/* The bytes a JSON string literal cannot hold as they are. */
static inline int
needs_escape(unsigned char c)
{
	return c < 0x20 || c == '"' || c == '\\';
}

/*
 * Strings are scanned eight bytes at a step: whether any byte of v needs
 * an escape, or (ascii) is not ASCII either. (x - 0x01..01 * c) & ~x has a
 * byte's high bit set for some byte when, and only when, one of x's bytes
 * is below c (c at most 0x80); the lowest byte marked is the first such
 * (a borrow only reaches bytes above it).
 */
#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u
static inline uint64_t
word_special(uint64_t v, int ascii)
{
	uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\');

	return (((v - ONES * 0x20) & ~v) | ((q - ONES) & ~q) |
	    ((b - ONES) & ~b) | (ascii ? v : 0)) & HIGHS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WORD_SCAN 1
/*
 * From s[*i] on, eight bytes at a step: 1 with *i at the first byte
 * word_special marks (the lowest mark: little-endian), or 0 with *i where
 * fewer than eight are left before n.
 */
static inline int
word_scan(const char *s, size_t *i, size_t n, int ascii)
{
	uint64_t v, m;

	for (; *i + 8 <= n; *i += 8) {
		memcpy(&v, s + *i, sizeof v);
		if ((m = word_special(v, ascii))) {
			*i += (size_t)__builtin_ctzll(m) / 8;
			return 1;
		}
	}
	return 0;
}
#endif

/* The first byte of s[i..n) that needs an escape, or n. */
static inline size_t
escape_at(const char *s, size_t i, size_t n)
{
#ifdef WORD_SCAN
	uint64_t v, m;

	if (word_scan(s, &i, n, 0))
		return i;
	/*
	 * The last eight bytes, those before i (fewer than 8) made an 'a':
	 * not counted, nor borrowed from.
	 */
	if (i < n && n >= 8) {
		uint64_t keep = ~0ull << 8 * (i - (n - 8));
		memcpy(&v, s + n - 8, sizeof v);
		m = word_special((v & keep) | (ONES * 'a' & ~keep), 0);
		return m ? n - 8 + (size_t)__builtin_ctzll(m) / 8 : n;
	}
#endif
	while (i < n && !needs_escape((unsigned char)s[i]))
		i++;
	return i;
}

#define KEY_SLOTS 1024
#define KEY_MAX 32
struct key_slot {
	unsigned char len;
	unsigned char plain;   /* printed as it is, between quotes */
	char s[KEY_MAX];
	jv v;
};
static _Thread_local struct key_slot *key_cache;
static _Thread_local struct key_slot *key_last;   /* key_string's slot, or NULL */
static pthread_key_t key_cache_key;
static pthread_once_t key_cache_once = PTHREAD_ONCE_INIT;

/* desk_jproto's objects, each by the function that builds it. */
#define PROTOS 4
static _Thread_local struct proto {
	const char *json;
	jv v;
} protos[PROTOS];

static void
key_cache_free(void *p)
{
	struct key_slot *c = p;

	for (size_t i = 0; i < KEY_SLOTS; i++)
		if (c[i].len)
			jv_free(c[i].v);
	free(c);
	/* The thread's prototypes go with its cache (they hold its keys). */
	for (size_t i = 0; i < PROTOS; i++)
		if (protos[i].json) {
			jv_free(protos[i].v);
			protos[i].json = NULL;
		}
}

static void
key_cache_init(void)
{
	/* Without the key a thread's cache is only not freed at its end. */
	(void)pthread_key_create(&key_cache_key, key_cache_free);
}

/* Where the key s[0..n) (1 to KEY_MAX bytes) is cached, if it is. */
static struct key_slot *
key_slot_of(const char *s, size_t n)
{
	uint32_t h = 2166136261u;      /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return &key_cache[(h ^ (h >> 16)) % KEY_SLOTS];
}

/* The string s[0..n) (valid UTF-8 without NUL, or any bytes libjq mends), owned. */
static jv
key_string(const char *s, size_t n)
{
	key_last = NULL;
	if (n == 0 || n > KEY_MAX)
		return jv_string_sized(s, (int)n);
	if (!key_cache) {
		struct key_slot *c = calloc(KEY_SLOTS, sizeof *c);
		if (!c)
			return jv_string_sized(s, (int)n);
		pthread_once(&key_cache_once, key_cache_init);
		(void)pthread_setspecific(key_cache_key, c);
		key_cache = c;
	}
	struct key_slot *k = key_slot_of(s, n);
	if (k->len == n && !memcmp(k->s, s, n)) {
		key_last = k;
		return jv_copy(k->v);
	}
	jv v = jv_string_sized(s, (int)n);
	/* Only what libjq kept byte for byte is shared under those bytes. */
	if (jv_string_length_bytes(jv_copy(v)) != (int)n ||
	    memcmp(jv_string_value(v), s, n))
		return v;
	if (k->len)
		jv_free(k->v);
	k->len = (unsigned char)n;
	k->plain = 1;
	for (size_t i = 0; i < n; i++)
		if (needs_escape((unsigned char)s[i]))
			k->plain = 0;
	memcpy(k->s, s, n);
	k->v = jv_copy(v);
	key_last = k;
	return v;
}

/*
 * The printer's keys are the cache's strings themselves (objects keep the
 * key they were given, and the parser and setters give the cache's), so a
 * key is found by where libjq keeps it, with no call into libjq to measure
 * it. The slot is checked to hold that very string, which its reference
 * keeps alive: a slot reused for another key only misses.
 */
#define KEY_TEXTS 256
static _Thread_local struct key_slot *key_texts[KEY_TEXTS];

static const struct key_slot *
key_text(jv k)
{
	uintptr_t p = (uintptr_t)k.u.ptr;
	struct key_slot **q = &key_texts[(p >> 4 ^ p >> 12) % KEY_TEXTS];

	if (*q && (*q)->len && (*q)->v.u.ptr == k.u.ptr)
		return *q;
	if (!key_cache)
		return NULL;
	size_t n = (size_t)jv_string_length_bytes(jv_copy(k));
	if (n == 0 || n > KEY_MAX)
		return NULL;
	struct key_slot *t = key_slot_of(jv_string_value(k), n);
	if (!t->len || t->v.u.ptr != k.u.ptr)
		return NULL;
	*q = t;
	return t;
}

/*
 * The getters' keys are the program's string literals, the same few
 * addresses again and again: a key found once at an address is found
 * there next time without being measured and hashed. The slot is checked
 * against the bytes, so an address that now holds another key (a buffer
 * reused) only misses.
 */
#define KEY_PTRS 128
static _Thread_local struct key_ptr {
	const char *p;
	struct key_slot *k;
} key_ptrs[KEY_PTRS];

static jv
key_cstr(const char *s)
{
	struct key_ptr *q = &key_ptrs[((uintptr_t)s >> 3 ^ (uintptr_t)s >> 10) %
	    KEY_PTRS];

	/* strncmp: s may now be shorter than the slot's key (no NUL in one). */
	if (q->p == s && q->k->len && !strncmp(q->k->s, s, q->k->len) &&
	    !s[q->k->len])
		return jv_copy(q->k->v);
	jv v = key_string(s, strlen(s));
	q->p = key_last ? s : NULL;
	q->k = key_last;
	return v;
}

static jv
fail(struct jp *j, const char *at, const char *fmt, ...)
{
	va_list ap;

	if (j->status != DESK_JSON_OK)
		return jv_invalid();
	j->status = DESK_JSON_ERROR;
	j->err->off = (size_t)(at - j->start);
	va_start(ap, fmt);
	vsnprintf(j->err->msg, sizeof j->err->msg, fmt, ap);
	va_end(ap);
	return jv_invalid();
}

/* Running out of bytes: incomplete unless this is the end of input. */
static jv
short_input(struct jp *j, const char *what)
{
	if (!j->eof) {
		if (j->status == DESK_JSON_OK)
			j->status = DESK_JSON_INCOMPLETE;
		return jv_invalid();
	}
	return fail(j, j->end, "unexpected end of input in %s", what);
}

static const char *
show(int c, char *buf)
{
	if (c >= 0x21 && c < 0x7f)
		snprintf(buf, 8, "'%c'", c);
	else
		snprintf(buf, 8, "0x%02x", c & 0xff);
	return buf;
}

static void
skip_ws(struct jp *j)
{
	const char *p = j->p;

	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
	if (j->p != p)
		j->canon = 0;
}

/* Length of the valid UTF-8 sequence at p (>= 0x80), 0 if invalid, -1 if cut. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned c = p[0];
	int n;
	unsigned lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;    /* no UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;    /* nothing above U+10FFFF */
	} else
		return 0;
	for (int i = 1; i < n; i++) {
		if (p + i >= end)
			return -1;
		unsigned d = p[i];
		if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xbf))
			return 0;
	}
	return n;
}

static int
hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return 0;
	}
	*out = v;
	return 1;
}

static void
put_utf8(struct desk_buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	desk_buf_add(b, u, n);
}

/* At the opening quote. */
static jv
parse_string_as(struct jp *j, int is_key)
{
	const char *s = ++j->p;
	int escaped = 0, ascii = 1;
	char sh[8];

	/* First pass: find the end, validate, note whether unescaping is needed. */
	while (1) {
#ifdef WORD_SCAN
		/* Plain ASCII needs no look byte by byte (nor, after UTF-8, a try). */
		if (ascii) {
			size_t at = 0;
			(void)word_scan(j->p, &at, (size_t)(j->end - j->p), 1);
			j->p += at;
		}
#endif
		if (j->p >= j->end)
			return short_input(j, "a string");
		unsigned char c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c == '\\') {
			escaped = 1;
			if (j->p + 1 >= j->end)
				return short_input(j, "a string");
			char e = j->p[1];
			/* The printer writes these escapes, and no others, as they are. */
			if (!strchr("\"\\nrtbf", e))
				j->canon = 0;
			if (e == 'u') {
				unsigned cp;
				if (j->p + 6 > j->end)
					return short_input(j, "a string");
				if (!hex4(j->p + 2, &cp))
					return fail(j, j->p, "bad \\u escape in string");
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return fail(j, j->p, "lone low surrogate \\u%04x in string", cp);
				if (cp >= 0xd800 && cp <= 0xdbff) {
					unsigned lo;
					/* Decide from the bytes there are; wait only if it could still be a pair. */
					const char *q = j->p + 6;
					int pair = (q >= j->end || *q == '\\') &&
					    (q + 1 >= j->end || q[1] == 'u');
					if (pair && q + 6 > j->end)
						return short_input(j, "a string");
					if (!pair || !hex4(q + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
						return fail(j, j->p, "lone high surrogate \\u%04x in string", cp);
					j->p += 12;
				} else
					j->p += 6;
				continue;
			}
			if (e == '\0' || !strchr("\"\\/bfnrt", e))
				return fail(j, j->p, "bad escape %s after '\\' in string",
				    show((unsigned char)e, sh));
			j->p += 2;
			continue;
		}
		if (c < 0x20)
			return fail(j, j->p, "unescaped control character %s in string",
			    show(c, sh));
		if (c >= 0x80) {
			int n = utf8_len((const unsigned char *)j->p,
			    (const unsigned char *)j->end);
			if (n < 0)
				return short_input(j, "a string");
			if (n == 0)
				return fail(j, j->p, "invalid UTF-8 in string");
			j->p += n;
			ascii = 0;
			continue;
		}
		j->p++;
		ascii = 1;
	}
	const char *e = j->p++;
	if (!escaped)
		return is_key ? key_string(s, (size_t)(e - s)) :
		    jv_string_sized(s, (int)(e - s));

	struct desk_buf *b = &j->scratch;
	b->len = 0;
	for (const char *q = s; q < e;) {
		if (*q != '\\') {
			const char *r = q;
			while (r < e && *r != '\\')
				r++;
			desk_buf_add(b, q, (size_t)(r - q));
			q = r;
			continue;
		}
		char c = q[1];
		unsigned cp;
		switch (c) {
		case 'b': desk_buf_addc(b, '\b'); break;
		case 'f': desk_buf_addc(b, '\f'); break;
		case 'n': desk_buf_addc(b, '\n'); break;
		case 'r': desk_buf_addc(b, '\r'); break;
		case 't': desk_buf_addc(b, '\t'); break;
		case 'u':
			hex4(q + 2, &cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				unsigned lo;
				hex4(q + 8, &lo);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				q += 6;
			}
			put_utf8(b, cp);
			q += 4;
			break;
		default: desk_buf_addc(b, c); break;
		}
		q += 2;
	}
	return jv_string_sized(b->p ? b->p : "", (int)b->len);
}

static jv
parse_string(struct jp *j)
{
	return parse_string_as(j, 0);
}

static int
is_delim(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' ||
	    c == ']' || c == '}' || c == ':' || c == '[' || c == '{' || c == '"';
}

static jv
parse_number(struct jp *j)
{
	const char *s = j->p, *p = s;
	char sh[8];

#define NEED() do { if (p >= j->end) { \
		if (!j->eof) return short_input(j, "a number"); \
		goto done; } } while (0)
	if (*p == '-')
		p++;
	if (p >= j->end)
		return short_input(j, "a number");
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	else
		return fail(j, p, "bad number");
	NEED();
	if (*p == '.') {
		p++;
		if (p >= j->end)
			return short_input(j, "a number");
		if (*p < '0' || *p > '9')
			return fail(j, p, "bad number: no digit after '.'");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
		NEED();
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end)
			return short_input(j, "a number");
		if (*p < '0' || *p > '9')
			return fail(j, p, "bad number: no digit in exponent");
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
		NEED();
	}
	if (!is_delim(*p))
		return fail(j, p, "bad number: unexpected %s", show((unsigned char)*p, sh));
done:
#undef NEED
	;
	char small[64], *tmp = small;
	size_t n = (size_t)(p - s);
	/* Whole numbers of 15 digits print back as they are; others may not. */
	if (n > 15 + (*s == '-') || memchr(s, '.', n) || memchr(s, 'e', n) ||
	    memchr(s, 'E', n))
		j->canon = 0;
	if (n >= sizeof small)
		tmp = desk_xmalloc(n + 1);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	double d = strtod(tmp, NULL);
	if (tmp != small)
		free(tmp);
	if (!isfinite(d))
		return fail(j, s, "number out of range");
	j->p = p;
	return jv_number(d);
}

static jv
parse_literal(struct jp *j, const char *word, jv val)
{
	size_t n = strlen(word);
	size_t have = (size_t)(j->end - j->p);
	char sh[8];

	if (memcmp(j->p, word, have < n ? have : n) != 0)
		return fail(j, j->p, "unexpected %s", show((unsigned char)*j->p, sh));
	/* A literal ends only where the next byte says so: "nullx" is no null. */
	if (have < n || (have == n && !j->eof))
		return short_input(j, word);
	if (have > n && !is_delim(j->p[n]))
		return fail(j, j->p, "unexpected %s", show((unsigned char)*j->p, sh));
	j->p += n;
	return val;
}

static jv parse_value(struct jp *j);

/*
 * After an array's value or an object's member: 1 past the closing
 * bracket, 0 past a comma (another item follows), or -1 with the error set.
 */
static int
after_item(struct jp *j, char close)
{
	const char *what = close == ']' ? "array" : "object";
	char sh[8];

	skip_ws(j);
	if (j->p >= j->end) {
		jv_free(short_input(j, close == ']' ? "an array" : "an object"));
		return -1;
	}
	if (*j->p == close) {
		j->p++;
		return 1;
	}
	if (*j->p != ',') {
		jv_free(fail(j, j->p, "expected ',' or '%c' in %s, found %s", close,
		    what, show((unsigned char)*j->p, sh)));
		return -1;
	}
	j->p++;
	return 0;
}

static jv
parse_array(struct jp *j)
{
	jv a = jv_array();

	j->p++;
	skip_ws(j);
	if (j->p >= j->end) {
		jv_free(a);
		return short_input(j, "an array");
	}
	if (*j->p == ']') {
		j->p++;
		return a;
	}
	while (1) {
		jv v = parse_value(j);
		if (j->status != DESK_JSON_OK) {
			jv_free(a);
			return jv_invalid();
		}
		a = jv_array_append(a, v);
		int r = after_item(j, ']');
		if (r) {
			if (r < 0)
				jv_free(a);
			return r < 0 ? jv_invalid() : a;
		}
	}
}

static jv
parse_object(struct jp *j)
{
	jv o = jv_object();
	char sh[8];
	int members = 0;

	j->p++;
	skip_ws(j);
	if (j->p >= j->end) {
		jv_free(o);
		return short_input(j, "an object");
	}
	if (*j->p == '}') {
		j->p++;
		return o;
	}
	while (1) {
		skip_ws(j);
		if (j->p >= j->end) {
			jv_free(o);
			return short_input(j, "an object");
		}
		if (*j->p != '"') {
			jv_free(o);
			return fail(j, j->p, "expected a string key in object, found %s",
			    show((unsigned char)*j->p, sh));
		}
		jv k = parse_string_as(j, 1);
		if (j->status != DESK_JSON_OK) {
			jv_free(o);
			return jv_invalid();
		}
		skip_ws(j);
		if (j->p >= j->end) {
			jv_free(k);
			jv_free(o);
			return short_input(j, "an object");
		}
		if (*j->p != ':') {
			jv_free(k);
			jv_free(o);
			return fail(j, j->p, "expected ':' after key, found %s",
			    show((unsigned char)*j->p, sh));
		}
		j->p++;
		jv v = parse_value(j);
		if (j->status != DESK_JSON_OK) {
			jv_free(k);
			jv_free(o);
			return jv_invalid();
		}
		o = jv_object_set(o, k, v);
		members++;
		int r = after_item(j, '}');
		if (r < 0) {
			jv_free(o);
			return jv_invalid();
		}
		if (r) {
			/* A key given twice keeps one member: the printer drops one. */
			if (j->canon && jv_object_length(jv_copy(o)) != members)
				j->canon = 0;
			return o;
		}
	}
}

static jv
parse_value(struct jp *j)
{
	char sh[8];
	jv v;

	skip_ws(j);
	if (j->p >= j->end)
		return short_input(j, "a value");
	switch (*j->p) {
	case '{':
	case '[':
		if (++j->depth > DESK_JSON_MAXDEPTH)
			return fail(j, j->p, "nested deeper than %d levels",
			    DESK_JSON_MAXDEPTH);
		v = *j->p == '{' ? parse_object(j) : parse_array(j);
		j->depth--;
		return v;
	case '"':
		return parse_string(j);
	case 't':
		return parse_literal(j, "true", jv_true());
	case 'f':
		return parse_literal(j, "false", jv_false());
	case 'n':
		return parse_literal(j, "null", jv_null());
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return parse_number(j);
		if ((unsigned char)*j->p >= 0x80) {
			int n = utf8_len((const unsigned char *)j->p,
			    (const unsigned char *)j->end);
			/* A sequence cut by the read is judged whole, as in one read. */
			if (n < 0 && !j->eof)
				return short_input(j, "a value");
			if (n <= 0)
				return fail(j, j->p, "invalid UTF-8 outside a string");
		}
		return fail(j, j->p, "unexpected %s", show((unsigned char)*j->p, sh));
	}
}

int
desk_json_parse_canon(const char *p, size_t n, int eof, jv *out, size_t *used,
    struct desk_jerr *err, int *canon)
{
	struct jp j = { p, p + n, p, eof, 0, DESK_JSON_OK, 1, err, DESK_BUF_INIT };
	jv v = parse_value(&j);

	desk_buf_free(&j.scratch);
	if (j.status != DESK_JSON_OK) {
		jv_free(v);
		return j.status;
	}
	*out = v;
	*used = (size_t)(j.p - p);
	*canon = j.canon;
	return DESK_JSON_OK;
}

int
desk_json_parse(const char *p, size_t n, int eof, jv *out, size_t *used,
    struct desk_jerr *err)
{
	int canon;

	return desk_json_parse_canon(p, n, eof, out, used, err, &canon);
}

jv
desk_json_parse_all(const char *p, size_t n)
{
	struct desk_jerr err;
	size_t used;
	jv v;

	int r = desk_json_parse(p, n, 1, &v, &used, &err);
	if (r != DESK_JSON_OK)
		return jv_invalid_with_msg(jv_string(err.msg));
	for (size_t i = used; i < n; i++) {
		char c = p[i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
			jv_free(v);
			return jv_invalid_with_msg(jv_string("trailing data after value"));
		}
	}
	return v;
}

void
desk_json_dump_str(struct desk_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	size_t i = escape_at(s, 0, n);

	desk_buf_reserve(b, n + 2);
	/* The common case, nothing to escape: one copy, no call per piece. */
	if (i == n) {
		char *d = b->p + b->len;
		d[0] = '"';
		memcpy(d + 1, s, n);
		d[n + 1] = '"';
		b->len += n + 2;
		return;
	}
	desk_buf_addc(b, '"');
	const char *run = s;
	for (; i < n; i = escape_at(s, i + 1, n)) {
		unsigned char c = (unsigned char)s[i];
		desk_buf_add(b, run, (size_t)(s + i - run));
		run = s + i + 1;
		switch (c) {
		case '"': desk_buf_add(b, "\\\"", 2); break;
		case '\\': desk_buf_add(b, "\\\\", 2); break;
		case '\n': desk_buf_add(b, "\\n", 2); break;
		case '\r': desk_buf_add(b, "\\r", 2); break;
		case '\t': desk_buf_add(b, "\\t", 2); break;
		case '\b': desk_buf_add(b, "\\b", 2); break;
		case '\f': desk_buf_add(b, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			desk_buf_add(b, u, 6);
		}
		}
	}
	desk_buf_add(b, run, (size_t)(s + n - run));
	desk_buf_addc(b, '"');
}

static void
dump_number(struct desk_buf *b, double d)
{
	if (isnan(d)) {
		desk_buf_add(b, "null", 4);
		return;
	}
	/* The range first: casting a double int64_t cannot hold is undefined. */
	if (fabs(d) < 9007199254740992.0 && d == (double)(int64_t)d) {
		/* By hand: snprintf cost more than the rest of a record's ids. */
		char t[24], *e = t + sizeof t, *q = e;
		int64_t i = (int64_t)d;
		uint64_t u = i < 0 ? (uint64_t)-i : (uint64_t)i;
		do
			*--q = (char)('0' + u % 10);
		while (u /= 10);
		if (i < 0 || signbit(d))
			*--q = '-';
		desk_buf_add(b, q, (size_t)(e - q));
		return;
	}
	/* jq's shortest round-trip form for everything else. */
	jv s = jv_dump_string(jv_number(d), 0);
	desk_buf_adds(b, jv_string_value(s));
	jv_free(s);
}

/* Appends "k": for the key k (borrowed). */
static void
dump_key(struct desk_buf *b, jv k)
{
	const struct key_slot *t = key_text(k);

	if (t && t->plain) {
		desk_buf_reserve(b, (size_t)t->len + 3);
		char *d = b->p + b->len;
		d[0] = '"';
		memcpy(d + 1, t->s, t->len);
		d[t->len + 1] = '"';
		d[t->len + 2] = ':';
		b->len += (size_t)t->len + 3;
		return;
	}
	desk_json_dump_str(b, jv_string_value(k),
	    (size_t)jv_string_length_bytes(jv_copy(k)));
	desk_buf_addc(b, ':');
}

static void
dump(struct desk_buf *b, jv v)
{
	int first = 1;

	switch (jv_get_kind(v)) {
	case JV_KIND_INVALID:
	case JV_KIND_NULL:
		desk_buf_add(b, "null", 4);
		break;
	case JV_KIND_FALSE:
		desk_buf_add(b, "false", 5);
		break;
	case JV_KIND_TRUE:
		desk_buf_add(b, "true", 4);
		break;
	case JV_KIND_NUMBER:
		dump_number(b, jv_number_value(v));
		break;
	case JV_KIND_STRING:
		desk_json_dump_str(b, jv_string_value(v),
		    (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_ARRAY:
		desk_buf_addc(b, '[');
		jv_array_foreach(v, i, x) {
			if (i)
				desk_buf_addc(b, ',');
			dump(b, x);
			jv_free(x);
		}
		desk_buf_addc(b, ']');
		break;
	case JV_KIND_OBJECT:
		desk_buf_addc(b, '{');
		jv_object_foreach(v, k, x) {
			if (!first)
				desk_buf_addc(b, ',');
			first = 0;
			dump_key(b, k);
			dump(b, x);
			jv_free(k);
			jv_free(x);
		}
		desk_buf_addc(b, '}');
		break;
	}
}

void
desk_json_dump(struct desk_buf *b, jv v)
{
	dump(b, v);
}

void
desk_json_dump_with(struct desk_buf *b, const char *key, jv v, jv o)
{
	size_t n = strlen(key);

	desk_buf_addc(b, '{');
	desk_json_dump_str(b, key, n);
	desk_buf_addc(b, ':');
	dump(b, v);
	if (jv_get_kind(o) == JV_KIND_OBJECT)
		jv_object_foreach(o, k, x) {
			const char *ks = jv_string_value(k);
			size_t kn = (size_t)jv_string_length_bytes(jv_copy(k));
			if (kn != n || memcmp(ks, key, n)) {
				desk_buf_addc(b, ',');
				dump_key(b, k);
				dump(b, x);
			}
			jv_free(k);
			jv_free(x);
		}
	desk_buf_addc(b, '}');
}

char *
desk_json_text(jv v)
{
	struct desk_buf b = DESK_BUF_INIT;

	dump(&b, v);
	return desk_buf_str(&b);
}

jv
desk_jget(jv o, const char *key)
{
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return jv_invalid();
	jv v = jv_object_get(jv_copy(o), key_cstr(key));
	/* o still holds a reference, so the value outlives this one. */
	jv_free(v);
	return v;
}

void
desk_jgets(jv o, const char *const *keys, size_t n, jv *out)
{
	desk_jgets_each(o, keys, n, out, NULL, NULL);
}

void
desk_jgets_each(jv o, const char *const *keys, size_t n, jv *out,
    void (*each)(jv k, jv v, void *ctx), void *ctx)
{
	for (size_t i = 0; i < n; i++)
		out[i] = jv_invalid();
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return;
	jv_object_foreach(o, k, v) {
		const struct key_slot *t = key_text(k);
		const char *ks = t ? t->s : jv_string_value(k);
		size_t kn = t ? t->len : (size_t)jv_string_length_bytes(jv_copy(k));
		for (size_t i = 0; i < n; i++)
			if (kn && ks[0] == keys[i][0] && strlen(keys[i]) == kn &&
			    !memcmp(ks, keys[i], kn)) {
				out[i] = v;    /* o still holds a reference */
				break;
			}
		if (each)
			each(k, v, ctx);
		jv_free(k);
		jv_free(v);
	}
}

const char *
desk_jstr(jv o, const char *key)
{
	jv v = desk_jget(o, key);

	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

int
desk_jstrn(jv o, const char *key, const char **s, size_t *n)
{
	return desk_jstrn_of(desk_jget(o, key), s, n);
}

int
desk_jstrn_of(jv v, const char **s, size_t *n)
{
	if (jv_get_kind(v) != JV_KIND_STRING)
		return 0;
	*s = jv_string_value(v);
	*n = (size_t)jv_string_length_bytes(jv_copy(v));
	return 1;
}

int
desk_jint(jv o, const char *key, int64_t *out)
{
	return desk_jint_of(desk_jget(o, key), out);
}

int
desk_jint_of(jv v, int64_t *out)
{
	if (jv_get_kind(v) != JV_KIND_NUMBER)
		return 0;
	double d = jv_number_value(v);
	if (d != floor(d) || fabs(d) > 9007199254740992.0)
		return 0;
	*out = (int64_t)d;
	return 1;
}

int
desk_jhas(jv o, const char *key)
{
	return jv_is_valid(desk_jget(o, key));
}

jv
desk_jset(jv o, const char *key, jv v)
{
	return jv_object_set(o, key_cstr(key), v);
}

jv
desk_jset_str(jv o, const char *key, const char *s)
{
	return jv_object_set(o, key_cstr(key), s ? jv_string(s) : jv_null());
}

jv
desk_jset_int(jv o, const char *key, int64_t v)
{
	return jv_object_set(o, key_cstr(key), jv_number((double)v));
}

jv
desk_jdel(jv o, const char *key)
{
	if (!desk_jhas(o, key))
		return o;
	return jv_object_delete(o, jv_string(key));
}

jv
desk_jproto(const char *json)
{
	size_t i = 0;

	while (i < PROTOS && protos[i].json && protos[i].json != json)
		i++;
	if (i == PROTOS || !key_cache)    /* no room, or no cache to go with */
		return desk_json_parse_all(json, strlen(json));
	if (!protos[i].json) {
		protos[i].v = desk_json_parse_all(json, strlen(json));
		protos[i].json = json;
	}
	return jv_copy(protos[i].v);
}

struct desk_buf *
desk_jvals_next(struct desk_jvals *v)
{
	if (v->n < DESK_JVALS_MAX)
		v->off[v->n++] = v->b.len;
	return &v->b;
}

void
desk_jvals_int(struct desk_jvals *v, uint64_t x)
{
	dump_number(desk_jvals_next(v), (double)x);
}

void
desk_jvals_str(struct desk_jvals *v, const char *s, size_t n)
{
	struct desk_buf *b = desk_jvals_next(v);

	if (s)
		desk_json_dump_str(b, s, n);
	else
		desk_buf_add(b, "null", 4);
}

void
desk_jproto_print(struct desk_buf *b, const char *type, const char *proto,
    const char *const *keys, struct desk_jvals *v)
{
	const char *p = proto + 1, *end = proto + strlen(proto) - 1;

	desk_buf_adds(b, "{\"rec\":");
	desk_json_dump_str(b, type, strlen(type));
	if (p < end)
		desk_buf_addc(b, ',');
	for (size_t i = 0; i < v->n; i++) {
		size_t kn = strlen(keys[i]);
		const char *q = p;
		/* "key": where a member starts, after { or , (a proto's keys are plain). */
		while ((q = strstr(q, keys[i])) && (q[-1] != '"' || q[kn] != '"' ||
		    q[kn + 1] != ':' || (q[-2] != '{' && q[-2] != ',')))
			q++;
		if (!q)
			continue;    /* not the proto's: a caller's mistake, t0105 sees it */
		q += kn + 2;
		desk_buf_add(b, p, (size_t)(q - p));
		size_t end_i = i + 1 < v->n ? v->off[i + 1] : v->b.len;
		desk_buf_add(b, v->b.p + v->off[i], end_i - v->off[i]);
		p = *q == '[' || *q == '{' ? q + 2 : q + strcspn(q, ",}");
	}
	desk_buf_add(b, p, (size_t)(end - p));
	desk_buf_free(&v->b);
	v->n = 0;
}

jv
desk_jstring(const char *s, size_t n)
{
	return jv_string_sized(s, (int)n);
}

jv
desk_fields_merge(jv fields, jv changes)
{
	jv_object_foreach(changes, k, v) {
		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			if (jv_object_has(jv_copy(fields), jv_copy(k)))
				fields = jv_object_delete(fields, k);
			else
				jv_free(k);
		} else
			fields = jv_object_set(fields, k, v);
	}
	jv_free(changes);
	return fields;
}
