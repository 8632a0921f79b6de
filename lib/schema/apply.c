/*
 * apply.c: what each log record means for the derived state (slots and the
 * hash index). The one place that knows it: live writes, the roll-forward
 * after a crash and fsck --repair all call desk_apply, so they cannot
 * disagree. Applying a record twice changes nothing. What the slots'
 * fields are is schema.h's (struct desk_user_slot, ...).
 *
 * Records of desk-route (desk-rules(5)) set only index keys: a rotation
 * the next turn of a team's round-robin, a route the event key of a
 * message the rules changed something for, a rulemark the condition state
 * a time rule was last applied in, per rule and case.
 *
 * The due list's ends are index keys (desk_key_due), and each entry's
 * latest delivery record too (desk_key_delivery). serve's
 * deliveries have no slots: hook records are found by index keys (keys.c:
 * desk_hook_keys), and the head and emitted marks are keys too.
 */
#include <sodium.h>
#include <string.h>

#include "store/engine.h"
#include "schema/schema.h"

/* In the order of enum desk_table and enum desk_kind (desk-store(5)). */
const char *const desk_table_names[DESK_NTABLES] = {
	"users", "cases", "messages", "codes", "outbox", "caselinks", "lists"
};
const char *const desk_kind_names[DESK_NKINDS] = {
	"user", "case", "message", "code", "out"
};
const char *const desk_table_what[DESK_NTABLES] = {
	"user", "case", "message", "code", "outbox", "case's links",
	"status list"
};

static const char *const status_names[] = { "", "open", "pending", "closed" };

const char *
desk_status_name(enum desk_status s)
{
	return s >= DESK_OPEN && s <= DESK_CLOSED ? status_names[s] : "unknown";
}

int
desk_status_parse(const char *s, enum desk_status *out)
{
	for (int i = DESK_OPEN; i <= DESK_CLOSED; i++)
		if (s && !strcmp(s, status_names[i])) {
			*out = (enum desk_status)i;
			return 1;
		}
	return 0;
}

/* The field of a table's records that holds its id. */
static const char *const table_idkey[DESK_NTABLES] = {
	"user_id", "case_id", "message_id", "code_id", "out_id"
};

jv
desk_record(struct desk_store *st, enum desk_table t, uint64_t id,
    struct desk_slot *slot)
{
	struct desk_slot s;
	int64_t have;

	if (!desk_slot_get(st, t, id, &s))
		return jv_invalid();
	if (slot)
		*slot = s;
	jv rec = desk_log_get_without(st, s.rec, "rec");
	/*
	 * Never trust a pointer: a reader takes no lock, and a compact or a
	 * repair may have moved the records since it read the slot.
	 */
	if (jv_is_valid(rec) && (!desk_jint(rec, table_idkey[t], &have) ||
	    have != (int64_t)id)) {
		jv_free(rec);
		rec = jv_invalid_with_msg(jv_string_fmt("the slot points at "
		    "another record (log %u:%llu)", DESK_POS_SEG(s.rec.pos),
		    (unsigned long long)DESK_POS_OFF(s.rec.pos)));
	}
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		desk_store_fail(st, DESK_EX_IOERR, "%s: %s %llu: %s (run desk-case "
		    "fsck)", desk_store_root(st), desk_table_what[t],
		    (unsigned long long)id,
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
		jv_free(msg);
		return jv_invalid();
	}
	return rec;
}

int
desk_record_spans(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys, struct desk_jspan *v,
    struct desk_buf *b)
{
	struct desk_jspan all;

	return desk_record_spans_all(st, t, id, keys, nkeys, v, b, &all);
}

int
desk_record_spans_all(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys, struct desk_jspan *v,
    struct desk_buf *b, struct desk_jspan *all)
{
	const char *k[DESK_JSON_MEMBERS_MAX];
	struct desk_slot s;
	size_t n;

	if (!desk_slot_get(st, t, id, &s))
		return 0;
	if (nkeys >= DESK_JSON_MEMBERS_MAX)
		return -1;
	k[0] = table_idkey[t];
	memcpy(k + 1, keys, nkeys * sizeof *keys);
	const char *p = desk_log_raw(st, s.rec, b, &n);
	if (!p || desk_json_members(p, n, k, nkeys + 1, v) < 0 || !v[0].p)
		return -1;
	all->p = p;
	all->n = n;
	/* Never trust a pointer (desk_record): the record must be id's. */
	jv idv = desk_json_span_parse(v[0]);
	int mine = jv_get_kind(idv) == JV_KIND_NUMBER &&
	    jv_number_value(idv) == (double)id;
	jv_free(idv);
	return mine ? 1 : -1;
}

jv
desk_record_members(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys)
{
	struct desk_jspan v[DESK_JSON_MEMBERS_MAX];
	struct desk_buf b = DESK_BUF_INIT;

	if (nkeys >= DESK_JSON_MEMBERS_MAX)
		return desk_record(st, t, id, NULL);
	int r = desk_record_spans(st, t, id, keys, nkeys, v, &b);
	jv rec = jv_object();
	if (r == 0) {
		desk_buf_free(&b);
		jv_free(rec);
		return jv_invalid();
	}
	if (r < 0)
		goto whole;
	for (size_t i = 0; i < nkeys; i++) {
		if (!v[i + 1].p)
			continue;
		jv x = desk_json_span_parse(v[i + 1]);
		if (!jv_is_valid(x)) {
			jv_free(x);
			goto whole;
		}
		rec = desk_jset(rec, keys[i], x);
	}
	desk_buf_free(&b);
	return rec;
whole:
	/* Damaged, or not as desk prints it: the whole record says which. */
	jv_free(rec);
	desk_buf_free(&b);
	return desk_record(st, t, id, NULL);
}

