/*
 * parse.c: the rules file (desk-rules(5)) read into struct desk_rules and
 * checked whole: every problem is reported with the rule's index and name
 * and the exact field, so a person fixes them all in one go. Regular
 * expressions are compiled here, once per process.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rules/rules.h"
#include "rules/internal.h"

struct pctx {
	int flags;
	desk_rules_diag diag;
	void *ctx;
	int errors;
	int rule;            /* 1-based, 0 at the top level */
	const char *name;
};

static void problem(struct pctx *p, const char *field, const char *fmt, ...)
    DESK_PRINTF(3, 4);

static void
problem(struct pctx *p, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->errors++;
	if (p->diag)
		p->diag(p->rule, p->name, field, msg, p->ctx);
}

/* ---- times ---- */

int
desk_rules_time(const char *s, int64_t *t, int *rel)
{
	static const struct { const char *unit; int64_t secs; } units[] = {
		{ "minute", 60 }, { "hour", 3600 }, { "day", 86400 },
		{ "week", 604800 } };
	unsigned long long n;
	char unit[16], ago[8], extra;
	int y, m, d;

	*rel = 0;
	if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) == 3 && strlen(s) == 10) {
		struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
		if (m < 1 || m > 12 || d < 1 || d > 31)
			return 0;
		*t = (int64_t)timegm(&tm);
		return 1;
	}
	if (sscanf(s, "%llu %15s %7s%c", &n, unit, ago, &extra) == 3 &&
	    !strcmp(ago, "ago") && n <= 100000 && isdigit((unsigned char)*s)) {
		size_t ul = strlen(unit);
		if (ul > 1 && unit[ul - 1] == 's')
			unit[--ul] = '\0';
		for (size_t i = 0; i < sizeof units / sizeof *units; i++)
			if (!strcmp(unit, units[i].unit)) {
				*t = (int64_t)n * units[i].secs;
				*rel = 1;
				return 1;
			}
		return 0;
	}
	/* RFC 3339 only: a bare number is not a date anyone writes by hand. */
	return strchr(s, 'T') && desk_time_parse(s, t);
}

/* ---- the subjects and operators a condition combines ---- */

enum { T_BOOL = 1, T_STR = 2, T_ENUM = 4, T_TEXT = 8, T_LIST = 16,
	T_TIME = 32, T_CLOCK = 64 };

static const struct subject {
	const char *field;
	enum desk_subject s;
	int type;
	const char *values;  /* T_ENUM: what it can be, space-separated */
	int changes;         /* "changed" is meaningful */
	int message;         /* only in rules for messages (new, updated) */
} subjects[] = {
	{ "user.identified", DESK_S_USER_IDENTIFIED, T_BOOL, NULL, 0, 0 },
	{ "user.created_at", DESK_S_USER_CREATED, T_TIME, NULL, 0, 0 },
	{ "user.name", DESK_S_USER_ATTR, T_STR, NULL, 1, 0 },
	{ "user.email", DESK_S_USER_ATTR, T_STR, NULL, 1, 0 },
	{ "user.phone", DESK_S_USER_ATTR, T_STR, NULL, 1, 0 },
	{ "user.company", DESK_S_USER_ATTR, T_STR, NULL, 1, 0 },
	{ "user.fields.", DESK_S_USER_FIELD, T_STR, NULL, 1, 0 },
	{ "case.fields.", DESK_S_CASE_FIELD, T_STR, NULL, 1, 0 },
	{ "code", DESK_S_CODE, T_ENUM, "not_sent invalid valid", 0, 1 },
	{ "channel", DESK_S_CHANNEL, T_STR, NULL, 0, 0 },
	{ "connector", DESK_S_CONNECTOR, T_STR, NULL, 0, 0 },
	{ "status", DESK_S_STATUS, T_ENUM, "open pending closed", 1, 0 },
	{ "assignee", DESK_S_ASSIGNEE, T_STR, NULL, 1, 0 },
	{ "team", DESK_S_TEAM, T_STR, NULL, 1, 0 },
	{ "label", DESK_S_LABEL, T_LIST, NULL, 1, 0 },
	{ "text", DESK_S_TEXT, T_TEXT, NULL, 0, 1 },
	{ "trigger", DESK_S_TRIGGER, T_ENUM, "new updated", 0, 1 },
	{ "case.created_at", DESK_S_CASE_CREATED, T_TIME, NULL, 0, 0 },
	{ "case.updated_at", DESK_S_CASE_UPDATED, T_TIME, NULL, 0, 0 },
	{ "time", DESK_S_CLOCK, T_CLOCK, NULL, 0, 0 },
};

