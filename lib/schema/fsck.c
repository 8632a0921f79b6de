/*
 * fsck.c: desk-case fsck. Reads the whole log under the writer lock,
 * recomputes what every slot and index entry must say, and compares. With
 * --repair the engine moves log lines that do not parse to rejects/
 * (desk_log_drop) and rebuilds all derived files from the log through the
 * schema's apply, the code every write uses (desk_store_rebuild); then it
 * checks again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"
#include "schema/schema.h"

struct xcase {
	struct desk_loc rec;
	uint64_t user, merged, head, activity;
	int64_t updated;
	uint32_t count, chan;
	uint8_t status, seen;
};

struct xcode {
	struct desk_loc rec;
	uint64_t attempts, by;
	int used;
};

/* What the ident records say of a user: its slot's failures and locked_at. */
struct xfail {
	uint64_t failures, locked;
};

/* What an outbox entry's delivery records say (the latest one's). */
struct xout {
	struct desk_loc last;         /* the latest delivery record; pos 0: none */
	uint64_t attempt;
	int64_t due;
	uint8_t state;
};

/* The latest time of a throttle (NULL channel: the store's). */
struct xthrottle {
	char *channel;
	int64_t tat;
};

struct fsck {
	struct desk_store *st;
	uint64_t records, damage, notes;
	uint64_t nuser, ncase, nmsg;
	struct desk_loc *users;       /* latest version by id */
	size_t users_cap;
	struct xcase *cases;
	size_t cases_cap;
	unsigned char *msgs;          /* bitmap of message ids seen */
	size_t msgs_cap;
	struct xcode *codes;
	size_t codes_cap;
	uint64_t ncode;
	struct xfail *fails;          /* by user id */
	size_t fails_cap;
	struct xthrottle *throttles;
	size_t nthrottle;
	struct desk_loc *outs;        /* the message record of each out_id */
	size_t outs_cap;
	struct xout *douts;           /* their delivery state, by out_id */
	size_t douts_cap;
	uint64_t nout;
	uint64_t maxid[DESK_NKINDS];
	/* repair: damaged lines by segment */
	struct desk_span *bad;
	size_t nbad;
};

static void
finding(struct fsck *f, int damage, const char *fmt, ...) DESK_PRINTF(3, 4);

static void
finding(struct fsck *f, int damage, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (damage)
		f->damage++;
	else
		f->notes++;
	/* Say at most 50 of each; the counts in the summary say the rest. */
	if ((damage ? f->damage : f->notes) <= 50)
		desk_warn("fsck: %s%s", damage ? "" : "note: ", msg);
}

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need < *cap)
		return p;
	size_t n = *cap ? *cap : 1024;
	while (n <= need)
		n *= 2;
	p = desk_xrealloc(p, n * size);
	memset((char *)p + *cap * size, 0, (n - *cap) * size);
	*cap = n;
	return p;
}

/* A record repair cannot use: --repair moves it to rejects/. */
static void
mark_bad(struct fsck *f, struct desk_loc loc)
{
	f->bad = desk_xrealloc(f->bad, (f->nbad + 1) * sizeof *f->bad);
	f->bad[f->nbad].seg = DESK_POS_SEG(loc.pos);
	f->bad[f->nbad].off = DESK_POS_OFF(loc.pos);
	f->bad[f->nbad++].len = loc.len;
}

/* A record that lacks what its kind needs: damage, moved aside by --repair. */
static void
bad_record(struct fsck *f, struct desk_loc loc, const char *what)
{
	finding(f, 1, "log/%08u.jsonl: offset %llu: %s", DESK_POS_SEG(loc.pos),
	    (unsigned long long)DESK_POS_OFF(loc.pos), what);
	mark_bad(f, loc);
}

static void
seen_id(struct fsck *f, enum desk_kind k, uint64_t id)
{
	if (id > f->maxid[k])
		f->maxid[k] = id;
}