int
desk_record_values(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys, jv *out)
{
	struct desk_jspan v[DESK_JSON_MEMBERS_MAX];
	struct desk_buf b = DESK_BUF_INIT;
	size_t i;
	int r = nkeys < DESK_JSON_MEMBERS_MAX ?
	    desk_record_spans(st, t, id, keys, nkeys, v, &b) : -1;

	for (i = 0; i < nkeys; i++)
		out[i] = jv_invalid();
	for (i = 0; r > 0 && i < nkeys; i++)
		if (v[i + 1].p && !jv_is_valid(out[i] =
		    desk_json_span_parse(v[i + 1])))
			r = -1;
	desk_buf_free(&b);
	if (r >= 0)
		return r;
	/* As desk_record_members: the whole record, which says what is wrong. */
	for (i = 0; i < nkeys; i++) {
		jv_free(out[i]);
		out[i] = jv_invalid();
	}
	jv rec = desk_record(st, t, id, NULL);
	if (!jv_is_valid(rec)) {
		jv_free(rec);
		return 0;
	}
	for (i = 0; i < nkeys; i++)
		out[i] = jv_copy(desk_jget(rec, keys[i]));
	jv_free(rec);
	return 1;
}

/* Only apply writes slots: each table's by its named fields (schema.h). */
#define PUT(st, t, id, name, x) do { \
	struct desk_slot raw_ = desk_##name##_to_slot(x); \
	desk_slot_put((st), (t), (id), &raw_); \
} while (0)

static const char *
val_str(jv v)
{
	return jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
}

/* A time member's value (borrowed), 0 when it is none. */
static int64_t
val_time(jv v)
{
	const char *s = val_str(v);
	int64_t t;

	return s && desk_time_parse(s, &t) ? t : 0;
}

static int64_t
rec_time(jv rec, const char *key)
{
	return val_time(desk_jget(rec, key));
}

/* The event a record was written for (its key's parts), from its members' values. */
static void
val_event(jv scope_v, jv channel_v, jv id_v, const char **scope,
    const char **channel, const char **id, size_t *idlen)
{
	*scope = val_str(scope_v);
	*channel = val_str(channel_v);
	if (!desk_jstrn_of(id_v, id, idlen))
		*id = NULL;
}

/* The same from the record. */
static void
rec_event(jv rec, const char **scope, const char **channel, const char **id,
    size_t *idlen)
{
	val_event(desk_jget(rec, "event_scope"), desk_jget(rec, "event_channel"),
	    desk_jget(rec, "event_id"), scope, channel, id, idlen);
}

static void
apply_event_key(struct desk_store *st, jv rec, struct desk_loc loc)
{
	struct desk_key k;

	if (desk_event_rec_key(st, &k, rec))
		desk_hx_put(st, &k, loc.pos, loc.len);
}

struct user_keys {
	struct desk_store *st;
	uint64_t id;
};

static void
user_key_put(const struct desk_key *k, const char *what, void *ctx)
{
	struct user_keys *u = ctx;

	(void)what;
	desk_hx_put(u->st, k, u->id, 0);
}

/*
 * User id's slot for its record at loc (identified, and near: the key
 * near_of(rec) gives, or near when rec is invalid); 0 when a later
 * version has it already, which sets the keys too.
 */
static int
user_slot(struct desk_store *st, uint64_t id, int identified, jv rec,
    uint64_t near, struct desk_loc loc)
{
	struct desk_user_slot s;

	desk_store_seen_id(st, DESK_USER, id);
	int have = desk_user_slot(st, id, &s);
	if (have && s.rec.pos > loc.pos)
		return 0;    /* superseded by a later version */
	if (!have || s.rec.pos != loc.pos) {
		struct desk_user_slot old = s;
		memset(&s, 0, sizeof s);
		s.rec = loc;
		s.identified = identified;
		if (have) {
			s.failures = old.failures;
			s.locked_at = old.locked_at;
			s.last_case = old.last_case;
			s.near = old.near;
		} else if (desk_hx_near(st))
			s.near = jv_is_valid(rec) ? desk_user_near(rec) : near;
		PUT(st, DESK_T_USER, id, user, &s);
	}
	return 1;
}

static void
apply_user(struct desk_store *st, jv rec, struct desk_loc loc)
{
	int64_t id;

	if (!desk_jint(rec, "user_id", &id) || id < 1 ||
	    !user_slot(st, (uint64_t)id, jv_get_kind(desk_jget(rec,
	    "identified")) == JV_KIND_TRUE, rec, 0, loc))
		return;
	desk_user_keys(rec, user_key_put, &(struct user_keys){ st, (uint64_t)id });
}

void
desk_apply_user_new(struct desk_store *st, struct desk_loc loc, void *ctx)
{
	const struct desk_user_new_fields *f = ctx;
	struct desk_key k;

	if (f->user_id < 1)
		return;
	/* Its one key, which is also what desk_user_near makes of it. */
	desk_key_ucid(&k, f->channel, f->ucid, f->ucidlen);
	if (user_slot(st, f->user_id, 0, jv_invalid(), desk_key_near_of(&k), loc))
		desk_hx_put(st, &k, f->user_id, 0);
}

/* ---- the case indexes: the user's chain and the status lists ---- */

static void
link_put(struct desk_store *st, uint64_t id, const struct desk_caselink_slot *l)
{
	PUT(st, DESK_T_CASELINK, id, caselink, l);
}

static void
ends_get(struct desk_store *st, enum desk_status s, struct desk_list_slot *l)
{
	if (!desk_list_slot(st, (uint64_t)s, l))
		memset(l, 0, sizeof *l);
}

static void
ends_put(struct desk_store *st, enum desk_status s, const struct desk_list_slot *l)
{
	PUT(st, DESK_T_LIST, (uint64_t)s, list, l);
}

/*
 * Case id's links when they are on list s: a next pointer at a case
 * without them is what a writer killed while linking that case left, and
 * ends the list (the roll-forward links the case again).
 */
static int
on_list(struct desk_store *st, uint64_t id, enum desk_status s,
    struct desk_caselink_slot *l)
{
	return id && desk_caselink_slot(st, id, l) && l->list == s;
}