enum { V_SCALAR, V_SCALARS, V_BOOL, V_STRING, V_REGEX, V_TIME, V_HOURS };
static const struct op {
	const char *key;
	enum desk_op op;
	int types;
	int value;
	int icase;           /* ignore_case applies */
} ops[] = {
	{ "is", DESK_O_IS, T_BOOL | T_STR | T_ENUM | T_TEXT, V_SCALAR, 1 },
	{ "is_not", DESK_O_IS_NOT, T_BOOL | T_STR | T_ENUM | T_TEXT, V_SCALAR, 1 },
	{ "any_of", DESK_O_ANY_OF, T_STR | T_ENUM | T_TEXT, V_SCALARS, 1 },
	{ "none_of", DESK_O_NONE_OF, T_STR | T_ENUM | T_TEXT, V_SCALARS, 1 },
	{ "empty", DESK_O_EMPTY, T_STR | T_TEXT | T_LIST, V_BOOL, 0 },
	{ "contains", DESK_O_CONTAINS, T_STR | T_TEXT, V_STRING, 1 },
	{ "starts_with", DESK_O_STARTS, T_STR | T_TEXT, V_STRING, 1 },
	{ "ends_with", DESK_O_ENDS, T_STR | T_TEXT, V_STRING, 1 },
	{ "matches", DESK_O_MATCHES, T_STR | T_TEXT, V_REGEX, 1 },
	{ "has", DESK_O_HAS, T_LIST, V_STRING, 0 },
	{ "has_not", DESK_O_HAS_NOT, T_LIST, V_STRING, 0 },
	{ "changed", DESK_O_CHANGED, T_BOOL | T_STR | T_ENUM | T_LIST, V_BOOL, 0 },
	{ "before", DESK_O_BEFORE, T_TIME, V_TIME, 0 },
	{ "after", DESK_O_AFTER, T_TIME, V_TIME, 0 },
	{ "within", DESK_O_WITHIN, T_CLOCK, V_HOURS, 0 },
	{ "outside", DESK_O_OUTSIDE, T_CLOCK, V_HOURS, 0 },
};
#define NOPS (sizeof ops / sizeof *ops)

static const struct subject *
subject(const char *f, const char **name)
{
	for (size_t i = 0; i < sizeof subjects / sizeof *subjects; i++) {
		const char *sf = subjects[i].field;
		size_t n = strlen(sf);
		if (sf[n - 1] == '.' ? !strncmp(f, sf, n) && f[n] : !strcmp(f, sf)) {
			*name = sf[n - 1] == '.' ? f + n : !strncmp(f, "user.", 5) ?
			    f + 5 : f;
			return &subjects[i];
		}
	}
	return NULL;
}

static int
is_scalar(jv v)
{
	jv_kind k = jv_get_kind(v);

	return k == JV_KIND_STRING || k == JV_KIND_NUMBER || k == JV_KIND_TRUE ||
	    k == JV_KIND_FALSE;
}