static void
check_event(struct fsck *f, jv rec, struct desk_loc loc)
{
	const char *scope = desk_jstr(rec, "event_scope"), *id;
	size_t idlen;
	struct desk_key k;
	uint64_t pos;
	uint32_t len;

	if (!desk_event_rec_key(&k, rec))
		return;
	desk_jstrn(rec, "event_id", &id, &idlen);
	if (!desk_hx_get(f->st, &k, &pos, &len))
		finding(f, 1, "index: no entry for %s event at log position %u:%llu",
		    scope, DESK_POS_SEG(loc.pos), (unsigned long long)DESK_POS_OFF(loc.pos));
	else if (pos != loc.pos || len != loc.len) {
		/* A later record for the same event id is allowed to take the key. */
		jv other = desk_log_get(f->st, (struct desk_loc){ pos, len });
		const char *oid;
		size_t olen;
		if (pos < loc.pos || !desk_jstrn(other, "event_id", &oid, &olen) ||
		    olen != idlen || memcmp(oid, id, idlen))
			finding(f, 1, "index: %s event at %u:%llu points elsewhere",
			    scope, DESK_POS_SEG(loc.pos),
			    (unsigned long long)DESK_POS_OFF(loc.pos));
		jv_free(other);
	}
}

static void
pass_user(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t id;

	if (!desk_jint(rec, "user_id", &id) || id < 1) {
		bad_record(f, loc, "user record without a user_id");
		return;
	}
	f->users = grow(f->users, &f->users_cap, (size_t)id, sizeof *f->users);
	if (!f->users[id].pos)
		f->nuser++;
	f->users[id] = loc;
	seen_id(f, DESK_USER, (uint64_t)id);
}

static void
pass_case(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t id, user, merged = 0;
	enum desk_status status;
	const char *ch = desk_jstr(rec, "channel"), *t = desk_jstr(rec, "updated_at");
	int64_t up = 0;

	if (!desk_jint(rec, "case_id", &id) || id < 1 || !ch ||
	    !desk_jint(rec, "user_id", &user) ||
	    !desk_status_parse(desk_jstr(rec, "status"), &status)) {
		bad_record(f, loc, "case record without case_id, user_id, channel "
		    "or a valid status");
		return;
	}
	desk_jint(rec, "merged_into", &merged);
	f->cases = grow(f->cases, &f->cases_cap, (size_t)id, sizeof *f->cases);
	struct xcase *c = &f->cases[id];
	if (!c->seen)
		f->ncase++;
	c->seen = 1;
	c->rec = loc;
	c->user = (uint64_t)user;
	c->merged = merged > 0 ? (uint64_t)merged : 0;
	c->status = (uint8_t)status;
	c->chan = desk_hash32(ch, strlen(ch));
	c->activity = loc.pos;
	if (t && desk_time_parse(t, &up) && up > c->updated)
		c->updated = up;
	seen_id(f, DESK_CASE, (uint64_t)id);
	check_event(f, rec, loc);
}

static void
pass_message(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t id, cid;
	struct desk_slot raw;
	struct desk_message_slot m;
	const char *t = desk_jstr(rec, "created_at");
	int64_t at = 0;

	if (!desk_jint(rec, "message_id", &id) || id < 1 ||
	    !desk_jint(rec, "case_id", &cid) || cid < 1) {
		bad_record(f, loc, "message record without message_id or case_id");
		return;
	}
	seen_id(f, DESK_MESSAGE, (uint64_t)id);
	f->msgs = grow(f->msgs, &f->msgs_cap, (size_t)id / 8, 1);
	if (f->msgs[id / 8] & (1 << (id % 8))) {
		finding(f, 1, "message %lld appears twice in the log", (long long)id);
		return;
	}
	f->msgs[id / 8] |= (unsigned char)(1 << (id % 8));
	f->nmsg++;
	if ((size_t)cid >= f->cases_cap || !f->cases[cid].seen) {
		finding(f, 1, "message %lld belongs to case %lld, which does not "
		    "exist before it", (long long)id, (long long)cid);
		return;
	}
	struct xcase *c = &f->cases[cid];
	int have = desk_slot_read(f->st, DESK_T_MESSAGE, (uint64_t)id, &raw);
	if (have > 0)
		desk_message_from_slot(&raw, &m);
	if (have < 0)
		finding(f, 1, "message %lld: slot damaged", (long long)id);
	else if (!have)
		finding(f, 1, "message %lld has no slot", (long long)id);
	else if (m.rec.pos != loc.pos || m.rec.len != loc.len || m.case_id != (uint64_t)cid)
		finding(f, 1, "message %lld: slot does not point at its record",
		    (long long)id);
	else if (m.prev != c->head)
		finding(f, 1, "message %lld: slot says previous message %llu, "
		    "the log says %llu", (long long)id, (unsigned long long)m.prev,
		    (unsigned long long)c->head);
	if ((uint64_t)id <= c->head)
		finding(f, 1, "message %lld is older than case %lld's last message",
		    (long long)id, (long long)cid);
	/* A conversation's key names a case that was there before it. */
	struct desk_key k;
	uint64_t v;
	if (desk_conv_rec_key(&k, rec) && (!desk_hx_get(f->st, &k, &v, NULL) ||
	    v > (uint64_t)cid || v >= f->cases_cap || !f->cases[v].seen))
		finding(f, 1, "index: message %lld's conversation on channel %s "
		    "has no case, or a later one", (long long)id,
		    desk_jstr(rec, "channel"));
	c->head = (uint64_t)id;
	c->count++;
	c->activity = loc.pos;
	if (t && desk_time_parse(t, &at) && at > c->updated)
		c->updated = at;
	int64_t oid;
	if (desk_jint(rec, "out_id", &oid) && oid > 0) {
		seen_id(f, DESK_OUT, (uint64_t)oid);
		f->outs = grow(f->outs, &f->outs_cap, (size_t)oid, sizeof *f->outs);
		if (f->outs[oid].pos)
			finding(f, 1, "outbox %lld is claimed by two messages", (long long)oid);
		f->outs[oid] = loc;
		f->nout++;
	}
	check_event(f, rec, loc);
}

