/*
 * schema.h: the format of the store's records (lib/README): how each
 * record type sets slots and index keys (apply), what slots hold, every
 * index key (keys), and the checker (fsck), which has the engine rebuild
 * them through apply into tmp/ and compare, and with --repair swap them in.
 */
#ifndef DESK_SCHEMA_H
#define DESK_SCHEMA_H

#include "store/store.h"

/* ---- apply.c: the tables and counters the engine is handed ---- */

/* The slot tables, index/NAME.slots by desk_table_names (desk-store(5)). */
enum desk_table { DESK_T_USER, DESK_T_CASE, DESK_T_MESSAGE, DESK_T_CODE,
	DESK_T_OUT, DESK_T_CASELINK, DESK_T_LIST, DESK_NTABLES };
/* The id counters, "next" in the state file by desk_kind_names. */
enum desk_kind { DESK_USER, DESK_CASE, DESK_MESSAGE, DESK_CODE, DESK_OUT,
	DESK_NKINDS };
_Static_assert(DESK_NTABLES <= DESK_ST_TABLES && DESK_NKINDS <= DESK_ST_COUNTERS,
    "the engine has room for every table and counter");
extern const char *const desk_table_names[DESK_NTABLES];
extern const char *const desk_kind_names[DESK_NKINDS];
/* What one slot of each table is of, for messages: "user", "case", ... */
extern const char *const desk_table_what[DESK_NTABLES];

/* ---- apply.c: the derived state of each record ---- */

/* Applies rec (borrowed) at loc to slots and index; idempotent. */
void desk_apply(struct desk_store *st, jv rec, struct desk_loc loc);
/* The same for a record of type given by its other members (desk_log_add_as). */
void desk_apply_as(struct desk_store *st, const char *type, jv rec,
    struct desk_loc loc);
/*
 * What apply reads of a message record, for one printed without a value
 * built (desk_log_add_bytes): desk_apply_message applies these (a struct
 * desk_message_fields *ctx) as desk_apply the record. Strings borrowed,
 * NULL when the record has none; out_id 0 for none.
 */
struct desk_message_fields {
	uint64_t message_id, case_id, out_id;
	int64_t user_id, created_at;
	const char *channel, *conv;
	size_t convlen;
	const char *event_scope, *event_channel, *event_id;
	size_t event_idlen;
};
void desk_apply_message(struct desk_store *st, struct desk_loc loc, void *ctx);
enum desk_status { DESK_OPEN = 1, DESK_PENDING = 2, DESK_CLOSED = 3 };
/* The same for a case record: desk_apply_case (a struct desk_case_fields *ctx). */
struct desk_case_fields {
	uint64_t case_id, user_id, merged_into;
	const char *channel;
	enum desk_status status;
	int64_t updated_at;
	const char *event_scope, *event_channel, *event_id;
	size_t event_idlen;
};
void desk_apply_case(struct desk_store *st, struct desk_loc loc, void *ctx);
/*
 * And for a new user's record with nothing but its one user_custom_id
 * (desk_user_new's, not identified, no contacts): desk_apply_user_new.
 */
struct desk_user_new_fields {
	uint64_t user_id;
	const char *channel, *ucid;
	size_t ucidlen;
};
void desk_apply_user_new(struct desk_store *st, struct desk_loc loc, void *ctx);
/*
 * A user or case record printed from an older one's bytes, ctx its struct
 * desk_jspan (all of it): applied as its value would be, from the members
 * that reads, parsed alone.
 */
void desk_apply_user_bytes(struct desk_store *st, struct desk_loc loc, void *ctx);
void desk_apply_case_bytes(struct desk_store *st, struct desk_loc loc, void *ctx);
/* Whether desk-case compact may leave rec out (supersede.c). */
int desk_superseded(struct desk_store *st, struct desk_store *kept, jv rec,
    struct desk_loc loc);
/* desk_apply, as the engine is handed it. */
extern const struct desk_schema desk_store_schema;

/*
 * What an ident record (borrowed) sets on its user's slot: 1 with the
 * user's invalid codes in a row and the time of the lockout (0 for none)
 * after it, or 0 when it sets nothing (a throttled attempt, an old record).
 */
int desk_ident_effect(jv rec, uint64_t *failures, uint64_t *locked);

/*
 * The record in slot id of table t (owned, without its "rec" key), and the
 * slot in *slot unless NULL; invalid when the slot is empty, and when the
 * log cannot give it back (the store failed, 74, naming the record).
 */