static int
enum_ok(const struct subject *s, jv v)
{
	const char *w, *p;
	size_t n;

	if (jv_get_kind(v) != JV_KIND_STRING)
		return 0;
	w = jv_string_value(v);
	n = strlen(w);
	for (p = s->values; (p = strstr(p, w)); p += n)
		if ((p == s->values || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return 1;
	return 0;
}

static int
find_hours(const struct desk_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nhours; i++)
		if (!strcmp(r->hours[i].name, name))
			return (int)i;
	return -1;
}

/* The value of op for subject s (borrowed v) into c; 0 after a problem. */
static int
cond_value(struct pctx *p, struct desk_rules *r, const struct subject *s,
    const struct op *o, jv v, struct desk_cond *c, const char *field)
{
	switch (o->value) {
	case V_SCALAR:
		if (s->type == T_BOOL ? jv_get_kind(v) != JV_KIND_TRUE &&
		    jv_get_kind(v) != JV_KIND_FALSE : !is_scalar(v)) {
			problem(p, field, s->type == T_BOOL ? "must be true or false" :
			    "must be a string, number or boolean");
			return 0;
		}
		if (s->type == T_ENUM && !enum_ok(s, v)) {
			problem(p, field, "%s is one of: %s", s->field, s->values);
			return 0;
		}
		break;
	case V_SCALARS:
		if (jv_get_kind(v) != JV_KIND_ARRAY || !jv_array_length(jv_copy(v))) {
			problem(p, field, "must be a non-empty array");
			return 0;
		}
		jv_array_foreach(v, i, a) {
			int good = is_scalar(a) && (s->type != T_ENUM || enum_ok(s, a));
			jv_free(a);
			if (!good) {
				char f[256];
				snprintf(f, sizeof f, "%s[%d]", field, i);
				problem(p, f, s->type == T_ENUM ? "must be one of: %s" :
				    "must be a string, number or boolean%s", s->type ==
				    T_ENUM ? s->values : "");
				return 0;
			}
		}
		break;
	case V_BOOL:
		if (jv_get_kind(v) != JV_KIND_TRUE && jv_get_kind(v) != JV_KIND_FALSE) {
			problem(p, field, "must be true or false");
			return 0;
		}
		break;
	case V_STRING:
	case V_REGEX:
	case V_TIME:
	case V_HOURS:
		if (jv_get_kind(v) != JV_KIND_STRING || !*jv_string_value(v)) {
			problem(p, field, "must be a non-empty string");
			return 0;
		}
		break;
	}
	const char *str = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : "";
	if (o->value == V_TIME && !desk_rules_time(str, &c->t, &c->rel)) {
		problem(p, field, "must be a date (2024-04-08), an RFC 3339 time or "
		    "\"N minutes|hours|days|weeks ago\"");
		return 0;
	}
	if (o->value == V_HOURS && (c->hours = find_hours(r, str)) < 0) {
		problem(p, field, "no business hours named \"%s\" under \"hours\"", str);
		return 0;
	}
	c->val = jv_copy(v);
	return 1;
}

/*
 * The index of what c looks at among the values a run of the rules reads
 * once per event (eval.c): one per subject and field name, however many
 * conditions ask of it.
 */
static size_t
value_slot(struct desk_rules *r, const struct desk_cond *c)
{
	size_t i;

	for (i = 0; i < r->nvals; i++)
		if (r->valsubj[i] == c->subj && !strcmp(r->valname[i], c->name))
			return i;
	r->valsubj = desk_xrealloc(r->valsubj, (i + 1) * sizeof *r->valsubj);
	r->valname = desk_xrealloc(r->valname, (i + 1) * sizeof *r->valname);
	r->valsubj[i] = c->subj;
	r->valname[i] = c->name;
	r->nvals = i + 1;
	return i;
}

/* c's value (or values) ready to compare: no jv calls per evaluation. */
static void
literals(struct desk_cond *c)
{
	int many = jv_get_kind(c->val) == JV_KIND_ARRAY;
	size_t n = many ? (size_t)jv_array_length(jv_copy(c->val)) : 1;

	c->lits = desk_xcalloc(n, sizeof *c->lits);
	c->nlits = n;
	/* Of strings compared exactly: see chan_denies in eval.c. */
	c->by_chan = c->subj == DESK_S_CHANNEL && !c->icase &&
	    (c->op == DESK_O_IS || c->op == DESK_O_IS_NOT ||
	    c->op == DESK_O_ANY_OF || c->op == DESK_O_NONE_OF);
	for (size_t i = 0; i < n; i++) {
		struct desk_lit *l = &c->lits[i];
		jv v = many ? jv_array_get(jv_copy(c->val), (int)i) : jv_copy(c->val);
		l->v = v;
		l->kind = jv_get_kind(v);
		if (l->kind == JV_KIND_STRING) {
			l->s = jv_string_value(v);
			l->n = strlen(l->s);
			l->h = desk_hash32(l->s, l->n);
		} else
			c->by_chan = 0;
		/* c->val holds it still: borrowed from here on. */
		jv_free(v);
	}
}

/*
 * What every match of the extended regular expression re starts with:
 * the literal characters after a leading ^, up to the first special one
 * (less one that a *, ? or {} makes optional); NULL when that is nothing
 * or when re has an alternative (|). desk-route runs in the C locale, so
 * a byte comparison (strncasecmp with ignore_case) is exact, and a text
 * that does not start so is not matched without running regexec.
 */
static char *
re_prefix(const char *re)
{
	size_t n = 0;

	if (re[0] != '^' || strchr(re, '|'))
		return NULL;
	re++;
	while (re[n] && !strchr(".[]()*+?{}|^$\\", re[n]))
		n++;
	if (n && re[n] && strchr("*?{", re[n]))
		n--;
	if (!n)
		return NULL;
	char *p = desk_xmalloc(n + 1);
	memcpy(p, re, n);
	p[n] = 0;
	return p;
}

static int
compile_re(struct pctx *p, struct desk_cond *c, const char *field)
{
	int rc = regcomp(&c->re, jv_string_value(c->val), REG_EXTENDED | REG_NOSUB |
	    (c->icase ? REG_ICASE : 0));
	if (rc) {
		char msg[200];
		regerror(rc, &c->re, msg, sizeof msg);
		problem(p, field, "not a POSIX extended regular expression: %s", msg);
		return 0;
	}
	c->have_re = 1;
	c->re_prefix = re_prefix(jv_string_value(c->val));
	c->re_plen = c->re_prefix ? strlen(c->re_prefix) : 0;
	return 1;
}

static char *
cond_text(const char *field, const char *op, jv v, int icase)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_buf_addf(&b, "%s %s ", field, op);
	desk_json_dump(&b, v);
	if (icase)
		desk_buf_adds(&b, " (ignore_case)");
	return desk_buf_str(&b);
}

static int
parse_cond(struct pctx *p, struct desk_rules *r, struct desk_rule *rule, jv v,
    struct desk_cond *c, const char *path)
{
	char f[200];
	const struct subject *s = NULL;
	const struct op *o = NULL;
	const char *name = NULL;
	int ok = 1;

