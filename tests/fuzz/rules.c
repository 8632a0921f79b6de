/*
 * libFuzzer target: the rules file parser (desk_rules_parse), over
 * arbitrary bytes. Beyond "no crash, no leak, no UB" it checks what
 * desk-route check and the filter rely on:
 *
 *  - a file is refused exactly when at least one problem was reported, and
 *    every problem names a field (a path, never NULL) and a reason;
 *  - a problem inside a rule names that rule by its index from 1, within
 *    the file's rules;
 *  - accepted rules list (desk_rules_table) one row per rule, and parsing
 *    the same bytes again gives the same table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int problems;
	int max_rule;
};

static void
diag(int rule, const char *name, const char *field, const char *msg, void *ctx)
{
	struct seen *s = ctx;

	(void)name;
	if (!field || !msg || !*msg || rule < 0)
		abort();
	if (rule > s->max_rule)
		s->max_rule = rule;
	s->problems++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = { 0, 0 };
	struct desk_rules *r = desk_rules_parse((const char *)data, size, 0, diag, &s);

	if (!r != (s.problems > 0))
		abort();
	if (!r) {
		/* A rule index is one of the file's: at most one per array member. */
		if ((size_t)s.max_rule > size)
			abort();
		return 0;
	}
	jv t = desk_rules_table(r);
	if ((size_t)jv_array_length(jv_copy(t)) != r->n)
		abort();
	struct desk_rules *again = desk_rules_parse((const char *)data, size, 0, NULL, NULL);
	if (!again)
		abort();
	jv t2 = desk_rules_table(again);
	if (!jv_equal(t, t2))
		abort();
	desk_rules_free(again);
	desk_rules_free(r);
	return 0;
}
