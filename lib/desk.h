/*
 * desk.h: libdesk, the library every desk tool is built on.
 *
 * Ownership of jv values: libjq's header says "all jv_* functions consume
 * their inputs", which is not true of every call (jv_get_kind,
 * jv_string_value, jv_number_value, jv_is_integer borrow). Every function
 * here says which of its jv arguments it consumes ("consumes") and which it
 * only looks at ("borrows"); a returned jv is owned by the caller unless it
 * says "borrowed".
 */
#ifndef DESK_H
#define DESK_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

#ifndef DESK_VERSION
#define DESK_VERSION "unknown"
#endif

#define DESK_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Exit status: one table for the whole suite (desk-events(7), DESIGN §3). */
enum {
	DESK_EX_OK = 0,
	DESK_EX_NO = 1,           /* a negative answer: nothing matched */
	DESK_EX_USAGE = 64,
	DESK_EX_DATA = 65,        /* at least one record rejected */
	DESK_EX_UNAVAILABLE = 69, /* a remote service is unavailable */
	DESK_EX_SOFTWARE = 70,    /* internal error */
	DESK_EX_IOERR = 74,       /* I/O error; the previous state is intact */
	DESK_EX_TEMPFAIL = 75,    /* lock timeout, remote 5xx: retry later */
	DESK_EX_NOPERM = 77,      /* bad signature, bad token */
	DESK_EX_CONFIG = 78,      /* bad configuration, unknown channel */
};

/* ---- util.c: names, errors, memory, buffers ---- */

extern const char *desk_prog;
void desk_setprog(const char *argv0);
_Noreturn void desk_die(int code, const char *fmt, ...) DESK_PRINTF(2, 3);
/* As desk_die, appending ": strerror(errno)". */
_Noreturn void desk_die_errno(int code, const char *fmt, ...) DESK_PRINTF(2, 3);
void desk_warn(const char *fmt, ...) DESK_PRINTF(1, 2);
void *desk_xmalloc(size_t n);
void *desk_xcalloc(size_t n, size_t size);
void *desk_xrealloc(void *p, size_t n);
char *desk_xstrdup(const char *s);
/* Parses a whole decimal number in [min, max]; 0 on anything else. */
int desk_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

struct desk_buf {
	char *p;
	size_t len, cap;
};
#define DESK_BUF_INIT { NULL, 0, 0 }
void desk_buf_reserve(struct desk_buf *b, size_t extra);
void desk_buf_add(struct desk_buf *b, const void *p, size_t n);
void desk_buf_adds(struct desk_buf *b, const char *s);
void desk_buf_addc(struct desk_buf *b, char c);
void desk_buf_addf(struct desk_buf *b, const char *fmt, ...) DESK_PRINTF(2, 3);
void desk_buf_free(struct desk_buf *b);
/* NUL-terminates without counting the NUL in len; returns b->p. */
char *desk_buf_str(struct desk_buf *b);

/* Writes all of p, retrying short writes and EINTR; -1 with errno set. */
int desk_write_all(int fd, const void *p, size_t n);
/* Reads up to n bytes at off, retrying short reads; bytes read or -1. */
ssize_t desk_pread_all(int fd, void *p, size_t n, uint64_t off);

/* ---- env.c: the DESK_* environment, checked once at start-up ---- */

struct desk_limit {               /* at most count in seconds */
	int count, seconds;
};
#define DESK_MAX_LIMITS 8
struct desk_env {
	const char *store;        /* DESK_STORE, or NULL */
	int now_fixed;            /* DESK_NOW is set: now */
	int64_t now;
	int sync_each;            /* DESK_SYNC=event */
	double lock_timeout;      /* DESK_LOCK_TIMEOUT, seconds (10) */
	uint64_t segment_size;    /* DESK_SEGMENT_SIZE (64 MiB) */
	size_t max_record;        /* DESK_MAX_RECORD (DESK_MAX_INPUT) */
	int nlimits;              /* DESK_REPLY_LIMITS */
	struct desk_limit limits[DESK_MAX_LIMITS];
	struct desk_limit ident_limits[2];   /* DESK_IDENT_LIMITS: channel, store */
};
/*
 * Every DESK_* variable, parsed at the first call (desk_setprog makes that
 * start-up); dies 78 naming a variable with a bad value. An empty value
 * means the default, but for DESK_STORE.
 */
