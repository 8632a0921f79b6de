/*
 * api.c: the help desk API's names for what desk calls otherwise, so that
 * a body written for that API (REFERENCES §1: the create-case body, POST
 * /api/users/identification.json) can be sent to desk as it is.
 */
#include <stdio.h>
#include <string.h>

#include "domain/domain.h"

static const char *const aliases[][2] = {
	{ "user_email", "email" },
	{ "user_phone", "phone" },
	{ "user_full_name", "name" },
	{ "company_name", "company" },
	{ "custom_fields", "fields" },
	{ "user_custom_channel", "channel" },
};

/*
 * Whether the key k (borrowed) is s, all of it: a key with a NUL inside is
 * no name of ours ("user_email\u0000x" is not user_email).
 */
static int
key_is(jv k, const char *s)
{
	return !strcmp(jv_string_value(k), s) &&
	    (size_t)jv_string_length_bytes(jv_copy(k)) == strlen(s);
}

/* desk's name for a field of the API, or NULL. */
static const char *
canon(jv k)
{
	char c = *jv_string_value(k);

	/* The first byte first: every event's keys are looked at. */
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (c == aliases[i][0][0] && key_is(k, aliases[i][0]))
			return aliases[i][1];
	return NULL;
}

/*
 * Sets ev's field desk calls key (borrowed) to v (consumed); invalid with
 * *why when ev has it already with another value.
 */
static jv
put(jv ev, jv key, jv v, char *why, size_t n)
{
	const char *c = canon(key);
	jv name = c ? jv_string(c) : jv_copy(key);
	jv have = jv_object_get(jv_copy(ev), jv_copy(name));

	if (jv_is_valid(have) && !jv_equal(have, jv_copy(v))) {
		snprintf(why, n, "differs from %s", jv_string_value(name));
		jv_free(name);
		jv_free(v);
		jv_free(ev);
		return jv_invalid_with_msg(jv_string(why));
	}
	return jv_object_set(ev, name, v);
}

int
desk_api_names_in(const char *p, size_t n, const char *wrapper)
{
	enum { NALIAS = sizeof aliases / sizeof *aliases };
	const char *keys[NALIAS + 1];
	struct desk_jspan v[NALIAS + 1];
	size_t k = 0;

	for (; k < NALIAS; k++)
		keys[k] = aliases[k][0];
	if (wrapper)
		keys[k++] = wrapper;
	if (desk_json_members(p, n, keys, k, v) < 0)
		return -1;
	for (size_t i = 0; i < k; i++)
		if (v[i].p)
			return 1;
	return 0;
}

/* Whether ev (borrowed) has an API name or the wrapper: most events have neither. */
static int
has_api_names(jv ev, const char *wrapper)
{
	int found = 0;

	jv_object_foreach(ev, k, v) {
		found = found || (wrapper && key_is(k, wrapper)) || canon(k);
		jv_free(k);
		jv_free(v);
	}
	return found;
}

jv
desk_api_aliases(jv ev, const char *wrapper, const char **field,
    char *path, size_t pathlen)
{
	char why[64];

	if (jv_get_kind(ev) != JV_KIND_OBJECT || !has_api_names(ev, wrapper))
		return ev;
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
		jv v = desk_jget(ev, aliases[i][0]);
		if (!jv_is_valid(v))
			continue;
		jv k = jv_string(aliases[i][0]);
		v = jv_copy(v);    /* before the delete drops ev's reference */
		ev = put(desk_jdel(ev, aliases[i][0]), k, v, why, sizeof why);
		jv_free(k);
		if (!jv_is_valid(ev)) {
			*field = aliases[i][0];
			return ev;
		}
	}
	jv w = wrapper ? desk_jget(ev, wrapper) : jv_invalid();
	if (!jv_is_valid(w))
		return ev;
	if (jv_get_kind(w) != JV_KIND_OBJECT) {
		*field = wrapper;
		jv_free(ev);
		return jv_invalid_with_msg(jv_string("must be an object"));
	}
	/* The wrapper's members join the event, in either spelling. */
	w = jv_copy(w);
	ev = desk_jdel(ev, wrapper);
	jv_object_foreach(w, k, v) {
		if (jv_is_valid(ev)) {
			ev = put(ev, k, v, why, sizeof why);
			if (!jv_is_valid(ev)) {
				snprintf(path, pathlen, "%s.%s", wrapper,
				    jv_string_value(k));
				*field = path;
			}
		} else
			jv_free(v);
		jv_free(k);
	}
	jv_free(w);
	return ev;
}