/*
 * The list's tail is written only every LAG_MAX appends: appending a new
 * case would otherwise cost a write of the list's slot as well as of the
 * case's and the old tail's links. The real tail is found from the one
 * written by following next, and *lag says how far that was.
 */
#define LAG_MAX 32
static uint64_t
real_tail(struct desk_store *st, enum desk_status s,
    const struct desk_list_slot *ends, int *lag)
{
	struct desk_caselink_slot n;
	uint64_t at = ends->tail ? ends->tail : ends->head;

	*lag = 0;
	if (!on_list(st, at, s, &n))
		return 0;
	while (n.next) {
		struct desk_caselink_slot m;
		if (!on_list(st, n.next, s, &m) || m.prev != at)
			break;
		at = n.next;
		n = m;
		++*lag;
	}
	return at;
}

/*
 * Where a case entering list s at since goes: after *prev, before *next
 * (0: the head, the tail). After the tail unless the clock went back
 * (DESK_NOW, another writer's clock): the list stays in order of since,
 * which tick relies on.
 */
static void
list_place(struct desk_store *st, enum desk_status s, int64_t since,
    uint64_t id, uint64_t *prev, uint64_t *next, int *lag)
{
	struct desk_list_slot ends;
	struct desk_caselink_slot n;
	uint64_t at, after = 0;

	ends_get(st, s, &ends);
	for (at = real_tail(st, s, &ends, lag); at && at != id; at = n.prev) {
		if (!on_list(st, at, s, &n) || n.since <= since)
			break;
		after = at;
	}
	*prev = at == id ? 0 : at;
	*next = after ? after : 0;
	if (!*prev && !after)
		*next = ends.head == id ? 0 : ends.head;
}

/* Points the neighbour nb's next (or prev) at id, or the list's end. */
static void
point(struct desk_store *st, enum desk_status s, uint64_t nb, int next,
    uint64_t id, int lag)
{
	struct desk_caselink_slot n;
	struct desk_list_slot ends;

	if (on_list(st, nb, s, &n)) {
		if (next ? n.next != id : n.prev != id) {
			if (next)
				n.next = id;
			else
				n.prev = id;
			link_put(st, nb, &n);
		}
		return;
	}
	ends_get(st, s, &ends);
	if (next && ends.head != id)
		ends.head = id;
	else if (!next && ends.tail != id && (!id || !ends.tail || lag >= LAG_MAX))
		ends.tail = id;
	else
		return;
	ends_put(st, s, &ends);
}

/*
 * Takes case id (l, linked) off its list; the caller writes l last, so that
 * a writer killed half-way leaves l linked and the roll-forward does it all
 * again (each step sets what it sets already).
 */
static void
list_unlink(struct desk_store *st, uint64_t id, struct desk_caselink_slot *l)
{
	struct desk_list_slot ends;

	ends_get(st, l->list, &ends);
	if (ends.tail == id) {
		/* The tail written (which may lag behind) must stay on the list. */
		ends.tail = l->next ? l->next : l->prev;
		ends_put(st, l->list, &ends);
	}
	point(st, l->list, l->prev, 1, l->next, 0);
	point(st, l->list, l->next, 0, l->prev, 0);
	l->linked = 0;
	l->prev = l->next = 0;
}

/*
 * Puts case id (l, not linked) on list l->list; the caller writes l,
 * linked, last. A case moving from another list is written first unlinked
 * with its place, so that the roll-forward finishes the same move (resume).
 * A new case is not: killed before its links are written, the writer left
 * the old tail's next at a case without links, which ends the list until
 * the roll-forward links the case again.
 */
static void
list_link(struct desk_store *st, uint64_t id, struct desk_caselink_slot *l,
    int fresh, int resume)
{
	int lag = 0;

	if (!resume) {
		list_place(st, l->list, l->since, id, &l->prev, &l->next, &lag);
		if (!fresh)
			link_put(st, id, l);
	}
	point(st, l->list, l->prev, 1, id, lag);
	point(st, l->list, l->next, 0, id, lag);
	l->linked = 1;
}

/*
 * A store written before the case indexes has cases and no lists: linking
 * what is new would make a part of an index that readers would trust. Its
 * indexes are left alone (readers refuse them, desk_case_indexes) until
 * fsck --repair builds them from the log through this same code.
 */
static int
lists_missing(struct desk_store *st, int have)
{
	struct desk_list_slot l;

	for (int s = DESK_OPEN; s <= DESK_CLOSED; s++)
		if (desk_list_slot(st, (uint64_t)s, &l))
			return 0;
	return have || desk_slot_end(st, DESK_T_CASE) > 1;
}

/*
 * Whether the store keeps what lists slot (DESK_LIST_CHANS: the channels'
 * chains, DESK_LIST_MARKS: the status marks) says it does. A store's first
 * case writes the slot. A store written before the chains, or the marks,
 * has cases and no slot: making its new cases part of them would make a
 * part of an index that readers would trust, as lists_missing says, so it
 * is left without until fsck --repair builds them from the log.
 */
static int
list_mark_ready(struct desk_store *st, uint64_t slot)
{
	struct desk_list_slot m;

	if (desk_list_slot(st, slot, &m))
		return 1;
	if (desk_slot_end(st, DESK_T_CASE) > 1)
		return 0;
	memset(&m, 0, sizeof m);
	PUT(st, DESK_T_LIST, slot, list, &m);
	return 1;
}

/*
 * The marks of the chunk the log's end is in are asked for by every case
 * slot a batch writes: kept, with their key, as last read or written,
 * while the index holds nothing this handle has not seen (hx_gen: under
 * the lock, or in a rebuild's own files).
 */
static _Thread_local struct {
	uint64_t gen, group[2], val[2];
	struct desk_key key[2];
	int have[2];
} marks_seen;

