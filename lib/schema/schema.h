/*
 * schema.h: the format of the store's records (lib/README): how each
 * record type sets slots and index keys (apply), what slots hold, every
 * index key (keys), and the checker that rebuilds them (fsck).
 */
#ifndef DESK_SCHEMA_H
#define DESK_SCHEMA_H

#include "store/store.h"

/* ---- apply.c: the derived state of each record ---- */

/* Applies rec (borrowed) at loc to slots and index; idempotent. */
void desk_apply(struct desk_store *st, jv rec, struct desk_loc loc);
/* desk_apply, as the engine is handed it. */
extern const struct desk_schema desk_store_schema;
/*
 * Opens the store the command line or the environment names
 * (desk_store_dir()) with desk's schema: desk_store_open's flags and
 * deaths.
 */
struct desk_store *desk_open(int flags);

/*
 * What an ident record (borrowed) sets on its user's slot: 1 with the
 * user's invalid codes in a row and the time of the lockout (0 for none)
 * after it, or 0 when it sets nothing (a throttled attempt, an old record).
 */
int desk_ident_effect(jv rec, uint64_t *failures, uint64_t *locked);

/*
 * The record in slot id of table t (owned, without its "rec" key), and the
 * slot in *slot unless NULL; invalid when the slot is empty. Dies 74,
 * naming the record, when the log cannot give it back.
 */
jv desk_record(struct desk_store *st, enum desk_table t, uint64_t id,
    struct desk_slot *slot);

/* The hot state of a case (its slot). */
enum desk_status { DESK_OPEN = 1, DESK_PENDING = 2, DESK_CLOSED = 3 };
struct desk_case_slot {
	struct desk_loc rec;
	enum desk_status status;
	uint64_t user_id, merged_into, head, activity;
	int64_t updated_at;
	uint32_t count, chan;
};
int desk_case_slot(struct desk_store *st, uint64_t id, struct desk_case_slot *c);
/* The same from a slot already read. */
void desk_case_from_slot(const struct desk_slot *s, struct desk_case_slot *c);
const char *desk_status_name(enum desk_status s);
int desk_status_parse(const char *s, enum desk_status *out);

/* ---- keys.c: index keys the schema defines, and lookups by them ---- */

/*
 * The index key of an event id. Ids of inbound events (scopes "message" and
 * "status") are the channel's own, so they are keyed per channel; other
 * scopes ignore channel.
 */
void desk_event_key(struct desk_key *k, const char *scope, const char *channel,
    const char *id, size_t idlen);
/*
 * The index key of the event a record (borrowed) processed: its
 * event_scope and event_id, keyed by its event_channel when it has one
 * (what the event itself named), else its channel. 0 when it has none.
 */
int desk_event_rec_key(struct desk_key *k, jv rec);
/* An event id already processed: the record that processed it, or invalid. */
jv desk_event_seen(struct desk_store *st, const char *scope,
    const char *channel, const char *id, size_t idlen);
/* A user's by channel and user_custom_id. */
void desk_key_ucid(struct desk_key *k, const char *channel, const char *ucid,
    size_t ucidlen);
/* A user's by a contact in normal form: kind is "email" or "phone". */
void desk_key_contact(struct desk_key *k, const char *kind, const char *norm);
/* The last case of a user on a channel. */
void desk_key_last(struct desk_key *k, uint64_t user_id, const char *channel);
/* A code's, by its keyed hash. */
/*
 * A conversation of a channel (a Blip ticket): its value is the case its
 * first message went to, set by a message record's conversation_id.
 */
void desk_key_conv(struct desk_key *k, const char *channel, const char *conv,
    size_t convlen);
void desk_key_code(struct desk_key *k, const unsigned char h[32]);
/*
 * Calls each(key, what, ctx) for every index key that a user record
 * (borrowed) points at the user: its user_custom_ids ("a user_custom_id")
 * and its contacts ("email", "phone"). Used by apply and fsck alike.
 */
void desk_user_keys(jv rec, void (*each)(const struct desk_key *k,
    const char *what, void *ctx), void *ctx);
/* The index key of a throttle: channel's, or with NULL the store's. */
void desk_code_throttle_key(struct desk_key *k, const char *channel);

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

/* Verifies (and with repair rebuilds) the store; returns the exit status. */
int desk_fsck(struct desk_store *st, int repair);

#endif
