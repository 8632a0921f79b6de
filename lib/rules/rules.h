/*
 * rules.h: desk-route's rules engine (lib/README, desk-rules(5)): the
 * rules file parsed and checked once (parse.c), its conditions evaluated
 * over a message event, the case and the user (eval.c), its actions applied
 * through the domain's verbs, and the time rules run over the cases that
 * can match (tick.c). It calls the domain, schema, store and base layers.
 */
#ifndef DESK_RULES_H
#define DESK_RULES_H

#include <regex.h>

#include "domain/domain.h"

enum { DESK_ON_NEW = 1, DESK_ON_UPDATED = 2, DESK_ON_TIME = 4 };

/* What a condition looks at. */
enum desk_subject {
	DESK_S_USER_IDENTIFIED, DESK_S_USER_CREATED, DESK_S_USER_ATTR,
	DESK_S_USER_FIELD, DESK_S_CASE_FIELD, DESK_S_CODE, DESK_S_CHANNEL,
	DESK_S_CONNECTOR, DESK_S_STATUS, DESK_S_ASSIGNEE, DESK_S_TEAM,
	DESK_S_LABEL, DESK_S_TEXT, DESK_S_TRIGGER, DESK_S_CASE_CREATED,
	DESK_S_CASE_UPDATED, DESK_S_CLOCK, DESK_S_JQ
};
/* What it asks of it. */
enum desk_op {
	DESK_O_IS, DESK_O_IS_NOT, DESK_O_ANY_OF, DESK_O_NONE_OF, DESK_O_EMPTY,
	DESK_O_CONTAINS, DESK_O_STARTS, DESK_O_ENDS, DESK_O_MATCHES, DESK_O_HAS,
	DESK_O_HAS_NOT, DESK_O_CHANGED, DESK_O_BEFORE, DESK_O_AFTER,
	DESK_O_WITHIN, DESK_O_OUTSIDE, DESK_O_JQ
};

/* A condition's value, or one of its values, as compared (parse.c). */
struct desk_lit {
	jv v;                /* borrowed from the condition's val */
	jv_kind kind;
	const char *s;       /* a string's, and its strlen */
	size_t n;
	uint32_t h;          /* a string's desk_hash32, as the case slot's chan */
};

struct desk_cond {
	enum desk_subject subj;
	enum desk_op op;
	char *name;          /* the field's name: tariff, or user.name's "name" */
	jv val;              /* is, any_of...: the value(s); empty, changed: bool */
	int icase;           /* ignore_case */
	int64_t t;           /* before, after: a time, or seconds ago when rel */
	int rel;
	int hours;           /* within, outside: index into hours */
	regex_t re;          /* matches: compiled once */
	int have_re;
	char *re_prefix;     /* what a match starts with, or NULL (parse.c) */
	size_t re_plen;
	int jq;              /* jq: index into the compiled programs */
	char *text;          /* as desk-route list and --explain print it */
	size_t slot;         /* what it looks at: index into desk_rules' values */
	struct desk_lit *lits;    /* val, or val's values: is, any_of, has... */
	size_t nlits;
	int by_chan;         /* a channel is/any_of... the slot's chan can deny */
};

enum desk_act {
	DESK_A_REPLY, DESK_A_STATUS, DESK_A_ASSIGN, DESK_A_TEAM, DESK_A_SET_USER,
	DESK_A_SET_CASE, DESK_A_LABEL, DESK_A_UNLABEL, DESK_A_STOP
};
struct desk_action {
	enum desk_act kind;
	char *name;          /* status, agent, team, field or label name */
	jv val;              /* set: the value (null removes); reply: the template */
	char *text;
};

struct desk_rule {
	char *name;
	int on;              /* DESK_ON_* */
	struct desk_cond *all, *any;
	size_t nall, nany;
	struct desk_action *act;
	size_t nact;
	int stop;
};

struct desk_hours {
	char *name, *tz;
	int days;            /* bit 0 = Sunday, as struct tm's tm_wday */
	int from, to;        /* minutes after midnight; to < from spans midnight */
	int64_t *holidays;   /* local dates as days since 1970-01-01 */
	size_t nholidays;
};

struct desk_team {
	char *name;
	char **members;
	size_t n;
};

struct desk_rules {
	struct desk_rule *rule;
	size_t n;
	struct desk_hours *hours;
	size_t nhours;
	struct desk_team *teams;
	size_t nteams;
	char **jq;           /* the jq programs' text, compiled at first use */
	size_t njq;
	void *jqstate;       /* eval.c's */
	int uses;            /* 1 << DESK_S_* of every subject a rule reads */
	/* Every subject and field name a condition reads, each once. */
	enum desk_subject *valsubj;
	const char **valname;   /* the conditions' own names */
	size_t nvals;
};

/*
 * A problem found in a rules file: the rule (its index from 1 and name,
 * 0 and NULL for the file's top level), the exact field ("rules[3].all[0]
 * .is"), the reason.
 */
typedef void (*desk_rules_diag)(int rule, const char *name, const char *field,
    const char *msg, void *ctx);
/*
 * Parses and checks the rules file p[0..n): the rules, or NULL when it has
 * any problem, every problem reported through diag (which may be NULL).
 * With DESK_RULES_JQ its jq programs are compiled too (25 ms each: for
 * desk-route check; otherwise they compile when first used).
 */
enum { DESK_RULES_JQ = 1 };
struct desk_rules *desk_rules_parse(const char *p, size_t n, int flags,
    desk_rules_diag diag, void *ctx);
void desk_rules_free(struct desk_rules *r);
/* The rules as desk-route list prints them: one object per rule, owned. */
jv desk_rules_table(const struct desk_rules *r);
/* Whether a user-written time (RFC 3339, a date, "N days ago") parses. */
int desk_rules_time(const char *s, int64_t *t, int *rel);

enum { DESK_ROUTE_APPLY, DESK_ROUTE_DRY, DESK_ROUTE_EXPLAIN };
/*
 * Runs the rules over a message event (ev, borrowed, as desk-case and
 * desk-identify wrote it: case_id, user_id, message_id, trigger...) in
 * mode: APPLY changes the case and the user through the domain's verbs
 * (under the store's lock) and returns in *replies (owned, an array) the
 * reply events for desk-reply; DRY evaluates only and lists what it would
 * do; EXPLAIN adds every rule's conditions and results. Returns what the
 * event gets: "route" ([{rule, actions}]), "explain" with EXPLAIN,
 * "duplicate" for a replay. Invalid with *e when a verb refuses.
 */
jv desk_rules_message(struct desk_rules *r, struct desk_store *st, jv ev,
    int mode, jv *replies, struct desk_err *e);
/*
 * desk-route tick: the time rules over every open or pending case (those
 * the rules' status conditions allow), each applied at most once per case
 * and state of the case; each(ev, ctx) is handed an event (owned) per
 * case changed, and a message.out per reply added. Returns the number of
 * cases changed, or -1 with *e.
 */
long desk_rules_tick(struct desk_rules *r, struct desk_store *st, int mode,
    void (*each)(jv ev, void *ctx), void *ctx, struct desk_err *e);

#endif
