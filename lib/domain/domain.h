/*
 * domain.h: the help desk's objects (lib/README): channels, users, cases
 * and their messages, identification codes, the API's field names,
 * replies and the outbox.
 */
#ifndef DESK_DOMAIN_H
#define DESK_DOMAIN_H

#include "schema/schema.h"

/* ---- channel.c: the channel registry (channels/NAME.json) ---- */

int desk_channel_name_ok(const char *name);
/* The channel's configuration, owned; invalid when there is none. */
jv desk_channel_get(struct desk_store *st, const char *name);
/*
 * The same for a server: invalid with e->code 0 when there is no such
 * channel, or with e (74 unreadable, 78 not a channel) and the store
 * left as it was; desk_channel_get fails the store with e instead.
 */
jv desk_channel_lookup(struct desk_store *st, const char *name, struct desk_err *e);
int desk_channel_put(struct desk_store *st, jv ch);   /* borrows */
int desk_channel_rm(struct desk_store *st, const char *name);
/* Every channel, sorted by name (empty, with the store failed, when channels/ is unreadable). */
jv desk_channel_list(struct desk_store *st);
int desk_channel_is_sync(jv ch);

/* ---- secrets.c: a channel's secrets (secrets/CHANNEL.KIND, 0600) ---- */

/* Loaded for one use, wiped by desk_secrets_wipe: NULL where there is none. */
struct desk_secrets {
	char *token;            /* Chat2Desk token, Blip key, a bearer token */
	char *secret;           /* custom: the Standard Webhooks whsec_ secret */
	char *signkey;          /* custom: the Ed25519 whsk_ signing key */
};
enum { DESK_SECRET_TOKEN, DESK_SECRET_SECRET, DESK_SECRET_SIGNKEY, DESK_NSECRETS };
/* Every secret of channel: 0, or -1 with e (74 unreadable, 78 malformed). */
int desk_secrets_load(struct desk_store *st, const char *channel,
    struct desk_secrets *s, struct desk_err *e);
/*
 * Replaces one secret (kind DESK_SECRET_*) of channel with value (n bytes),
 * or removes it when value is NULL; durable at commit. 0, or -1 with errno.
 */
int desk_secret_put(struct desk_store *st, const char *channel, int kind,
    const char *value, size_t n);
void desk_secrets_wipe(struct desk_secrets *s);

/* ---- user.c: users and profile linking ---- */

jv desk_user_get(struct desk_store *st, uint64_t id);
uint64_t desk_user_by_custom_id(struct desk_store *st, const char *channel,
    const char *ucid, size_t ucidlen);
uint64_t desk_user_by_contact(struct desk_store *st, const char *kind,
    const char *norm);
/* Contact normal forms; 0 when the value is not usable. */
int desk_email_norm(const char *in, struct desk_buf *out);
int desk_phone_norm(const char *in, struct desk_buf *out);

/* Who a message is from, as an inbound event says. */
struct desk_who {
	const char *channel;
	const char *ucid;
	size_t ucidlen;
	const char *email, *phone, *name, *company;
	jv fields;       /* borrowed: fields to record on the user, or invalid */
	int found;       /* uid is what desk_user_by_custom_id gave already */
	uint64_t uid;
};
/*
 * Finds the user by channel + user_custom_id or creates one, records name,
 * company and fields, and links email and phone unless they belong to
 * another user_custom_id of the same channel, directly or through a linked
 * profile. *report (owned, may be an empty object) gets "linked_users" and
 * "not_linked" as desk-events(7) says. Returns 0, having written nothing,
 * when the user's fields would grow past their limit; *report is then an
 * object with "field" and "reason".
 */
uint64_t desk_user_resolve(struct desk_store *st, const struct desk_who *w,
    int64_t now, jv *report);
/*
 * Whether desk_user_resolve, desk_user_message_begin and desk_case_save_set
 * may print a known user's or case's record of st from its old bytes (1,
 * the default), and
 * the setting: tests/unit/splice turns it off on one of two stores to
 * compare what they print with what the value path prints.
 */
