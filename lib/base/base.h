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
/*
 * desk_again: the command run again from its start, as a new image of the
 * program (execv of /proc/self/exe with the argv desk_again_arm kept), for
 * a read the store says it may do again (desk_store_on_again); at most 3
 * times, and only while the command has printed nothing to stdout
 * (desk_write_all) and read no input: whatever reads stdin, or a file that
 * may be a pipe, calls desk_input_taken first. Returns when it may not.
 */
void desk_again_arm(char **argv);
void desk_input_taken(void);
void desk_again(void);
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
/* Writes all of p at off, retrying short writes and EINTR; 0, or -1 with errno set. */
int desk_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
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
 * Appends the object o (borrowed) with key: v (borrowed) put first and
 * any key of o's own left out: what setting key in a new object and
 * merging o into it prints, without building that object.
 */
void desk_json_dump_with(struct desk_buf *b, const char *key, jv v, jv o);

/*
 * Borrowing getters: o is borrowed and so is the result, valid while o is
 * alive and not modified. Absent keys, and o not being an object, give the
 * "absent" answer (invalid jv, NULL, 0).
 */
jv desk_jget(jv o, const char *key);
const char *desk_jstr(jv o, const char *key);
/* 1 and *s, *n for a string; 0 otherwise. */
int desk_jstrn(jv o, const char *key, const char **s, size_t *n);
int desk_jstrn_of(jv v, const char **s, size_t *n);
/* 1 when key holds an integral number within ±2^53. */
int desk_jint(jv o, const char *key, int64_t *v);
/* The same for a value v (borrowed), as desk_jget gave it. */
int desk_jint_of(jv v, int64_t *out);
int desk_jhas(jv o, const char *key);
/*
 * desk_jget of each of the n keys at once (out[i] for keys[i], borrowed),
 * in one walk over o's members instead of a lookup each: for an object of
 * few members asked for many.
 */
void desk_jgets(jv o, const char *const *keys, size_t n, jv *out);
/* The same, calling each(k, v, ctx) (both borrowed) for every member on the way. */
void desk_jgets_each(jv o, const char *const *keys, size_t n, jv *out,
    void (*each)(jv k, jv v, void *ctx), void *ctx);
/* Setters consume o and v and return the new object. */
jv desk_jset(jv o, const char *key, jv v);
jv desk_jset_str(jv o, const char *key, const char *s);
jv desk_jset_int(jv o, const char *key, int64_t v);
jv desk_jdel(jv o, const char *key);
jv desk_jstring(const char *s, size_t n);
/*
 * A copy of the value of the JSON text json (a literal, known by its
 * address), parsed once per thread and kept (for up to four texts; jv's
 * counts are not atomic): a new record whose members are mostly the same
 * every time is that copy with its own values set over the members it
 * has, which keeps them in the text's order, instead of being built
 * member by member.
 */
jv desk_jproto(const char *json);
/*
 * What desk_jproto(proto) with values set over its members keys[0..v->n)
 * would print as desk_json_dump_with prints it, "rec": type first: the
 * record, without the copy built. v holds the values, printed (keys in
 * proto's order; each's own value in proto a scalar, [] or {}); the text
 * goes to b but for its closing brace, to add members after; v is freed.
 */
#define DESK_JVALS_MAX 8
struct desk_jvals {
	struct desk_buf b;
	size_t off[DESK_JVALS_MAX], n;
};
#define DESK_JVALS_INIT { DESK_BUF_INIT, { 0 }, 0 }
/* The next value: printed into what this returns (at most DESK_JVALS_MAX). */
struct desk_buf *desk_jvals_next(struct desk_jvals *v);
void desk_jvals_int(struct desk_jvals *v, uint64_t x);
/* A string (s[0..n)), or null when s is NULL. */
void desk_jvals_str(struct desk_jvals *v, const char *s, size_t n);
void desk_jproto_print(struct desk_buf *b, const char *type,
    const char *proto, const char *const *keys, struct desk_jvals *v);
