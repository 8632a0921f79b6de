/*
 * libFuzzer target: the pure functions every inbound event goes through,
 * on one JSON value parsed from the input. Checks:
 *
 *  - desk_check_sizes names a field the event has when it refuses, and
 *    refuses a NUL in any string used as a key or a name;
 *  - desk_api_aliases (wrappers "case", "user" and none) gives what an
 *    independent model of the renaming gives: the same object, the same
 *    refusal; and what it returns has no API name left;
 *  - desk_code_mask_event leaves no code-shaped token (desk_code_find) in
 *    any string it masks, keys included, leaves the top-level identifiers
 *    exactly as they were, changes only code bytes to '*', is idempotent,
 *    and returns an event without a code as it is;
 *  - desk_code_mask and desk_code_find agree on the raw bytes;
 *  - desk_json_size is the length of desk_json_dump;
 *  - none of them changes what it borrows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const api_names[][2] = {
	{ "user_email", "email" },
	{ "user_phone", "phone" },
	{ "user_full_name", "name" },
	{ "company_name", "company" },
	{ "custom_fields", "fields" },
	{ "user_custom_channel", "channel" },
};

/* desk-events(7)'s identifiers, which masking must leave exact. */
static const char *const idents[] = { "type", "id", "channel",
	"user_custom_id", "user_custom_channel", "email", "phone", "user_email",
	"user_phone", "source_id", "rule", "via", "staff_id", "status",
	"case_status", "trigger", "connector", "event_id", "event_scope",
	"user_id", "case_id", "message_id", "out_id", "account_user_id" };

/* Strings that become keys or names: a NUL in them must be refused. */
static const char *const no_nul[] = { "channel", "user_custom_id", "id",
	"source_id", "staff_id", "email", "phone", "name", "company", "rule",
	"status", "assignee", "team", "subject" };

#define NELEM(a) (sizeof (a) / sizeof *(a))

/* k (borrowed) is s, all of it: a key with a NUL inside is no name. */
static int
key_is(jv k, const char *s)
{
	return jv_equal(jv_copy(k), jv_string(s));
}

/* desk's name for k (borrowed), owned: the API's names renamed. */
static jv
canon(jv k)
{
	for (size_t i = 0; i < NELEM(api_names); i++)
		if (key_is(k, api_names[i][0]))
			return jv_string(api_names[i][1]);
	return jv_copy(k);
}

/* Whether the key k (borrowed) is one of list, all of it. */
static int
member(jv k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (key_is(k, list[i]))
			return 1;
	return 0;
}

static int
is_api_name(jv k)
{
	for (size_t i = 0; i < NELEM(api_names); i++)
		if (key_is(k, api_names[i][0]))
			return 1;
	return 0;
}

/* The compact text of v (borrowed), to see that a borrower left it alone. */
static char *
text(jv v)
{
	return desk_json_text(v);
}

static void
unchanged(jv v, const char *before)
{
	char *now = text(v);

	if (strcmp(now, before))
		abort();
	free(now);
}

static int
has_code_str(jv s)
{
	size_t off;

	return desk_code_find(jv_string_value(s),
	    (size_t)jv_string_length_bytes(jv_copy(s)), &off);
}

/* No string in v (borrowed), keys included, holds a code-shaped token. */
static void
no_code(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		if (has_code_str(v))
			abort();
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			no_code(x);
			jv_free(x);
		}
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			no_code(k);
			no_code(x);
			jv_free(k);
			jv_free(x);
		}
		break;
	default:
		break;
	}
}

/* Whether v (borrowed) holds a code-shaped token anywhere. */
static int
any_code(jv v)
{
	int found = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return has_code_str(v);
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			found |= any_code(x);
			jv_free(x);
		}
		return found;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			found |= any_code(k) | any_code(x);
			jv_free(k);
			jv_free(x);
		}
		return found;
	default:
		return 0;
	}
}