int desk_splices(struct desk_store *st);
void desk_splices_set(struct desk_store *st, int on);
/* Writes a new version of a user record (consumes rec). */
void desk_user_save(struct desk_store *st, jv rec, int64_t now);
/* A new user record, with w's channel and user_custom_id when w is given. */
jv desk_user_new(uint64_t id, const struct desk_who *w, int64_t now);
/*
 * Applies changes (borrowed: "fields" merged with null removing, "name",
 * "company", and "email" and "phone" linked by the rule) to u (consumed,
 * the record of uid), without saving u; sets *dirty when u changed. *report
 * (owned) gets "linked_users" and "not_linked".
 */
jv desk_user_change(struct desk_store *st, uint64_t uid, jv u, jv changes,
    int64_t now, jv *report, int *dirty);
/*
 * Copies the bound data in changes (borrowed: name, company, fields) to
 * every profile linked to uid, directly or through earlier links, so that
 * linked users see one set of it. A profile whose fields would pass their
 * limit keeps its fields.
 */
void desk_user_share(struct desk_store *st, uint64_t uid, jv changes, int64_t now);
/*
 * desk_user_change on the stored user, saved, and its name, company and
 * fields copied to every profile linked to it (desk_user_share); the user
 * as now stored. Invalid when there is no such user, or with a message
 * (and nothing written) when the fields would grow past their limit.
 */
jv desk_user_update(struct desk_store *st, uint64_t uid, jv changes, int64_t now,
    jv *report);
/*
 * A user.update event (ev, borrowed, its codes masked): the user it names
 * (by user_id, channel + user_custom_id, email or phone; a contact that
 * names the user is not also a change) updated by desk_user_update under
 * the lock (taken if not held). Returns what the event gets: user_id,
 * linked_users, not_linked. Invalid with *e (65) on refusal.
 */
jv desk_user_update_event(struct desk_store *st, jv ev, struct desk_err *e);
/* The user sel names by user_id, channel + user_custom_id, email or phone; 0 with *why. */
uint64_t desk_user_find(struct desk_store *st, jv sel, const char **why);
/*
 * Links (unlinks) two users' profiles, both ways: 0, or -1 with *e (1 and
 * the reason when they will not be, or the store's error).
 */
int desk_user_unlink(struct desk_store *st, uint64_t a, uint64_t b,
    int64_t now, struct desk_err *e);
int desk_user_link(struct desk_store *st, uint64_t a, uint64_t b,
    int64_t now, struct desk_err *e);

/* ---- case.c: cases and their messages ---- */

/*
 * The case a user's message on channel goes to, by the seed's last-chat rule:
 * the user's last case there; closed -> a new case; open or pending -> that
 * case; merged -> the case it was merged into. *created says which; a new
 * case is written with external (borrowed, or invalid), its conversation's
 * ids outside.
 */
uint64_t desk_case_for(struct desk_store *st, uint64_t user_id,
    const char *channel, const char *subject, jv external, int64_t now,
    int *created);
/* Follows merged_into to the surviving case. */
uint64_t desk_case_survivor(struct desk_store *st, uint64_t id);
/* The case as printed (record plus hot state), owned; invalid if none. */
jv desk_case_get(struct desk_store *st, uint64_t id);
/* Case record rec (consumed, from desk_case_record) as desk_case_get gives it. */
jv desk_case_dress(jv rec, const struct desk_case_slot *c);
/* The case's messages, oldest first (merged-in cases' too). */
jv desk_case_messages(struct desk_store *st, uint64_t id);
/* The event a record is written for: the parts of its idempotency key. */
struct desk_evid {
	const char *scope, *channel;    /* channel: what the event named, or NULL */
	const char *id;
	size_t idlen;
};
/* rec (consumed) without the event data of the record it was read from. */
jv desk_event_strip(jv rec);
/*
 * Writes a new version of a case record (consumes rec), for the event ev
 * (its event_id, event_scope and event_channel) or, with NULL, for none:
 * the event data of the version before is not carried over.
 */
void desk_case_save(struct desk_store *st, jv rec, const struct desk_evid *ev,
    int64_t now);
/*
 * Saves case id with members keys[0..n) set to vals
 * (borrowed), as desk_case_save of the record read whole with them set,
 * for no event; printed from the record's old bytes where it has them
 * all (and n is at most 2). 0, or -1 when there is no such case
 * (nothing written).
 */
