/*
 * tick.c: desk-route tick, the time rules over the cases. The status
 * lists are the index of candidates (desk-store(5)): only the cases in a
 * status a time rule names are read, and of those only the ones that
 * entered it before the rule's "case.updated_at before" time; the rest
 * (changed too recently, merged) are passed over on their slots without
 * reading a record.
 * A rule is applied at most once per case and state of the case: the
 * rulemark records the case's last change after the rule was applied.
 */
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "rules/internal.h"

/* What the time rules' ALL conditions say of every case they can match. */
struct prefilter {
	int statuses;        /* 1 << status */
	int64_t before;      /* updated_at before this, or 0 for any time */
};

static void
rule_filter(const struct desk_rule *u, int64_t now, struct prefilter *f)
{
	int st = 1 << DESK_OPEN | 1 << DESK_PENDING | 1 << DESK_CLOSED;
	int64_t before = 0;

	for (size_t i = 0; i < u->nall; i++) {
		const struct desk_cond *c = &u->all[i];
		enum desk_status s;
		if (c->subj == DESK_S_STATUS && c->op == DESK_O_IS &&
		    desk_status_parse(jv_string_value(c->val), &s))
			st &= 1 << s;
		else if (c->subj == DESK_S_STATUS && c->op == DESK_O_ANY_OF) {
			int m = 0;
			jv_array_foreach(c->val, j, v) {
				if (desk_status_parse(jv_string_value(v), &s))
					m |= 1 << s;
				jv_free(v);
			}
			st &= m;
		} else if (c->subj == DESK_S_CASE_UPDATED && c->op == DESK_O_BEFORE) {
			int64_t at = c->rel ? now - c->t : c->t;
			if (!before || at < before)
				before = at;
		}
	}
	f->statuses |= st;
	if (before > f->before)
		f->before = before;
}

struct found {
	int64_t before;
	uint64_t *ids;
	size_t n, cap;
};

static int
candidate(uint64_t id, const struct desk_caselink_slot *l, void *ctx)
{
	struct found *f = ctx;

	if (f->before && l->since >= f->before)
		return 1;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 256;
		f->ids = desk_xrealloc(f->ids, f->cap * sizeof *f->ids);
	}
	f->ids[f->n++] = id;
	return 0;
}

/*
 * The cases the time rules may match, from the status lists (desk-store(5)):
 * each list is in the order its cases entered the status, and a case
 * updated before f->before entered its status before it too, so each walk
 * stops at the first case that entered after. Collected before any rule
 * runs, since an action that sets a status moves the case on the lists.
 * NULL with the store failed (78) when it has no lists yet.
 */
static uint64_t *
candidates(struct desk_store *st, const struct prefilter *f, size_t *n)
{
	struct found c = { f->before, NULL, 0, 0 };

	*n = 0;
	if (!desk_case_indexes(st))
		return NULL;
	for (int s = DESK_OPEN; s <= DESK_CLOSED; s++)
		if (f->statuses & 1 << s)
			desk_list_each(st, (enum desk_status)s, candidate, &c);
	*n = c.n;
	return c.ids ? c.ids : desk_xcalloc(1, sizeof *c.ids);
}

long
desk_rules_tick(struct desk_rules *r, struct desk_store *st, int mode,
    void (*each)(jv ev, void *ctx), void *ctx, struct desk_err *e)
{
	struct prefilter f = { 0, 0 };
	int64_t now = desk_now();
	int any = 0, open_ended = 0;
	long changed = 0;

	for (size_t i = 0; i < r->n; i++)
		if (r->rule[i].on & DESK_ON_TIME) {
			struct prefilter g = { 0, 0 };
			rule_filter(&r->rule[i], now, &g);
			f.statuses |= g.statuses;
			open_ended |= !g.before;
			if (g.before > f.before)
				f.before = g.before;
			any = 1;
		}
	if (!any)
		return 0;
	if (open_ended)
		f.before = 0;
	size_t n;
	uint64_t *ids = candidates(st, &f, &n);
	if (!ids && desk_store_err(st, e) < 0)
		return -1;
	for (size_t k = 0; k < n; k++) {
		uint64_t id = ids[k];
		struct desk_case_slot c;
		if (!desk_case_slot(st, id, &c) || c.merged_into ||
		    c.status > DESK_CLOSED || !(f.statuses & 1 << c.status) ||
		    (f.before && c.updated_at >= f.before))
			continue;
		struct desk_route x;
		desk_route_init(&x, r, st, mode);
		x.tick = 1;
		if (mode == DESK_ROUTE_APPLY)
			desk_store_lock(st);
		desk_case_slot(st, id, &c);
		if (!desk_route_load(&x, id, 0)) {
			desk_route_done(&x);
			continue;
		}
		jv explain = jv_array();
		for (size_t i = 0; i < r->n; i++) {
			const struct desk_rule *u = &r->rule[i];
			uint64_t state;
			if (!(u->on & DESK_ON_TIME))
				continue;
			/* Applied already, and nothing changed since: not again. */
			int done = desk_rulemark_get(st, u->name, id, &state) &&
			    state == c.activity;
			int s = desk_rule_run(&x, u, done ? "applied already to the case "
			    "as it is" : NULL, &explain, e);
			if (s < 0) {
				jv_free(explain);
				desk_route_done(&x);
				free(ids);
				return -1;
			}
			if (s && mode == DESK_ROUTE_APPLY) {
				desk_case_slot(st, id, &c);
				desk_rulemark_put(st, u->name, id, c.activity, now);
			}
			if (s == 2)
				break;
		}
		if (jv_array_length(jv_copy(x.route)) || mode == DESK_ROUTE_EXPLAIN) {
			jv ev = desk_jset_str(jv_object(), "type", "route.tick");
			ev = desk_jset_int(ev, "case_id", (int64_t)id);
			ev = desk_jset(ev, "route", jv_copy(x.route));
			if (mode == DESK_ROUTE_EXPLAIN)
				ev = desk_jset(ev, "explain", jv_copy(explain));
			each(ev, ctx);
			jv_array_foreach(x.replies, j, m)
				each(m, ctx);
			changed += jv_array_length(jv_copy(x.route)) > 0;
		}
		jv_free(explain);
		desk_route_done(&x);
	}
	free(ids);
	return changed;
}