static void
pass_command(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t oid, cid;

	if (!desk_jint(rec, "out_id", &oid) || oid < 1 ||
	    !desk_jint(rec, "case_id", &cid) || cid < 1) {
		bad_record(f, loc, "command record without out_id or case_id");
		return;
	}
	seen_id(f, DESK_OUT, (uint64_t)oid);
	f->outs = grow(f->outs, &f->outs_cap, (size_t)oid, sizeof *f->outs);
	if (f->outs[oid].pos)
		finding(f, 1, "outbox %lld is claimed by two records", (long long)oid);
	f->outs[oid] = loc;
	f->nout++;
}

static void
pass_delivery(struct fsck *f, jv rec, struct desk_loc loc)
{
	enum desk_dstate state;
	int64_t oid, attempt = 0;
	const char *next = desk_jstr(rec, "next_attempt_at");

	if (!desk_jint(rec, "out_id", &oid) || oid < 1 ||
	    !desk_dstate_parse(desk_jstr(rec, "state"), &state)) {
		bad_record(f, loc, "delivery record without out_id or state");
		return;
	}
	if ((size_t)oid >= f->outs_cap || !f->outs[oid].pos) {
		finding(f, 1, "log %u:%llu: delivery of outbox %lld, which no message "
		    "queued before it", DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos), (long long)oid);
		return;
	}
	desk_jint(rec, "attempt", &attempt);
	f->douts = grow(f->douts, &f->douts_cap, (size_t)oid, sizeof *f->douts);
	struct xout *x = &f->douts[oid];
	int64_t t = 0;
	if (state == DESK_DS_RETRY && !(next && desk_time_parse(next, &t)))
		finding(f, 1, "log %u:%llu: a retry of outbox %lld without "
		    "next_attempt_at", DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos), (long long)oid);
	x->last = loc;
	x->state = (uint8_t)state;
	x->attempt = attempt > 0 ? (uint64_t)attempt : 0;
	x->due = state == DESK_DS_RETRY ? t : 0;
}

static void
pass_code(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t id;
	const char *hex = desk_jstr(rec, "hash");

	if (!desk_jint(rec, "code_id", &id) || id < 1 || !hex || strlen(hex) != 64) {
		bad_record(f, loc, "code record without code_id or hash");
		return;
	}
	seen_id(f, DESK_CODE, (uint64_t)id);
	f->codes = grow(f->codes, &f->codes_cap, (size_t)id, sizeof *f->codes);
	f->codes[id].rec = loc;
	f->ncode++;
}

static void
throttle_seen(struct fsck *f, const char *channel, jv rec, const char *key)
{
	int64_t tat;
	size_t i;

	if (!desk_jint(rec, key, &tat) || tat < 1)
		return;
	for (i = 0; i < f->nthrottle; i++)
		if (!f->throttles[i].channel == !channel && (!channel ||
		    !strcmp(f->throttles[i].channel, channel)))
			break;
	if (i == f->nthrottle) {
		f->throttles = desk_xrealloc(f->throttles, (i + 1) * sizeof *f->throttles);
		f->throttles[i].channel = channel ? desk_xstrdup(channel) : NULL;
		f->throttles[i].tat = 0;
		f->nthrottle++;
	}
	if (tat > f->throttles[i].tat)
		f->throttles[i].tat = tat;
}

