/*
 * loop.h: the per-event loop every filter shares (lib/README).
 */
#ifndef DESK_LOOP_H
#define DESK_LOOP_H

#include "store/store.h"

/* ---- loop.c: the per-event loop every filter shares ---- */

struct desk_loop;
/* Called once per input value; consumes ev. */
typedef void (*desk_handler)(struct desk_loop *l, jv ev, void *ctx);

/* Masks what is secret in p[0..n) in place; returns how much it masked. */
typedef size_t (*desk_scrub)(char *p, size_t n);

/*
 * Reads every JSON value from files (NULL or empty: stdin; "-": stdin),
 * calls h for each, writes what h emits once its store writes are durable
 * (group commit: whenever input has nothing more buffered), and quarantines
 * what cannot be parsed or what h rejects, its bytes passed through scrub
 * first (unless NULL). Returns the exit status: 0, or 65 when anything was
 * rejected. st may be NULL for tools without a store.
 */
int desk_loop_run(struct desk_store *st, char **files, desk_handler h,
    desk_scrub scrub, void *ctx);
/*
 * Work a tool does while its input is idle: called with the input's fd
 * whenever the loop, having answered for all it read, would block reading
 * it; returns once fd is readable (or at its end).
 */
typedef void (*desk_wait)(int fd, void *ctx);
/* desk_loop_run with wait (wctx handed to it) run while input is idle. */
int desk_loop_run_wait(struct desk_store *st, char **files, desk_handler h,
    desk_scrub scrub, void *ctx, desk_wait wait, void *wctx);
/*
 * --progress and --no-progress, lines of a filter's options: the meter on
 * stderr (desk-case(1) PROGRESS) forced on or off; by default it is on
 * when stderr is a terminal and stdin is not. 1 when c was one of them.
 */
#define DESK_OPT_PROGRESS 0x101
#define DESK_OPT_NO_PROGRESS 0x102
#define DESK_PROGRESS_OPTIONS \
	{ DESK_OPT_PROGRESS, "progress", NULL, "show the progress meter " \
	    "(stderr) even off a terminal", NULL, 0 }, \
	{ DESK_OPT_NO_PROGRESS, "no-progress", NULL, "never show the progress " \
	    "meter", NULL, 0 }
int desk_progress_opt(int c);
/* Queues ev (consumed) for stdout at the next commit. */
void desk_emit(struct desk_loop *l, jv ev);
/* The buffer desk_emit queues stdout's output in, to append a line to. */
struct desk_buf *desk_emit_buf(struct desk_loop *l);
/*
 * The record's value with members added, printed from the record's bytes:
 * desk_emit_begin queues them but for the closing brace and returns 1, or
 * returns 0 and queues nothing when printing the value would not give them
 * back (white space, a key twice, an escape or a number printed otherwise).
 * Then desk_emit_member for each member (key and v borrowed; the key must
 * not be one the record has already), and desk_emit_end.
 */
int desk_emit_begin(struct desk_loop *l);
void desk_emit_member(struct desk_loop *l, const char *key, jv v);
void desk_emit_end(struct desk_loop *l);
/*
 * desk_emit of ev (the record being handled, as parsed) with add's members
 * added (both consumed): when desk_emit_begin can print the record from
 * its bytes and it has none of add's keys, its bytes with add's members
 * appended, so a filter that only adds does not write the event
 * anew; otherwise jv_object_merge(ev, add), written anew.
 */
void desk_emit_merged(struct desk_loop *l, jv ev, jv add);
/*
 * Quarantines p[0..n) as STORE/rejects/STAMP-PID-SEQ.raw (through scrub
 * first, unless NULL), with errev (consumed: the error event, given its
 * "reject" member) beside it as .json; durable at the next commit.
 * Returns the .raw file's name in the store, malloc'd; dies 74 when the
 * store cannot be written. For requests outside the loop (recv, serve).
 */
char *desk_quarantine(struct desk_store *st, const char *p, size_t n,
    desk_scrub scrub, jv errev);
/* The same for a server: NULL with e (74, what failed) instead of dying. */
char *desk_quarantine_try(struct desk_store *st, const char *p, size_t n,
    desk_scrub scrub, jv errev, struct desk_err *e);
/*
 * Rejects the current record: an "error" event on stderr naming the input,
 * line, field and reason, the record's bytes quarantined in rejects/.
 * ev (borrowed, may be invalid) supplies the record's id if it has one.
 */
/* desk_reject with the message of an invalid jv (consumed) as the reason. */
void desk_reject_invalid(struct desk_loop *l, jv ev, const char *field, jv why);
void desk_reject(struct desk_loop *l, jv ev, const char *field,
    const char *fmt, ...) DESK_PRINTF(4, 5);
/* desk_reject with the field and reason of a library function's refusal. */
void desk_reject_err(struct desk_loop *l, jv ev, const struct desk_err *e);
struct desk_store *desk_loop_store(struct desk_loop *l);
/* The bytes of the record being handled, as they came (borrowed). */
void desk_loop_record(struct desk_loop *l, const char **p, size_t *n);

