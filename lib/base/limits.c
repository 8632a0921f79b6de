/*
 * limits.c: how big what desk stores may grow.
 *
 * A slot records a record's length in 24 bits, so no stored record may
 * reach 16 MiB. Rather than find that out when a write fails halfway
 * through an event, every input field that is copied into a record has a
 * bound, and so has everything that accumulates over many events (a user's
 * contacts and links, a case's merges, fields merged in): whatever sequence
 * of accepted inputs arrives, each record stays under the limit, and an
 * input that would break a bound is rejected before anything is written.
 * desk-store(5) lists the numbers.
 */
#include <stdio.h>
#include <string.h>

#include "base/base.h"

/* The stored size of v (borrowed): its compact JSON, as the log holds it. */
size_t
desk_json_size(jv v)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_json_dump(&b, v);
	size_t n = b.len;
	desk_buf_free(&b);
	return n;
}

static const char *
too_big(char *why, size_t n, const char *what, size_t max)
{
	snprintf(why, n, "longer than %zu bytes (%s)", max, what);
	return why;
}

/*
 * Checks one string field against max bytes; NULL when it will do. A NUL
 * inside is refused too: C strings would cut it short without a word.
 */
static const char *
check_str(jv v, size_t max, int nul_ok, char *why, size_t n)
{
	if (jv_get_kind(v) != JV_KIND_STRING)
		return NULL;
	size_t len = (size_t)jv_string_length_bytes(jv_copy(v));
	if (len > max)
		return too_big(why, n, "the limit for this field", max);
	if (!nul_ok && memchr(jv_string_value(v), '\0', len))
		return "contains a NUL character";
	return NULL;
}

/* An object of fields: its keys and stored size. */
const char *
desk_check_fields(jv f, char *why, size_t n)
{
	if (jv_get_kind(f) != JV_KIND_OBJECT)
		return NULL;
	if (jv_object_length(jv_copy(f)) > DESK_MAX_FIELDS) {
		snprintf(why, n, "more than %d fields", DESK_MAX_FIELDS);
		return why;
	}
	if (desk_json_size(f) > DESK_MAX_FIELDS_SIZE)
		return too_big(why, n, "all fields together", DESK_MAX_FIELDS_SIZE);
	return NULL;
}

/* The string fields an event may bring, and their limits. */
static const struct {
	const char *key;
	size_t max;
	int nul_ok;
} strings[] = {    /* what most events have, first */
	{ "content", DESK_MAX_CONTENT, 1 },
	{ "channel", DESK_MAX_ID, 0 },
	{ "user_custom_id", DESK_MAX_ID, 0 },
	{ "id", DESK_MAX_ID, 0 },
	{ "source_id", DESK_MAX_ID, 0 },
	{ "staff_id", DESK_MAX_ID, 0 },
	{ "email", DESK_MAX_NAME, 0 },
	{ "phone", DESK_MAX_NAME, 0 },
	{ "name", DESK_MAX_NAME, 0 },
	{ "company", DESK_MAX_NAME, 0 },
	{ "rule", DESK_MAX_NAME, 0 },
	{ "status", DESK_MAX_NAME, 0 },
	{ "assignee", DESK_MAX_NAME, 0 },
	{ "team", DESK_MAX_NAME, 0 },
	{ "subject", DESK_MAX_SUBJECT, 0 },
};

/*
 * Checks the field k (borrowed) of an event; *name is its name, for the
 * error. A key is a field's only when all of it is: "name\u0000" is none.
 */
static const char *
check_one(jv k, jv v, const char **name, char *why, size_t n)
{
	const char *key = jv_string_value(k);

	if (strlen(key) != (size_t)jv_string_length_bytes(jv_copy(k)))
		return NULL;
	/* The first byte first: every event's keys are looked at. */
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
		if (*key == *strings[i].key && !strcmp(key, strings[i].key)) {
			*name = strings[i].key;
			return check_str(v, strings[i].max, strings[i].nul_ok, why, n);
		}
	*name = !strcmp(key, "fields") ? "fields" : !strcmp(key, "external") ?
	    "external" : "attachments";
	if (!strcmp(key, "fields"))
		return desk_check_fields(v, why, n);
	if (!strcmp(key, "external") && jv_get_kind(v) == JV_KIND_OBJECT &&
	    desk_json_size(v) > DESK_MAX_EXTERNAL_SIZE)
		return too_big(why, n, "all external ids together",
		    DESK_MAX_EXTERNAL_SIZE);
	if (!strcmp(key, "attachments") && jv_get_kind(v) == JV_KIND_ARRAY) {
		if (jv_array_length(jv_copy(v)) > DESK_MAX_ATTACHMENTS) {
			snprintf(why, n, "more than %d attachments",
			    DESK_MAX_ATTACHMENTS);
			return why;
		}
		if (desk_json_size(v) > DESK_MAX_ATTACHMENTS_SIZE)
			return too_big(why, n, "all attachments together",
			    DESK_MAX_ATTACHMENTS_SIZE);
	}
	return NULL;
}

/* The first field over its limit, as a walk over an event finds it. */
struct sizes {
	const char *r, *field;
	char *why;
	size_t n;
};

static void
size_each(jv k, jv v, void *ctx)
{
	struct sizes *s = ctx;
	const char *name;

	if (!s->r && (s->r = check_one(k, v, &name, s->why, s->n)))
		s->field = name;
}

const char *
desk_check_sizes(jv ev, const char **field, char *why, size_t n)
{
	struct sizes s = { NULL, NULL, why, n };

	/* One pass over what the event has: most events have few keys. */
	desk_jgets_each(ev, NULL, 0, NULL, size_each, &s);
	*field = s.field;
	return s.r;
}

int
desk_err_sizes(jv ev, struct desk_err *e)
{
	return desk_err_sizes_gets(ev, NULL, 0, NULL, e);
}

int
desk_err_sizes_gets(jv ev, const char *const *keys, size_t n, jv *out,
    struct desk_err *e)
{
	struct sizes s = { NULL, NULL, e->msg, sizeof e->msg };

	desk_jgets_each(ev, keys, n, out, size_each, &s);
	return s.r ? desk_err_why(e, DESK_EX_DATA, s.field, s.r) : 0;
}
