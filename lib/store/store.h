/*
 * store.h: the storage engine's interface (lib/README): the store
 * directory, its lock and commit, the log, slots and the hash index. It
 * knows records, positions and keys; what a record means is the schema's.
 */
#ifndef DESK_STORE_STORE_H
#define DESK_STORE_STORE_H

#include <dirent.h>

#include "base/base.h"

/* ---- store.c, slots.c, hx.c: the store (desk-store(5)) ---- */

struct desk_store;

/* A slot holds a record's length in 24 bits: no record reaches 16 MiB. */
#define DESK_REC_MAX ((1u << 24) - 1)
_Static_assert(DESK_MAX_INPUT < DESK_REC_MAX,
    "an input record fits in a stored record (limits.c bounds the rest)");

/* A record's place in the log: segment << 40 | offset, and its length. */
struct desk_loc {
	uint64_t pos;
	uint32_t len;
};
#define DESK_POS(seg, off) (((uint64_t)(seg) << 40) | (uint64_t)(off))
#define DESK_POS_SEG(pos) ((uint32_t)((pos) >> 40))
#define DESK_POS_OFF(pos) ((pos) & (((uint64_t)1 << 40) - 1))

/* At most this many slot tables and id counters: the schema says which. */
#define DESK_ST_TABLES 8
#define DESK_ST_COUNTERS 8

enum {
	DESK_ST_CREATE = 1,   /* create the store when it does not exist */
	DESK_ST_LAZY = 2,     /* ... but only once something is written */
};

/*
 * What the layer above hands the engine at open: what a record means for
 * the derived state. The engine calls apply (rec borrowed; it must be
 * idempotent) for every record it appends and every record it rolls
 * forward, and knows nothing else of what records hold. Tables and
 * counters are known to the engine by index only: table t is the file
 * index/tables[t].slots, counter k is "next" of counters[k] in the state.
 */
struct desk_slot;
/* A slot's field as the schema names it, for fsck's findings. */
struct desk_field {
	const char *name;
	uint64_t value;
};
#define DESK_ST_FIELDS 12
struct desk_schema {
	void (*apply)(struct desk_store *st, jv rec, struct desk_loc loc);
	int ntables;                      /* 1 to DESK_ST_TABLES */
	const char *const *tables;
	int ncounters;                    /* 1 to DESK_ST_COUNTERS */
	const char *const *counters;
	/*
	 * The describer (may be NULL): fills f with what a slot of table t
	 * holds, by name, and returns how many (at most DESK_ST_FIELDS); where
	 * the record is (rec) is the engine's own. desk_store_check names the
	 * fields that differ with it.
	 */
	int (*slot_fields)(int t, const struct desk_slot *s, struct desk_field *f);
	/*
	 * For desk_store_compact (may be NULL: nothing is left out): 1 when
	 * rec, at loc in a sealed segment, may be left out of the log because
	 * the derived state does not change without it. st is the live store
	 * (not locked: what it says may only grow newer), kept the state
	 * applied from the records kept so far, in log order. It must be
	 * monotone: a record left out is never needed by anything written
	 * after. Only the schema knows what a record means, so only it says.
	 */
	int (*superseded)(struct desk_store *st, struct desk_store *kept, jv rec,
	    struct desk_loc loc);
	/*
	 * apply for a record given as its type and its other members (fields
	 * borrowed, without "rec"), as desk_log_add_as appends it (may be
	 * NULL: the engine builds the record for apply).
	 */
	void (*apply_as)(struct desk_store *st, const char *type, jv fields,
	    struct desk_loc loc);
	/*
	 * The tables in the order a batch's slots are written (may be NULL:
	 * by number), each before those whose slots point into it: a reader
	 * that takes no lock sees the files between two writes, or after the
	 * writer was killed, and must not follow a pointer to a slot not yet
	 * written. The index (keys.hx) goes after all of them.
	 */
	const int *write_order;
};

/*
 * Errors. No function of the store dies: one that fails records the first
 * error in the store (its exit status: 74 for I/O and damage, 75 for a
 * lock timeout, 77, 78, 70 for an internal error; and the message) and
 * returns -1, 0, NULL or an invalid jv as it says. From then on the store
 * is in its error state (SQLite's pager has one): every write is refused
 * (returns failure, nothing written), commit writes no state and syncs
 * nothing but lets go of the lock, so what the batch appended is left as
 * a killed writer leaves it, for the next writer's roll-forward. Reads
 * still work. Only closing the store ends the state; a long-running
 * caller closes it and opens it again.
 *
 * desk_store_error: the first error, or NULL while there is none.
 * desk_store_err: 0, or -1 with a copy of it in *e (e may be NULL).
 * desk_store_fail(_errno): records an error (the _errno form appends
 * ": strerror(errno)") unless one is recorded already; returns -1. For
 * the layers above, about what they read from or write to the store.
 * desk_store_on_error: has fatal called with the first error when it is
 * recorded (at once if it already is): the tools' die wrapper
 * (desk_open, lib/filter.c), which never returns.
 */