/*
 * The dispatch by event type a tool fills: one handler per type it
 * handles. An event without a type is a "message"; a type that is not a
 * string is rejected ("must be a string"); a type without an entry goes to
 * other, or when other is NULL passes through unchanged.
 */
struct desk_on {
	const char *type;
	desk_handler h;
};
struct desk_dispatch {
	const struct desk_on *on;
	size_t n;
	desk_handler other;
	void *ctx;          /* handed to each handler */
};
/* A desk_handler whose ctx is a const struct desk_dispatch *. */
void desk_dispatch(struct desk_loop *l, jv ev, void *dispatch);
/* ---- filter.c: the loop over desk's store ---- */

/*
 * The tools' store: desk_store_dir() opened with desk's schema
 * (desk_store_open's flags) and the die wrapper on (desk_store_on_error
 * with desk_die_err): the first error the store records ends the tool,
 * where it happens, with the store's exit status and message. For the
 * filters and commands; long-running code opens with desk_store_open and
 * takes the errors the library returns.
 */
struct desk_store *desk_open(int flags);

/*
 * The whole filter: opens the store (desk_open, created by the first
 * record), runs the loop with identification codes masked in what it
 * quarantines, closes.
 */
int desk_filter(char **files, desk_handler h, void *ctx);
/*
 * A filter's command, for one with subcommands whose own options are
 * DESK_PROGRESS_OPTIONS: the subcommand argv names, else desk_filter
 * over its FILEs.
 */
int desk_filter_main(int argc, char **argv, desk_handler h, void *ctx);
/*
 * The options of an outbox command (desk-reply outbox, desk-webhook
 * outbox): --table sets the outbox view; 1 for --all. Dies 64 on operands.
 */
int desk_outbox_opts(int argc, char **argv);
/*
 * ev (consumed) in desk's names (desk_api_aliases, with wrapper); on a
 * conflict the event is rejected and invalid returned.
 */
jv desk_filter_names(struct desk_loop *l, jv ev, const char *wrapper);
/*
 * desk_code_mask_event on the record being handled (ev, consumed), but only
 * when its bytes could hold a code at all (desk_code_may_hide): most
 * records cannot, and are passed on as they are.
 */
jv desk_filter_mask(struct desk_loop *l, jv ev);

/* ---- send.c: the delivery engine (desk-webhook send) ---- */

struct desk_send_opts {
	int drain;              /* deliver what is due, then exit */
	long per_host;          /* connections per host at most */
	long in_flight;         /* deliveries in flight at once at most */
	char **files;           /* the filter's input (NULL: stdin) */
};
#define DESK_SEND_PER_HOST 8
#define DESK_SEND_IN_FLIGHT 64
/*
 * desk-webhook send: as a filter (message.out in, delivery events out,
 * everything else passed through) or with drain set, what is due and
 * exit. The exit status: the filter's (0, 65), or for a drain 0 when
 * nothing is left to deliver and 75 when some is left for later.
 */
int desk_send(const struct desk_send_opts *o);

/* ---- serve.c: desk-webhook serve, the HTTP receiver ---- */

struct desk_serve_opts {
	const char *listen;       /* ADDR:PORT or [ADDR6]:PORT; port 0: any */
	const char *port_file;    /* NULL, or where the port bound is written */
	size_t max_body;          /* bytes of a request body */
	unsigned max_conn;        /* connections at once */
	unsigned timeout;         /* seconds a connection may be idle */
	size_t emit_buffer;       /* bytes of events held for stdout */
};
/*
 * Serves the channels of the store in dir (desk-webhook(1) SERVING) until
 * SIGTERM or SIGINT, the accepted events on stdout; then answers the
 * requests in flight, writes out every accepted event and returns 0. -1
 * with e when it cannot start (64, 69, the store's 74 to 78) or stdout
 * failed (74). When the store fails while serving, the requests of that
 * batch are answered 503 and the store is opened again.
 */
int desk_serve(const char *dir, const struct desk_serve_opts *o,
    struct desk_err *e);

/* ---- main.c: a tool's main ---- */

/*
 * Sets the tool's name (desk_setprog), then runs root's command tree
 * (desk_run); "TOOL __complete WORD..." prints the completions of a
 * command line instead (desk_complete: channels and cases from the store
 * when there is one; the values of other tags from more, unless NULL).
 */
int desk_main(int argc, char **argv, const struct desk_command *root,
    void (*more)(const char *tag, const char *cur));

/* ---- views.c: what the tools show people ---- */

/* The --table columns of cases, messages, channels, outbox entries, users. */
extern const struct desk_view desk_view_cases, desk_view_messages,
    desk_view_channels, desk_view_outbox, desk_view_users, desk_view_rules;
/* m (consumed) with "from": who wrote it ("Ann (user 3)", "agent 7", "API", "rule R"). */
jv desk_view_message(struct desk_store *st, jv m);
/*
 * Case c (borrowed) and its messages (borrowed, oldest first) as a
 * conversation into b: who, when, what; replies marked agent, API or rule;
 * a merged case's messages marked with the case they came from.
 */
void desk_view_thread(struct desk_buf *b, struct desk_store *st, jv c, jv msgs,
    int colour);

#endif