	memset(c, 0, sizeof *c);
	c->val = jv_null();
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		problem(p, path, "a condition must be an object");
		return 0;
	}
	jv jq = desk_jget(v, "jq");
	if (jv_is_valid(jq)) {
		snprintf(f, sizeof f, "%s.jq", path);
		if (jv_get_kind(jq) != JV_KIND_STRING || !*jv_string_value(jq)) {
			problem(p, f, "must be a jq expression");
			return 0;
		}
		if (jv_object_length(jv_copy(v)) != 1) {
			problem(p, path, "a jq condition has only \"jq\"");
			return 0;
		}
		if ((p->flags & DESK_RULES_JQ) && !desk_rules_jq_check(jv_string_value(jq))) {
			problem(p, f, "not a jq program (it does not compile)");
			return 0;
		}
		c->subj = DESK_S_JQ;
		c->op = DESK_O_JQ;
		c->jq = (int)r->njq;
		r->jq = desk_xrealloc(r->jq, (r->njq + 1) * sizeof *r->jq);
		r->jq[r->njq++] = desk_xstrdup(jv_string_value(jq));
		struct desk_buf b = DESK_BUF_INIT;
		desk_buf_addf(&b, "jq %s", jv_string_value(jq));
		c->text = desk_buf_str(&b);
		r->uses |= 1 << DESK_S_JQ;
		return 1;
	}
	const char *field = desk_jstr(v, "field");
	snprintf(f, sizeof f, "%s.field", path);
	if (!field) {
		problem(p, f, desk_jhas(v, "field") ? "must be a string" :
		    "missing: what the condition looks at");
		return 0;
	}
	if (!(s = subject(field, &name))) {
		problem(p, f, "unknown field \"%s\" (see desk-rules(5))", field);
		return 0;
	}
	if (s->message && (rule->on & DESK_ON_TIME)) {
		problem(p, f, "%s is a message's: a time rule has none", field);
		ok = 0;
	}
	jv_object_foreach(v, k, val) {
		const char *key = jv_string_value(k);
		snprintf(f, sizeof f, "%s.%s", path, key);
		size_t i = 0;
		while (i < NOPS && strcmp(ops[i].key, key))
			i++;
		if (!strcmp(key, "field"))
			;
		else if (!strcmp(key, "ignore_case")) {
			if (jv_get_kind(val) != JV_KIND_TRUE && jv_get_kind(val) != JV_KIND_FALSE) {
				problem(p, f, "must be true or false");
				ok = 0;
			}
			c->icase = jv_get_kind(val) == JV_KIND_TRUE;
		} else if (i == NOPS) {
			problem(p, f, "unknown operator \"%s\" (see desk-rules(5))", key);
			ok = 0;
		} else if (o) {
			problem(p, f, "one operator per condition (this one has \"%s\" "
			    "too)", o->key);
			ok = 0;
		} else if (!(ops[i].types & s->type) ||
		    (ops[i].op == DESK_O_CHANGED && !s->changes)) {
			o = &ops[i];
			problem(p, f, "%s cannot be asked of %s", key, field);
			ok = 0;
		} else if (ops[i].op == DESK_O_CHANGED && (rule->on & DESK_ON_TIME)) {
			o = &ops[i];
			problem(p, f, "changed is about a message's changes: a time "
			    "rule has none");
			ok = 0;
		} else {
			o = &ops[i];
			if (!cond_value(p, r, s, o, val, c, f))
				ok = 0;
		}
		jv_free(k);
		jv_free(val);
	}
	if (!o) {
		problem(p, path, "no operator (is, is_not, any_of, empty, contains, "
		    "matches, before, within, ...)");
		return 0;
	}
	if (c->icase && !o->icase) {
		snprintf(f, sizeof f, "%s.ignore_case", path);
		problem(p, f, "does not apply to %s", o->key);
		ok = 0;
	}
	if (!ok)
		return 0;
	c->subj = s->s;
	c->op = o->op;
	c->name = desk_xstrdup(name);
	snprintf(f, sizeof f, "%s.%s", path, o->key);
	if (o->value == V_REGEX && !compile_re(p, c, f))
		return 0;
	c->text = cond_text(field, o->key, c->val, c->icase);
	c->slot = value_slot(r, c);
	literals(c);
	r->uses |= 1 << s->s;
	return 1;
}

/* ---- actions ---- */

/* The {{...}} of a reply template: each must name something desk has. */
static int
template_ok(struct pctx *p, const char *t, const char *field)
{
	static const char *const fixed[] = { "user.name", "user.email",
		"user.phone", "user.company", "case.id", "case.status", "case.team",
		"case.assignee", "channel" };
	const char *a, *b;

	for (; (a = strstr(t, "{{")); t = b + 2) {
		if (!(b = strstr(a, "}}"))) {
			problem(p, field, "\"{{\" without \"}}\"");
			return 0;
		}
		const char *s = a + 2;
		size_t n = (size_t)(b - s);
		int good = (n > 12 && !strncmp(s, "user.fields.", 12)) ||
		    (n > 12 && !strncmp(s, "case.fields.", 12));
		for (size_t i = 0; !good && i < sizeof fixed / sizeof *fixed; i++)
			good = strlen(fixed[i]) == n && !strncmp(s, fixed[i], n);
		if (!good) {
			problem(p, field, "unknown template field {{%.*s}}", (int)n, s);
			return 0;
		}
	}
	return 1;
}

static const char *const act_keys[] = { "reply", "status", "assign", "team",
	"set", "label", "unlabel", "stop" };

static void
add_action(struct desk_rule *rule, enum desk_act kind, const char *name, jv val,
    const char *key)
{
	struct desk_action *a;
	struct desk_buf b = DESK_BUF_INIT;

	rule->act = desk_xrealloc(rule->act, (rule->nact + 1) * sizeof *rule->act);
	a = &rule->act[rule->nact++];
	a->kind = kind;
	a->name = name ? desk_xstrdup(name) : NULL;
	a->val = val;
	desk_buf_addf(&b, "%s ", key);
	if (kind == DESK_A_SET_USER || kind == DESK_A_SET_CASE)
		desk_buf_addf(&b, "%s.fields.%s = ", kind == DESK_A_SET_USER ?
		    "user" : "case", name);
	jv shown = kind == DESK_A_SET_USER || kind == DESK_A_SET_CASE ||
	    kind == DESK_A_REPLY ? jv_copy(val) : name ? jv_string(name) : jv_null();
	desk_json_dump(&b, shown);
	jv_free(shown);
	a->text = desk_buf_str(&b);
}

