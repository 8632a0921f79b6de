/*
 * internal.h: what the files of lib/rules/ share, and nothing outside it
 * uses: one run of the rules over one event or case.
 */
#ifndef DESK_RULES_INTERNAL_H
#define DESK_RULES_INTERNAL_H

#include "rules/rules.h"

/* A value a condition looks at, as read for this event. */
struct desk_val {
	jv v;                /* owned */
	jv_kind kind;
	const char *s;       /* a string's */
	const char *t;       /* and as compared: text without its space */
	size_t tn;
	unsigned epoch;      /* read in, or 0 for not yet */
};

struct desk_route {
	struct desk_rules *r;
	struct desk_store *st;
	int mode;
	int64_t now;
	jv ev;               /* the event (a message; for a time rule, {}) */
	jv kase, user;       /* as the store has them now, once have_*: */
	int have_case, have_user;  /* read them through desk_route_case, _user */
	jv full;             /* kase as desk_case_get gives it, once have_full */
	int have_full;
	struct desk_case_slot cs;  /* the case's slot, read for every event */
	struct desk_user_slot us;  /* the user's, when have_us */
	int have_us;
	uint64_t cid, uid, mid;
	jv changed;          /* what changed in this event: field -> true */
	jv route;            /* [{rule, actions}] */
	jv replies;          /* reply events for desk-reply */
	int wrote;           /* something was written to the store */
	int tick;            /* a time rule: replies are added at once */
	char *conn_name, *conn;   /* the connector of the last channel asked */
	/*
	 * The values the conditions look at (desk_rules' valsubj, valname),
	 * each read once per event (a rules file asks of the same ones again
	 * and again) and again after an action changed the case or the user:
	 * val[i] is good while its epoch is x's (desk_route_forget).
	 */
	struct desk_val *val;
	unsigned epoch;
};
/* The case or the user changed: the subjects are read again. */
void desk_route_forget(struct desk_route *x);
/*
 * The case's and the user's records (borrowed), read when first asked:
 * the case's as its log record has it (every condition's and template's
 * field is there),
 * desk_route_case_full's with the slot's updated_at, message_count and
 * last_message_id, as jq sees it.
 */
jv desk_route_case(struct desk_route *x);
jv desk_route_case_full(struct desk_route *x);
jv desk_route_user(struct desk_route *x);

void desk_route_init(struct desk_route *x, struct desk_rules *r,
    struct desk_store *st, int mode);
/* Case cid and user uid (0: the case's) into x; 0 when there is no such case. */
int desk_route_load(struct desk_route *x, uint64_t cid, uint64_t uid);
void desk_route_done(struct desk_route *x);
void desk_route_changed(struct desk_route *x, const char *key);
int desk_cond_eval(struct desk_route *x, const struct desk_cond *c);
int desk_hours_within(const struct desk_hours *h, int64_t now);
int desk_rule_matches(struct desk_route *x, const struct desk_rule *u, jv *why);
int desk_rule_apply(struct desk_route *x, const struct desk_rule *u,
    struct desk_err *e);
/*
 * Rule u for x: evaluated unless skip says why not, its actions applied when
 * it matches; with EXPLAIN, its conditions (or skip) appended to *explain.
 * 0 when it did not fire, 1 when it did, 2 when it fired and stops the
 * rules after it, -1 with *e.
 */
int desk_rule_run(struct desk_route *x, const struct desk_rule *u,
    const char *skip, jv *explain, struct desk_err *e);

/* jq.c: condition n's program over {event, case, user}: truthy or not. */
int desk_rules_jq(struct desk_route *x, int n);
void desk_rules_jq_free(struct desk_rules *r);
/* Whether prog compiles as a rule's jq program. */
int desk_rules_jq_check(const char *prog);

#endif