const struct desk_env *desk_env(void);
/* "COUNT/SECONDS,...": how many limits (at most max), or -1. */
int desk_limits_parse(const char *s, struct desk_limit *l, int max);

/* ---- json.c: a strict RFC 8259 parser and a compact printer over jv ---- */

#define DESK_JSON_MAXDEPTH 256

enum { DESK_JSON_OK, DESK_JSON_INCOMPLETE, DESK_JSON_ERROR };

struct desk_jerr {
	size_t off;      /* byte offset of the error from the start of p */
	char msg[120];
};

/*
 * Parses one JSON value from p[0..n), skipping leading white space. eof
 * says that n is the end of all input (so "12" is complete); otherwise a
 * value that runs to the end is DESK_JSON_INCOMPLETE. On DESK_JSON_OK *out
 * is owned by the caller and *used counts the bytes through the value's
 * last byte. Invalid UTF-8, lone surrogates, control characters in strings,
 * nesting deeper than DESK_JSON_MAXDEPTH, NaN and out-of-range numbers are
 * errors.
 */
int desk_json_parse(const char *p, size_t n, int eof, jv *out, size_t *used,
    struct desk_jerr *err);
/* One whole value and nothing but white space; invalid (with a message) on error. */
jv desk_json_parse_all(const char *p, size_t n);
/* Appends compact JSON for v (borrowed), keys in insertion order. */
void desk_json_dump(struct desk_buf *b, jv v);
/* Appends v as a JSON string literal. */
void desk_json_dump_str(struct desk_buf *b, const char *s, size_t n);

/*
 * Borrowing getters: o is borrowed and so is the result, valid while o is
 * alive and not modified. Absent keys, and o not being an object, give the
 * "absent" answer (invalid jv, NULL, 0).
 */
jv desk_jget(jv o, const char *key);
const char *desk_jstr(jv o, const char *key);
/* 1 and *s, *n for a string; 0 otherwise. */
int desk_jstrn(jv o, const char *key, const char **s, size_t *n);
/* 1 when key holds an integral number within ±2^53. */
int desk_jint(jv o, const char *key, int64_t *v);
int desk_jhas(jv o, const char *key);
/* Setters consume o and v and return the new object. */
jv desk_jset(jv o, const char *key, jv v);
jv desk_jset_str(jv o, const char *key, const char *s);
jv desk_jset_int(jv o, const char *key, int64_t v);
jv desk_jdel(jv o, const char *key);
jv desk_jstring(const char *s, size_t n);
/* Compact text of v (borrowed), malloc'd, NUL-terminated. */
char *desk_json_text(jv v);

/* ---- limits.c: how big what desk stores may grow (desk-store(5)) ---- */

/* A slot holds a record's length in 24 bits: no record reaches 16 MiB. */
#define DESK_REC_MAX ((1u << 24) - 1)
/* An input record; its stored message stays under DESK_REC_MAX. */
#define DESK_MAX_INPUT (15u << 20)
/*
 * A message's text: 1 MiB under the input limit, so that a message with
 * everything else at its limit, and what each tool of a pipeline adds to
 * it, is still a record the next tool reads.
 */
#define DESK_MAX_CONTENT (14u << 20)
#define DESK_MAX_ID 16384             /* id, user_custom_id, source_id */
#define DESK_MAX_NAME 4096            /* name, company, email, phone, rule */
#define DESK_MAX_SUBJECT 4096
#define DESK_MAX_FIELDS 100           /* keys in a user's or case's fields */
#define DESK_MAX_FIELDS_SIZE 65536
#define DESK_MAX_EXTERNAL_SIZE 16384
#define DESK_MAX_ATTACHMENTS 100
#define DESK_MAX_ATTACHMENTS_SIZE 262144
#define DESK_MAX_CONTACTS 16          /* emails, and phones, of one user */
#define DESK_MAX_LINKS 64             /* linked_users of one user */
#define DESK_MAX_MERGES 1000          /* cases merged into one */

/* The stored (compact JSON) size of v (borrowed). */
size_t desk_json_size(jv v);
/*
 * Checks the fields of an event that desk copies into records against the
 * limits above (and for NUL bytes in the strings used as keys or names):
 * NULL when they will do, else the reason (in why, or static) and *field.
 */