static int
parse_action(struct pctx *p, struct desk_rule *rule, jv v, const char *path)
{
	char f[200];
	size_t i;

	if (jv_get_kind(v) != JV_KIND_OBJECT || jv_object_length(jv_copy(v)) != 1) {
		problem(p, path, "an action is an object with one key: reply, status, "
		    "assign, team, set, label, unlabel or stop");
		return 0;
	}
	jv keys = jv_keys(jv_copy(v));
	jv k = jv_array_get(keys, 0);
	const char *key = jv_string_value(k);
	jv val = desk_jget(v, key);
	const char *s = jv_get_kind(val) == JV_KIND_STRING ? jv_string_value(val) : NULL;
	int ok = 0;
	snprintf(f, sizeof f, "%s.%s", path, key);
	for (i = 0; i < sizeof act_keys / sizeof *act_keys; i++)
		if (!strcmp(key, act_keys[i]))
			break;
	switch (i) {
	case 0:
		if (!s || !*s)
			problem(p, f, "must be the reply's text");
		else if (template_ok(p, s, f)) {
			add_action(rule, DESK_A_REPLY, NULL, jv_copy(val), key);
			ok = 1;
		}
		break;
	case 1: {
		enum desk_status st;
		if (!s || !desk_status_parse(s, &st))
			problem(p, f, "must be open, pending or closed");
		else {
			add_action(rule, DESK_A_STATUS, s, jv_null(), key);
			ok = 1;
		}
		break;
	}
	case 2:
	case 3:
	case 5:
	case 6:
		if ((!s || !*s) && !(i == 2 && jv_get_kind(val) == JV_KIND_NULL))
			problem(p, f, i == 2 ? "must be an agent, or null to unassign" :
			    "must be a non-empty string");
		else if (s && strlen(s) > DESK_MAX_NAME)
			problem(p, f, "longer than %d bytes", DESK_MAX_NAME);
		else {
			add_action(rule, i == 2 ? DESK_A_ASSIGN : i == 3 ? DESK_A_TEAM :
			    i == 5 ? DESK_A_LABEL : DESK_A_UNLABEL, s, jv_null(), key);
			ok = 1;
		}
		break;
	case 4:
		if (jv_get_kind(val) != JV_KIND_OBJECT || !jv_object_length(jv_copy(val))) {
			problem(p, f, "must be an object of user.fields.NAME or "
			    "case.fields.NAME to their values (null removes)");
			break;
		}
		ok = 1;
		jv_object_foreach(val, fk, fv) {
			const char *fn = jv_string_value(fk);
			char ff[240];
			snprintf(ff, sizeof ff, "%s.%s", f, fn);
			int user = !strncmp(fn, "user.fields.", 12);
			if ((!user && strncmp(fn, "case.fields.", 12)) || !fn[12]) {
				problem(p, ff, "only user.fields.NAME and case.fields.NAME "
				    "can be set");
				ok = 0;
			} else
				add_action(rule, user ? DESK_A_SET_USER : DESK_A_SET_CASE,
				    fn + 12, jv_copy(fv), key);
			jv_free(fk);
			jv_free(fv);
		}
		break;
	case 7:
		if (jv_get_kind(val) != JV_KIND_TRUE)
			problem(p, f, "must be true");
		else {
			add_action(rule, DESK_A_STOP, NULL, jv_null(), key);
			ok = 1;
		}
		break;
	default:
		problem(p, f, "unknown action \"%s\" (reply, status, assign, team, "
		    "set, label, unlabel, stop)", key);
	}
	jv_free(k);
	return ok;
}

/* ---- rules ---- */

static int
parse_on(struct pctx *p, jv v, int *on, const char *path)
{
	static const char *const names[] = { "new", "updated", "time" };
	jv list = jv_get_kind(v) == JV_KIND_ARRAY ? jv_copy(v) :
	    jv_array_append(jv_array(), jv_copy(v));
	int ok = jv_array_length(jv_copy(list)) > 0;

	*on = 0;
	jv_array_foreach(list, i, s) {
		int bit = 0;
		for (int j = 0; j < 3; j++)
			if (jv_get_kind(s) == JV_KIND_STRING &&
			    !strcmp(jv_string_value(s), names[j]))
				bit = 1 << j;
		ok &= bit != 0;
		*on |= bit;
		jv_free(s);
	}
	jv_free(list);
	if (!ok)
		problem(p, path, "must be \"new\", \"updated\", [\"new\", \"updated\"] "
		    "or \"time\"");
	else if ((*on & DESK_ON_TIME) && *on != DESK_ON_TIME) {
		problem(p, path, "a time rule is for time only: it has no message");
		ok = 0;
	}
	return ok;
}