int desk_case_save_set(struct desk_store *st, uint64_t id,
    const char *const *keys, const jv *vals, size_t n, int64_t now);
/* The record (owned), without "rec"; invalid if none. */
jv desk_case_record(struct desk_store *st, uint64_t id);
/*
 * The verbs on a case take the store's lock (if not held) and return 0 or
 * -1 with *e: 1 when there is no such case, 65 when it will not do.
 *
 * desk_case_set changes case id: changes (borrowed: status, and assignee,
 * team and subject, a string or null to clear; labels, an array of
 * distinct non-empty strings or null) within the limits, and
 * fields (borrowed, or invalid for none) merged into the case's, null
 * removing. A merged case is not changed (change the survivor).
 */
int desk_case_set(struct desk_store *st, uint64_t id, jv changes, jv fields,
    int64_t now, struct desk_err *e);
/*
 * Merges case from into the survivor of case into, when they are of one
 * user or of linked users and the survivor has fewer than DESK_MAX_MERGES
 * merged into it; a closed survivor takes the merged case's status when
 * that is still open or pending. Returns the survivor, or 0 with *e.
 */
uint64_t desk_case_merge(struct desk_store *st, uint64_t from, uint64_t into,
    int64_t now, struct desk_err *e);
/*
 * Appends a message record (consumes msg: content, attachments, staff_id,
 * event data...) to case_id, filling message_id, case_id, created_at.
 * Returns the message id.
 */
uint64_t desk_message_add(struct desk_store *st, uint64_t case_id, jv msg,
    int64_t now);
/*
 * The same in two steps, for a caller that builds the record itself:
 * desk_message_new gives {"rec", "message_id" (a new id), "case_id"} to
 * add the message's fields to; desk_message_put (consumes m) adds
 * created_at, appends it and returns it as stored.
 */
jv desk_message_new(struct desk_store *st, uint64_t case_id);
jv desk_message_put(struct desk_store *st, jv m, int64_t now);
jv desk_message_get(struct desk_store *st, uint64_t id);
/*
 * Stores a message from user uid on channel in the case the last-chat rule
 * picks, recording external (borrowed: the conversation's ids outside) on
 * the case. msg (consumed) has content, attachments, flags and event id.
 * Returns the stored message record: with user_id, case_id, message_id,
 * trigger and case_status.
 */
jv desk_user_message(struct desk_store *st, uint64_t uid, const char *channel,
    const char *subject, jv external, jv msg, int64_t now);
/*
 * The same in two steps, for a caller that adds msg's fields itself (no
 * msg object built and merged): desk_user_message_begin finds or makes
 * the case and gives the record's head to set them on; desk_user_message_end
 * (consumes m) adds trigger and case_status and stores it.
 */
struct desk_msg_case {
	int created;
	enum desk_status status;
};
jv desk_user_message_begin(struct desk_store *st, uint64_t uid,
    const char *channel, const char *subject, jv external, int64_t now,
    struct desk_msg_case *mc);
jv desk_user_message_end(struct desk_store *st, jv m,
    const struct desk_msg_case *mc, int64_t now);
/*
 * The same for an inbound message taken apart (all borrowed): the record
 * printed as those two would build it, without a value built. Sets what
 * desk-case adds to the event in r->v (desk_message_receive): user_id,
 * case_id, message_id, the user_custom_id found for a conversation,
 * trigger, case_status and report's members (linked_users, not_linked).
 */
struct desk_user_msg {
	const char *channel, *subject;
	jv external;                  /* the conversation's ids, or invalid */
	const char *conv, *ucid;      /* conversation_id, or NULL; ucid: */
	size_t convlen, ucidlen;      /* its user's, when it stood for them */
	jv content, attachments;      /* or invalid */
	const char *id;               /* the event id, or NULL */
	size_t idlen;
	jv report;                    /* an object */
};
struct desk_received;    /* inbound.c's */
void desk_user_message_print(struct desk_store *st, uint64_t uid,
    const struct desk_user_msg *m, int64_t now, struct desk_received *r);

