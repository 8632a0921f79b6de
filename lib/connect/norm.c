/*
 * norm.c: what the inbound normalisers share: the body as JSON, fields
 * read with their type checked and their path named when they are wrong
 * ("case.user_email: must be a string"), attachments in desk's shape, and
 * a new event of a channel.
 *
 * Every reader borrows the object it is given and returns an owned value
 * (or invalid for absent), so a normaliser builds its events from copies
 * and the body can be freed whole at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "connect/connect.h"

int
desk_in_fail(struct desk_err *e, const char *pre, const char *key,
    const char *fmt, ...)
{
	va_list ap;

	snprintf(e->fieldbuf, sizeof e->fieldbuf, "%s%s", pre ? pre : "",
	    key ? key : "");
	/* "[3]." and no key: the element itself, "[3]". */
	size_t n = strlen(e->fieldbuf);
	if (!key && n && e->fieldbuf[n - 1] == '.')
		e->fieldbuf[n - 1] = '\0';
	e->code = DESK_EX_DATA;
	e->field = e->fieldbuf[0] ? e->fieldbuf : NULL;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int
desk_in_json(const struct desk_http_in *in, jv *body, struct desk_err *e)
{
	struct desk_jerr je;
	size_t used;
	int r;

	*body = jv_invalid();
	r = desk_json_parse(in->body ? in->body : "", in->len, 1, body, &used, &je);
	if (r == DESK_JSON_OK) {
		while (used < in->len && strchr(" \t\r\n", in->body[used]))
			used++;
		if (used == in->len)
			return 0;
		jv_free(*body);
		*body = jv_invalid();
		return desk_in_fail(e, NULL, "body", "more than one JSON value "
		    "(byte %zu)", used);
	}
	if (r == DESK_JSON_INCOMPLETE)
		return desk_in_fail(e, NULL, "body", in->len ? "JSON cut short" :
		    "empty");
	return desk_in_fail(e, NULL, "body", "not JSON: %s (byte %zu)", je.msg,
	    je.off);
}

/* The value of key, borrowed; invalid for absent or null. */
static jv
get(jv o, const char *key)
{
	jv v = desk_jget(o, key);

	return jv_get_kind(v) == JV_KIND_NULL ? jv_invalid() : v;
}

int
desk_in_str(jv o, const char *pre, const char *key, int required, jv *out,
    struct desk_err *e)
{
	if (desk_in_kind(o, pre, key, JV_KIND_STRING, out, e) < 0)
		return -1;
	if (!jv_is_valid(*out))
		return required ? desk_in_fail(e, pre, key, "missing") : 0;
	*out = jv_copy(*out);
	return 0;
}

int
desk_in_id(jv o, const char *pre, const char *key, int flags, jv *out,
    struct desk_err *e)
{
	jv v = get(o, key);

	*out = jv_invalid();
	if (!jv_is_valid(v))
		return flags & DESK_IN_REQUIRED ? desk_in_fail(e, pre, key,
		    "missing") : 0;
	if (jv_get_kind(v) == JV_KIND_NUMBER && (flags & DESK_IN_NUMBER)) {
		/* A platform's integer id, kept as its decimal string. */
		int64_t n;
		char s[24];
		if (!desk_jint(o, key, &n))
			return desk_in_fail(e, pre, key, "must be a whole number "
			    "or a string");
		snprintf(s, sizeof s, "%lld", (long long)n);
		*out = jv_string(s);
		return 0;
	}
	if (jv_get_kind(v) != JV_KIND_STRING)
		return desk_in_fail(e, pre, key, flags & DESK_IN_NUMBER ?
		    "must be a whole number or a string" : "must be a string "
		    "(ids from outside are never numbers: quote it)");
	if (jv_string_length_bytes(jv_copy(v)) == 0)
		return desk_in_fail(e, pre, key, "empty");
	*out = jv_copy(v);
	return 0;
}

int
desk_in_kind(jv o, const char *pre, const char *key, jv_kind kind, jv *out,
    struct desk_err *e)
{
	jv v = get(o, key);

	*out = jv_invalid();
	if (!jv_is_valid(v))
		return 0;
	if (jv_get_kind(v) != kind)
		return desk_in_fail(e, pre, key, "must be %s",
		    kind == JV_KIND_OBJECT ? "an object" : kind == JV_KIND_ARRAY ?
		    "an array" : kind == JV_KIND_NUMBER ? "a number" : "a string");
	*out = v;
	return 0;
}

int
desk_in_attachment(jv a, const char *pre, jv *out, struct desk_err *e)
{
	static const char *const strs[] = { "url", "file_name", "mime_type" };
	jv x = jv_object(), v;
	int64_t size;

	*out = jv_invalid();
	if (jv_get_kind(a) != JV_KIND_OBJECT) {
		jv_free(x);
		return desk_in_fail(e, pre, NULL, "must be an object");
	}
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		if (desk_in_str(a, pre, strs[i], i == 0, &v, e) < 0) {
			jv_free(x);
			return -1;
		}
		if (jv_is_valid(v))
			x = desk_jset(x, strs[i], v);
	}
	if (!jv_string_length_bytes(jv_copy(desk_jget(x, "url")))) {
		jv_free(x);
		return desk_in_fail(e, pre, "url", "empty");
	}
	if (jv_is_valid(get(a, "file_size"))) {
		if (!desk_jint(a, "file_size", &size) || size < 0) {
			jv_free(x);
			return desk_in_fail(e, pre, "file_size", "must be a whole "
			    "number of bytes");
		}
		x = desk_jset_int(x, "file_size", size);
	}
	*out = x;
	return 0;
}

int
desk_in_attachments(jv o, const char *pre, const char *key, jv *out,
    struct desk_err *e)
{
	jv a, list = jv_array();
	char p[64];
	int r = 0;

	*out = jv_invalid();
	if (desk_in_kind(o, pre, key, JV_KIND_ARRAY, &a, e) < 0) {
		jv_free(list);
		return -1;
	}
	if (!jv_is_valid(a)) {
		jv_free(list);
		return 0;
	}
	jv_array_foreach(a, i, x) {
		jv y;
		if (!r) {
			snprintf(p, sizeof p, "%.24s%.24s[%d].", pre ? pre : "", key, i);
			r = desk_in_attachment(x, p, &y, e);
			if (!r)
				list = jv_array_append(list, y);
		}
		jv_free(x);
	}
	if (r < 0) {
		jv_free(list);
		return -1;
	}
	*out = list;
	return 0;
}

jv
desk_in_event(jv ch, const char *type)
{
	jv ev = jv_object();

	if (type)
		ev = desk_jset_str(ev, "type", type);
	return desk_jset(ev, "channel", jv_copy(desk_jget(ch, "name")));
}

jv
desk_in_set(jv ev, const char *key, jv v)
{
	return jv_is_valid(v) ? desk_jset(ev, key, v) : ev;
}