/* Status s's bit of chunk set in its key of level (only: 0), 1 if it was. */
static int
mark_set(struct desk_store *st, int level, uint64_t chunk, unsigned s,
    int only)
{
	uint64_t group = level ? chunk >> 10 : chunk >> 4, v;
	unsigned bit = desk_mark_nibble(level, chunk) * 4 + (s & 3);
	int keep = st->locked || st->repairing;

	if (!keep || marks_seen.gen != st->hx_gen || !marks_seen.have[level] ||
	    marks_seen.group[level] != group) {
		desk_key_marks(st, &marks_seen.key[level], level, chunk);
		if (!desk_hx_get(st, &marks_seen.key[level], &v, NULL))
			v = 0;
		if (marks_seen.gen != st->hx_gen)
			marks_seen.have[!level] = 0;
		marks_seen.gen = st->hx_gen;
		marks_seen.group[level] = group;
		marks_seen.val[level] = v;
		marks_seen.have[level] = keep;
	}
	v = marks_seen.val[level];
	if (v >> bit & 1)
		return 1;
	if (!only) {
		v |= (uint64_t)1 << bit;
		/* A put that grows the index makes a new generation. */
		if (desk_hx_put(st, &marks_seen.key[level], v, 0) == 0)
			marks_seen.val[level] = v;
	}
	return 0;
}

/*
 * A case's slot, with its status marked where its activity is first: the
 * mark is never missing for a slot a reader can see (it reads the marks
 * only of what the state says is committed, desk_log_back). The slot it
 * replaces (old, NULL: none) had its marks set before it was written: the
 * same chunk and status need nothing more. A chunk's bit is set after its
 * 4 MiB's, so that a flush between the two (the index grown, or every
 * line of it held dirty) never leaves the chunk's on disk without the
 * other's, and a chunk's bit set says its 4 MiB's is.
 */
static void
case_put(struct desk_store *st, uint64_t id, const struct desk_case_slot *c,
    const struct desk_case_slot *old)
{
	uint64_t chunk = c->activity >> DESK_MARK_SHIFT;
	unsigned s = (unsigned)c->status;

	if (!(old && old->status == c->status &&
	    old->activity >> DESK_MARK_SHIFT == chunk) &&
	    list_mark_ready(st, DESK_LIST_MARKS) && !mark_set(st, 0, chunk, s, 1)) {
		mark_set(st, 1, chunk, s, 0);
		mark_set(st, 0, chunk, s, 0);
	}
	PUT(st, DESK_T_CASE, id, case, c);
}

/*
 * A case record newer than the case's slot (have: the slot exists): a new
 * case joins its user's chain and its channel's, and a case whose status
 * differs from its list's (or a new one) moves to the end of that status's
 * list. Written
 * before the case's slot, so that the roll-forward of a record whose slot
 * write was lost redoes this too; each step checks what is done already.
 */
static void
case_index(struct desk_store *st, uint64_t id, uint64_t user, const char *ch,
    enum desk_status status, int64_t since, struct desk_loc loc, int have)
{
	struct desk_caselink_slot l;
	struct desk_user_slot u = { { 0, 0 }, 0, 0, 0, 0, 0 };
	int linked = desk_caselink_slot(st, id, &l);
	int uhave = desk_user_slot(st, user, &u);
	/*
	 * A new case (no slot yet) joins its channel's chain: its chan_prev,
	 * the channel's newest case, is written with its links, and the
	 * newest after them. A case's channel never changes, so nothing else
	 * moves the chain. A roll-forward finds the links written and only
	 * the newest to do (the case's slot, written after both, says whether
	 * it is done).
	 */
	int chans = !have && list_mark_ready(st, DESK_LIST_CHANS);
	uint64_t newest = chans ? desk_chan_newest(st, ch) : 0;

	if (!linked) {
		if (lists_missing(st, have))
			return;    /* an older desk's store: nothing indexed */
		memset(&l, 0, sizeof l);
		l.user_prev = uhave && u.last_case < id ? u.last_case : 0;
		l.chan_prev = chans && newest < id ? newest : 0;
	}
	if (!linked || !l.linked || l.list != status) {
		int resume = linked && !l.linked && l.list == status;
		if (linked && l.linked)
			list_unlink(st, id, &l);
		if (!resume) {
			l.list = status;
			l.since = since;
			l.rec = loc;
		}
		list_link(st, id, &l, !linked, resume);
		link_put(st, id, &l);
	}
	if (chans && newest < id) {
		struct desk_key k;
		desk_key_chan(&k, ch);
		desk_hx_put(st, &k, id, 0);
	}
	if (uhave && u.last_case < id) {
		u.last_case = id;
		PUT(st, DESK_T_USER, user, user, &u);
	}
}

void
desk_apply_case(struct desk_store *st, struct desk_loc loc, void *ctx)
{
	const struct desk_case_fields *f = ctx;
	struct desk_case_slot c;
	struct desk_key k;
	uint64_t id = f->case_id, user = f->user_id, last;
	const char *ch = f->channel;

	desk_store_seen_id(st, DESK_CASE, id);
	int have = desk_case_slot(st, id, &c);
	if (!have)
		memset(&c, 0, sizeof c);
	if (!have || c.rec.pos < loc.pos) {
		struct desk_case_slot old = c;
		int64_t t = f->updated_at;
		c.rec = loc;
		c.status = f->status;
		c.user_id = user;
		c.merged_into = f->merged_into;
		if (loc.pos > c.activity)
			c.activity = loc.pos;
		if (t > c.updated_at)
			c.updated_at = t;
		c.chan = desk_hash32(ch, strlen(ch));
		/* The indexes first, the slot last: see case_index. */
		case_index(st, id, user, ch, f->status, t, loc, have);
		case_put(st, id, &c, have ? &old : NULL);
	}
	desk_key_last(st, &k, user, ch);
	if (!desk_hx_get(st, &k, &last, NULL) || last < id)
		desk_hx_put(st, &k, id, 0);
	if (f->event_scope && f->event_id) {
		desk_event_fields_key(st, &k, f->event_scope, f->event_channel, ch,
		    f->event_id, f->event_idlen, (int64_t)user);
		desk_hx_put(st, &k, loc.pos, loc.len);
	}
}

