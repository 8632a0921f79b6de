/*
 * Unit tests for lib/base/jscan.c (members found in an object's bytes, the
 * same as the strict parser finds them) and for desk_crc32's eight-byte
 * steps against the byte-at-a-time sum.
 */
#include <stdint.h>
#include <stdlib.h>

#include "desk.h"
#include "tap.h"

static const char *const keys[] = { "a", "b", "to", "zz" };
#define NK (sizeof keys / sizeof *keys)

/* Each key's value as found, "-" when absent, "ERR" when refused: a|b|to|zz. */
static char *
found(const char *s)
{
	static char out[1024];
	struct desk_jspan v[NK];

	if (desk_json_members(s, strlen(s), keys, NK, v) < 0)
		return "ERR";
	out[0] = '\0';
	for (size_t i = 0; i < NK; i++) {
		size_t n = strlen(out);
		snprintf(out + n, sizeof out - n, "%s%.*s", i ? "|" : "",
		    v[i].p ? (int)v[i].n : 1, v[i].p ? v[i].p : "-");
	}
	return out;
}

/* Whether each key's value found, parsed, is the parser's (absent: both). */
static int
as_parsed(const char *s)
{
	struct desk_jspan v[NK];
	jv o = desk_json_parse_all(s, strlen(s));
	int same = desk_json_members(s, strlen(s), keys, NK, v) == 0;

	for (size_t i = 0; same && i < NK; i++) {
		jv x = desk_jget(o, keys[i]);
		if (!v[i].p)
			same = !jv_is_valid(x);
		else
			same = jv_equal(desk_json_parse_all(v[i].p, v[i].n), jv_copy(x));
	}
	jv_free(o);
	return same;
}

static uint32_t
crc_bytewise(const unsigned char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
	}
	return c ^ 0xffffffffu;
}

int
main(void)
{
	/* Canonical records: found as the parser finds them. */
	static const char *const same[] = {
		"{\"a\":1,\"b\":\"x\",\"to\":{\"a\":2,\"zz\":[1,{\"b\":\"}\"}]},\"zz\":null}",
		"{\"zz\":\"q\\\"uote\\\\\",\"a\":[],\"b\":{}}",
		"{\"b\":\"\\u00e9t\\u00e9\",\"a\":-1.5e3}",
		"{\"a\":\"Здравствуйте, \\\\\",\"b\":true,\"c\":false}",
		"{}",
		"{\"a\":1,\"a\":2}",
	};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++)
		ok(as_parsed(same[i]), "as parsed: %s", same[i]);
	is_str(found(" { \"a\" : 1 , \"b\" :\t\"x\" }\n"), "1|\"x\"|-|-",
	    "white space around members");
	is_str(found("{\"a\":1,\"a\":2}"), "2|-|-|-", "a key given twice: the last");
	is_str(found("{\"to\":{\"a\":1}}"), "-|-|{\"a\":1}|-", "a nested object whole");

	/* What it refuses, so that the caller parses (and reports) instead. */
	static const char *const bad[] = {
		"", "[]", "\"a\"", "{", "{\"a\":1", "{\"a\":1,}", "{\"a\" 1}",
		"{\"a\":\"open}", "{\"a\":[1,2}", "{\"a\":{\"b\":1}", "{\"a\":1} x",
		"{\"a\":1}{}", "{\"\\u0061\":1}", "{a:1}", "{\"a\":}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		is_str(found(bad[i]), "ERR", "refused: %s", bad[i]);

	/* An array's elements, as bytes. */
	struct desk_jspan el[4];
	static const char arr[] = "[1,\"a,]\",{\"b\":[2]} , [] ]";
	int ne = desk_json_elements(arr, strlen(arr), el, 4);
	ok(ne == 4 && el[0].n == 1 && !memcmp(el[1].p, "\"a,]\"", el[1].n) &&
	    !memcmp(el[2].p, "{\"b\":[2]}", el[2].n) && el[2].n == 9 &&
	    !memcmp(el[3].p, "[]", el[3].n) && el[3].n == 2, "elements: 4, each whole");
	ok(desk_json_elements(" [ ] ", 5, el, 4) == 0, "elements: none");
	ok(desk_json_elements("[1,2,3,4]", 9, el, 4) == 4, "elements: as many as there is room for");
	static const char *const badarr[] = { "", "[", "[1,", "[1,]", "[1 2]", "{}",
		"[1]x", "[1,2,3,4,5]", "[\"a]", "[{]" };
	for (size_t i = 0; i < sizeof badarr / sizeof *badarr; i++)
		ok(desk_json_elements(badarr[i], strlen(badarr[i]), el, 4) == -1,
		    "elements refused: %s", badarr[i]);

	/* The values it does not check are parsed by the caller. */
	struct desk_jspan s = { "[1,2", 4 };
	jv broken = desk_json_span_parse(s);
	ok(!jv_is_valid(broken), "span_parse: a broken value is invalid");
	jv_free(broken);
	static const char *const vals[] = { "null", "{}", "[]", "7", "123456789012345",
		"\"plain\"", "\"é\"", "\"a\\nb\"", "-3", "0", "1e2", "true" };
	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		jv a = desk_json_span_parse((struct desk_jspan){ vals[i], strlen(vals[i]) });
		jv b = desk_json_parse_all(vals[i], strlen(vals[i]));
		ok(jv_equal(a, b), "span_parse as parse_all: %s", vals[i]);
	}

	/* CRC-32: the check value, and every length and alignment. */
	ok(desk_crc32("123456789", 9) == 0xcbf43926u, "crc32 check value");
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	int bad_crc = 0;
	for (size_t off = 0; off < 8; off++)
		for (size_t n = 0; n + off <= sizeof buf; n++)
			bad_crc += desk_crc32(buf + off, n) != crc_bytewise(buf + off, n);
	ok(bad_crc == 0, "crc32 by eights as byte by byte, every length and offset");
	return done_testing();
}