jv desk_record(struct desk_store *st, enum desk_table t, uint64_t id,
    struct desk_slot *slot);

/*
 * The same with only the members keys[0..nkeys) (those it has), found in
 * the record's bytes and parsed alone: for a reader that needs a few.
 * A record not as desk prints it is read whole (all its members), so a
 * damaged one fails the store as with desk_record.
 */
jv desk_record_members(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys);
/*
 * The bytes of members keys[0..nkeys) of table t's record id, v[i + 1]
 * keys[i]'s (p NULL: none; not checked: parse what is used), after its
 * id, v[0], was found to be id: 1; 0 when it has no slot; -1 when its
 * bytes are not as desk prints them or are another record's: read it
 * whole then (desk_record), which says what is wrong. The bytes are b's,
 * or the store's own until its next write.
 */
int desk_record_spans(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys, struct desk_jspan *v,
    struct desk_buf *b);
/* The same, and the record's bytes (without the newline) in *all. */
int desk_record_spans_all(struct desk_store *st, enum desk_table t,
    uint64_t id, const char *const *keys, size_t nkeys, struct desk_jspan *v,
    struct desk_buf *b, struct desk_jspan *all);
/*
 * The same, each member's value in out[i] (owned; invalid when the record
 * has none), without an object built of them: 1; 0 when there is no such
 * record (or, damaged, the store failed), every out[i] invalid.
 */
int desk_record_values(struct desk_store *st, enum desk_table t, uint64_t id,
    const char *const *keys, size_t nkeys, jv *out);

const char *desk_status_name(enum desk_status s);
int desk_status_parse(const char *s, enum desk_status *out);

/*
 * ---- What each table's slots hold, by name ----
 *
 * Every slot has rec, where the latest version of its record is. The
 * engine stores the rest as flags, five 64-bit words and two 32-bit halves
 * (struct desk_slot); the conversions below are the only code that knows
 * which field is which word, and they are inline, so the names cost
 * nothing. A word a table does not name is 0. The layout, which stores
 * written before the names had too (tests/unit/slots.c holds it):
 *
 *   users:    flags bit 0 identified; words last_case, 0, failures,
 *             locked_at
 *   cases:    flags status; words user_id, merged_into, head, activity,
 *             updated_at; halves count, chan
 *   messages: words case_id, prev
 *   codes:    flags bit 0 used; words expires_at, attempts, used_by,
 *             created_at
 *   outbox:   flags delivery state | 0x80 on the due list; words attempt,
 *             due, message_id, prev, next (the due list)
 *   caselinks: flags status list | 0x80 on it; words user_prev, prev,
 *             next, since, chan_prev
 *   lists:    one per status (id 1 open, 2 pending, 3 closed): words
 *             head, tail; id 4 (DESK_LIST_CHANS) no words, the mark of
 *             a store whose caselinks have chan_prev
 *
 * desk_TABLE_slot(st, id, out) reads one: 1 with *out filled, 0 when the
 * id has no slot; it dies 74 on damage, as desk_slot_get does. Only apply
 * writes slots: desk_slot_put of desk_TABLE_to_slot(&out).
 */

/*
 * A user's: from the ident records, so kept across new versions of the
 * user record.
 */
struct desk_user_slot {
	struct desk_loc rec;
	int identified;
	uint64_t failures;       /* invalid codes in a row */
	uint64_t locked_at;      /* locked out at (Unix seconds), 0 for not */
	uint64_t last_case;      /* the user's newest case: its case index */
	uint64_t near;           /* bucket bits of the key the user's keys are near */
};

/* The hot state of a case. */
struct desk_case_slot {
	struct desk_loc rec;
	enum desk_status status;
	uint64_t user_id, merged_into;
	uint64_t head;           /* the last message's id */
	uint64_t activity;       /* the log position of the latest change */
	int64_t updated_at;
	uint32_t count;          /* messages */
	uint32_t chan;           /* desk_hash32 of the channel */
};

/* A message's: a case's messages are a chain from its head. */
struct desk_message_slot {
	struct desk_loc rec;
	uint64_t case_id;
	uint64_t prev;           /* the case's message before it, 0 for none */
};

struct desk_code_slot {
	struct desk_loc rec;
	int used;
	int64_t expires_at;
	uint64_t attempts;
	uint64_t used_by;        /* the user who used it */
	int64_t created_at;
};