static void
pass_ident(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t cid, attempt = 0, uid;
	const char *result = desk_jstr(rec, "result"), *ch = desk_jstr(rec, "channel");
	uint64_t failures, locked;

	if (!desk_jint(rec, "user_id", &uid) || uid < 1 || !result) {
		bad_record(f, loc, "ident record without user_id or result");
		return;
	}
	if (desk_ident_effect(rec, &failures, &locked)) {
		f->fails = grow(f->fails, &f->fails_cap, (size_t)uid, sizeof *f->fails);
		f->fails[uid].failures = failures;
		f->fails[uid].locked = locked;
	}
	if (ch)
		throttle_seen(f, ch, rec, "tat_channel");
	throttle_seen(f, NULL, rec, "tat_store");
	if (desk_jint(rec, "code_id", &cid) && cid > 0) {
		if ((size_t)cid >= f->codes_cap || !f->codes[cid].rec.pos) {
			finding(f, 1, "ident at %u:%llu names code %lld, which does not "
			    "exist before it", DESK_POS_SEG(loc.pos),
			    (unsigned long long)DESK_POS_OFF(loc.pos), (long long)cid);
			return;
		}
		struct xcode *c = &f->codes[cid];
		desk_jint(rec, "attempt", &attempt);
		if ((uint64_t)attempt > c->attempts)
			c->attempts = (uint64_t)attempt;
		if (!strcmp(result, "valid")) {
			if (c->used)
				finding(f, 1, "code %lld was used twice", (long long)cid);
			c->used = 1;
			c->by = (uint64_t)uid;
		}
	}
	check_event(f, rec, loc);
}

/* desk-route's records: their keys must hold at least what they set. */
static void
pass_rules(struct fsck *f, jv rec, struct desk_loc loc, const char *type)
{
	struct desk_key k;
	const char *name = desk_jstr(rec, !strcmp(type, "rotation") ? "team" : "rule");
	int64_t n, cid;
	uint64_t have;

	if (!strcmp(type, "route")) {
		check_event(f, rec, loc);
		return;
	}
	if (!name || !desk_jint(rec, !strcmp(type, "rotation") ? "turn" : "state",
	    &n) || n < 0 || (!strcmp(type, "rulemark") &&
	    (!desk_jint(rec, "case_id", &cid) || cid < 1))) {
		bad_record(f, loc, "a rotation needs team and turn, a rulemark "
		    "rule, case_id and state");
		return;
	}
	if (!strcmp(type, "rotation"))
		desk_key_rotation(&k, name);
	else
		desk_key_rulemark(&k, name, (uint64_t)cid);
	if (!desk_hx_get(f->st, &k, &have, NULL) ||
	    (!strcmp(type, "rotation") && have < (uint64_t)n))
		finding(f, 1, "index: the %s at log position %u:%llu is not in "
		    "the index", type, DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos));
}

static void
pass_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	struct fsck *f = ctx;

	(void)st;
	f->records++;
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		bad_record(f, loc, jv_get_kind(msg) == JV_KIND_STRING ?
		    jv_string_value(msg) : "bad record");
		jv_free(msg);
		return;
	}
	const char *type = desk_jstr(rec, "rec");
	if (loc.len > DESK_REC_MAX)
		bad_record(f, loc, "record longer than a slot can point at "
		    "(16 MiB)");
	else if (!type)
		bad_record(f, loc, "record without \"rec\"");
	else if (!strcmp(type, "user"))
		pass_user(f, rec, loc);
	else if (!strcmp(type, "case"))
		pass_case(f, rec, loc);
	else if (!strcmp(type, "message"))
		pass_message(f, rec, loc);
	else if (!strcmp(type, "code"))
		pass_code(f, rec, loc);
	else if (!strcmp(type, "ident"))
		pass_ident(f, rec, loc);
	else if (!strcmp(type, "delivery"))
		pass_delivery(f, rec, loc);
	else if (!strcmp(type, "command"))
		pass_command(f, rec, loc);
	else if (!strcmp(type, "route") || !strcmp(type, "rotation") ||
	    !strcmp(type, "rulemark"))
		pass_rules(f, rec, loc, type);
	else
		finding(f, 0, "log %u:%llu: record type \"%s\" is not known to "
		    "this version", DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos), type);
	jv_free(rec);
}

/* The ids to check in table t: every slot, and every id the log has. */
static uint64_t
id_end(struct fsck *f, enum desk_table t, size_t cap)
{
	uint64_t end = desk_slot_end(f->st, t);

	return end < cap ? cap : end;
}