/* ---- list.c: the cases a query selects ---- */

/* A set of ids, in the order added; free v. */
struct desk_ids {
	uint64_t *v;
	size_t n;
};
int desk_ids_has(const struct desk_ids *s, uint64_t id);
void desk_ids_add(struct desk_ids *s, uint64_t id);

struct desk_case_query {
	struct desk_ids users;   /* with by_user: only these users' cases */
	int by_user;
	char **channels;         /* NULL-terminated, or NULL for every channel */
	const char *ucid;        /* only users with this user_custom_id there */
	int statuses;            /* 1 << status of each one wanted; 0: all */
	int active;              /* open or pending, on a sync channel */
	int merged;              /* merged cases too */
	uint64_t limit;
};
/*
 * Hands each (c, consumed, as desk_case_get gives it; ctx) the cases q
 * selects, the most recent activity first, at most q->limit, and sets
 * *count. -1 with *e (78) when q names an unknown channel.
 */
int desk_case_list(struct desk_store *st, const struct desk_case_query *q,
    void (*each)(jv c, void *ctx), void *ctx, uint64_t *count,
    struct desk_err *e);

/* ---- inbound.c: the events a channel sends ---- */

/*
 * The members desk-case adds to a message event, in its order: those of
 * the stored message, user_custom_id only for a message that named its
 * conversation instead, and duplicate for a replay.
 */
enum { DESK_ADD_USER_ID, DESK_ADD_CASE_ID, DESK_ADD_MESSAGE_ID,
	DESK_ADD_TRIGGER, DESK_ADD_CASE_STATUS, DESK_ADD_LINKED_USERS,
	DESK_ADD_NOT_LINKED, DESK_ADD_UCID, DESK_ADD_DUPLICATE, DESK_NADDED };
extern const char *const desk_added_keys[DESK_NADDED];
/*
 * What desk_message_receive gives back: the values of those members
 * (owned, invalid where none: desk_received_free), and which of them the
 * event had already (bit i for desk_added_keys[i]).
 */
struct desk_received {
	jv v[DESK_NADDED];
	unsigned had;
};
void desk_received_free(struct desk_received *r);
/*
 * A message event from a user (ev, borrowed: channel, user_custom_id, id,
 * content, attachments, subject, email, phone, name, company, external,
 * fields, as desk-events(7) says), checked, then stored under the store's
 * lock (taken if not held) in the case the last-chat rule picks, the user
 * found or created and linked by desk_user_resolve. 0 with *r: the stored
 * message's user_id, case_id, message_id, trigger, case_status,
 * linked_users, not_linked; for a replay of an event id already stored,
 * the first run's, and duplicate. On refusal -1, with *e (65, or 78 for an
 * unknown channel), nothing written.
 */
int desk_message_receive(struct desk_store *st, jv ev, struct desk_received *r,
    struct desk_err *e);
/*
 * A status event (ev, borrowed: case_id, or channel and user_custom_id;
 * status, closed when absent; id), checked, then applied under the lock
 * to the surviving case. An event id is keyed by the channel the event
 * named, else by its case_id, so a replay is found after a merge. Returns
 * what desk-events(7) adds to the event: user_id, case_id, case_status,
 * and "duplicate": true for a replay. Invalid with *e on refusal (65; 1
 * when there is no such case; 78 for an unknown channel).
 */
jv desk_case_status(struct desk_store *st, jv ev, struct desk_err *e);

/* ---- code.c: identification codes ---- */

#define DESK_CODE_LEN 11          /* d_XXXXXX_xx */
#define DESK_CODE_TTL 300         /* seconds */
#define DESK_CODE_ATTEMPTS 5      /* presentations of one code */
#define DESK_USER_FAILURES 5      /* invalid codes in a row before a lockout */