/* Compact text of v (borrowed), malloc'd, NUL-terminated. */
char *desk_json_text(jv v);

/* ---- jscan.c: members found in a JSON object's bytes ---- */

struct desk_jspan {
	const char *p;
	size_t n;
};
#define DESK_JSON_MEMBERS_MAX 32
/*
 * The values of members keys[0..nkeys) of the object p[0..n), as bytes:
 * out[i] is keys[i]'s value (the last, for a key given twice), p NULL
 * when it has none. 0, or -1 when p is not one object of sound structure
 * (strings closed, brackets matched, nothing after it) or has a key with
 * an escape: then parse it. The values are not checked; parse those used.
 */
int desk_json_members(const char *p, size_t n, const char *const *keys,
    size_t nkeys, struct desk_jspan *out);
/*
 * The elements of the array p[0..n) as bytes, as desk_json_members finds
 * an object's values (structure checked, values not): how many, or -1
 * when p is not one array of sound structure or has more than max.
 */
int desk_json_elements(const char *p, size_t n, struct desk_jspan *out,
    size_t max);
/* The value of s's bytes: desk_json_parse_all of them, sooner. */
jv desk_json_span_parse(struct desk_jspan s);
/*
 * text with each sp[i].at (spans of it that do not overlap, in any order:
 * sp is sorted into text's) replaced by sp[i].by's bytes, appended to b:
 * a record printed again from its old bytes with only what changed
 * printed anew. An empty by keeps its span.
 */
struct desk_jsplice {
	struct desk_jspan at;
	struct desk_buf by;
};
void desk_json_splice(struct desk_buf *b, struct desk_jspan text,
    struct desk_jsplice *sp, size_t n);
/*
 * Where the value of key starts in the JSON object text p (n bytes), at
 * its top level, or NULL when it has no such key: the members before it
 * skipped as desk_json_members skips them, nothing parsed, and the walk
 * stops at the key, so for text known to be valid JSON (the store's own
 * records) read for a field or two. A key is compared as it is written,
 * escapes and all.
 */
const char *desk_json_skim(const char *p, size_t n, const char *key);

/* ---- out.c: what subcommands print ---- */

/* Output for subcommands: v (consumed) as one line; dies 74 on a write error. */
void desk_out(jv v);
/* Each value of list (an array, consumed) as desk_out, flushed; how many. */
int desk_out_all(jv list);
void desk_out_flush(void);

/* ---- table.c: --table, the view for people ---- */

/* A value of a column shown in a colour (an SGR code: "32", "1;31"). */
struct desk_hue {
	const char *value, *sgr;
};
#define DESK_COL_RIGHT 1    /* aligned right (numbers) */
#define DESK_COL_TIME 2     /* an RFC 3339 time shown as "YYYY-MM-DD HH:MM" */
struct desk_col {
	const char *title;
	const char *key;              /* member of each row, "a.b" for nested */
	unsigned max;                 /* widest the column grows; 0: the data's */
	unsigned flags;
	const struct desk_hue *hues;  /* NULL, or ends with { NULL, NULL } */
};
struct desk_view {
	const struct desk_col *cols;
	size_t n;
};
#define DESK_VIEW(cols) { cols, sizeof cols / sizeof *cols }
/* --table, a line of a command's options (opt.c): desk_getopt returns DESK_OPT_TABLE. */
#define DESK_OPT_TABLE 0x100
#define DESK_TABLE_OPTION { DESK_OPT_TABLE, "table", NULL, \
	"aligned columns for people instead of JSON Lines", NULL, 0 }
/*
 * From now on desk_out collects its values as rows of v, printed as one
 * table at desk_out_flush (nothing for no rows); NULL: JSON Lines again.
 */