/*
 * Reads the slot of id in table t and holds it against whether the log has
 * the record (logged): reports a damaged slot, a slot without a record and
 * a record without a slot. 1 when both are there to be compared.
 */
static int
slot_vs_log(struct fsck *f, enum desk_table t, const char *what, uint64_t id,
    int logged, struct desk_slot *s)
{
	int have = desk_slot_read(f->st, t, id, s);

	if (have < 0)
		finding(f, 1, "%s %llu: slot damaged", what, (unsigned long long)id);
	else if (have && !logged)
		finding(f, 1, "%s %llu has a slot but no record", what,
		    (unsigned long long)id);
	else if (!have && logged)
		finding(f, 1, "%s %llu has no slot", what, (unsigned long long)id);
	return have > 0 && logged;
}

struct user_check {
	struct fsck *f;
	uint64_t id;
};

/* A key a user record points at the user must point at it in the index. */
static void
user_key_check(const struct desk_key *k, const char *what, void *ctx)
{
	struct user_check *u = ctx;
	uint64_t v;

	if (!desk_hx_get(u->f->st, k, &v, NULL))
		finding(u->f, 1, "index: %s of user %llu is missing", what,
		    (unsigned long long)u->id);
	else if (v != u->id)
		finding(u->f, 1, "index: %s of user %llu points to %llu", what,
		    (unsigned long long)u->id, (unsigned long long)v);
}

static void
check_users(struct fsck *f)
{
	uint64_t end = id_end(f, DESK_T_USER, f->users_cap);
	struct desk_user_slot s;
	struct desk_slot raw;

	for (uint64_t id = 1; id < end; id++) {
		struct desk_loc want = id < f->users_cap ? f->users[id] :
		    (struct desk_loc){ 0, 0 };
		if (!slot_vs_log(f, DESK_T_USER, "user", id, want.pos != 0, &raw))
			continue;
		desk_user_from_slot(&raw, &s);
		if (s.rec.pos != want.pos || s.rec.len != want.len) {
			finding(f, 1, "user %llu: slot is not the latest version",
			    (unsigned long long)id);
			continue;
		}
		struct xfail xf = id < f->fails_cap ? f->fails[id] : (struct xfail){ 0, 0 };
		if (s.failures != xf.failures || s.locked_at != xf.locked)
			finding(f, 1, "user %llu: slot says %llu failures locked at %llu, "
			    "the ident records say %llu failures locked at %llu",
			    (unsigned long long)id, (unsigned long long)s.failures,
			    (unsigned long long)s.locked_at, (unsigned long long)xf.failures,
			    (unsigned long long)xf.locked);
		jv u = desk_log_get(f->st, want);
		desk_user_keys(u, user_key_check, &(struct user_check){ f, id });
		jv_free(u);
	}
}

/*
 * A status list, walked from its head: exactly the want cases of that
 * status, each after the one before it in the log (the order of their
 * latest change).
 */
static void
check_case_list(struct fsck *f, enum desk_status st, uint64_t end,
    uint64_t want)
{
	uint64_t prev = 0, n = 0, after = 0, id = desk_case_list_first(f->st, st);
	const char *name = desk_status_name(st);

	for (uint64_t p, next; id; prev = id, id = next) {
		if (id >= end || id >= f->cases_cap || !f->cases[id].seen) {
			finding(f, 1, "%s list: case %llu is not in the log", name,
			    (unsigned long long)id);
			return;
		}
		int on = desk_case_list_node(f->st, id, &p, &next);
		if (on != (int)st || p != prev || f->cases[id].activity <= after ||
		    ++n > want) {
			finding(f, 1, "%s list: broken at case %llu", name,
			    (unsigned long long)id);
			return;
		}
		after = f->cases[id].activity;
	}
	if (n != want || desk_case_list_last(f->st, st) != prev)
		finding(f, 1, "%s list: %llu cases end at %llu; the log has %llu",
		    name, (unsigned long long)n,
		    (unsigned long long)desk_case_list_last(f->st, st),
		    (unsigned long long)want);
}

