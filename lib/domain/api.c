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

/* desk's name for a field of the API, or the name itself. */
static const char *
canon(const char *key)
{
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (!strcmp(key, aliases[i][0]))
			return aliases[i][1];
	return key;
}

/*
 * Sets ev's field desk calls canon(key) to v (consumed); invalid with *why
 * when ev has it already with another value.
 */
static jv
put(jv ev, const char *key, jv v, char *why, size_t n)
{
	const char *name = canon(key);
	jv have = desk_jget(ev, name);

	if (jv_is_valid(have) && !jv_equal(jv_copy(have), jv_copy(v))) {
		snprintf(why, n, "differs from %s", name);
		jv_free(v);
		jv_free(ev);
		return jv_invalid_with_msg(jv_string(why));
	}
	return desk_jset(ev, name, v);
}

/* Whether ev (borrowed) has an API name or the wrapper: most events have neither. */
static int
has_api_names(jv ev, const char *wrapper)
{
	int found = 0;

	jv_object_foreach(ev, k, v) {
		const char *s = jv_string_value(k);
		found = found || (wrapper && !strcmp(s, wrapper)) || canon(s) != s;
		jv_free(k);
		jv_free(v);
	}
	return found;
}

jv
desk_api_aliases(jv ev, const char *wrapper, const char **field)
{
	static char path[128];
	char why[64];

	if (jv_get_kind(ev) != JV_KIND_OBJECT || !has_api_names(ev, wrapper))
		return ev;
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++) {
		jv v = desk_jget(ev, aliases[i][0]);
		if (!jv_is_valid(v))
			continue;
		v = jv_copy(v);
		ev = put(desk_jdel(ev, aliases[i][0]), aliases[i][0], v, why, sizeof why);
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
			ev = put(ev, jv_string_value(k), v, why, sizeof why);
			if (!jv_is_valid(ev)) {
				snprintf(path, sizeof path, "%s.%s", wrapper,
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