/*
 * desk_store_on_again: has again called, before the error is recorded,
 * when a read without the lock fails on what a swap of the store's files
 * explains (desk-case compact or fsck --repair renamed the index or a
 * segment in while it read: two stores, not damage). again may run the
 * read anew (the tools run themselves again, lib/base/util.c); if it
 * returns, the error is recorded as a temporary failure (75).
 */
void desk_store_on_again(struct desk_store *st, void (*again)(void));
const struct desk_err *desk_store_error(const struct desk_store *st);
int desk_store_err(const struct desk_store *st, struct desk_err *e);
/* A verb's answer: out (consumed), or invalid with *e when the store failed. */
jv desk_store_result(const struct desk_store *st, jv out, struct desk_err *e);
int desk_store_fail(struct desk_store *st, int code, const char *fmt, ...)
    DESK_PRINTF(3, 4);
int desk_store_fail_errno(struct desk_store *st, int code, const char *fmt, ...)
    DESK_PRINTF(3, 4);
void desk_store_on_error(struct desk_store *st,
    void (*fatal)(const struct desk_err *));

/*
 * Opens the store in dir, its records applied by schema (not NULL). Always
 * returns a store (free it with desk_store_close); it is in its error
 * state (desk_store_error) with 78 when the store is missing, and 77 when
 * it, or a directory in it, is a symbolic link, belongs to another user or
 * is writable by group or others.
 */
struct desk_store *desk_store_open(const char *dir, int flags,
    const struct desk_schema *schema);
/* Creates a store opened DESK_ST_LAZY if it does not exist yet: 0 or -1. */
int desk_store_create(struct desk_store *st);
/* Closes st, first calling what desk_store_on_close registered, newest first. */
void desk_store_close(struct desk_store *st);
/*
 * Has fn(ctx) called when st is closed: for a layer above to wipe what it
 * loaded from this store (a secret). At most DESK_ST_HOOKS of them: 0, or
 * -1 (70) when there is no room left.
 */
#define DESK_ST_HOOKS 4
int desk_store_on_close(struct desk_store *st, void (*fn)(void *), void *ctx);
/*
 * A block of size bytes that a layer above keeps with this handle (a cache
 * of what it read through it, so that two stores open in one process never
 * share it): zeroed at the first call with tag (the address of something of
 * the caller's own), the same block after; fini(block) is called at close,
 * then the block freed (wipe secrets in fini). At most DESK_ST_HOOKS of
 * them: NULL with the store failed (70) past that.
 */
void *desk_store_ext(struct desk_store *st, const void *tag, size_t size,
    void (*fini)(void *));
const char *desk_store_root(struct desk_store *st);
int desk_store_fd(struct desk_store *st);
/*
 * The writer lock, taken for a whole batch: waits at most $DESK_LOCK_TIMEOUT
 * seconds (default 10), polling without a signal, and then fails with 75.
 * Rolls forward what a writer that died left in the log. Idempotent within
 * a batch. 0, or -1 with the store failed.
 */
int desk_store_lock(struct desk_store *st);
int desk_store_locked(struct desk_store *st);
/*
 * Writes what the batch held back, makes every file and directory it
 * touched durable (fdatasync, fsync: not the whole filesystem), writes
 * the state, then unlocks: 0, or -1 when the store is in its error state
 * (nothing made durable, no state written).
 */
int desk_store_commit(struct desk_store *st);
/* Notes a write outside the log (rejects/, channels/) for the next commit. */
void desk_store_dirty(struct desk_store *st);
/* Allocates an id from counter k (under the lock); 0 on failure. */
uint64_t desk_store_newid(struct desk_store *st, int k);
uint64_t desk_store_nextid(struct desk_store *st, int k);
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
/* The open directory fd of a subdirectory ("channels", "tmp", ...), or -1. */
int desk_store_dir_fd(struct desk_store *st, const char *sub);
/* A subdirectory ("channels", "tmp", ...) to read, from its start; NULL with errno. */
DIR *desk_store_opendir(struct desk_store *st, const char *sub);
/*
 * A new file in tmp/, open for writing, its name in the store ("tmp/N.M")
 * in name: link or rename it into place (desk_store_link, _rename), or
 * unlink it. The fd, or -1 with errno.
 */
int desk_store_tmp(struct desk_store *st, char *name, size_t n);
/* Reads STORE/rel whole; malloc'd (NUL-terminated), or NULL with errno. */
char *desk_store_get(struct desk_store *st, const char *rel, size_t *n);

/*
 * desk_store_compact: rewrites the sealed log segments (those before the
 * one being appended to) without the records the schema's superseded
 * says may go, while other writers go on: the lock is taken only to roll
 * the derived files built meanwhile up to the log's end and swap them and
 * the segments in, through a journal (STORE/compact) that the next lock
 * finishes if the swap was cut short. 0 with *cs filled, or -1 with the
 * store failed (75 when another repair or compaction came first).
 */
