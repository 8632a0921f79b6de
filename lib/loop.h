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
struct desk_store *desk_loop_store(struct desk_loop *l);
/* The whole filter: opens (creating) the store, runs the loop, closes. */
int desk_filter(char **files, desk_handler h, void *ctx);

#endif