static void
check_cases(struct fsck *f)
{
	uint64_t end = id_end(f, DESK_T_CASE, f->cases_cap);
	uint64_t in[DESK_CLOSED + 1] = { 0 };
	int lists = desk_case_lists(f->st);
	struct desk_case_slot s;
	struct desk_slot raw;
	struct desk_key k;

	if (!lists && f->ncase)
		finding(f, 1, "index: no status lists of the cases (a store from "
		    "before them: desk-case fsck --repair builds them)");
	for (uint64_t id = 1; id < end; id++) {
		struct xcase *c = id < f->cases_cap && f->cases[id].seen ?
		    &f->cases[id] : NULL;
		if (!slot_vs_log(f, DESK_T_CASE, "case", id, c != NULL, &raw))
			continue;
		desk_case_from_slot(&raw, &s);
		if (s.rec.pos != c->rec.pos || s.rec.len != c->rec.len ||
		    s.status != c->status || s.user_id != c->user ||
		    s.merged_into != c->merged || s.chan != c->chan)
			finding(f, 1, "case %llu: slot disagrees with its latest record",
			    (unsigned long long)id);
		if (s.head != c->head || s.count != c->count ||
		    s.activity != c->activity || s.updated_at != c->updated)
			finding(f, 1, "case %llu: slot says %u messages up to %llu, the "
			    "log says %u up to %llu", (unsigned long long)id, s.count,
			    (unsigned long long)s.head, c->count,
			    (unsigned long long)c->head);
		if (c->merged && (c->merged >= f->cases_cap || !f->cases[c->merged].seen))
			finding(f, 1, "case %llu is merged into case %llu, which does "
			    "not exist", (unsigned long long)id,
			    (unsigned long long)c->merged);
		uint64_t lp, ln;
		if (lists && desk_case_list_node(f->st, id, &lp, &ln) != (int)c->status)
			finding(f, 1, "case %llu is %s but not on the %s list",
			    (unsigned long long)id, desk_status_name(c->status),
			    desk_status_name(c->status));
		else if (lists)
			in[c->status]++;
		/* The user's last case on the channel is this one or a later one. */
		jv rec = desk_log_get(f->st, c->rec);
		const char *ch = desk_jstr(rec, "channel");
		uint64_t last;
		desk_key_last(&k, c->user, ch ? ch : "");
		if (!desk_hx_get(f->st, &k, &last, NULL) || last < id ||
		    last >= f->cases_cap || !f->cases[last].seen ||
		    f->cases[last].user != c->user || f->cases[last].chan != c->chan)
			finding(f, 1, "index: user %llu's last case on channel %s is "
			    "wrong (case %llu)", (unsigned long long)c->user,
			    ch ? ch : "?", (unsigned long long)id);
		jv_free(rec);
	}
	if (lists)
		for (int i = DESK_OPEN; i <= DESK_CLOSED; i++)
			check_case_list(f, (enum desk_status)i, end, in[i]);
}

static void
check_messages(struct fsck *f)
{
	uint64_t end = desk_slot_end(f->st, DESK_T_MESSAGE);
	struct desk_slot s;

	/* Slots of messages in the log were checked as the log was read. */
	for (uint64_t id = 1; id < end; id++)
		if (!(id / 8 < f->msgs_cap && (f->msgs[id / 8] & (1 << (id % 8)))))
			slot_vs_log(f, DESK_T_MESSAGE, "message", id, 0, &s);
}

static void
check_codes(struct fsck *f)
{
	uint64_t end = id_end(f, DESK_T_CODE, f->codes_cap);
	struct desk_code_slot s;
	struct desk_slot raw;

	for (uint64_t id = 1; id < end; id++) {
		struct xcode *c = id < f->codes_cap && f->codes[id].rec.pos ?
		    &f->codes[id] : NULL;
		if (!slot_vs_log(f, DESK_T_CODE, "code", id, c != NULL, &raw))
			continue;
		desk_code_from_slot(&raw, &s);
		if (s.rec.pos != c->rec.pos || s.attempts != c->attempts ||
		    s.used != c->used || (c->used && s.used_by != c->by))
			finding(f, 1, "code %llu: slot disagrees with the log",
			    (unsigned long long)id);
	}
}

/* Each throttle's time in the index is the latest an ident record gave. */
static void
check_throttles(struct fsck *f)
{
	for (size_t i = 0; i < f->nthrottle; i++) {
		struct xthrottle *t = &f->throttles[i];
		struct desk_key k;
		uint64_t v;
		desk_code_throttle_key(&k, t->channel);
		if (!desk_hx_get(f->st, &k, &v, NULL) || v != (uint64_t)t->tat)
			finding(f, 1, "index: the identification throttle of %s%s "
			    "disagrees with the ident records", t->channel ?
			    "channel " : "the store", t->channel ? t->channel : "");
	}
}