static void
parse_conds(struct pctx *p, struct desk_rules *r, struct desk_rule *rule, jv v,
    const char *key, struct desk_cond **out, size_t *n, const char *path)
{
	char f[160];

	snprintf(f, sizeof f, "%s.%s", path, key);
	if (!jv_is_valid(v))
		return;
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		problem(p, f, "must be an array of conditions");
		return;
	}
	*out = desk_xcalloc((size_t)jv_array_length(jv_copy(v)) + 1, sizeof **out);
	jv_array_foreach(v, i, c) {
		char cf[180];
		snprintf(cf, sizeof cf, "%s[%d]", f, i);
		if (parse_cond(p, r, rule, c, &(*out)[*n], cf))
			(*n)++;
		else {
			jv_free((*out)[*n].val);
			free((*out)[*n].text);
			free((*out)[*n].name);
		}
		jv_free(c);
	}
}

static void
parse_rule(struct pctx *p, struct desk_rules *r, jv v, size_t idx)
{
	static const char *const keys[] = { "name", "on", "all", "any",
		"actions", "stop" };
	struct desk_rule *rule = &r->rule[idx];
	char path[64];
	char f[96];

	snprintf(path, sizeof path, "rules[%zu]", idx);
	p->rule = (int)idx + 1;
	p->name = NULL;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		problem(p, path, "a rule must be an object");
		return;
	}
	const char *name = desk_jstr(v, "name");
	snprintf(f, sizeof f, "%s.name", path);
	if (!name || !*name || strlen(name) > DESK_MAX_NAME)
		problem(p, f, "missing: every rule has a name (a non-empty string)");
	else {
		p->name = name;
		for (size_t i = 0; i < idx; i++)
			if (r->rule[i].name && !strcmp(r->rule[i].name, name))
				problem(p, f, "\"%s\" is rule %zu's name too: names are "
				    "unique", name, i + 1);
		rule->name = desk_xstrdup(name);
		p->name = rule->name;
	}
	jv_object_foreach(v, k, x) {
		size_t i = 0;
		while (i < sizeof keys / sizeof *keys && strcmp(keys[i], jv_string_value(k)))
			i++;
		if (i == sizeof keys / sizeof *keys) {
			snprintf(f, sizeof f, "%s.%s", path, jv_string_value(k));
			problem(p, f, "unknown key (name, on, all, any, actions, stop)");
		}
		jv_free(k);
		jv_free(x);
	}
	snprintf(f, sizeof f, "%s.on", path);
	if (!desk_jhas(v, "on"))
		problem(p, f, "missing: new, updated, both or time");
	else
		parse_on(p, desk_jget(v, "on"), &rule->on, f);
	parse_conds(p, r, rule, desk_jget(v, "all"), "all", &rule->all, &rule->nall,
	    path);
	parse_conds(p, r, rule, desk_jget(v, "any"), "any", &rule->any, &rule->nany,
	    path);
	jv stop = desk_jget(v, "stop");
	snprintf(f, sizeof f, "%s.stop", path);
	if (jv_is_valid(stop) && jv_get_kind(stop) != JV_KIND_TRUE &&
	    jv_get_kind(stop) != JV_KIND_FALSE)
		problem(p, f, "must be true or false");
	rule->stop = jv_get_kind(stop) == JV_KIND_TRUE;
	jv acts = desk_jget(v, "actions");
	snprintf(f, sizeof f, "%s.actions", path);
	if (jv_get_kind(acts) != JV_KIND_ARRAY || !jv_array_length(jv_copy(acts))) {
		problem(p, f, "must be a non-empty array of actions");
		return;
	}
	int replies = 0, closes = 0;
	jv_array_foreach(acts, i, a) {
		char af[120];
		snprintf(af, sizeof af, "%s[%d]", f, i);
		parse_action(p, rule, a, af);
		jv_free(a);
	}
	for (size_t i = 0; i < rule->nact; i++) {
		replies += rule->act[i].kind == DESK_A_REPLY;
		closes += rule->act[i].kind == DESK_A_STATUS &&
		    !strcmp(rule->act[i].name, "closed");
	}
	/* desk-reply, after us in the pipeline, refuses a reply to a closed case. */
	if (replies && closes && !(rule->on & DESK_ON_TIME))
		problem(p, f, "a message rule that closes the case cannot also reply "
		    "(desk-reply refuses replies to closed cases): reply, and close "
		    "with a time rule");
}

/* ---- teams and business hours ---- */

/*
 * The array for an optional object of names (v, borrowed) at key: room for
 * each of its members, or NULL when there is none or it is not an object.
 */
static void *
named(struct pctx *p, jv v, const char *key, const char *what, size_t size)
{
	if (!jv_is_valid(v))
		return NULL;
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		problem(p, key, "must be an object: %s", what);
		return NULL;
	}
	return desk_xcalloc((size_t)jv_object_length(jv_copy(v)) + 1, size);
}