/* The first code-shaped token in s[0..n): 1 and its offset, or 0. */
int desk_code_find(const char *s, size_t n, size_t *off);
/* Masks every code-shaped token in place (d_******_**); how many. */
size_t desk_code_mask(char *s, size_t n);
/* The same on a jv string (consumed). */
jv desk_code_mask_jv(jv s);
/*
 * ev (consumed) with every code-shaped token masked in every string it
 * holds, object keys included, through nested objects and arrays, except
 * the values of the top-level keys that are identifiers and must stay
 * exact: type, id, channel, user_custom_id, user_custom_channel, email,
 * phone, user_email, user_phone, source_id, rule, via, staff_id, status,
 * case_status, trigger, connector, event_id, event_scope, and the ids desk
 * adds (user_id, case_id, message_id, out_id, account_user_id). A value
 * that is not an object is masked throughout. Call it after
 * desk_api_aliases: a wrapper's members are masked as free text. An event
 * without a code-shaped token is returned as it is, without a copy.
 */
jv desk_code_mask_event(jv ev);
/*
 * 0 when no string, key or value, decoded from the JSON text p[0..n) can
 * hold a code-shaped token: one needs "d_" or "D_" in the text, or a \u
 * escape that could make either. A cheap test before desk_code_mask_event.
 */
int desk_code_may_hide(const char *p, size_t n);
/* The canonical form of a code-shaped token (case folded); 0 if it cannot be a code. */
int desk_code_norm(const char *tok, char out[DESK_CODE_LEN + 1]);
/*
 * Checks the binding of a code (borrowed): email, phone, or channel (a
 * known one) and user_custom_id, strings, with name, company (strings) and
 * fields (an object), within the limits of what users may hold. 0, or -1
 * with *e: 64 (a field of the wrong type or shape), 65 (too big), 78 (an
 * unknown channel).
 */
int desk_code_bind_check(struct desk_store *st, jv bind, struct desk_err *e);
/*
 * Issues a code bound to bind (borrowed: email | phone | channel and
 * user_custom_id, with name, company, fields; checked by
 * desk_code_bind_check), valid ttl seconds from now.
 * Only its keyed hash is stored. Returns the code's id.
 */
uint64_t desk_code_issue(struct desk_store *st, jv bind, int64_t ttl,
    int64_t now, char code[DESK_CODE_LEN + 1], int64_t *expires);
/*
 * code bind: checks bind (borrowed) with desk_code_bind_check, then under
 * the lock (taken if not held) issues a code bound to it, valid ttl
 * seconds. Returns {"code", "expires_at"}, or invalid with *e.
 */
jv desk_code_bind(struct desk_store *st, jv bind, int64_t ttl, struct desk_err *e);
/*
 * An ident.request event (ev, borrowed, in desk's names): its binding
 * (email, phone, channel, user_custom_id, name, company, fields) masked
 * but for the identifiers and bound (desk_code_bind) for its ttl (1 to
 * 86400 seconds, DESK_CODE_TTL when absent). As desk_code_bind.
 */
jv desk_code_request(struct desk_store *st, jv ev, struct desk_err *e);
/*
 * User uid presents token (a code-shaped token, DESK_CODE_LEN bytes) on
 * channel. Records the attempt (under the lock); on a valid code links uid
 * to the account user, copies the bound data and marks uid identified.
 * Over DESK_IDENT_LIMITS the answer is invalid without a look at the code
 * (reason "throttled"). Returns {"identification": "valid"|"invalid",
 * "account_user_id"?, "not_linked"?}. With event_id, a replay of the same
 * event can find this answer.
 */
jv desk_code_present(struct desk_store *st, uint64_t uid, const char *channel,
    const char *token, const char *scope, const char *event_id, int64_t now);
/*
 * A message stored by desk-case (ev, borrowed, masked: user_id,
 * message_id, channel) whose content held the code-shaped token tok (or
 * NULL): presented for its user (desk_code_present, under the lock) unless
 * the user is identified already; a replay of the message gets the first
 * answer. Returns what the message gets: user_identified, and
 * identification ("not_sent" without a token), account_user_id,
 * not_linked. Invalid with *e (65) for a user_id that names no user.
 */
jv desk_code_identify(struct desk_store *st, jv ev, const char *tok,
    struct desk_err *e);
/*
 * desk-identify verify: the user of channel (known) and ucid (non-empty),
 * found or created under the lock, presents code unless identified
 * already. Returns user_id, user_identified and the answer; *ok when the
 * user is identified now.
 */