/* The members a case's apply reads, in the order of enum case_member. */
static const char *const case_members[] = { "case_id", "user_id", "channel",
	"status", "merged_into", "updated_at", "event_scope", "event_channel",
	"event_id" };
enum case_member { CM_ID, CM_USER, CM_CHANNEL, CM_STATUS, CM_MERGED,
	CM_UPDATED, CM_SCOPE, CM_EVCHANNEL, CM_EVID, CM_N };

/*
 * A case record applied from the values v (borrowed, invalid where it has
 * none) of its case_members: as a record without them all is no case's,
 * nothing is done for it.
 */
static void
apply_case_members(struct desk_store *st, const jv *v, struct desk_loc loc)
{
	struct desk_case_fields f = { 0 };
	int64_t id, user = 0, merged = 0;

	f.channel = val_str(v[CM_CHANNEL]);
	if (!desk_jint_of(v[CM_ID], &id) || id < 1 || !f.channel ||
	    !desk_jint_of(v[CM_USER], &user) ||
	    !desk_status_parse(val_str(v[CM_STATUS]), &f.status))
		return;
	desk_jint_of(v[CM_MERGED], &merged);
	f.case_id = (uint64_t)id;
	f.user_id = (uint64_t)user;
	f.merged_into = merged > 0 ? (uint64_t)merged : 0;
	f.updated_at = val_time(v[CM_UPDATED]);
	val_event(v[CM_SCOPE], v[CM_EVCHANNEL], v[CM_EVID], &f.event_scope,
	    &f.event_channel, &f.event_id, &f.event_idlen);
	desk_apply_case(st, loc, &f);
}

static void
apply_case(struct desk_store *st, jv rec, struct desk_loc loc)
{
	jv v[CM_N];

	for (int i = 0; i < CM_N; i++)
		v[i] = desk_jget(rec, case_members[i]);     /* rec's */
	apply_case_members(st, v, loc);
}

/* Record bytes r[0..n) as a value of only its members keys[0..nkeys). */
static jv
members_of(const struct desk_jspan *r, const char *const *keys, size_t nkeys)
{
	struct desk_jspan v[DESK_JSON_MEMBERS_MAX];

	if (nkeys > DESK_JSON_MEMBERS_MAX ||
	    desk_json_members(r->p, r->n, keys, nkeys, v) < 0)
		return desk_json_parse_all(r->p, r->n);
	jv rec = jv_object();
	for (size_t i = 0; i < nkeys; i++)
		if (v[i].p)
			rec = desk_jset(rec, keys[i], desk_json_span_parse(v[i]));
	return rec;
}

/*
 * A case record printed from an older one's bytes (desk_case_save_set),
 * applied as apply_case applies its value: each member it reads parsed
 * from its bytes alone, no object made of them.
 */
void
desk_apply_case_bytes(struct desk_store *st, struct desk_loc loc, void *ctx)
{
	const struct desk_jspan *r = ctx;
	struct desk_jspan s[CM_N];
	jv v[CM_N];

	if (desk_json_members(r->p, r->n, case_members, CM_N, s) < 0) {
		jv rec = desk_json_parse_all(r->p, r->n);
		if (jv_is_valid(rec))
			apply_case(st, rec, loc);
		jv_free(rec);
		return;
	}
	for (int i = 0; i < CM_N; i++)
		v[i] = s[i].p ? desk_json_span_parse(s[i]) : jv_invalid();
	apply_case_members(st, v, loc);
	for (int i = 0; i < CM_N; i++)
		jv_free(v[i]);
}

/* The same for a user record (desk_user_resolve's splice), as apply_user. */
void
desk_apply_user_bytes(struct desk_store *st, struct desk_loc loc, void *ctx)
{
	static const char *const keys[] = { "user_id", "custom_ids", "emails",
		"phones", "identified" };
	jv rec = members_of(ctx, keys, sizeof keys / sizeof *keys);

	if (jv_is_valid(rec))
		apply_user(st, rec, loc);
	jv_free(rec);
}

/* ---- the outbox: delivery state and the due list ---- */

static const char *const dstate_names[] = { "pending", "delivered", "dead",
	"retry", "inflight" };

const char *
desk_dstate_name(enum desk_dstate s)
{
	return (unsigned)s < 5 ? dstate_names[s] : "unknown";
}

int
desk_dstate_parse(const char *s, enum desk_dstate *out)
{
	for (int i = 0; i < 5; i++)
		if (s && !strcmp(s, dstate_names[i])) {
			*out = (enum desk_dstate)i;
			return 1;
		}
	return 0;
}

int
desk_dstate_final(enum desk_dstate s)
{
	return s == DESK_DS_DELIVERED || s == DESK_DS_DEAD;
}

static void
out_put(struct desk_store *st, uint64_t id, const struct desk_out_slot *o)
{
	PUT(st, DESK_T_OUT, id, out, o);
}

static uint64_t
due_end(struct desk_store *st, const char *which)
{
	struct desk_key k;
	uint64_t v;

	desk_key_due(&k, which);
	return desk_hx_get(st, &k, &v, NULL) ? v : 0;
}

static void
due_set(struct desk_store *st, const char *which, uint64_t id)
{
	struct desk_key k;

	desk_key_due(&k, which);
	desk_hx_put(st, &k, id, 0);
}

uint64_t
desk_due_first(struct desk_store *st)
{
	return due_end(st, "head");
}

uint64_t
desk_due_last(struct desk_store *st)
{
	return due_end(st, "tail");
}

/*
 * Puts entry id (o, not linked) at the tail of the due list; the caller
 * then writes o with linked set, the last write, so that a writer killed
 * half-way leaves o unlinked and the roll-forward does it all again: the
 * tail may then be id already, and its old value is the o->prev written
 * first.
 */