static void
parse_teams(struct pctx *p, struct desk_rules *r, jv v)
{
	char f[200];

	if (!(r->teams = named(p, v, "teams", "team name to its agents",
	    sizeof *r->teams)))
		return;
	jv_object_foreach(v, k, m) {
		snprintf(f, sizeof f, "teams.%s", jv_string_value(k));
		struct desk_team *t = &r->teams[r->nteams];
		if (jv_get_kind(m) != JV_KIND_ARRAY || !jv_array_length(jv_copy(m)))
			problem(p, f, "must be a non-empty array of agents");
		else {
			t->name = desk_xstrdup(jv_string_value(k));
			t->members = desk_xcalloc((size_t)jv_array_length(jv_copy(m)),
			    sizeof *t->members);
			jv_array_foreach(m, i, a) {
				const char *s = jv_get_kind(a) == JV_KIND_STRING ?
				    jv_string_value(a) : NULL;
				int dup = 0;
				for (size_t j = 0; s && j < t->n; j++)
					dup |= !strcmp(t->members[j], s);
				if (!s || !*s || dup || strlen(s) > DESK_MAX_NAME) {
					char mf[220];
					snprintf(mf, sizeof mf, "%s[%d]", f, i);
					problem(p, mf, "each agent a distinct non-empty string");
				} else
					t->members[t->n++] = desk_xstrdup(s);
				jv_free(a);
			}
			r->nteams++;
		}
		jv_free(k);
		jv_free(m);
	}
}

static int
hhmm(const char *s, int *min)
{
	int h, m;
	char extra;

	if (!s || strlen(s) != 5 || sscanf(s, "%2d:%2d%c", &h, &m, &extra) != 2 ||
	    h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m))
		return 0;
	*min = h * 60 + m;
	return 1;
}

/* A zone name as the system's zoneinfo has it: no path tricks, a file there. */
static int
zone_ok(const char *tz)
{
	const char *dir = getenv("TZDIR");
	char path[512];

	if (!*tz || *tz == '/' || strstr(tz, "..") || strlen(tz) > 200)
		return 0;
	for (const char *c = tz; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
			return 0;
	snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir :
	    "/usr/share/zoneinfo", tz);
	return access(path, R_OK) == 0;
}

static void
parse_one_hours(struct pctx *p, struct desk_hours *h, jv v, const char *f)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu",
		"fri", "sat" };
	static const char *const keys[] = { "tz", "days", "from", "to", "holidays" };
	char kf[240];

	jv_object_foreach(v, k, x) {
		size_t i = 0;
		while (i < 5 && strcmp(keys[i], jv_string_value(k)))
			i++;
		snprintf(kf, sizeof kf, "%s.%s", f, jv_string_value(k));
		if (i == 5)
			problem(p, kf, "unknown key (tz, days, from, to, holidays)");
		jv_free(k);
		jv_free(x);
	}
	const char *tz = desk_jstr(v, "tz");
	snprintf(kf, sizeof kf, "%s.tz", f);
	if (!tz || !zone_ok(tz))
		problem(p, kf, "must name a time zone of the system's zoneinfo "
		    "(Europe/Berlin, UTC)");
	else
		h->tz = desk_xstrdup(tz);
	jv d = desk_jget(v, "days");
	snprintf(kf, sizeof kf, "%s.days", f);
	if (jv_get_kind(d) != JV_KIND_ARRAY || !jv_array_length(jv_copy(d)))
		problem(p, kf, "must be an array of days: mon, tue, ... sun");
	else
		jv_array_foreach(d, i, day) {
			int bit = 0;
			for (int j = 0; j < 7; j++)
				if (jv_get_kind(day) == JV_KIND_STRING &&
				    !strcmp(jv_string_value(day), days[j]))
					bit = 1 << j;
			if (!bit) {
				char df[260];
				snprintf(df, sizeof df, "%s[%d]", kf, i);
				problem(p, df, "must be mon, tue, wed, thu, fri, sat or sun");
			}
			h->days |= bit;
			jv_free(day);
		}
	snprintf(kf, sizeof kf, "%s.from", f);
	if (!hhmm(desk_jstr(v, "from"), &h->from))
		problem(p, kf, "must be a time of day, HH:MM");
	snprintf(kf, sizeof kf, "%s.to", f);
	if (!hhmm(desk_jstr(v, "to"), &h->to))
		problem(p, kf, "must be a time of day, HH:MM (24:00 for midnight)");
	jv hol = desk_jget(v, "holidays");
	snprintf(kf, sizeof kf, "%s.holidays", f);
	if (!jv_is_valid(hol))
		return;
	if (jv_get_kind(hol) != JV_KIND_ARRAY) {
		problem(p, kf, "must be an array of dates, YYYY-MM-DD");
		return;
	}
	h->holidays = desk_xcalloc((size_t)jv_array_length(jv_copy(hol)) + 1,
	    sizeof *h->holidays);
	jv_array_foreach(hol, i, day) {
		int64_t t;
		int rel;
		const char *s = jv_get_kind(day) == JV_KIND_STRING ? jv_string_value(day) : "";
		if (strlen(s) != 10 || !desk_rules_time(s, &t, &rel)) {
			char df[260];
			snprintf(df, sizeof df, "%s[%d]", kf, i);
			problem(p, df, "must be a date, YYYY-MM-DD");
		} else
			h->holidays[h->nholidays++] = t / 86400;
		jv_free(day);
	}
}

static void
parse_hours(struct pctx *p, struct desk_rules *r, jv v)
{
	char f[200];

	if (!(r->hours = named(p, v, "hours", "a name to business hours",
	    sizeof *r->hours)))
		return;
	jv_object_foreach(v, k, h) {
		snprintf(f, sizeof f, "hours.%s", jv_string_value(k));
		if (jv_get_kind(h) != JV_KIND_OBJECT)
			problem(p, f, "must be an object: tz, days, from, to, holidays");
		else {
			struct desk_hours *hh = &r->hours[r->nhours++];
			hh->name = desk_xstrdup(jv_string_value(k));
			parse_one_hours(p, hh, h, f);
		}
		jv_free(k);
		jv_free(h);
	}
}