int desk_out_view(const struct desk_view *v);
/* desk_out's side: 1 when v (consumed) was taken as a row. */
int desk_out_row(jv v);
void desk_out_view_flush(void);
/* rows (borrowed, an array of objects) as a table of v into b; limit: cells a line may take (0: any). */
void desk_table_print(struct desk_buf *b, const struct desk_view *v, jv rows,
    int colour, size_t limit);
/* Terminal cells s[0..n) takes (UTF-8; control characters one each). */
size_t desk_text_width(const char *s, size_t n);
/*
 * s[0..n) into b in at most width cells, control characters as spaces,
 * cut with "…" when longer; the cells written.
 */
size_t desk_text_cell(struct desk_buf *b, const char *s, size_t n, size_t width);
/* 1 when fd is a terminal and NO_COLOR is unset or empty. */
int desk_colour(int fd);

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
/* The same and desk_jgets(ev, keys, n, out), in one walk over ev. */
int desk_err_sizes_gets(jv ev, const char *const *keys, size_t n, jv *out,
    struct desk_err *e);
/* The same for one object of fields (borrowed). */
const char *desk_check_fields(jv f, char *why, size_t n);

/* ---- time.c: the clock ---- */

/* Now, in Unix seconds: $DESK_NOW (RFC 3339 or Unix seconds) when set. */
int64_t desk_now(void);
/* RFC 3339 ("2026-11-21T09:30:00Z", "...+03:00", fractions) or seconds. */
int desk_time_parse(const char *s, int64_t *t);
/* "YYYY-MM-DDTHH:MM:SSZ"; out must hold 32 bytes. */
char *desk_time_fmt(int64_t t, char *out);
/* The same, valid until the next call of the thread; desk_jtime as a jv. */
const char *desk_time_text(int64_t t);
jv desk_jtime(int64_t t);
/* Seconds on the monotonic clock, for deadlines and ages (not DESK_NOW's). */
double desk_mono(void);

/* ---- opt.c: the options every tool shares ---- */

/*
 * A tool is a tree of commands (struct desk_command), each with its table
 * of options (struct desk_opt): the one source of what the option parser
 * accepts (desk_getopt), of --help and help COMMAND (desk_help), and of
 * the shell completions (desk_complete). A new option is one line in its
 * command's table: key, name, argument, help, values.
 */

/* Completion tags for desk_opt.values and desk_command.operands. */
#define DESK_V_FILE ":file"
#define DESK_V_DIR ":dir"
#define DESK_V_CHANNEL ":channel"
#define DESK_V_CONNECTOR ":connector"
#define DESK_V_CASE ":case"

enum { DESK_OPT_SHORT = 1 };    /* the key is a short option (-k) too */

struct desk_opt {
	int key;             /* what desk_getopt returns for it: unique in its
	                        table, and not 's', 'h' or 'V' (the common ones) */
	const char *name;    /* the long option, without "--" */
	const char *arg;     /* its argument's name in the help; NULL: none */
	const char *help;    /* what it does, one line */
	const char *values;  /* completion: words ("open pending closed") or a DESK_V_* tag */
	int flags;           /* DESK_OPT_* */
};

enum { DESK_CMD_INORDER = 1 };  /* options end at the first operand */

struct desk_command {
	const char *name;    /* the tool's name for the root */
	int (*fn)(int argc, char **argv);   /* NULL: only its subcommands */
	/* The forms after the command's name, one a line; a line that starts
	 * with a space continues the form above it. */
	const char *synopsis;
	const char *about;   /* what it does; its first line is its summary */
	const struct desk_opt *opts;         /* ends with a zero key, or NULL */
	const struct desk_command *subs;     /* ends with a NULL name, or NULL */
	const char *env;     /* the DESK_* variables that apply, space-separated */
	const char *operands;   /* completion of operands: words or a DESK_V_* tag */
	int flags;           /* DESK_CMD_* */
};