static void
due_link(struct desk_store *st, uint64_t id, struct desk_out_slot *o)
{
	struct desk_out_slot t;
	uint64_t tail = due_end(st, "tail");

	if (tail == id)
		tail = o->prev;
	o->prev = tail;
	o->next = 0;
	out_put(st, id, o);
	if (tail && desk_out_slot(st, tail, &t)) {
		t.next = id;
		out_put(st, tail, &t);
	} else
		due_set(st, "head", id);
	due_set(st, "tail", id);
	o->linked = 1;
}

/* Takes id (o, linked) off the due list; the caller writes o last. */
static void
due_unlink(struct desk_store *st, struct desk_out_slot *o)
{
	struct desk_out_slot n;

	if (o->prev && desk_out_slot(st, o->prev, &n)) {
		n.next = o->next;
		out_put(st, o->prev, &n);
	} else
		due_set(st, "head", o->next);
	if (o->next && desk_out_slot(st, o->next, &n)) {
		n.prev = o->prev;
		out_put(st, o->next, &n);
	} else
		due_set(st, "tail", o->prev);
	o->linked = 0;
	o->prev = o->next = 0;
}

/* The outbox entry a reply's message record queues: pending, due now. */
static void
apply_out(struct desk_store *st, uint64_t oid, uint64_t mid, struct desk_loc loc)
{
	struct desk_out_slot o;

	desk_store_seen_id(st, DESK_OUT, oid);
	if (!desk_out_slot(st, oid, &o)) {
		memset(&o, 0, sizeof o);
		o.rec = loc;
		o.message_id = mid;
	} else if (o.linked || o.state != DESK_DS_PENDING || o.attempt)
		return;     /* applied before */
	due_link(st, oid, &o);
	out_put(st, oid, &o);
}

/*
 * A case's state to mirror on its platform (a Blip ticket's status, a
 * Chat2Desk dialog closed): an outbox entry like a reply, in the same
 * order, that has no message.
 */
static void
apply_command(struct desk_store *st, jv rec, struct desk_loc loc)
{
	int64_t oid, cid;

	if (desk_jint(rec, "out_id", &oid) && oid > 0 &&
	    desk_jint(rec, "case_id", &cid) && cid > 0)
		apply_out(st, (uint64_t)oid, 0, loc);
}

/*
 * A delivery record: the entry's state after it (pending again after a
 * dead retry, in flight, retry at next_attempt_at, delivered, dead), on
 * or off the due list accordingly. Records are applied in log order, so
 * the newest one's state is the entry's.
 */
static void
apply_delivery(struct desk_store *st, jv rec, struct desk_loc loc)
{
	struct desk_out_slot o;
	enum desk_dstate state;
	struct desk_key k;
	int64_t oid, attempt = 0;

	if (!desk_jint(rec, "out_id", &oid) || oid < 1 ||
	    !desk_dstate_parse(desk_jstr(rec, "state"), &state) ||
	    !desk_out_slot(st, (uint64_t)oid, &o))
		return;     /* fsck reports it */
	desk_jint(rec, "attempt", &attempt);
	int final = desk_dstate_final(state);
	if (final && o.linked)
		due_unlink(st, &o);
	else if (!final && !o.linked)
		due_link(st, (uint64_t)oid, &o);
	o.state = state;
	o.attempt = attempt > 0 ? (uint64_t)attempt : 0;
	o.due = state == DESK_DS_RETRY ? rec_time(rec, "next_attempt_at") : 0;
	out_put(st, (uint64_t)oid, &o);
	desk_key_delivery(&k, (uint64_t)oid);
	desk_hx_put(st, &k, loc.pos, loc.len);
}

void
desk_apply_message(struct desk_store *st, struct desk_loc loc, void *ctx)
{
	const struct desk_message_fields *f = ctx;
	struct desk_case_slot c;
	struct desk_message_slot m;
	struct desk_key k;
	uint64_t id = f->message_id, cid = f->case_id, first;

	if (id < 1 || cid < 1)
		return;
	desk_store_seen_id(st, DESK_MESSAGE, id);
	if (!desk_case_slot(st, cid, &c))
		return;    /* a message of no case: fsck reports it */
	int have = desk_message_slot(st, id, &m);
	if (!have || m.rec.pos != loc.pos) {
		memset(&m, 0, sizeof m);
		m.rec = loc;
		m.case_id = cid;
		m.prev = c.head < id ? c.head : 0;
		PUT(st, DESK_T_MESSAGE, id, message, &m);
	}
	if (c.head < id) {
		struct desk_case_slot old = c;
		c.head = id;
		c.count++;
		if (loc.pos > c.activity)
			c.activity = loc.pos;
		if (f->created_at > c.updated_at)
			c.updated_at = f->created_at;
		case_put(st, cid, &c, &old);
	}
	/* The first message of a conversation names its case (keys.c). */
	if (f->channel && f->conv) {
		desk_key_conv(&k, f->channel, f->conv, f->convlen);
		if (!desk_hx_get(st, &k, &first, NULL))
			desk_hx_put(st, &k, cid, 0);
	}
	/* A reply is queued for delivery by the same record. */
	if (f->out_id)
		apply_out(st, f->out_id, id, loc);
	if (f->event_scope && f->event_id) {
		desk_event_fields_key(st, &k, f->event_scope, f->event_channel,
		    f->channel, f->event_id, f->event_idlen, f->user_id);
		desk_hx_put(st, &k, loc.pos, loc.len);
	}
}