const char *desk_check_sizes(jv ev, const char **field, char *why, size_t n);
/* The same for one object of fields (borrowed). */
const char *desk_check_fields(jv f, char *why, size_t n);

/* ---- time.c: the clock ---- */

/* Now, in Unix seconds: $DESK_NOW (RFC 3339 or Unix seconds) when set. */
int64_t desk_now(void);
/* RFC 3339 ("2026-11-21T09:30:00Z", "...+03:00", fractions) or seconds. */
int desk_time_parse(const char *s, int64_t *t);
/* "YYYY-MM-DDTHH:MM:SSZ"; out must hold 32 bytes. */
char *desk_time_fmt(int64_t t, char *out);
jv desk_jtime(int64_t t);

/* ---- opt.c: the options every tool shares ---- */

/* Short options every tool accepts, to be prefixed to its own. */
#define DESK_OPTS "s:hV"
#define DESK_LONGOPTS \
	{ "store", required_argument, NULL, 's' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }

/* The text after "usage: " for -h and for usage errors. */
extern const char *desk_usage_text;
/* Prints usage (stdout when code is 0, else stderr) and exits with code. */
_Noreturn void desk_usage(int code);
/*
 * getopt_long that handles -s, -h, -V and unknown options itself and
 * returns the tool's own option characters (or -1 at the end).
 */
struct option;
int desk_getopt(int argc, char **argv, const char *opts, const struct option *lo);
/*
 * A --field argument: "key=value" sets a string, "key:=JSON" any JSON value
 * (null removes the field). Adds to *fields (an object); -1 with *err.
 */
int desk_field_arg(const char *arg, jv *fields, const char **err);
/*
 * The fields of n --field arguments (desk_field_arg), owned; dies 64 naming
 * a bad one. Call it after the options are checked, so nothing else is
 * allocated when it dies.
 */
jv desk_fields_args(char *const *args, size_t n);
/* Merges changes into fields, removing keys set to null; consumes both. */
jv desk_fields_merge(jv fields, jv changes);
/* A subcommand: its name and its main. */
struct desk_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
};
/*
 * When argv[optind] names one of cmds, runs it with argv from there (its
 * name as argv[0], getopt reset) and stores its status in *status; returns
 * 0 when no command matched.
 */
int desk_subcommand(int argc, char **argv, const struct desk_cmd *cmds,
    size_t n, int *status);
/* For a command with only the common options: its n operands, else usage. */
char **desk_operands(int argc, char **argv, int n);
/* A store id given as an argument (a case, a user): dies 64 naming what. */
uint64_t desk_id_arg(const char *s, const char *what);
/* The store directory: -s, else $DESK_STORE, $XDG_DATA_HOME/desk, ~/.local/share/desk. */
const char *desk_store_dir(void);
void desk_set_store_dir(const char *dir);

/* ---- key.c: keys and checksums ---- */

struct desk_key {
	unsigned char h[16];
};
/*
 * The key of (kind, parts...): BLAKE2b-128 over kind and each part with its
 * length, so no two different tuples share an encoding. Parts are given as
 * (const void *, size_t) pairs, nparts of them.
 */
void desk_key(struct desk_key *k, const char *kind, int nparts, ...);
void desk_key_id(struct desk_key *k, const char *kind, uint64_t id, const char *s);
uint32_t desk_crc32(const void *p, size_t n);
/* Wipes a secret from memory (sodium_memzero: not optimised away). */
void desk_wipe(void *p, size_t n);
uint32_t desk_hash32(const char *s, size_t n);
void desk_hex(const unsigned char *p, size_t n, char *out);

/* ---- store.c, log.c, slots.c, hx.c: the store (desk-store(5)) ---- */

struct desk_store;

/* A record's place in the log: segment << 40 | offset, and its length. */
struct desk_loc {
	uint64_t pos;
	uint32_t len;
};
#define DESK_POS(seg, off) (((uint64_t)(seg) << 40) | (uint64_t)(off))
#define DESK_POS_SEG(pos) ((uint32_t)((pos) >> 40))
#define DESK_POS_OFF(pos) ((pos) & (((uint64_t)1 << 40) - 1))