/*
 * The delivery state of an outbox entry, set by the reply's message record
 * (or a command record) as pending and then by its delivery records.
 * Final states (delivered, dead) are off the due list; every other entry
 * is on it.
 */
enum desk_dstate {
	DESK_DS_PENDING = 0, DESK_DS_DELIVERED = 1, DESK_DS_DEAD = 2,
	DESK_DS_RETRY = 3, DESK_DS_INFLIGHT = 4
};
/* An entry to deliver; rec is its message (or command) record. */
struct desk_out_slot {
	struct desk_loc rec;
	enum desk_dstate state;
	int linked;               /* on the due list */
	uint64_t attempt;         /* attempts begun */
	int64_t due;              /* Unix seconds of the next attempt; 0: now */
	uint64_t message_id;      /* 0 for a command */
	uint64_t prev, next;      /* the due list's neighbours (0: none) */
};

static inline void
desk_user_from_slot(const struct desk_slot *s, struct desk_user_slot *u)
{
	u->rec = s->rec;
	u->identified = s->flags & 1;
	u->failures = s->word[2];
	u->locked_at = s->word[3];
	u->last_case = s->word[0];
	u->near = s->word[1];
}

static inline struct desk_slot
desk_user_to_slot(const struct desk_user_slot *u)
{
	return (struct desk_slot){ .rec = u->rec, .flags = u->identified ? 1 : 0,
		.word = { u->last_case, u->near, u->failures, u->locked_at, 0 } };
}

static inline void
desk_case_from_slot(const struct desk_slot *s, struct desk_case_slot *c)
{
	c->rec = s->rec;
	c->status = (enum desk_status)s->flags;
	c->user_id = s->word[0];
	c->merged_into = s->word[1];
	c->head = s->word[2];
	c->activity = s->word[3];
	c->updated_at = (int64_t)s->word[4];
	c->count = s->half[0];
	c->chan = s->half[1];
}

static inline struct desk_slot
desk_case_to_slot(const struct desk_case_slot *c)
{
	return (struct desk_slot){ .rec = c->rec, .flags = (uint8_t)c->status,
		.word = { c->user_id, c->merged_into, c->head, c->activity,
		    (uint64_t)c->updated_at }, .half = { c->count, c->chan } };
}

static inline void
desk_message_from_slot(const struct desk_slot *s, struct desk_message_slot *m)
{
	m->rec = s->rec;
	m->case_id = s->word[0];
	m->prev = s->word[1];
}

static inline struct desk_slot
desk_message_to_slot(const struct desk_message_slot *m)
{
	return (struct desk_slot){ .rec = m->rec, .word = { m->case_id, m->prev } };
}

static inline void
desk_code_from_slot(const struct desk_slot *s, struct desk_code_slot *c)
{
	c->rec = s->rec;
	c->used = s->flags & 1;
	c->expires_at = (int64_t)s->word[0];
	c->attempts = s->word[1];
	c->used_by = s->word[2];
	c->created_at = (int64_t)s->word[3];
}

static inline struct desk_slot
desk_code_to_slot(const struct desk_code_slot *c)
{
	return (struct desk_slot){ .rec = c->rec, .flags = c->used ? 1 : 0,
		.word = { (uint64_t)c->expires_at, c->attempts, c->used_by,
		    (uint64_t)c->created_at } };
}

/* The due list's mark, in flags above the state. */
#define DESK_OUT_LINKED 0x80

static inline void
desk_out_from_slot(const struct desk_slot *s, struct desk_out_slot *o)
{
	o->rec = s->rec;
	o->state = (enum desk_dstate)(s->flags & 0x7f);
	o->linked = !!(s->flags & DESK_OUT_LINKED);
	o->attempt = s->word[0];
	o->due = (int64_t)s->word[1];
	o->message_id = s->word[2];
	o->prev = s->word[3];
	o->next = s->word[4];
}

static inline struct desk_slot
desk_out_to_slot(const struct desk_out_slot *o)
{
	return (struct desk_slot){ .rec = o->rec,
		.flags = (uint8_t)(o->state | (o->linked ? DESK_OUT_LINKED : 0)),
		.word = { o->attempt, (uint64_t)o->due, o->message_id, o->prev,
		    o->next } };
}