struct desk_compact_stats {
	uint64_t segments, rewritten;     /* sealed, and rewritten of them */
	uint64_t records, dropped;        /* in the sealed segments */
	uint64_t bytes_before, bytes_after;   /* of the sealed segments */
	uint64_t tail;                    /* records applied under the lock */
	double lock_s;                    /* how long the lock was held */
};
int desk_store_compact(struct desk_store *st, struct desk_compact_stats *cs);

/*
 * Appends rec (borrowed) to the log and applies it; on failure (74, and
 * the store failed) a loc of length 0. The record, and the slots and keys
 * apply sets, are held back to be written with the batch's others (at the
 * commit, or sooner past a bound): reads under the lock see them, and a
 * write that fails then fails the commit.
 */
struct desk_loc desk_log_add(struct desk_store *st, jv rec);
/*
 * The same for the record {"rec": type, then fields' members but a "rec"}
 * (fields borrowed), printed and applied without being built; what
 * desk_log_get_without(..., "rec") reads back is fields, kept as it is.
 */
struct desk_loc desk_log_add_as(struct desk_store *st, const char *type,
    jv fields);
/*
 * The same for a record printed without a value built (p[0..n), what
 * desk_json_dump would print of it, of type): apply(st, loc, ctx), the
 * schema's, applies what the caller knows of it, as the schema's apply
 * would of the record read back.
 */
struct desk_loc desk_log_add_bytes(struct desk_store *st, const char *type,
    const char *p, size_t n,
    void (*apply)(struct desk_store *, struct desk_loc, void *), void *ctx);
/* The record at loc, owned; invalid with a message when damaged. */
jv desk_log_get(struct desk_store *st, struct desk_loc loc);
/*
 * The same without its member key (a literal the caller keeps), cached so:
 * deleting it from what the cache shares would copy the whole record.
 */
jv desk_log_get_without(struct desk_store *st, struct desk_loc loc,
    const char *key);
/*
 * The bytes of the record at loc without its newline (*n of them), read
 * into b or where the batch holds them: valid until b or the log changes.
 * NULL when they cannot be read whole; desk_log_get then says why.
 */
const char *desk_log_raw(struct desk_store *st, struct desk_loc loc,
    struct desk_buf *b, size_t *n);
/*
 * The bytes desk_log_add printed for the record it appended last (*n of
 * them, no newline), valid until the next; NULL when the last failed.
 */
const char *desk_log_last(struct desk_store *st, size_t *n);
/* The record at pos when its length is not known. */
jv desk_log_get_at(struct desk_store *st, uint64_t pos);

/*
 * Slots: fixed 64-byte entries by id in table t, the derived state of a
 * record kind. The engine stores the words; what they mean per table is
 * the schema's (schema/schema.h names them).
 */
struct desk_slot {
	struct desk_loc rec;  /* the latest version of the record */
	uint8_t flags;
	uint64_t word[5];
	uint32_t half[2];
};
/* 1 with *s filled, 0 when the id has no slot or on failure (74). */
int desk_slot_get(struct desk_store *st, int t, uint64_t id,
    struct desk_slot *s);
/* 0, or -1 with the store failed. */
int desk_slot_put(struct desk_store *st, int t, uint64_t id,
    const struct desk_slot *s);
/* One more than the highest id that has a slot file entry. */
uint64_t desk_slot_end(struct desk_store *st, int t);

/*
 * 1 when st's index keeps keys near others (desk_key_near; version 2,
 * as a new or rebuilt one is); 0 for an older one, which has every key
 * as it was made, until fsck --repair rebuilds it.
 */
int desk_hx_near(struct desk_store *st);
/* The hash index: key -> (value, aux). get: 1, or 0 (none, or failure). */
int desk_hx_get(struct desk_store *st, const struct desk_key *k,
    uint64_t *val, uint32_t *aux);
/* 0, or -1 with the store failed. */
int desk_hx_put(struct desk_store *st, const struct desk_key *k,
    uint64_t val, uint32_t aux);

/* ---- backup.c: a consistent copy of a live store ---- */

struct desk_backup {
	uint64_t segments;            /* log segments in the copy */
	uint64_t linked, copied;      /* files hard-linked, files copied */
	uint64_t bytes;               /* in them */
	uint64_t log_end;             /* DESK_POS of the copy's end of log */
};
/*
 * Copies the store into the new directory dest (desk-store(5) BACKUP):
 * under the writer lock, sealed log segments and rejects hard-linked
 * (each link checked to be the same inode; copied where the filesystem
 * refuses links), the rest copied, synced, then renamed into place; so
 * dest holds every batch committed before the lock was taken and none
 * half. 0, or -1 with e (64: a bad name; 74: dest exists or a copy
 * failed, nothing left of it; the store's own error, when its lock or
 * state failed).
 */
int desk_store_backup(struct desk_store *st, const char *dest,
    struct desk_backup *out, struct desk_err *e);

#endif
