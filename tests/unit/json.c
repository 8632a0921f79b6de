/* Unit tests for lib/json.c: the strict parser and the printer. */
#include <math.h>
#include <stdlib.h>

#include "desk.h"
#include "tap.h"

static const char proto[] = "{\"a\":null,\"b\":2,\"c\":[]}";

/* Parses s whole and prints it back compact, or "ERR: message". */
static char *
roundtrip(const char *s, size_t n)
{
	static char out[4096];
	jv v = desk_json_parse_all(s, n);

	if (!jv_is_valid(v)) {
		jv m = jv_invalid_get_msg(v);
		snprintf(out, sizeof out, "ERR: %s", jv_string_value(m));
		jv_free(m);
		return out;
	}
	char *t = desk_json_text(v);
	snprintf(out, sizeof out, "%s", t);
	free(t);
	jv_free(v);
	return out;
}
#define RT(s) roundtrip(s, sizeof(s) - 1)

/* What desk_json_skim finds of key in the n bytes at s, or "(none)". */
static const char *
skim(const char *s, size_t n, const char *key)
{
	const char *v = desk_json_skim(s, n, key);

	return v ? v : "(none)";
}

static void
incomplete(const char *s)
{
	struct desk_jerr e;
	size_t used;
	jv v;

	int r = desk_json_parse(s, strlen(s), 0, &v, &used, &e);
	ok(r == DESK_JSON_INCOMPLETE, "incomplete without EOF: %s", s);
	if (r == DESK_JSON_OK)
		jv_free(v);
}