/*
 * The case indexes (desk-store(5)), so that listing a user's cases or the
 * cases in a status reads only those cases. A case's links, in the slot of
 * its id: the user's case before it (the user's chain starts at the user
 * slot's last_case), and its neighbours on the list of its status. A status
 * list holds every case in that status in the order the cases entered it
 * (since, the updated_at of the record that set the status), oldest first:
 * a case is moved only when its status changes, never for a message, so
 * the lists cost a write only when a case is new or changes status.
 * A channel's cases are a chain too, newest first from the index key
 * desk_key_chan (a case's channel never changes, so only a new case writes
 * it); a store whose lists slot DESK_LIST_CHANS is missing was written
 * before the chains, and has none (desk_case_chans).
 */
struct desk_caselink_slot {
	struct desk_loc rec;      /* the case record that set its status */
	enum desk_status list;    /* the status list it is on */
	int linked;               /* 0 only while being moved */
	uint64_t user_prev;       /* the user's case before this one, 0: none */
	uint64_t prev, next;      /* its neighbours on the list (0: none) */
	int64_t since;            /* Unix seconds it entered its status */
	uint64_t chan_prev;       /* the channel's case before it, 0: none */
};
/* A status list's ends, in the slot of the status's number. */
struct desk_list_slot {
	struct desk_loc rec;      /* unused: 0 */
	uint64_t head, tail;
};
#define DESK_CASE_LINKED 0x80
/* The slot of lists.slots that says the caselinks have chan_prev. */
#define DESK_LIST_CHANS 4
/*
 * The slot of lists.slots that says the index has the status marks: a
 * key per MiB of the log (desk_key_marks, level 0), a nibble per 64 KiB
 * of it (a chunk, DESK_MARK_SHIFT), bit s set when a record starting
 * there was the newest of a case in status s once apply was done with
 * it; and a key per 64 MiB (level 1), a nibble per 4 MiB, the union of
 * its chunks'. Every case's newest record is where its slot's activity
 * says, and the slot is never written without the marks, so a stretch of
 * the log without status s's bit holds no case's newest record of those
 * in s (desk_log_back passes over it). A store's first case writes the
 * slot; one written before the marks has none until fsck --repair builds
 * them.
 */
#define DESK_LIST_MARKS 5
#define DESK_MARK_SHIFT 16
/* The nibble of chunk (DESK_POS >> DESK_MARK_SHIFT) in its key of level. */
static inline unsigned
desk_mark_nibble(int level, uint64_t chunk)
{
	return (unsigned)(level ? chunk >> 6 & 15 : chunk & 15);
}

static inline void
desk_caselink_from_slot(const struct desk_slot *s, struct desk_caselink_slot *l)
{
	l->rec = s->rec;
	l->list = (enum desk_status)(s->flags & 0x7f);
	l->linked = !!(s->flags & DESK_CASE_LINKED);
	l->user_prev = s->word[0];
	l->prev = s->word[1];
	l->next = s->word[2];
	l->since = (int64_t)s->word[3];
	l->chan_prev = s->word[4];
}

static inline struct desk_slot
desk_caselink_to_slot(const struct desk_caselink_slot *l)
{
	return (struct desk_slot){ .rec = l->rec,
		.flags = (uint8_t)(l->list | (l->linked ? DESK_CASE_LINKED : 0)),
		.word = { l->user_prev, l->prev, l->next, (uint64_t)l->since,
		    l->chan_prev } };
}

static inline void
desk_list_from_slot(const struct desk_slot *s, struct desk_list_slot *l)
{
	l->rec = s->rec;
	l->head = s->word[0];
	l->tail = s->word[1];
}

static inline struct desk_slot
desk_list_to_slot(const struct desk_list_slot *l)
{
	return (struct desk_slot){ .rec = l->rec, .word = { l->head, l->tail } };
}

/*
 * desk_user_slot, desk_case_slot, desk_message_slot, desk_code_slot,
 * desk_out_slot: the readers, one per table.
 */
#define DESK_SLOT_READER(name, table) \
static inline int \
desk_##name##_slot(struct desk_store *st, uint64_t id, \
    struct desk_##name##_slot *out) \
{ \
	struct desk_slot s; \
	int have = desk_slot_get(st, (table), id, &s); \
	if (have) \
		desk_##name##_from_slot(&s, out); \
	return have; \
}
DESK_SLOT_READER(user, DESK_T_USER)
DESK_SLOT_READER(case, DESK_T_CASE)
DESK_SLOT_READER(message, DESK_T_MESSAGE)
DESK_SLOT_READER(code, DESK_T_CODE)
DESK_SLOT_READER(out, DESK_T_OUT)
DESK_SLOT_READER(caselink, DESK_T_CASELINK)
DESK_SLOT_READER(list, DESK_T_LIST)
#undef DESK_SLOT_READER