/* The end of a table of options, of commands. */
#define DESK_OPT_END { 0, NULL, NULL, NULL, NULL, 0 }
#define DESK_CMD_END { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0 }
/* --field K=V, as desk_field_arg reads it. */
#define DESK_OPT_FIELD(key, what) { key, "field", "K=V", what ": K=V a string, " \
	"K:=JSON any value, null removes it (repeatable)", NULL, 0 }

/* The variables every command that reads or writes the store looks at. */
#define DESK_ENV_READ "DESK_STORE"
#define DESK_ENV_WRITE DESK_ENV_READ " DESK_NOW DESK_SYNC DESK_LOCK_TIMEOUT " \
	"DESK_SEGMENT_SIZE DESK_MAX_RECORD"

/*
 * Runs the command tree from root: the command argv names (help and
 * help COMMAND... too), its fn with argv from its name on. Call it from
 * main after desk_setprog.
 */
int desk_run(const struct desk_command *root, int argc, char **argv);
/* The command running and its path ("desk-webhook channel add"). */
const struct desk_command *desk_command_cur(void);
const char *desk_command_path(void);
/* Prints the help of the running command to stdout, exits 0 (74). */
_Noreturn void desk_help(void);
/*
 * A usage error: "prog: reason" and "Try 'PATH --help'." on stderr, exit
 * 64. desk_die(DESK_EX_USAGE, ...) prints the same.
 */
_Noreturn void desk_usage_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* "Try 'PATH --help'.": what a usage error ends with. */
const char *desk_usage_hint(void);
/*
 * getopt_long over the running command's table and the common options
 * (-s, -h, -V, handled here, as are unknown options and missing
 * arguments): returns the key of one of the command's options, or -1 at
 * the end.
 */
int desk_getopt(int argc, char **argv);
/*
 * The candidates that complete the last of words (n of them, after the
 * tool's name) for root, on stdout, one a line: "WORD\tDESCRIPTION";
 * ":file" or ":dir" for the shell's own file completion. values(tag, cur)
 * prints those of a DESK_V_* tag through desk_complete_add.
 */
int desk_complete(const struct desk_command *root, int n, char **words,
    void (*values)(const char *tag, const char *cur));
/* One candidate, printed when it starts with cur (less its prefix). */
void desk_complete_add(const char *word, const char *desc);
/* The help of a DESK_* variable (env.c), or NULL for one no tool reads. */
const char *desk_env_help(const char *name);
/* The name of the n-th DESK_* variable any tool reads, NULL past the last. */
const char *desk_env_name(size_t n);
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
/*
 * When argv[optind] names one of the running command's subcommands (or
 * is help), runs it with argv from there (its name as argv[0], getopt
 * reset) and stores its status in *status; returns 0 when none matched.
 */
int desk_subcommand(int argc, char **argv, int *status);
/* desk_subcommand's status, else a usage error naming what is wrong. */
int desk_subcommands(int argc, char **argv);
/* For a command with only the common options: its n operands, else usage. */
char **desk_operands(int argc, char **argv, int n);
/*
 * For a command whose options are desk_view_opts (--table alone): its n
 * operands, else usage; --table shows what it prints as rows of v.
 */
extern const struct desk_opt desk_view_opts[];
char **desk_view_operands(int argc, char **argv, int n, const struct desk_view *v);
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
/*
 * Makes k a key kept near the keys of group (the index puts it in group's
 * home bucket while that has room): 80 bits of k's hash are left, bytes
 * 10 and 11 are the mark below and 12 to 15 name group's bucket.
 */
#define DESK_KEY_NEAR0 0xd5
#define DESK_KEY_NEAR1 0x6b
void desk_key_near(struct desk_key *k, const struct desk_key *group);
uint32_t desk_crc32(const void *p, size_t n);
/* Wipes a secret from memory (sodium_memzero: not optimised away). */
void desk_wipe(void *p, size_t n);
uint32_t desk_hash32(const char *s, size_t n);
void desk_hex(const unsigned char *p, size_t n, char *out);

#endif