int
main(void)
{
	/* Accepted, and printed back compact in key order. */
	is_str(RT("{\"b\":1, \"a\" : [true,false,null]}"), "{\"b\":1,\"a\":[true,false,null]}", "object order kept");
	is_str(RT(" 42 "), "42", "a bare number");
	is_str(RT("-0.5e2"), "-50", "exponent");
	is_str(RT("9007199254740993"), "9007199254740992", "2^53+1 is a double");
	is_str(RT("0.1"), "0.1", "shortest form");
	is_str(RT("1e300"), "1e+300", "big exponent");
	/* Beyond int64: printed in jq's form, never cast to an integer. */
	is_str(RT("-1e300"), "-1e+300", "-1e300");
	is_str(RT("9.3e18"), "9.3e+18", "9.3e18, above 2^63");
	is_str(RT("-1e19"), "-1e+19", "-1e19, below -2^63");
	is_str(RT("9223372036854775808"), "9223372036854776000", "2^63");
	is_str(RT("-9223372036854775808"), "-9223372036854776000", "-2^63");
	is_str(RT("9007199254740991"), "9007199254740991", "2^53-1 is still an integer");
	is_str(RT("-9007199254740991"), "-9007199254740991", "and -(2^53-1)");
	char *inf = desk_json_text(jv_number(INFINITY));
	is_str(inf, "1.7976931348623157e+308", "infinity (made in code, never parsed): jq's form");
	free(inf);
	is_str(RT("\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\""), "\"\xc3\xa9\xf0\x9f\x98\x80\\n\\t\\\"\\\\/\"", "escapes decoded, re-escaped minimally");
	is_str(RT("\"a\\u0000b\""), "\"a\\u0000b\"", "NUL inside a string survives");
	is_str(RT("\"\x7f\""), "\"\x7f\"", "DEL is not escaped");
	is_str(RT("{\"a\":1,\"a\":2}"), "{\"a\":2}", "a repeated key: the last wins");
	is_str(RT("[]"), "[]", "empty array");
	is_str(RT("{}"), "{}", "empty object");

	/* Rejected, with a reason. */
	is_str(RT("nan"), "ERR: unexpected 'n'", "nan is not JSON");
	is_str(RT("NaN"), "ERR: unexpected 'N'", "NaN is not JSON");
	is_str(RT("[1,]"), "ERR: unexpected ']'", "trailing comma");
	is_str(RT("{'a':1}"), "ERR: expected a string key in object, found '''", "single quotes");
	is_str(RT("012"), "ERR: bad number: unexpected '1'", "leading zero");
	is_str(RT("1."), "ERR: unexpected end of input in a number", "no digit after the point");
	is_str(RT("1.e5"), "ERR: bad number: no digit after '.'", "no digit after the point, then e");
	is_str(RT("1e999"), "ERR: number out of range", "infinite");
	is_str(RT("truex"), "ERR: unexpected 't'", "a literal run on");
	is_str(RT("\"a\nb\""), "ERR: unescaped control character 0x0a in string", "raw newline in a string");
	is_str(RT("\"\\x\""), "ERR: bad escape 'x' after '\\' in string", "bad escape");
	is_str(RT("\"\\ud800\""), "ERR: lone high surrogate \\ud800 in string", "lone high surrogate");
	is_str(RT("\"\\udc00\""), "ERR: lone low surrogate \\udc00 in string", "lone low surrogate");
	is_str(RT("\"\xc3\x28\""), "ERR: invalid UTF-8 in string", "bad continuation byte");
	is_str(RT("\"\xc0\xaf\""), "ERR: invalid UTF-8 in string", "overlong encoding");
	is_str(RT("\"\xed\xa0\x80\""), "ERR: invalid UTF-8 in string", "an encoded surrogate");
	is_str(RT("\"\xf4\x90\x80\x80\""), "ERR: invalid UTF-8 in string", "above U+10FFFF");
	is_str(RT("\xff"), "ERR: invalid UTF-8 outside a string", "a stray byte");
	is_str(RT("{} x"), "ERR: trailing data after value", "trailing data");
	is_str(RT(""), "ERR: unexpected end of input in a value", "nothing");

	/* Depth: 256 levels are fine, 257 are not. */
	char deep[1100];
	memset(deep, '[', 256);
	memset(deep + 256, ']', 256);
	deep[512] = '\0';
	is_str(roundtrip(deep, 512), deep, "256 levels deep");
	memset(deep, '[', 257);
	memset(deep + 257, ']', 257);
	is_str(roundtrip(deep, 514), "ERR: nested deeper than 256 levels", "257 levels deep");

	/* In a stream: where a value ends, and when more input is needed. */
	incomplete("{\"a\":");
	incomplete("\"abc");
	incomplete("12");
	incomplete("tru");
	incomplete("\"\xc3");
	incomplete("\"\\ud83d\\ude");
	struct desk_jerr e;
	size_t used;
	jv v;
	int r = desk_json_parse("  {\"a\":1}\n{\"b\"", 16, 0, &v, &used, &e);
	ok(r == DESK_JSON_OK && used == 9, "a value followed by more: used %zu bytes", used);
	if (r == DESK_JSON_OK)
		jv_free(v);
	r = desk_json_parse("[1, 2, x]", 9, 1, &v, &used, &e);
	ok(r == DESK_JSON_ERROR && e.off == 7, "an error's offset (%zu)", e.off);

	/* Getters and fields. */
	jv o = desk_json_parse_all("{\"s\":\"x\",\"n\":3,\"f\":1.5,\"big\":1e20}", 34);
	int64_t i;
	ok(desk_jstr(o, "s") && !strcmp(desk_jstr(o, "s"), "x"), "desk_jstr");
	ok(!desk_jstr(o, "n") && !desk_jstr(o, "none"), "desk_jstr: wrong type or absent");
	ok(desk_jint(o, "n", &i) && i == 3, "desk_jint");
	ok(!desk_jint(o, "f", &i) && !desk_jint(o, "big", &i), "desk_jint: not whole, or past 2^53");
	jv_free(o);
	jv fields = jv_object();
	const char *err;
	ok(desk_field_arg("tariff=VIP", &fields, &err) == 0, "KEY=VALUE");
	ok(desk_field_arg("n:=[1,2]", &fields, &err) == 0, "KEY:=JSON");
	ok(desk_field_arg("eq=a=b", &fields, &err) == 0, "a value with =");
	ok(desk_field_arg("=x", &fields, &err) < 0, "no key");
	ok(desk_field_arg("k:=nope", &fields, &err) < 0, "KEY:= that is not JSON");
	char *t = desk_json_text(fields);
	is_str(t, "{\"tariff\":\"VIP\",\"n\":[1,2],\"eq\":\"a=b\"}", "fields collected");
	free(t);
	jv changes = jv_object();
	desk_field_arg("n:=null", &changes, &err);
	desk_field_arg("new=1", &changes, &err);
	fields = desk_fields_merge(fields, changes);
	t = desk_json_text(fields);
	is_str(t, "{\"tariff\":\"VIP\",\"eq\":\"a=b\",\"new\":\"1\"}", "merge: null removes");
	free(t);
	jv_free(fields);

	/* Skimming: only a key of the top level, never one inside a string. */
#define SKIM(text, key) skim(text, sizeof(text) - 1, key)
	is_str(SKIM("{\"rec\":\"case\",\"case_id\":7}", "case_id"), "7}", "skim: a top-level key");
	is_str(SKIM(" {\"a\" : {\"case_id\":1}, \"case_id\" :\t2}", "case_id"), "2}",
	    "skim: not the key of a nested object, space around ':'");
	is_str(SKIM("{\"a\":[{\"case_id\":1}],\"case_id\":3}", "case_id"), "3}", "skim: nor one in an array");
	is_str(SKIM("{\"a\":\"\\\"case_id\\\":4\",\"case_id\":5}", "case_id"), "5}",
	    "skim: nor a key written inside a string, escaped quotes and all");
	is_str(SKIM("{\"a\":\"x\\\\\",\"case_id\":6}", "case_id"), "6}", "skim: a string ending in a backslash");
	is_str(SKIM("{\"a\":\"\\\"\",\"case_id\":8}", "case_id"), "8}", "skim: a string of one escaped quote");
	is_str(SKIM("{\"case_id_x\":1,\"case\":2}", "case_id"), "(none)", "skim: absent (a longer key, a shorter one)");
	is_str(SKIM("{\"a\":{}}", "case_id"), "(none)", "skim: absent (nested empty)");
	is_str(SKIM("[{\"case_id\":1}]", "case_id"), "(none)", "skim: not an object");
	is_str(SKIM("{\"case_id\":\"x", "case_id"), "\"x", "skim: the value's start, even cut short");
	is_str(SKIM("{\"a\":\"unterminated", "a"), "\"unterminated", "skim: cut short in a value");
	is_str(SKIM("{\"a", "a"), "(none)", "skim: cut short in a key");

	/*
	 * desk_json_dump_with prints what setting the key first and merging
	 * the object in would (the log's user and case records), and the
	 * printer's keys from the key cache print as libjq's own do: plain,
	 * with quotes and controls, set again, parsed.
	 */
	const char *src = "{\"a\":1,\"q\\\"k\":\"x\\n\\u0001\",\"rec\":\"old\",\"b\":[{\"rec\":2}]}";
	o = desk_json_parse_all(src, strlen(src));
	o = desk_jset_str(o, "tab\tkey", "v\"w");
	o = desk_jset_int(o, "a", 7);
	struct desk_buf b1 = DESK_BUF_INIT, b2 = DESK_BUF_INIT;
	jv rt = jv_string("user");
	desk_json_dump_with(&b1, "rec", rt, o);
	jv merged = jv_object_merge(desk_jset(jv_object(), "rec", jv_copy(rt)),
	    jv_object_delete(jv_copy(o), jv_string("rec")));
	desk_json_dump(&b2, merged);
	is_str(desk_buf_str(&b1), desk_buf_str(&b2), "dump_with: the merged object's text");
	is_str(desk_buf_str(&b1), "{\"rec\":\"user\",\"a\":7,\"q\\\"k\":\"x\\n\\u0001\","
	    "\"b\":[{\"rec\":2}],\"tab\\tkey\":\"v\\\"w\"}", "dump_with: the text");
	jv back = desk_json_parse_all(b2.p, b2.len);
	b1.len = 0;
	desk_json_dump(&b1, back);
	is_str(desk_buf_str(&b1), desk_buf_str(&b2), "the same keys parsed back print alike");
	desk_buf_free(&b1);
	desk_buf_free(&b2);
	jv_free(back);
	jv_free(merged);
	jv_free(rt);
	jv_free(o);

	/* desk_jproto: a copy of one object, built once, set over in place. */
	jv p1 = desk_jset_str(desk_jproto(proto), "a", "x");
	p1 = desk_jset(p1, "c", jv_array_append(jv_copy(desk_jget(p1, "c")),
	    jv_number(1)));
	jv p2 = desk_jproto(proto);
	t = desk_json_text(p1);
	is_str(t, "{\"a\":\"x\",\"b\":2,\"c\":[1]}", "desk_jproto: set over, in build's order");
	free(t);
	t = desk_json_text(p2);
	is_str(t, "{\"a\":null,\"b\":2,\"c\":[]}", "desk_jproto: the next copy as built");
	free(t);
	jv p3 = desk_jproto(proto), p4 = desk_jproto(proto);
	ok(jv_identical(p3, p4), "desk_jproto: parsed once, the same value copied");
	jv_free(p1);
	jv_free(p2);
	return done_testing();
}