const char *desk_dstate_name(enum desk_dstate s);
int desk_dstate_parse(const char *s, enum desk_dstate *out);
/* Delivered or dead: no attempt follows. */
int desk_dstate_final(enum desk_dstate s);
/*
 * The due list: every outbox entry that is not final, in the order it
 * became due (a doubly linked list through the outbox slots, its ends in
 * the index), so that finding due work never reads a delivered entry.
 * The first entry's id, or 0 for none; then follow desk_out_slot's next.
 */
uint64_t desk_due_first(struct desk_store *st);
uint64_t desk_due_last(struct desk_store *st);

/* ---- keys.c: index keys the schema defines, and lookups by them ---- */

/*
 * The index key of an event id. Ids of inbound events (scopes "message" and
 * "status") are the channel's own, so they are keyed per channel; other
 * scopes ignore channel. user (0: none) keeps it near that user's other
 * keys (desk_key_near), as a message's is in an index that keeps keys
 * near (desk_hx_near).
 */
void desk_event_key(struct desk_store *st, struct desk_key *k,
    const char *scope, const char *channel, const char *id, size_t idlen,
    uint64_t user);
/*
 * The index key of the event a record (borrowed) processed in st: its
 * event_scope and event_id, keyed by its event_channel when it has one
 * (what the event itself named), else its channel; a message's near its
 * user. 0 when it has none.
 */
int desk_event_rec_key(struct desk_store *st, struct desk_key *k, jv rec);
/*
 * The same from the members themselves: scope, evch (event_channel, or
 * NULL), channel, the id and user_id (0: none).
 */
void desk_event_fields_key(struct desk_store *st, struct desk_key *k,
    const char *scope, const char *evch, const char *channel, const char *id,
    size_t idlen, int64_t user);
/*
 * An event id already processed: the record that processed it, or invalid.
 * user: of a "message" event, the user that sent it (0: none yet, so the
 * event is new).
 */
jv desk_event_seen(struct desk_store *st, const char *scope,
    const char *channel, const char *id, size_t idlen, uint64_t user);
/* A user's by channel and user_custom_id. */
void desk_key_ucid(struct desk_key *k, const char *channel, const char *ucid,
    size_t ucidlen);
/* A user's by a contact in normal form: kind is "email" or "phone". */
void desk_key_contact(struct desk_key *k, const char *kind, const char *norm);
/* The last case of a user on a channel (near the user's keys in st). */
void desk_key_last(struct desk_store *st, struct desk_key *k, uint64_t user_id,
    const char *channel);
/* The newest case of a channel: where its chain of cases starts. */
void desk_key_chan(struct desk_key *k, const char *channel);
/* The key of level 0 or 1 of the status marks that hold chunk's. */
void desk_key_marks(struct desk_store *st, struct desk_key *k, int level,
    uint64_t chunk);
/* A code's, by its keyed hash. */
/*
 * A conversation of a channel (a Blip ticket): its value is the case its
 * first message went to, set by a message record's conversation_id.
 */
void desk_key_conv(struct desk_key *k, const char *channel, const char *conv,
    size_t convlen);
/* The conversation key a message record (borrowed) names: 1 and *k, or 0. */
int desk_conv_rec_key(struct desk_key *k, jv rec);
void desk_key_code(struct desk_key *k, const unsigned char h[32]);
/*
 * Calls each(key, what, ctx) for every index key that a user record
 * (borrowed) points at the user: its user_custom_ids ("a user_custom_id")
 * and its contacts ("email", "phone"). Used by apply and fsck alike.
 */
/*
 * What a new user's slot keeps as near (struct desk_user_slot): the bucket
 * bits of its first user_custom_id's key, so that the keys kept near the
 * user (desk_event_key, desk_key_last) share that key's page; 0 for none.
 */
uint64_t desk_user_near(jv rec);
/* What desk_user_near makes of the key of a user's first user_custom_id. */
uint64_t desk_key_near_of(const struct desk_key *k);
void desk_user_keys(jv rec, void (*each)(const struct desk_key *k,
    const char *what, void *ctx), void *ctx);