static void
apply_message(struct desk_store *st, jv rec, struct desk_loc loc)
{
	struct desk_message_fields f = { 0 };
	int64_t id, cid, oid;

	if (!desk_jint(rec, "message_id", &id) || id < 1 ||
	    !desk_jint(rec, "case_id", &cid) || cid < 1)
		return;
	f.message_id = (uint64_t)id;
	f.case_id = (uint64_t)cid;
	f.out_id = desk_jint(rec, "out_id", &oid) && oid > 0 ? (uint64_t)oid : 0;
	desk_jint(rec, "user_id", &f.user_id);
	f.created_at = rec_time(rec, "created_at");
	f.channel = desk_jstr(rec, "channel");
	if (!desk_jstrn(rec, "conversation_id", &f.conv, &f.convlen))
		f.conv = NULL;
	rec_event(rec, &f.event_scope, &f.event_channel, &f.event_id,
	    &f.event_idlen);
	desk_apply_message(st, loc, &f);
}

static void
apply_code(struct desk_store *st, jv rec, struct desk_loc loc)
{
	unsigned char h[32];
	struct desk_code_slot s;
	struct desk_key k;
	const char *hex = desk_jstr(rec, "hash");
	int64_t id;
	size_t n;

	if (!desk_jint(rec, "code_id", &id) || id < 1 || !hex ||
	    sodium_hex2bin(h, sizeof h, hex, strlen(hex), NULL, &n, NULL) != 0 ||
	    n != sizeof h)
		return;
	desk_store_seen_id(st, DESK_CODE, (uint64_t)id);
	int have = desk_code_slot(st, (uint64_t)id, &s);
	if (!have || s.rec.pos < loc.pos) {
		if (!have)
			memset(&s, 0, sizeof s);
		s.rec = loc;
		s.expires_at = rec_time(rec, "expires_at");
		s.created_at = rec_time(rec, "created_at");
		PUT(st, DESK_T_CODE, (uint64_t)id, code, &s);
	}
	desk_key_code(&k, h);
	desk_hx_put(st, &k, (uint64_t)id, 0);
}

/* The code an attempt named: its attempts, and whether it is used up. */
static void
apply_code_attempt(struct desk_store *st, jv rec)
{
	struct desk_code_slot s;
	int64_t cid, attempt = 0, uid = 0;
	const char *result = desk_jstr(rec, "result");

	if (desk_jint(rec, "code_id", &cid) && cid > 0 &&
	    desk_code_slot(st, (uint64_t)cid, &s)) {
		int changed = 0;
		desk_jint(rec, "attempt", &attempt);
		desk_jint(rec, "user_id", &uid);
		if (attempt > 0 && (uint64_t)attempt > s.attempts) {
			s.attempts = (uint64_t)attempt;
			changed = 1;
		}
		if (result && !strcmp(result, "valid") && !s.used) {
			s.used = 1;
			s.used_by = (uint64_t)uid;
			changed = 1;
		}
		if (changed)
			PUT(st, DESK_T_CODE, (uint64_t)cid, code, &s);
	}
}

int
desk_ident_effect(jv rec, uint64_t *failures, uint64_t *locked)
{
	const char *result = desk_jstr(rec, "result");
	int64_t n;

	*failures = *locked = 0;
	if (result && !strcmp(result, "valid"))
		return 1;
	if (!result || !desk_jint(rec, "failures", &n) || n < 0)
		return 0;
	*failures = (uint64_t)n;
	*locked = (uint64_t)rec_time(rec, "locked_at");
	return 1;
}

/* A throttle's time only moves forward, so replaying changes nothing. */
static void
throttle_put(struct desk_store *st, const char *channel, jv rec, const char *key)
{
	struct desk_key k;
	int64_t tat;
	uint64_t have;

	if (!desk_jint(rec, key, &tat) || tat < 1)
		return;
	desk_code_throttle_key(&k, channel);
	if (!desk_hx_get(st, &k, &have, NULL) || have < (uint64_t)tat)
		desk_hx_put(st, &k, (uint64_t)tat, 0);
}

static void
apply_ident(struct desk_store *st, jv rec, struct desk_loc loc)
{
	uint64_t failures, locked;
	struct desk_user_slot us;
	const char *ch = desk_jstr(rec, "channel");
	int64_t user;

	if (desk_jint(rec, "user_id", &user) && user > 0 &&
	    desk_ident_effect(rec, &failures, &locked) &&
	    desk_user_slot(st, (uint64_t)user, &us) &&
	    (us.failures != failures || us.locked_at != locked)) {
		us.failures = failures;
		us.locked_at = locked;
		PUT(st, DESK_T_USER, (uint64_t)user, user, &us);
	}
	if (ch)
		throttle_put(st, ch, rec, "tat_channel");
	throttle_put(st, NULL, rec, "tat_store");
	apply_code_attempt(st, rec);
	apply_event_key(st, rec, loc);
}

/* A team's turn only moves forward, so replaying changes nothing. */
static void
apply_rotation(struct desk_store *st, jv rec)
{
	struct desk_key k;
	const char *team = desk_jstr(rec, "team");
	int64_t turn;
	uint64_t have;

	if (!team || !desk_jint(rec, "turn", &turn) || turn < 1)
		return;
	desk_key_rotation(&k, team);
	if (!desk_hx_get(st, &k, &have, NULL) || have < (uint64_t)turn)
		desk_hx_put(st, &k, (uint64_t)turn, 0);
}

static void
apply_rulemark(struct desk_store *st, jv rec)
{
	struct desk_key k;
	const char *rule = desk_jstr(rec, "rule");
	int64_t cid, state;

	if (!rule || !desk_jint(rec, "case_id", &cid) || cid < 1 ||
	    !desk_jint(rec, "state", &state) || state < 0)
		return;
	desk_key_rulemark(&k, rule, (uint64_t)cid);
	desk_hx_put(st, &k, (uint64_t)state, 1);
}

struct hook_put {
	struct desk_store *st;
	struct desk_loc loc;
};

static void
hook_key_put(const struct desk_key *k, void *ctx)
{
	struct hook_put *h = ctx;

	desk_hx_put(h->st, k, h->loc.pos, h->loc.len);
}