enum desk_kind {  /* id counters */
	DESK_USER, DESK_CASE, DESK_MESSAGE, DESK_CODE, DESK_OUT, DESK_NKINDS
};

enum {
	DESK_ST_CREATE = 1,   /* create the store when it does not exist */
	DESK_ST_LAZY = 2,     /* ... but only once something is written */
};

/*
 * Opens the store at desk_store_dir(); dies with 78 when it is missing, and
 * 77 when it, or a directory in it, is a symbolic link, belongs to another
 * user or is writable by group or others.
 */
struct desk_store *desk_store_open(int flags);
/* Creates a store opened DESK_ST_LAZY if it does not exist yet. */
void desk_store_create(struct desk_store *st);
void desk_store_close(struct desk_store *st);
const char *desk_store_root(struct desk_store *st);
int desk_store_fd(struct desk_store *st);
/*
 * The writer lock, taken for a whole batch: waits at most $DESK_LOCK_TIMEOUT
 * seconds (default 10) and then exits 75. Rolls forward what a writer that
 * died left in the log. Idempotent within a batch.
 */
void desk_store_lock(struct desk_store *st);
int desk_store_locked(struct desk_store *st);
/* Makes everything written so far durable (one syncfs), then unlocks. */
void desk_store_commit(struct desk_store *st);
/* Notes a write outside the log (rejects/, channels/) for the next commit. */
void desk_store_dirty(struct desk_store *st);
/* Allocates an id of the kind (under the lock). */
uint64_t desk_store_newid(struct desk_store *st, enum desk_kind kind);
uint64_t desk_store_nextid(struct desk_store *st, enum desk_kind kind);
/*
 * Replaces STORE/rel whole (tmp/, rename), mode applied; durable at commit.
 * Returns 0, or -1 with errno (the old file is intact).
 */
int desk_store_put(struct desk_store *st, const char *rel, const void *p,
    size_t n, int mode);
/*
 * openat, unlinkat, renameat, linkat and fstatat (not following a last
 * link) of STORE/rel, through the store's checked directory fds; -1 with
 * errno as those calls set it.
 */
struct stat;
int desk_store_open_file(struct desk_store *st, const char *rel, int flags, int mode);
int desk_store_unlink(struct desk_store *st, const char *rel);
int desk_store_rename(struct desk_store *st, const char *from, const char *to);
int desk_store_link(struct desk_store *st, const char *from, const char *to);
int desk_store_stat(struct desk_store *st, const char *rel, struct stat *sb);
/* A subdirectory ("channels", "tmp", ...) to read, from its start; NULL with errno. */
DIR *desk_store_opendir(struct desk_store *st, const char *sub);
/* The open directory fd of a subdirectory ("channels", "tmp", ...), or -1. */
int desk_store_dir_fd(struct desk_store *st, const char *sub);
/* Reads STORE/rel whole; malloc'd (NUL-terminated), or NULL with errno. */
char *desk_store_get(struct desk_store *st, const char *rel, size_t *n);

/* Appends rec (borrowed) to the log and applies it; dies 74 on I/O error. */
struct desk_loc desk_log_add(struct desk_store *st, jv rec);
/* The record at loc, owned; invalid with a message when damaged. */
jv desk_log_get(struct desk_store *st, struct desk_loc loc);
/* The record at pos when its length is not known. */
jv desk_log_get_at(struct desk_store *st, uint64_t pos);

/* Slots: fixed 64-byte entries by id, the derived state of a record kind. */
enum desk_table { DESK_T_USER, DESK_T_CASE, DESK_T_MESSAGE, DESK_T_CODE,
	DESK_T_OUT, DESK_NTABLES };
struct desk_slot {
	struct desk_loc rec;  /* the latest version of the record */
	uint8_t flags;        /* meaning per table */
	uint64_t a, b, c, d, e;
	uint32_t u, v;
};
/* 1 with *s filled, 0 when the id has no slot; dies 74 on damage. */
int desk_slot_get(struct desk_store *st, enum desk_table t, uint64_t id,
    struct desk_slot *s);
void desk_slot_put(struct desk_store *st, enum desk_table t, uint64_t id,
    const struct desk_slot *s);
