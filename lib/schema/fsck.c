/*
 * fsck.c: desk-case fsck. The engine rebuilds every derived file from the
 * log into tmp/ through the schema's apply, the code every write uses (up
 * to the log's committed end without the writer lock, the records
 * appended meanwhile under it), and compares the live files with the
 * rebuild under the lock (desk_store_check): each slot field by the names
 * this schema gives them, each index key both ways, the state's counters.
 * There is no second derivation here to disagree with apply. What fsck.c
 * adds is what only the log can tell, checked record by record in the
 * same pass against the rebuild as it stands just before the record (the
 * pass's handle, f->rb, not the live store): lines that do not parse,
 * records without what their type needs, a message twice or of no case, a
 * code used twice, an outbox entry queued twice or delivered unqueued; and
 * channels/ and tmp/. With --repair the engine swaps the check's rebuild
 * in, still under the lock; or, when records of the log are damaged,
 * moves them to rejects/ (desk_log_drop) and swaps in a rebuild made under
 * the lock (desk_store_rebuild). Then it checks again.
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

/* Keys that differ are named after the compare, by a pass over the log. */
#define NAMED_KEYS 50

struct key_finding {
	struct desk_diff d;
	char name[200];
};

struct fsck {
	struct desk_store *st;
	struct desk_store *rb;        /* the rebuild, during the pass */
	int repair, swapped;
	uint64_t records, damage, notes;
	uint64_t nuser, ncase, nmsg;
	struct key_finding keys[NAMED_KEYS];
	size_t nkeys;
	uint64_t keys_over;           /* keys that differ past those named */
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

#define AT(loc) \
	DESK_POS_SEG((loc).pos), (unsigned long long)DESK_POS_OFF((loc).pos)

/*
 * The per-record checks, each called before the record is applied to the
 * rebuild: a slot read here is the rebuild's, as of the records before.
 */
static void
pass_user(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_user_slot s;
	int64_t id;

	if (!desk_jint(rec, "user_id", &id) || id < 1) {
		bad_record(f, loc, "user record without a user_id");
		return;
	}
	if (!desk_user_slot(f->rb, (uint64_t)id, &s))
		f->nuser++;
}

static void
pass_case(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_case_slot c;
	int64_t id, user, merged = 0;
	enum desk_status status;

	if (!desk_jint(rec, "case_id", &id) || id < 1 ||
	    !desk_jstr(rec, "channel") || !desk_jint(rec, "user_id", &user) ||
	    !desk_status_parse(desk_jstr(rec, "status"), &status)) {
		bad_record(f, loc, "case record without case_id, user_id, channel "
		    "or a valid status");
		return;
	}
	if (!desk_case_slot(f->rb, (uint64_t)id, &c))
		f->ncase++;
	if (desk_jint(rec, "merged_into", &merged) && merged > 0 && merged != id &&
	    !desk_case_slot(f->rb, (uint64_t)merged, &c))
		finding(f, 1, "case %lld is merged into case %lld, which does not "
		    "exist", (long long)id, (long long)merged);
}

static void
pass_message(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_message_slot m;
	struct desk_case_slot c;
	struct desk_out_slot o;
	int64_t id, cid, oid;

	if (!desk_jint(rec, "message_id", &id) || id < 1 ||
	    !desk_jint(rec, "case_id", &cid) || cid < 1) {
		bad_record(f, loc, "message record without message_id or case_id");
		return;
	}
	if (desk_message_slot(f->rb, (uint64_t)id, &m)) {
		finding(f, 1, "message %lld appears twice in the log", (long long)id);
		return;
	}
	f->nmsg++;
	if (!desk_case_slot(f->rb, (uint64_t)cid, &c)) {
		finding(f, 1, "message %lld belongs to case %lld, which does not "
		    "exist before it", (long long)id, (long long)cid);
		return;
	}
	if ((uint64_t)id <= c.head)
		finding(f, 1, "message %lld is older than case %lld's last message",
		    (long long)id, (long long)cid);
	if (desk_jint(rec, "out_id", &oid) && oid > 0 &&
	    desk_out_slot(f->rb, (uint64_t)oid, &o))
		finding(f, 1, "outbox %lld is claimed by two messages", (long long)oid);
}

/* A command queues an outbox entry as a reply's message does. */
static void
pass_command(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_out_slot o;
	int64_t oid, cid;

	if (!desk_jint(rec, "out_id", &oid) || oid < 1 ||
	    !desk_jint(rec, "case_id", &cid) || cid < 1)
		bad_record(f, loc, "command record without out_id or case_id");
	else if (desk_out_slot(f->rb, (uint64_t)oid, &o))
		finding(f, 1, "outbox %lld is claimed by two records", (long long)oid);
}

/* A delivery's entry was queued before it; a retry says when. */
static void
pass_delivery(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_out_slot o;
	enum desk_dstate state;
	int64_t oid, t;
	const char *next = desk_jstr(rec, "next_attempt_at");

	if (!desk_jint(rec, "out_id", &oid) || oid < 1 ||
	    !desk_dstate_parse(desk_jstr(rec, "state"), &state))
		bad_record(f, loc, "delivery record without out_id or state");
	else if (!desk_out_slot(f->rb, (uint64_t)oid, &o))
		finding(f, 1, "log %u:%llu: delivery of outbox %lld, which no "
		    "message queued before it", AT(loc), (long long)oid);
	else if (state == DESK_DS_RETRY && !(next && desk_time_parse(next, &t)))
		finding(f, 1, "log %u:%llu: a retry of outbox %lld without "
		    "next_attempt_at", AT(loc), (long long)oid);
}

static void
pass_code(struct fsck *f, jv rec, struct desk_loc loc)
{
	int64_t id;
	const char *hex = desk_jstr(rec, "hash");

	if (!desk_jint(rec, "code_id", &id) || id < 1 || !hex || strlen(hex) != 64)
		bad_record(f, loc, "code record without code_id or hash");
}

static void
pass_ident(struct fsck *f, jv rec, struct desk_loc loc)
{
	struct desk_code_slot c;
	int64_t cid, uid;
	const char *result = desk_jstr(rec, "result");

	if (!desk_jint(rec, "user_id", &uid) || uid < 1 || !result) {
		bad_record(f, loc, "ident record without user_id or result");
		return;
	}
	if (!desk_jint(rec, "code_id", &cid) || cid < 1)
		return;
	if (!desk_code_slot(f->rb, (uint64_t)cid, &c))
		finding(f, 1, "ident at %u:%llu names code %lld, which does not "
		    "exist before it", AT(loc), (long long)cid);
	else if (!strcmp(result, "valid") && c.used)
		finding(f, 1, "code %lld was used twice", (long long)cid);
}

/* desk-route's records: what they need (the rebuild checks their keys). */
static void
pass_rules(struct fsck *f, jv rec, struct desk_loc loc, const char *type)
{
	int rotation = !strcmp(type, "rotation");
	const char *name = desk_jstr(rec, rotation ? "team" : "rule");
	int64_t n, cid;

	if (!strcmp(type, "route"))
		return;
	if (!name || !desk_jint(rec, rotation ? "turn" : "state", &n) || n < 0 ||
	    (!rotation && (!desk_jint(rec, "case_id", &cid) || cid < 1)))
		bad_record(f, loc, "a rotation needs team and turn, a rulemark "
		    "rule, case_id and state");
}

static void
no_key(const struct desk_key *k, void *ctx)
{
	(void)k;
	(void)ctx;
}

/* serve's records: what they need (the rebuild checks keys and marks). */
static void
pass_hook(struct fsck *f, jv rec, struct desk_loc loc, const char *type)
{
	int64_t seq;

	if (!strcmp(type, "hook") && !desk_hook_keys(rec, no_key, NULL))
		bad_record(f, loc, "hook record without channel, delivery, seq "
		    "or events");
	else if (!strcmp(type, "emitted") && (!desk_jint(rec, "seq", &seq) ||
	    seq < 1))
		bad_record(f, loc, "emitted record without seq");
}

static void
pass_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	struct fsck *f = ctx;