/* The due list, walked from its head: exactly the entries not final. */
static void
check_due(struct fsck *f, uint64_t end, uint64_t want)
{
	uint64_t prev = 0, n = 0, id = desk_due_first(f->st);
	struct desk_out_slot o;

	for (; id; prev = id, id = o.next) {
		if (id >= end || !desk_out_slot(f->st, id, &o)) {
			finding(f, 1, "due list: entry %llu has no outbox slot",
			    (unsigned long long)id);
			return;
		}
		if (!o.linked || o.prev != prev || ++n > want) {
			finding(f, 1, "due list: broken at outbox %llu",
			    (unsigned long long)id);
			return;
		}
	}
	if (n != want || desk_due_last(f->st) != prev)
		finding(f, 1, "due list: %llu entries end at %llu; the log has %llu "
		    "not delivered or dead", (unsigned long long)n,
		    (unsigned long long)desk_due_last(f->st), (unsigned long long)want);
}

static void
check_outbox(struct fsck *f)
{
	uint64_t end = id_end(f, DESK_T_OUT, f->outs_cap), due = 0;
	struct desk_out_slot o;
	struct desk_slot s;

	for (uint64_t id = 1; id < end; id++) {
		struct desk_loc *want = id < f->outs_cap && f->outs[id].pos ?
		    &f->outs[id] : NULL;
		if (!slot_vs_log(f, DESK_T_OUT, "outbox", id, want != NULL, &s))
			continue;
		if (s.rec.pos != want->pos || s.rec.len != want->len) {
			finding(f, 1, "outbox %llu: slot does not point at its record",
			    (unsigned long long)id);
			continue;
		}
		struct xout x = id < f->douts_cap ? f->douts[id] : (struct xout){ 0 };
		if (!desk_out_slot(f->st, id, &o))
			continue;       /* slot_vs_log said it is there */
		if (o.state != (enum desk_dstate)x.state || o.attempt != x.attempt ||
		    o.due != x.due)
			finding(f, 1, "outbox %llu: slot says %s, attempt %llu, due at "
			    "%lld; its delivery records say %s, attempt %llu, due at %lld",
			    (unsigned long long)id, desk_dstate_name(o.state),
			    (unsigned long long)o.attempt, (long long)o.due,
			    desk_dstate_name((enum desk_dstate)x.state),
			    (unsigned long long)x.attempt, (long long)x.due);
		if (o.linked == desk_dstate_final(o.state))
			finding(f, 1, "outbox %llu is %s but %s the due list",
			    (unsigned long long)id, desk_dstate_name(o.state),
			    o.linked ? "on" : "not on");
		if (!desk_dstate_final((enum desk_dstate)x.state))
			due++;
		struct desk_key k;
		uint64_t pos;
		uint32_t len;
		desk_key_delivery(&k, id);
		int have = desk_hx_get(f->st, &k, &pos, &len);
		if (have != (x.last.pos != 0) || (have && (pos != x.last.pos ||
		    len != x.last.len)))
			finding(f, 1, "index: the latest delivery of outbox %llu is "
			    "wrong", (unsigned long long)id);
	}
	check_due(f, end, due);
}

static void
count_entry(const struct desk_key *k, uint64_t v, uint32_t aux, void *ctx)
{
	uint64_t *n = ctx;

	(void)k;
	(void)aux;
	n[0]++;
	if (v == UINT64_MAX)
		n[1]++;
}

static void
check_index(struct fsck *f)
{
	uint64_t n[2] = { 0, 0 };

	desk_hx_each(f->st, count_entry, n);
	if (n[1])
		finding(f, 1, "index/keys.hx: %llu damaged entries",
		    (unsigned long long)n[1]);
	if (f->st->hxfd >= 0 && n[0] != f->st->hx_count)
		finding(f, 0, "index/keys.hx: header counts %llu entries, found %llu",
		    (unsigned long long)f->st->hx_count, (unsigned long long)n[0]);
}

static void
check_state(struct fsck *f)
{
	for (int k = 0; k < DESK_NKINDS; k++)
		if (f->st->next[k] <= f->maxid[k])
			finding(f, 1, "state: next %s id %llu is not above the highest "
			    "in the log (%llu)", desk_kind_names[k],
			    (unsigned long long)f->st->next[k],
			    (unsigned long long)f->maxid[k]);
}

static void
check_channels(struct fsck *f)
{
	DIR *d = desk_store_opendir(f->st, "channels");

	if (!d) {
		finding(f, 1, "channels/: %s", strerror(errno));
		return;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char rel[300];
		size_t n;
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof rel, "channels/%s", e->d_name);
		char *text = desk_store_get(f->st, rel, &n);
		jv ch = text ? desk_json_parse_all(text, n) : jv_invalid();
		if (jv_get_kind(ch) != JV_KIND_OBJECT || !desk_jstr(ch, "connector"))
			finding(f, 1, "%s: not a channel configuration", rel);
		jv_free(ch);
		free(text);
	}
	closedir(d);
}