/* One more than the highest id that has a slot file entry. */
uint64_t desk_slot_end(struct desk_store *st, enum desk_table t);

/* The hash index: key -> (value, aux). */
int desk_hx_get(struct desk_store *st, const struct desk_key *k,
    uint64_t *val, uint32_t *aux);
void desk_hx_put(struct desk_store *st, const struct desk_key *k,
    uint64_t val, uint32_t aux);

/* ---- apply.c: the derived state of each record ---- */

/* Applies rec (borrowed) at loc to slots and index; idempotent. */
void desk_apply(struct desk_store *st, jv rec, struct desk_loc loc);

/*
 * What an ident record (borrowed) sets on its user's slot: 1 with the
 * user's invalid codes in a row and the time of the lockout (0 for none)
 * after it, or 0 when it sets nothing (a throttled attempt, an old record).
 */
int desk_ident_effect(jv rec, uint64_t *failures, uint64_t *locked);

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
const char *desk_status_name(enum desk_status s);
int desk_status_parse(const char *s, enum desk_status *out);

/* ---- channel.c: the channel registry (channels/NAME.json) ---- */

int desk_channel_name_ok(const char *name);
/* The channel's configuration, owned; invalid when there is none. */
jv desk_channel_get(struct desk_store *st, const char *name);
int desk_channel_put(struct desk_store *st, jv ch);   /* borrows */
int desk_channel_rm(struct desk_store *st, const char *name);
/* Every channel, sorted by name. */
jv desk_channel_list(struct desk_store *st);
int desk_channel_is_sync(jv ch);

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
 * desk_user_change on the stored user, saved, and its name, company and
 * fields copied to every profile linked to it (directly or through earlier
 * links), so that linked users see one set of bound data; the user as now
 * stored. Invalid when there is no such user, or with a message (and
 * nothing written) when the fields would grow past their limit.
 */
jv desk_user_update(struct desk_store *st, uint64_t uid, jv changes, int64_t now,
    jv *report);
/*
 * Copies the bound data in changes (borrowed: name, company, fields) to
 * every profile linked to uid, directly or through earlier links, so that
 * linked users see one set of it. A profile whose fields would pass their
 * limit keeps its fields.
 */
void desk_user_share(struct desk_store *st, uint64_t uid, jv changes, int64_t now);
/* The user sel names by user_id, channel + user_custom_id, email or phone; 0 with *why. */
uint64_t desk_user_find(struct desk_store *st, jv sel, const char **why);
int desk_user_unlink(struct desk_store *st, uint64_t a, uint64_t b,
    int64_t now, const char **why);
/* Links two users' profiles (both ways); 0 or -1 with *why. */
int desk_user_link(struct desk_store *st, uint64_t a, uint64_t b,
    int64_t now, const char **why);

/* ---- case.c: cases and their messages ---- */

/*
 * The case a user's message on channel goes to, by the seed's last-chat rule:
 * the user's last case there; closed -> a new case; open or pending -> that
 * case; merged -> the case it was merged into. *created says which.
 */
uint64_t desk_case_for(struct desk_store *st, uint64_t user_id,
    const char *channel, const char *subject, int64_t now, int *created);
/* Follows merged_into to the surviving case. */
uint64_t desk_case_survivor(struct desk_store *st, uint64_t id);
/* The case as printed (record plus hot state), owned; invalid if none. */
jv desk_case_get(struct desk_store *st, uint64_t id);
/* The case's messages, oldest first (merged-in cases' too). */
jv desk_case_messages(struct desk_store *st, uint64_t id);
/* Writes a new version of a case record (consumes rec). */
void desk_case_save(struct desk_store *st, jv rec, int64_t now);
/* The raw record (owned). */
jv desk_case_record(struct desk_store *st, uint64_t id);
/*
 * Appends a message record (consumes msg: content, attachments, staff_id,
 * event data...) to case_id, filling message_id, case_id, created_at.
 * Returns the message id.
 */
uint64_t desk_message_add(struct desk_store *st, uint64_t case_id, jv msg,
    int64_t now);