/* The ends of the due list: which is "head" or "tail". */
void desk_key_due(struct desk_key *k, const char *which);
/* The latest delivery record of an outbox entry. */
void desk_key_delivery(struct desk_key *k, uint64_t out_id);
/* That record (owned, without "rec"), or invalid when there is none. */
jv desk_delivery_last(struct desk_store *st, uint64_t out_id);
/* The index key of a throttle: channel's, or with NULL the store's. */
void desk_code_throttle_key(struct desk_key *k, const char *channel);
/*
 * Names the index keys a record (borrowed) may set, each(key, what, ctx)
 * with what it is ("the identification throttle of the store"): for fsck
 * to say which key of the index differs from the rebuild. Naming only:
 * what apply sets, and when, is apply's.
 */
void desk_rec_keys(struct desk_store *st, jv rec, void (*each)(
    const struct desk_key *k, const char *what, void *ctx), void *ctx);

/* A team's round-robin turn (desk-route): the number of the next one. */
void desk_key_rotation(struct desk_key *k, const char *team);
/* The condition state a time rule was last applied to a case in. */
void desk_key_rulemark(struct desk_key *k, const char *rule, uint64_t case_id);
/*
 * serve's deliveries ("hook" and "emitted" records): a delivery by channel
 * and webhook-id; an event by channel, type and id; a delivery by its
 * sequence number (all three to the hook record's place in the log); and
 * the marks DESK_HOOK_HEAD (the last sequence number accepted) and
 * DESK_HOOK_EMITTED (the last one written out), whose value is the number.
 */
void desk_key_hook_delivery(struct desk_key *k, const char *channel,
    const char *delivery, size_t n);
void desk_key_hook_event(struct desk_key *k, const char *channel,
    const char *type, const char *id, size_t n);
void desk_key_hook_seq(struct desk_key *k, uint64_t seq);
#define DESK_HOOK_HEAD "head"
#define DESK_HOOK_EMITTED "emitted"
void desk_key_hook_mark(struct desk_key *k, const char *which);
/*
 * Calls each(key, ctx) for every key a hook record (borrowed) points at
 * itself: its delivery, its events and its sequence number. Used by apply
 * and fsck alike. 0 when the record lacks what a hook needs.
 */
int desk_hook_keys(jv rec, void (*each)(const struct desk_key *k, void *ctx),
    void *ctx);

/* ---- fsck.c ---- */

/*
 * Verifies (and with repair rebuilds) the store; returns the exit status
 * (0, or 1 for damage found), or -1 when the store failed (desk_store_error).
 */
int desk_fsck(struct desk_store *st, int repair);

/* ---- recent.c: the log newest first, and the case indexes' presence ---- */

/*
 * Hands each(p, n, loc, ctx) the text of every whole record of the log
 * (n bytes at p, without its newline; not parsed, so the caller skims
 * it for the fields it needs: desk_json_skim), the newest first, until it
 * returns nonzero: 0, or -1 when a read failed (the store failed, 74).
 * With statuses (1 << status bits), it passes over the stretches whose
 * status marks say that no case in one of them has its newest record
 * there (DESK_LIST_MARKS), unread: the records of cases that could be
 * wanted are all handed on.
 */
int desk_log_back(struct desk_store *st, unsigned statuses,
    int (*each)(const char *p, size_t n, struct desk_loc loc, void *ctx),
    void *ctx);
/* 1 when the store keeps the status marks (DESK_LIST_MARKS), else 0. */
int desk_status_marked(struct desk_store *st);
/*
 * 1 when the store has the case indexes (the user slots' last_case, the
 * caselinks and lists tables), or no case; else 0 with the store failed
 * (78: an older desk wrote it, and fsck --repair builds them).
 */
int desk_case_indexes(struct desk_store *st);
/*
 * 1 when the store has the channels' chains of cases (or no case); else 0
 * with the store failed (78, as desk_case_indexes).
 */
int desk_case_chans(struct desk_store *st);
/* The newest case of channel (its chain's start), 0 for none. */
uint64_t desk_chan_newest(struct desk_store *st, const char *channel);
/*
 * Hands each(id, links, ctx) the cases on the list of status s, in the
 * order they entered it (oldest first), until it returns nonzero; a
 * pointer at a case not on the list ends it.
 */
void desk_list_each(struct desk_store *st, enum desk_status s,
    int (*each)(uint64_t id, const struct desk_caselink_slot *l, void *ctx),
    void *ctx);

#endif