/* tmp/ files of processes that are gone: notes, removed by --repair. */
static void
check_tmp(struct fsck *f, int repair)
{
	DIR *d = desk_store_opendir(f->st, "tmp");

	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		long pid = strtol(e->d_name, NULL, 10);
		char rel[300];
		if (e->d_name[0] == '.' || (pid > 0 && (pid == getpid() ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)))
			continue;
		snprintf(rel, sizeof rel, "tmp/%s", e->d_name);
		if (repair && desk_store_unlink(f->st, rel) == 0) {
			desk_warn("fsck: removed %s, left by a process that is gone", rel);
			f->st->dirty = 1;
		} else
			finding(f, 0, "%s was left by a process that is gone", rel);
	}
	closedir(d);
}

static void
verify(struct fsck *f)
{
	desk_log_rollforward(f->st, 1, 0, 0, pass_one, f);
	check_users(f);
	check_cases(f);
	check_messages(f);
	check_codes(f);
	check_throttles(f);
	check_outbox(f);
	check_index(f);
	check_state(f);
	check_channels(f);
}

static void
fsck_reset(struct fsck *f)
{
	free(f->users);
	free(f->cases);
	free(f->msgs);
	free(f->codes);
	free(f->fails);
	for (size_t i = 0; i < f->nthrottle; i++)
		free(f->throttles[i].channel);
	free(f->throttles);
	free(f->outs);
	free(f->douts);
	struct desk_store *st = f->st;
	void *bad = f->bad;
	size_t nbad = f->nbad;
	memset(f, 0, sizeof *f);
	f->st = st;
	f->bad = bad;
	f->nbad = nbad;
}

int
desk_fsck(struct desk_store *st, int repair)
{
	struct fsck f;

	memset(&f, 0, sizeof f);
	f.st = st;
	/* Damage past the committed point is what fsck is for: never die of it. */
	st->tolerant = 1;
	if (desk_store_lock(st) < 0)
		return -1;
	if (st->rolled || st->cut)
		finding(&f, 0, "a writer stopped mid-batch: applied %llu records "
		    "it had written, cut %llu bytes of a record it had not finished",
		    (unsigned long long)st->rolled, (unsigned long long)st->cut);
	check_tmp(&f, repair);
	verify(&f);
	int repaired = 0;
	if (repair) {
		uint64_t notes = f.notes, found = f.damage;
		int r = f.nbad ? desk_log_drop(st, f.bad, f.nbad) : 0;
		free(f.bad);
		f.bad = NULL;
		f.nbad = 0;
		/* Reopen the log at its end (segments may have been rewritten). */
		if (r < 0 || desk_store_rebuild(st) < 0 ||
		    desk_store_commit(st) < 0 || desk_store_lock(st) < 0) {
			desk_store_commit(st);    /* lets go of the lock */
			fsck_reset(&f);
			return -1;
		}
		fsck_reset(&f);
		verify(&f);
		f.notes += notes;
		/* Only a store that now passes is repaired, whatever was done. */
		repaired = found > 0 && f.damage == 0;
		if (found && !f.damage)
			desk_warn("fsck: repaired: rebuilt the index from %llu records",
			    (unsigned long long)f.records);
		else if (f.damage)
			desk_warn("fsck: not repaired: %llu problems remain after "
			    "rebuilding the index from the log",
			    (unsigned long long)f.damage);
	}
	desk_store_commit(st);
	jv sum = jv_object();
	sum = desk_jset_int(sum, "records", (int64_t)f.records);
	sum = desk_jset_int(sum, "users", (int64_t)f.nuser);
	sum = desk_jset_int(sum, "cases", (int64_t)f.ncase);
	sum = desk_jset_int(sum, "messages", (int64_t)f.nmsg);
	sum = desk_jset_int(sum, "damage", (int64_t)f.damage);
	sum = desk_jset_int(sum, "notes", (int64_t)f.notes);
	if (repair)
		sum = desk_jset(sum, "repaired", jv_bool(repaired));
	desk_out(sum);
	desk_out_flush();
	int r = f.damage ? DESK_EX_NO : DESK_EX_OK;
	fsck_reset(&f);
	free(f.bad);
	return r;
}