jv desk_message_get(struct desk_store *st, uint64_t id);
/*
 * Stores a message from user uid on channel in the case the last-chat rule
 * picks, recording external (borrowed: the conversation's ids outside) on
 * the case. msg (consumed) has content, attachments, flags and event id.
 * Returns the stored message with user_id, case_id, message_id, trigger and
 * case_status.
 */
jv desk_user_message(struct desk_store *st, uint64_t uid, const char *channel,
    const char *subject, jv external, jv msg, int64_t now);

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
/* The canonical form of a code-shaped token (case folded); 0 if it cannot be a code. */
int desk_code_norm(const char *tok, char out[DESK_CODE_LEN + 1]);
/*
 * Issues a code bound to bind (borrowed: email | phone | channel and
 * user_custom_id, with name, company, fields), valid ttl seconds from now.
 * Only its keyed hash is stored. Returns the code's id.
 */
uint64_t desk_code_issue(struct desk_store *st, jv bind, int64_t ttl,
    int64_t now, char code[DESK_CODE_LEN + 1], int64_t *expires);
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
/* Failures per channel, then per store: COUNT/SECONDS,COUNT/SECONDS. */
#define DESK_IDENT_LIMITS_DEFAULT "30/60,120/60"
/* The index key of a throttle: channel's, or with NULL the store's. */
void desk_code_throttle_key(struct desk_key *k, const char *channel);
/* user (consumed) with ident_failures and ident_locked_at as they stand. */
jv desk_code_user_view(struct desk_store *st, uint64_t uid, jv user);
/* Wipes the store secret from memory. */
void desk_code_forget(void);

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
 * ("user_email", "user.email"; static storage). A wrapper that is not an
 * object is invalid too ("must be an object", *field = wrapper). Non-object
 * ev comes back unchanged.
 */
jv desk_api_aliases(jv ev, const char *wrapper, const char **field);

/* ---- reply.c: replies and the outbox ---- */

/*
 * Adds a reply (r borrowed: case_id, content, attachments, staff_id, via,
 * rule, source_id, id, reopen; already checked for types) under the lock,
 * and returns its message.out event; a replay returns the first one with
 * "duplicate": true. On refusal: invalid, with *field, *code (65, 1, 78)
 * and why.
 */
jv desk_reply_add(struct desk_store *st, jv r, int64_t now, const char **field,
    int *code, char *why, size_t whylen);
/* The message.out event of a reply's message record (borrowed). */
jv desk_message_out(jv m);
/* The queued message.out events; with all, the delivered too. */
jv desk_outbox(struct desk_store *st, int all);

/* ---- loop.c: the per-event loop every filter shares ---- */

struct desk_loop;
/* Called once per input value; consumes ev. */
typedef void (*desk_handler)(struct desk_loop *l, jv ev, void *ctx);

/*
 * Reads every JSON value from files (NULL or empty: stdin; "-": stdin),
 * calls h for each, writes what h emits once its store writes are durable
 * (group commit: whenever input has nothing more buffered), and quarantines
 * what cannot be parsed or what h rejects. Returns the exit status: 0, or 65
 * when anything was rejected. st may be NULL for tools without a store.
 */
int desk_loop_run(struct desk_store *st, char **files, desk_handler h,
    void *ctx);
/* Queues ev (consumed) for stdout at the next commit. */
void desk_emit(struct desk_loop *l, jv ev);
/*
 * Rejects the current record: an "error" event on stderr naming the input,
 * line, field and reason, the record's bytes quarantined in rejects/.
 * ev (borrowed, may be invalid) supplies the record's id if it has one.
 */
void desk_reject(struct desk_loop *l, jv ev, const char *field,
    const char *fmt, ...) DESK_PRINTF(4, 5);
/* desk_reject with the message of an invalid jv (consumed) as the reason. */
void desk_reject_invalid(struct desk_loop *l, jv ev, const char *field, jv why);
struct desk_store *desk_loop_store(struct desk_loop *l);
/* The whole filter: opens (creating) the store, runs the loop, closes. */
int desk_filter(char **files, desk_handler h, void *ctx);
/* Output for subcommands: v (consumed) as one line; dies 74 on a write error. */
void desk_out(jv v);
void desk_out_flush(void);

/* ---- fsck.c ---- */

/* Verifies (and with repair rebuilds) the store; returns the exit status. */
int desk_fsck(struct desk_store *st, int repair);

#endif