struct desk_rules *
desk_rules_parse(const char *text, size_t n, int flags, desk_rules_diag diag,
    void *ctx)
{
	struct pctx p = { flags, diag, ctx, 0, 0, NULL };
	struct desk_rules *r = desk_xcalloc(1, sizeof *r);
	struct desk_jerr je;
	size_t used = 0;
	jv v = jv_invalid();
	int rc = desk_json_parse(text, n, 1, &v, &used, &je);

	for (size_t i = used; rc == DESK_JSON_OK && i < n; i++)
		if (!strchr(" \t\r\n", text[i])) {
			rc = DESK_JSON_ERROR;
			je.off = i;
			snprintf(je.msg, sizeof je.msg, "more after the rules' object");
			break;
		}
	if (rc != DESK_JSON_OK) {
		size_t line = 1, col = 1;
		for (size_t i = 0; i < je.off && i < n; i++, col++)
			if (text[i] == '\n') {
				line++;
				col = 0;
			}
		problem(&p, "", "line %zu, column %zu: not JSON: %s", line, col,
		    rc == DESK_JSON_INCOMPLETE ? "it ends too soon" : je.msg);
		jv_free(v);
		v = jv_invalid();
		goto out;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		problem(&p, "", "must be an object with \"rules\"");
		goto out;
	}
	jv_object_foreach(v, k, x) {
		const char *key = jv_string_value(k);
		if (strcmp(key, "rules") && strcmp(key, "teams") && strcmp(key, "hours") &&
		    strcmp(key, "comment"))
			problem(&p, key, "unknown key (rules, teams, hours, comment)");
		jv_free(k);
		jv_free(x);
	}
	parse_teams(&p, r, desk_jget(v, "teams"));
	parse_hours(&p, r, desk_jget(v, "hours"));
	jv rules = desk_jget(v, "rules");
	if (jv_get_kind(rules) != JV_KIND_ARRAY) {
		problem(&p, "rules", desk_jhas(v, "rules") ? "must be an array of "
		    "rules" : "missing: the array of rules");
		goto out;
	}
	r->rule = desk_xcalloc((size_t)jv_array_length(jv_copy(rules)) + 1,
	    sizeof *r->rule);
	jv_array_foreach(rules, i, rule) {
		r->n = (size_t)i + 1;
		parse_rule(&p, r, rule, (size_t)i);
		jv_free(rule);
	}
out:
	jv_free(v);
	if (p.errors) {
		desk_rules_free(r);
		return NULL;
	}
	return r;
}

static void
free_conds(struct desk_cond *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].text);
		jv_free(c[i].val);
		free(c[i].lits);
		free(c[i].re_prefix);
		if (c[i].have_re)
			regfree(&c[i].re);
	}
	free(c);
}

void
desk_rules_free(struct desk_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct desk_rule *u = &r->rule[i];
		free(u->name);
		free_conds(u->all, u->nall);
		free_conds(u->any, u->nany);
		for (size_t j = 0; j < u->nact; j++) {
			free(u->act[j].name);
			free(u->act[j].text);
			jv_free(u->act[j].val);
		}
		free(u->act);
	}
	free(r->rule);
	for (size_t i = 0; i < r->nhours; i++) {
		free(r->hours[i].name);
		free(r->hours[i].tz);
		free(r->hours[i].holidays);
	}
	free(r->hours);
	for (size_t i = 0; i < r->nteams; i++) {
		for (size_t j = 0; j < r->teams[i].n; j++)
			free(r->teams[i].members[j]);
		free(r->teams[i].members);
		free(r->teams[i].name);
	}
	free(r->teams);
	free(r->valsubj);
	free(r->valname);
	desk_rules_jq_free(r);
	for (size_t i = 0; i < r->njq; i++)
		free(r->jq[i]);
	free(r->jq);
	free(r);
}

static jv
texts_of(const struct desk_cond *c, size_t n)
{
	jv a = jv_array();

	for (size_t i = 0; i < n; i++)
		a = jv_array_append(a, jv_string(c[i].text));
	return a;
}

jv
desk_rules_table(const struct desk_rules *r)
{
	static const char *const on[] = { "", "new", "updated", "new,updated",
		"time" };
	jv t = jv_array();

	for (size_t i = 0; i < r->n; i++) {
		const struct desk_rule *u = &r->rule[i];
		jv row = desk_jset_int(jv_object(), "index", (int64_t)i + 1);
		row = desk_jset_str(row, "name", u->name);
		row = desk_jset_str(row, "on", on[u->on & DESK_ON_TIME ? 4 : u->on & 3]);
		row = desk_jset(row, "all", texts_of(u->all, u->nall));
		row = desk_jset(row, "any", texts_of(u->any, u->nany));
		jv a = jv_array();
		for (size_t j = 0; j < u->nact; j++)
			a = jv_array_append(a, jv_string(u->act[j].text));
		row = desk_jset(row, "actions", a);
		row = desk_jset(row, "stop", jv_bool(u->stop));
		t = jv_array_append(t, row);
	}
	return t;
}