/* A mark only moves forward, so replaying changes nothing. */
static void
hook_mark_put(struct desk_store *st, const char *which, int64_t seq)
{
	struct desk_key k;
	uint64_t have;

	desk_key_hook_mark(&k, which);
	if (!desk_hx_get(st, &k, &have, NULL) || have < (uint64_t)seq)
		desk_hx_put(st, &k, (uint64_t)seq, 0);
}

/* A delivery serve accepted: its keys, and the head mark. */
static void
apply_hook(struct desk_store *st, jv rec, struct desk_loc loc)
{
	int64_t seq;

	if (desk_hook_keys(rec, hook_key_put, &(struct hook_put){ st, loc }) &&
	    desk_jint(rec, "seq", &seq))
		hook_mark_put(st, DESK_HOOK_HEAD, seq);
}

/* Every delivery up to seq has been written out by serve. */
static void
apply_emitted(struct desk_store *st, jv rec)
{
	int64_t seq;

	if (desk_jint(rec, "seq", &seq) && seq > 0)
		hook_mark_put(st, DESK_HOOK_EMITTED, seq);
}

void
desk_apply(struct desk_store *st, jv rec, struct desk_loc loc)
{
	desk_apply_as(st, desk_jstr(rec, "rec"), rec, loc);
}

/* No record's apply reads "rec": rec may be the record or only its fields. */
void
desk_apply_as(struct desk_store *st, const char *type, jv rec,
    struct desk_loc loc)
{
	if (!type)
		return;
	if (!strcmp(type, "message"))
		apply_message(st, rec, loc);
	else if (!strcmp(type, "case"))
		apply_case(st, rec, loc);
	else if (!strcmp(type, "user"))
		apply_user(st, rec, loc);
	else if (!strcmp(type, "code"))
		apply_code(st, rec, loc);
	else if (!strcmp(type, "ident"))
		apply_ident(st, rec, loc);
	else if (!strcmp(type, "delivery"))
		apply_delivery(st, rec, loc);
	else if (!strcmp(type, "command"))
		apply_command(st, rec, loc);
	else if (!strcmp(type, "route"))
		apply_event_key(st, rec, loc);
	else if (!strcmp(type, "rotation"))
		apply_rotation(st, rec);
	else if (!strcmp(type, "rulemark"))
		apply_rulemark(st, rec);
	else if (!strcmp(type, "hook"))
		apply_hook(st, rec, loc);
	else if (!strcmp(type, "emitted"))
		apply_emitted(st, rec);
}

/*
 * The describer the engine is handed: each table's fields by name, as
 * schema.h's conversions read them, so fsck can say which one differs.
 */
static int
slot_fields(int t, const struct desk_slot *raw, struct desk_field *f)
{
	int n = 0;
#define FIELD(name, v) (f[n++] = (struct desk_field){ (name), (uint64_t)(v) })
	switch (t) {
	case DESK_T_USER: {
		struct desk_user_slot s;
		desk_user_from_slot(raw, &s);
		FIELD("identified", s.identified);
		FIELD("failures", s.failures);
		FIELD("locked_at", s.locked_at);
		FIELD("last_case", s.last_case);
		FIELD("near", s.near);
		break;
	}
	case DESK_T_CASE: {
		struct desk_case_slot s;
		desk_case_from_slot(raw, &s);
		FIELD("status", s.status);
		FIELD("user_id", s.user_id);
		FIELD("merged_into", s.merged_into);
		FIELD("head", s.head);
		FIELD("activity", s.activity);
		FIELD("updated_at", s.updated_at);
		FIELD("count", s.count);
		FIELD("chan", s.chan);
		break;
	}
	case DESK_T_MESSAGE: {
		struct desk_message_slot s;
		desk_message_from_slot(raw, &s);
		FIELD("case_id", s.case_id);
		FIELD("prev", s.prev);
		break;
	}
	case DESK_T_CODE: {
		struct desk_code_slot s;
		desk_code_from_slot(raw, &s);
		FIELD("used", s.used);
		FIELD("expires_at", s.expires_at);
		FIELD("attempts", s.attempts);
		FIELD("used_by", s.used_by);
		FIELD("created_at", s.created_at);
		break;
	}
	case DESK_T_OUT: {
		struct desk_out_slot s;
		desk_out_from_slot(raw, &s);
		FIELD("state", s.state);
		FIELD("linked", s.linked);
		FIELD("attempt", s.attempt);
		FIELD("due", s.due);
		FIELD("message_id", s.message_id);
		FIELD("prev", s.prev);
		FIELD("next", s.next);
		break;
	}
	case DESK_T_CASELINK: {
		struct desk_caselink_slot s;
		desk_caselink_from_slot(raw, &s);
		FIELD("list", s.list);
		FIELD("linked", s.linked);
		FIELD("user_prev", s.user_prev);
		FIELD("prev", s.prev);
		FIELD("next", s.next);
		FIELD("since", s.since);
		FIELD("chan_prev", s.chan_prev);
		break;
	}
	case DESK_T_LIST: {
		struct desk_list_slot s;
		desk_list_from_slot(raw, &s);
		FIELD("head", s.head);
		FIELD("tail", s.tail);
		break;
	}
	default:
		break;
	}
#undef FIELD
	return n;
}

/*
 * What a reader follows from an older slot to a newer: a case's head to
 * its newest message, an outbox entry's to its message and to the next
 * on the due list, a status list's ends and a caselink's neighbours to
 * caselinks, a user's last_case to a case and its caselink (the user's
 * chain); a code's used_by to a user. Each table goes before those.
 */
static const int write_order[DESK_NTABLES] = {
	DESK_T_MESSAGE, DESK_T_OUT, DESK_T_CASE, DESK_T_CASELINK, DESK_T_LIST,
	DESK_T_USER, DESK_T_CODE
};

const struct desk_schema desk_store_schema = {
	desk_apply, DESK_NTABLES, desk_table_names, DESK_NKINDS, desk_kind_names,
	slot_fields, desk_superseded, desk_apply_as, write_order
};

