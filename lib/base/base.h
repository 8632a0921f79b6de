/*
 * base.h: libdesk's base layer: errors, memory and buffers, the DESK_*
 * environment, JSON and jv helpers, limits, time, options and keys. It
 * knows no store, no record type and no domain object (lib/README).
 *
 * Ownership of jv values: libjq's header says "all jv_* functions consume
 * their inputs", which is not true of every call (jv_get_kind,
 * jv_string_value, jv_number_value, jv_is_integer borrow). Every function
 * here says which of its jv arguments it consumes ("consumes") and which it
 * only looks at ("borrows"); a returned jv is owned by the caller unless it
 * says "borrowed".
 */
#ifndef DESK_BASE_H
#define DESK_BASE_H

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
struct desk_err;
/* The die wrapper over an error returned: "prog: msg", exit e->code. */
_Noreturn void desk_die_err(const struct desk_err *e);
/*
 * What a function that does not die returns on refusal: the exit status
 * the refusal maps to (DESK_EX_*), the field at fault (static storage, or
 * NULL) and the reason, one line.
 */
struct desk_err {
	int code;
	const char *field;
	char msg[256];
	char fieldbuf[96];    /* where field is, when it is made up */
};
/* Fills *e; returns -1, for "return desk_err_set(e, ...)". */
/* The same with a reason already made, which may be e->msg itself. */
int desk_err_why(struct desk_err *e, int code, const char *field,
    const char *why);
int desk_err_set(struct desk_err *e, int code, const char *field,
    const char *fmt, ...) DESK_PRINTF(4, 5);
int desk_err_vset(struct desk_err *e, int code, const char *field,
    const char *fmt, va_list ap) DESK_PRINTF(4, 0);
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
/* Writes b whole to fd and empties it; dies 74 naming what on error. */
void desk_buf_write(struct desk_buf *b, int fd, const char *what);

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
/* Failures per channel, then per store: COUNT/SECONDS,COUNT/SECONDS. */
#define DESK_IDENT_LIMITS_DEFAULT "30/60,120/60"
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
/*
 * desk_json_parse, and *canon set when desk_json_dump of the value gives
 * back p[0..*used) byte for byte: no white space, no duplicate key, no
 * escape the printer would write otherwise (\u, \/), only whole numbers of
 * at most 15 digits. A tool that only adds members can then print the
 * record's own bytes instead of the value.
 */
int desk_json_parse_canon(const char *p, size_t n, int eof, jv *out,
    size_t *used, struct desk_jerr *err, int *canon);
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

/* ---- out.c: what subcommands print ---- */

/* Output for subcommands: v (consumed) as one line; dies 74 on a write error. */
void desk_out(jv v);
/* Each value of list (an array, consumed) as desk_out, flushed; how many. */
int desk_out_all(jv list);
void desk_out_flush(void);

/* ---- limits.c: how big what desk stores may grow (desk-store(5)) ---- */

/*
 * An input record; its stored message stays under the store's limit on a
 * record (DESK_REC_MAX, store/store.h, which checks that it does).
 */
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
#define DESK_MAX_LABELS 100           /* labels of one case */

/* The stored (compact JSON) size of v (borrowed). */
size_t desk_json_size(jv v);
/*
 * Checks the fields of an event that desk copies into records against the
 * limits above (and for NUL bytes in the strings used as keys or names):
 * NULL when they will do, else the reason (in why, or static) and *field.
 */
const char *desk_check_sizes(jv ev, const char **field, char *why, size_t n);
/* desk_check_sizes as a desk_err (65): 0, or -1 with *e. */
int desk_err_sizes(jv ev, struct desk_err *e);
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
/* Seconds on the monotonic clock, for deadlines and ages (not DESK_NOW's). */
double desk_mono(void);

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

#endif