	f->rb = st;
	f->records++;
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(jv_copy(rec));
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
	else if (!strcmp(type, "hook") || !strcmp(type, "emitted"))
		pass_hook(f, rec, loc, type);
	else
		finding(f, 0, "log %u:%llu: record type \"%s\" is not known to "
		    "this version", AT(loc), type);
}

/* ---- what differs from the rebuild ---- */

static const char *
table_what(int t)
{
	return t >= 0 && t < DESK_NTABLES && desk_table_what[t] ?
	    desk_table_what[t] : "slot";
}

static void
slot_diff(struct fsck *f, const struct desk_diff *d)
{
	const char *what = table_what(d->table);
	unsigned long long id = (unsigned long long)d->id;

	switch (d->kind) {
	case DESK_DIFF_DAMAGED:
		finding(f, 1, "%s %llu: slot damaged", what, id);
		break;
	case DESK_DIFF_MISSING:
		finding(f, 1, "%s %llu has no slot", what, id);
		break;
	case DESK_DIFF_EXTRA:
		finding(f, 1, "%s %llu has a slot but no record", what, id);
		break;
	case DESK_DIFF_FIELD:
		if (d->field && !strcmp(d->field, "rec"))
			finding(f, 1, "%s %llu: slot points at the record at %u:%llu, "
			    "the log's latest is at %u:%llu", what, id, AT(d->live_rec),
			    AT(d->want_rec));
		else if (d->field)
			finding(f, 1, "%s %llu: slot says %s %llu, the log says %llu",
			    what, id, d->field, (unsigned long long)d->live,
			    (unsigned long long)d->want);
		else
			finding(f, 1, "%s %llu: slot disagrees with the log", what, id);
		break;
	default:
		break;
	}
}