jv desk_code_verify(struct desk_store *st, const char *channel, const char *ucid,
    const char *code, int64_t now, int *ok);
/* user (consumed) with ident_failures and ident_locked_at as they stand. */
jv desk_code_user_view(struct desk_store *st, uint64_t uid, jv user);

/* ---- api.c: the help desk API's field names ---- */

/*
 * Renames the help desk API's fields in ev (consumed) to desk's:
 * user_email -> email, user_phone -> phone, user_full_name -> name,
 * company_name -> company, custom_fields -> fields, user_custom_channel ->
 * channel. With wrapper (such as "user" or "case"), an object under that
 * key is unwrapped first: its members, in either spelling, join the top
 * level and the wrapper key goes. Both spellings with equal values are
 * one; with different values the result is invalid with a message
 * ("differs from email") and *field names the field at fault
 * ("user_email", "user.email": static storage, or path, of pathlen bytes,
 * the caller's, for a member of the wrapper). A wrapper that is not an
 * object is invalid too ("must be an object", *field = wrapper). Non-object
 * ev comes back unchanged.
 */
#define DESK_API_PATH 128
jv desk_api_aliases(jv ev, const char *wrapper, const char **field,
    char *path, size_t pathlen);
/*
 * Whether the object text p[0..n) has any of those names, or wrapper, as
 * a key: 0 when it has none (desk_api_aliases would give it back as it
 * is), 1 when it has, -1 when its bytes cannot tell (then ask the value).
 * From the bytes, without the member walk of the parsed event.
 */
int desk_api_names_in(const char *p, size_t n, const char *wrapper);

/* ---- reply.c: replies and the outbox ---- */

/*
 * Checks a reply (borrowed: case_id, content, attachments, staff_id, via
 * (agent, api or rule; agent when absent), rule, source_id, id, reopen)
 * for types and sizes: 0, or -1 with *e (65).
 */
int desk_reply_check(jv r, struct desk_err *e);
/*
 * Adds the reply r (borrowed, checked by desk_reply_check) under the
 * store's lock, which it takes, and returns its message.out event; a
 * replay returns the first one with "duplicate": true. On refusal:
 * invalid, with *e (65, 1 for no such case, 78 for a gone
 * channel).
 */
jv desk_reply_add(struct desk_store *st, jv r, int64_t now, struct desk_err *e);
/* The message.out event of a reply's message record (borrowed). */
jv desk_message_out(jv m);
/*
 * Appends what desk_json_dump of desk_message_out(m), with "duplicate":
 * true last when duplicate is set, would: without building it.
 */
void desk_message_out_dump(struct desk_buf *b, jv m, int duplicate);
/*
 * desk_reply_add, appending to out what desk_json_dump of the message.out
 * it returns would, printed from the record's bytes as they were printed
 * for the log, not from a value built for it: 0, or -1 with *e and out as
 * it was.
 */
int desk_reply_print(struct desk_store *st, jv r, int64_t now,
    struct desk_buf *out, struct desk_err *e);

/* ---- outbox.c: the outbox's delivery state ---- */

/*
 * The webhook-id of outbox entry oid whose message record is m
 * (borrowed): "msg_" and 32 hex digits, the same for every attempt.
 */
#define DESK_WEBHOOK_ID_LEN 36
void desk_webhook_id(jv m, uint64_t oid, char out[DESK_WEBHOOK_ID_LEN + 1]);
/*
 * The message record of outbox entry oid (owned, with its message_id), its
 * slot in *o unless NULL; invalid when there is no such entry.
 */
jv desk_outbox_message(struct desk_store *st, uint64_t oid,
    struct desk_out_slot *o);
/* Calls each for every entry on the due list (not delivered or dead). */
void desk_due_each(struct desk_store *st, void (*each)(uint64_t oid,
    const struct desk_out_slot *o, void *ctx), void *ctx);
/*
 * Writes a delivery record of entry oid in state, with d's fields
 * (consumed: attempt, webhook_id, http_status, error, next_attempt_at,
 * remote_id). Under the lock, which the caller holds.
 */
void desk_delivery_put(struct desk_store *st, uint64_t oid,
    enum desk_dstate state, jv d, int64_t now);