/* s masked from o: the same bytes, but alphanumerics that became '*'. */
static int
masked_str(jv o, jv m)
{
	int n = jv_string_length_bytes(jv_copy(o));
	const char *a = jv_string_value(o), *b = jv_string_value(m);

	if (jv_string_length_bytes(jv_copy(m)) != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (a[i] != b[i] && b[i] != '*')
			return 0;
	return 1;
}

/*
 * Whether masking another key of o (borrowed) gives k: two keys that
 * differ only in a code ("d_7KQ2MX_vh", "d_******_**") become one, and one
 * value is lost. Masking cannot help that; this target does not count it.
 */
static int
collides(jv o, jv k)
{
	int hit = 0;

	jv_object_foreach(o, j, x) {
		if (!hit && has_code_str(j)) {
			jv mj = desk_code_mask_jv(jv_copy(j));
			hit = jv_equal(mj, jv_copy(k));
		}
		jv_free(j);
		jv_free(x);
	}
	return hit;
}

/*
 * m is o masked: the same shape, strings changed only by masking. A key
 * that held a code, or that one became, is not followed (see collides).
 */
static void
masked_like(jv o, jv m)
{
	if (jv_get_kind(o) != jv_get_kind(m))
		abort();
	switch (jv_get_kind(o)) {
	case JV_KIND_STRING:
		if (!masked_str(o, m))
			abort();
		break;
	case JV_KIND_ARRAY:
		if (jv_array_length(jv_copy(o)) != jv_array_length(jv_copy(m)))
			abort();
		jv_array_foreach(o, i, x) {
			jv y = jv_array_get(jv_copy(m), i);
			masked_like(x, y);
			jv_free(x);
			jv_free(y);
		}
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(o, k, x) {
			if (!has_code_str(k) && !collides(o, k)) {
				jv y = jv_object_get(jv_copy(m), jv_copy(k));
				if (!jv_is_valid(y))
					abort();
				masked_like(x, y);
				jv_free(y);
			}
			jv_free(k);
			jv_free(x);
		}
		break;
	default:
		if (!jv_equal(jv_copy(o), jv_copy(m)))
			abort();
	}
}

static void
check_mask(jv ev)
{
	char *before = text(ev);
	int had = any_code(ev);
	jv m = desk_code_mask_event(jv_copy(ev));

	unchanged(ev, before);
	free(before);
	if (!had && !jv_identical(jv_copy(ev), jv_copy(m)))
		abort();     /* no code: returned as it is, no copy */
	if (jv_get_kind(ev) != JV_KIND_OBJECT) {
		no_code(m);
		masked_like(ev, m);
	} else {
		jv_object_foreach(ev, k, x) {
			if (member(k, idents, NELEM(idents))) {
				jv y = jv_object_get(jv_copy(m), jv_copy(k));
				if (!jv_is_valid(y) || !jv_equal(jv_copy(x), y))
					abort();
			}
			jv_free(k);
			jv_free(x);
		}
		jv_object_foreach(m, k, x) {
			if (!member(k, idents, NELEM(idents))) {
				no_code(k);
				no_code(x);
			}
			jv_free(k);
			jv_free(x);
		}
		masked_like(ev, m);
	}
	jv again = desk_code_mask_event(jv_copy(m));
	if (!jv_equal(jv_copy(again), jv_copy(m)))
		abort();
	jv_free(again);
	jv_free(m);
}

static void
check_sizes(jv ev)
{
	char *before = text(ev), why[256];
	const char *field = "unset";
	const char *r = desk_check_sizes(ev, &field, why, sizeof why);

	unchanged(ev, before);
	free(before);
	if (r && (!*r || !field || !desk_jhas(ev, field)))
		abort();
	if (!r && field)
		abort();
	if (r || jv_get_kind(ev) != JV_KIND_OBJECT)
		return;
	/* Accepted: then no key or name holds a NUL. */
	for (size_t i = 0; i < NELEM(no_nul); i++) {
		const char *s;
		size_t n;
		if (desk_jstrn(ev, no_nul[i], &s, &n) && memchr(s, '\0', n))
			abort();
	}
}

/*
 * What desk_api_aliases should give, modelled independently: the top
 * level's API names renamed, then the wrapper's members joined in either
 * spelling; a clash of different values, or a wrapper that is not an
 * object, is a refusal. Invalid (without a message) for a refusal.
 */
static jv
model_put(jv e, jv key, jv v)
{
	jv have = jv_object_get(jv_copy(e), canon(key));

	if (jv_is_valid(have) && !jv_equal(jv_copy(have), jv_copy(v))) {
		jv_free(have);
		jv_free(v);
		jv_free(e);
		return jv_invalid();
	}
	jv_free(have);
	return jv_object_set(e, canon(key), v);
}

static jv
model_aliases(jv ev, const char *wrapper)
{
	if (jv_get_kind(ev) != JV_KIND_OBJECT)
		return ev;
	jv e = jv_object(), w = jv_invalid();
	jv_object_foreach(ev, k, x) {
		if (wrapper && key_is(k, wrapper)) {
			jv_free(w);
			w = x;
		} else if (!is_api_name(k))
			e = jv_object_set(e, jv_copy(k), x);
		else
			jv_free(x);
		jv_free(k);
	}
	for (size_t i = 0; i < NELEM(api_names) && jv_is_valid(e); i++) {
		jv k = jv_string(api_names[i][0]);
		jv x = jv_object_get(jv_copy(ev), jv_copy(k));
		if (jv_is_valid(x))
			e = model_put(e, k, x);
		else
			jv_free(x);
		jv_free(k);
	}
	jv_free(ev);
	if (!jv_is_valid(e) || !jv_is_valid(w)) {
		jv_free(w);
		return e;
	}
	if (jv_get_kind(w) != JV_KIND_OBJECT) {
		jv_free(w);
		jv_free(e);
		return jv_invalid();
	}
	jv_object_foreach(w, k, x) {
		if (jv_is_valid(e))
			e = model_put(e, k, x);
		else
			jv_free(x);
		jv_free(k);
	}
	jv_free(w);
	return e;
}

static jv
check_aliases(jv ev, const char *wrapper)
{
	char *before = text(ev);
	const char *field = NULL;
	char path[DESK_API_PATH];
	jv got = desk_api_aliases(jv_copy(ev), wrapper, &field, path, sizeof path);
	jv want = model_aliases(jv_copy(ev), wrapper);

	unchanged(ev, before);
	free(before);
	if (jv_is_valid(got) != jv_is_valid(want))
		abort();
	if (!jv_is_valid(got)) {
		jv m = jv_invalid_get_msg(got);
		if (jv_get_kind(m) != JV_KIND_STRING || !field || !*field)
			abort();
		jv_free(m);
		jv_free(want);
		return jv_invalid();
	}
	if (!jv_equal(jv_copy(got), want))
		abort();
	if (jv_get_kind(got) == JV_KIND_OBJECT) {
		jv_object_foreach(got, k, x) {
			if (is_api_name(k))
				abort();
			jv_free(k);
			jv_free(x);
		}
		/* Nothing left to rename: the fast path gives it back. */
		jv again = desk_api_aliases(jv_copy(got), NULL, &field, path,
		    sizeof path);
		if (!jv_identical(jv_copy(again), jv_copy(got)))
			abort();
		jv_free(again);
	}
	return got;
}

/* On the raw bytes: masking leaves nothing find sees; find sees what mask masks. */
static void
check_raw(const uint8_t *data, size_t size)
{
	char *c = malloc(size ? size : 1);
	size_t off;

	memcpy(c, data, size);
	int found = desk_code_find(c, size, &off);
	if (found && off + DESK_CODE_LEN > size)
		abort();
	size_t n = desk_code_mask(c, size);
	if ((n > 0) != found || desk_code_find(c, size, &off))
		abort();
	for (size_t i = 0; i < size; i++)
		if (c[i] != (char)data[i] && c[i] != '*')
			abort();
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_raw(data, size);
	jv ev = desk_json_parse_all((const char *)data, size);
	if (!jv_is_valid(ev)) {
		jv_free(ev);
		return 0;
	}
	struct desk_buf b = DESK_BUF_INIT;
	desk_json_dump(&b, ev);
	if (desk_json_size(ev) != b.len)
		abort();
	desk_buf_free(&b);

	check_sizes(ev);
	check_mask(ev);
	static const char *const wrappers[] = { "case", "user", NULL };
	for (size_t i = 0; i < NELEM(wrappers); i++) {
		jv a = check_aliases(ev, wrappers[i]);
		/* As the tools do: aliases first, then masking, then the sizes. */
		if (jv_is_valid(a)) {
			check_mask(a);
			check_sizes(a);
		}
		jv_free(a);
	}
	jv_free(ev);
	return 0;
}