static void
key_hex(char *buf, size_t n, const struct desk_key *k)
{
	snprintf(buf, n, "key %02x%02x%02x%02x%02x%02x%02x%02x", k->h[0], k->h[1],
	    k->h[2], k->h[3], k->h[4], k->h[5], k->h[6], k->h[7]);
}

static void
diff_one(struct desk_store *st, const struct desk_diff *d, void *ctx)
{
	struct fsck *f = ctx;

	(void)st;
	switch (d->kind) {
	case DESK_DIFF_FILE:
		if (!strcmp(d->field, "missing"))
			finding(f, 1, "%s is missing (%llu %s)", d->file,
			    (unsigned long long)d->id, d->table < 0 ? "entries" :
			    "slots");
		else
			finding(f, 1, "%s: bad header", d->file);
		break;
	case DESK_DIFF_COUNT:
		finding(f, 0, "%s: header counts %llu entries, found %llu", d->file,
		    (unsigned long long)d->live, (unsigned long long)d->want);
		break;
	case DESK_DIFF_COUNTER:
		finding(f, 1, "state: next %s id %llu is not above the highest in "
		    "the log (%llu)", d->field, (unsigned long long)d->live,
		    (unsigned long long)(d->want - 1));
		break;
	case DESK_DIFF_DAMAGED:
		if (d->table < 0) {
			finding(f, 1, "%s: damaged entry in bucket %llu", d->file,
			    (unsigned long long)d->id);
			break;
		}
		/* FALLTHROUGH */
	default:
		if (d->table >= 0)
			slot_diff(f, d);
		else if (f->nkeys < NAMED_KEYS) {
			/* Named and told once the compare is over. */
			f->keys[f->nkeys].d = *d;
			key_hex(f->keys[f->nkeys++].name, sizeof f->keys[0].name, &d->key);
		} else
			f->keys_over++;
		break;
	}
}

static void
name_key(const struct desk_key *k, const char *what, void *ctx)
{
	struct fsck *f = ctx;

	for (size_t i = 0; i < f->nkeys; i++)
		if (!memcmp(f->keys[i].d.key.h, k->h, sizeof k->h))
			snprintf(f->keys[i].name, sizeof f->keys[i].name, "%s", what);
}

static void
name_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	const char *type = jv_is_valid(rec) ? desk_jstr(rec, "rec") : NULL;
	uint64_t chunk = loc.pos >> DESK_MARK_SHIFT;
	struct desk_key k;
	char what[100];

	if (jv_is_valid(rec))
		desk_rec_keys(st, rec, name_key, ctx);
	/* The status marks, by the case and message records in their stretch. */
	for (int level = 0; level < 2 && type && (!strcmp(type, "case") ||
	    !strcmp(type, "message")); level++) {
		unsigned shift = DESK_MARK_SHIFT + (level ? 10 : 4);
		desk_key_marks(st, &k, level, chunk);
		snprintf(what, sizeof what, "the key of the status marks of "
		    "log/%08u.jsonl from offset %llu (%d MiB)", DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos >> shift << shift),
		    level ? 64 : 1);
		name_key(&k, what, ctx);
	}
	jv_free(rec);
}