/*
 * Queues command ("assign", with agent; "close") of case case_id (its
 * record as saved) for its platform when the case's connector mirrors it
 * (Blip: both; Chat2Desk: close): a command record, an outbox entry in
 * order with the case's replies. Under the lock. 1 when queued.
 */
int desk_case_command(struct desk_store *st, uint64_t case_id,
    const char *command, jv agent, int64_t now);
/*
 * Whether a case on a channel of connector has command mirrored: a caller
 * that knows the connector skips desk_case_command's reads when not.
 */
int desk_case_mirrored(const char *connector, const char *command);
/* What an outbox entry's record (borrowed) delivers: message.out or case.command. */
jv desk_outbox_event(jv m);
/* The entries as outbox shows them: queued (the due list), all, or dead. */
enum { DESK_OUTBOX_QUEUED, DESK_OUTBOX_ALL, DESK_OUTBOX_DEAD };
jv desk_outbox(struct desk_store *st, int which);
/* A dead entry queued again, from the first attempt: 0, or -1 with e. */
int desk_dead_retry(struct desk_store *st, uint64_t oid, int64_t now,
    struct desk_err *e);
/*
 * A receiver answered 410 Gone: the channel is saved inactive with the
 * reason, and its entries on the due list are dead. 0, or -1 with e.
 */
int desk_channel_gone(struct desk_store *st, const char *channel,
    int http_status, int64_t now, struct desk_err *e);
/*
 * The one sender of a store (send_lock, flock): its fd, held for the
 * process's life, or -1 with e (75 when another send holds it).
 */
int desk_sender_lock(struct desk_store *st, struct desk_err *e);

/* ---- route.c: what desk-route keeps (desk-rules(5)) ---- */

/*
 * The turn of team's round-robin (0 for its first), taken under the
 * writer lock (taken if not held) and advanced by one in the store.
 */
uint64_t desk_rotation_turn(struct desk_store *st, const char *team, int64_t now);
/* The route record written for message_id, owned; invalid when none. */
jv desk_route_seen(struct desk_store *st, uint64_t message_id);
/*
 * Records (under the lock) that the rules took route (consumed, not empty) for
 * message message_id of case case_id, with the reply events (consumed)
 * they wrote, so that a replay of the message writes them again and
 * changes nothing.
 */
void desk_route_save(struct desk_store *st, uint64_t case_id,
    uint64_t message_id, jv route, jv replies, int64_t now);
/* The state time rule last applied to case_id in: 1 and *state, or 0. */
int desk_rulemark_get(struct desk_store *st, const char *rule, uint64_t case_id,
    uint64_t *state);
void desk_rulemark_put(struct desk_store *st, const char *rule, uint64_t case_id,
    uint64_t state, int64_t now);

/* ---- hook.c: the deliveries serve accepts (hook and emitted records) ---- */

struct desk_hook {
	const char *channel;
	const char *delivery;    /* its webhook-id, or one serve made */
	size_t dlen;
	int64_t received_at;
	const char *body;        /* the raw body, as it came */
	size_t len;
};
/*
 * Under the store's lock (taken by the caller, for a whole batch): records
 * delivery h with those of events (consumed: an array of objects, each
 * with a string id) that no delivery of its channel brought before.
 * 1 with its sequence number in *seq and the events recorded (owned) in
 * *fresh; 0 for a repeat (its webhook-id accepted before, or every event
 * of it), nothing written; -1 with e (65) when the record would be over
 * the store's limit on a record, nothing written.
 */
int desk_hook_accept(struct desk_store *st, const struct desk_hook *h,
    jv events, uint64_t *seq, jv *fresh, struct desk_err *e);
/* The last sequence number accepted, and the last emitted (0: none). */
void desk_hook_marks(struct desk_store *st, uint64_t *head, uint64_t *emitted);
/* Under the lock: records that every delivery up to seq was written out. */
void desk_hook_emitted(struct desk_store *st, uint64_t seq);
/*
 * The events delivery seq brought (owned); invalid with a message when the
 * store has no such delivery or cannot give it back.
 */
jv desk_hook_events(struct desk_store *st, uint64_t seq);

#endif
