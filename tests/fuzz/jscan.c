/*
 * libFuzzer target: the byte walkers that read a record's members without
 * parsing it (desk_json_members, desk_json_elements, desk_json_skim), over
 * arbitrary bytes, against the full parser. Records on disk can be
 * damaged, so beyond "no crash, no overread" it checks what their callers
 * rely on: a span is inside the text; where the text is a valid object
 * (array) and the walk accepts it, each member's (element's) span parses
 * to the value the full parse gives, and a member without a span is one
 * the object does not have.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const keys[] = { "rec", "user_id", "emails", "name",
	"external", "a", "" };
#define NKEYS (sizeof keys / sizeof *keys)
#define MAXEL 16

static void
inside(struct desk_jspan s, const char *p, size_t n)
{
	if (s.p && (s.p < p || s.n == 0 || s.n > n || s.p + s.n > p + n))
		abort();
}

/* Span s parses to want (borrowed). */
static void
same_value(struct desk_jspan s, jv want)
{
	jv got = desk_json_span_parse(s);

	if (!jv_equal(got, jv_copy(want)))
		abort();
}

static void
members(const char *p, size_t n, jv full)
{
	struct desk_jspan out[NKEYS];

	if (desk_json_members(p, n, keys, NKEYS, out) < 0)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		inside(out[i], p, n);
	if (jv_get_kind(full) != JV_KIND_OBJECT) {
		/* Sound structure, but not valid JSON: never an object. */
		if (jv_is_valid(full))
			abort();
		return;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		jv k = jv_string(keys[i]);
		int has = jv_object_has(jv_copy(full), jv_copy(k));
		if (has != (out[i].p != NULL))
			abort();
		if (has) {
			jv v = jv_object_get(jv_copy(full), k);
			same_value(out[i], v);
			jv_free(v);
		} else
			jv_free(k);
		const char *s = desk_json_skim(p, n, keys[i]);
		if (s && (s < p || s >= p + n))
			abort();
		if (has && !s)
			abort();
	}
}

static void
elements(const char *p, size_t n, jv full)
{
	struct desk_jspan out[MAXEL];
	int r = desk_json_elements(p, n, out, MAXEL);

	if (r < 0)
		return;
	if (r > MAXEL)
		abort();
	for (int i = 0; i < r; i++)
		inside(out[i], p, n);
	if (jv_get_kind(full) != JV_KIND_ARRAY) {
		if (jv_is_valid(full))
			abort();
		return;
	}
	if (r != jv_array_length(jv_copy(full)))
		abort();
	for (int i = 0; i < r; i++) {
		jv v = jv_array_get(jv_copy(full), i);
		same_value(out[i], v);
		jv_free(v);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that ASan sees any read past the text. */
	char *p = malloc(size ? size : 1);

	memcpy(p, data, size);
	jv full = desk_json_parse_all(p, size);
	members(p, size, full);
	elements(p, size, full);
	jv_free(full);
	free(p);
	return 0;
}