/* The keys that differ, named by the records that set them (the latest). */
static void
tell_keys(struct fsck *f)
{
	/* Those past the named are counted last, so the named are said. */
	if (!f->nkeys)
		return;
	desk_log_rollforward(f->st, 1, 0, 0, name_one, f);
	for (size_t i = 0; i < f->nkeys; i++) {
		const struct desk_diff *d = &f->keys[i].d;
		const char *name = f->keys[i].name;
		if (d->kind == DESK_DIFF_MISSING)
			finding(f, 1, "index: %s is missing", name);
		else if (d->kind == DESK_DIFF_EXTRA)
			finding(f, 1, "index: %s is not derived from the log", name);
		else
			finding(f, 1, "index: %s disagrees with the log (the index "
			    "says %llu/%u, the log %llu/%u)", name,
			    (unsigned long long)d->live, d->live_aux,
			    (unsigned long long)d->want, d->want_aux);
	}
	f->damage += f->keys_over;
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

/*
 * Under the lock, after the compare: --repair swaps the rebuild in unless
 * records of the log are damaged (they are cut out first, and the index
 * rebuilt over their new places).
 */
static int
swap_ok(struct desk_store *st, void *ctx)
{
	struct fsck *f = ctx;

	(void)st;
	f->swapped = f->repair && !f->nbad;
	return f->swapped;
}

static int
verify(struct fsck *f)
{
	struct desk_check c = { pass_one, diff_one, swap_ok, f };

	if (desk_store_check(f->st, &c) < 0)
		return -1;
	tell_keys(f);
	check_channels(f);
	return f->st->err.code ? -1 : 0;
}

static void
fsck_reset(struct fsck *f)
{
	struct desk_store *st = f->st;
	void *bad = f->bad;
	size_t nbad = f->nbad;

	/* repair cleared too: the check after a repair only looks. */
	memset(f, 0, sizeof *f);
	f->st = st;
	f->bad = bad;
	f->nbad = nbad;
}

int
desk_fsck(struct desk_store *st, int repair)
{
	struct fsck *f = desk_xcalloc(1, sizeof *f);
	int r = -1;

	f->st = st;
	f->repair = repair;
	/* Damage past the committed point is what fsck is for: never die of it. */
	st->tolerant = 1;
	if (desk_store_lock(st) < 0)
		goto out;
	if (st->rolled || st->cut)
		finding(f, 0, "a writer stopped mid-batch: applied %llu records "
		    "it had written, cut %llu bytes of a record it had not finished",
		    (unsigned long long)st->rolled, (unsigned long long)st->cut);
	if (st->replayed)
		finding(f, 0, "the last writer ran before a crash of the machine: "
		    "wrote %llu records of index/batch.redo again",
		    (unsigned long long)st->replayed);
	check_tmp(f, repair);
	if (verify(f) < 0) {
		desk_store_commit(st);    /* lets go of the lock */
		goto out;
	}
	int repaired = 0;
	if (repair) {
		uint64_t notes = f->notes, found = f->damage;
		/* Not swapped by the check: the log loses its damaged records first. */
		int rr = f->swapped ? 0 : desk_log_drop(st, f->bad, f->nbad) < 0 ||
		    desk_store_rebuild(st) < 0 ? -1 : 0;
		free(f->bad);
		f->bad = NULL;
		f->nbad = 0;
		if (rr < 0 || desk_store_commit(st) < 0 || desk_store_lock(st) < 0) {
			desk_store_commit(st);    /* lets go of the lock */
			goto out;
		}
		fsck_reset(f);
		if (verify(f) < 0) {
			desk_store_commit(st);
			goto out;
		}
		f->notes += notes;
		/* Only a store that now passes is repaired, whatever was done. */
		repaired = found > 0 && f->damage == 0;
		if (found && !f->damage)
			desk_warn("fsck: repaired: rebuilt the index from %llu records",
			    (unsigned long long)f->records);
		else if (f->damage)
			desk_warn("fsck: not repaired: %llu problems remain after "
			    "rebuilding the index from the log",
			    (unsigned long long)f->damage);
	}
	if (desk_store_commit(st) < 0)
		goto out;
	jv sum = jv_object();
	sum = desk_jset_int(sum, "records", (int64_t)f->records);
	sum = desk_jset_int(sum, "users", (int64_t)f->nuser);
	sum = desk_jset_int(sum, "cases", (int64_t)f->ncase);
	sum = desk_jset_int(sum, "messages", (int64_t)f->nmsg);
	sum = desk_jset_int(sum, "damage", (int64_t)f->damage);
	sum = desk_jset_int(sum, "notes", (int64_t)f->notes);
	if (repair)
		sum = desk_jset(sum, "repaired", jv_bool(repaired));
	desk_out(sum);
	desk_out_flush();
	r = f->damage ? DESK_EX_NO : DESK_EX_OK;
out:
	free(f->bad);
	free(f);
	return r;
}
