/*
 * engine.h: the storage engine's internals, shared by store.c, slots.c and
 * hx.c, and by the schema's apply.c and fsck.c only (tests/t0920-layers.t).
 * Everyone else sees struct desk_store as opaque (store/store.h).
 */
#ifndef DESK_STORE_ENGINE_H
#define DESK_STORE_ENGINE_H

#include <sys/types.h>

#include "store/store.h"

#define DESK_STORE_FORMAT 1
#define DESK_STATE_SIZE 512
#define DESK_SLOT_SIZE 64
#define DESK_HX_BUCKET 4096
#define DESK_HX_ENTRY 32
#define DESK_HX_PER_BUCKET (DESK_HX_BUCKET / DESK_HX_ENTRY)
#define DESK_HX_MIN_BUCKETS 16
#define DESK_HX_VERSION 2
#define DESK_RFDS 8

/* The store's subdirectories, each held open (store.c). */
enum desk_subdir {
	DESK_D_LOG, DESK_D_INDEX, DESK_D_CHANNELS, DESK_D_SECRETS,
	DESK_D_REJECTS, DESK_D_TMP, DESK_NSUBDIRS
};

struct desk_state {
	uint32_t seg;                 /* the log up to (seg, size) is committed */
	uint64_t size;
	uint64_t epoch;               /* bumped when fsck --repair rebuilds */
	uint64_t next[DESK_ST_COUNTERS];
	/*
	 * index/batch.redo: the generation of its records that count (the
	 * others are older than the derived files on disk), where the next
	 * one goes, and the boot whose page cache holds the derived files'
	 * writes since (empty: they are synced at every commit instead).
	 */
	uint32_t redo_gen;
	uint64_t redo_end;
	char boot[40];
};

struct desk_store {
	char *root;
	const struct desk_schema *schema;
	struct desk_err err;          /* the first failure: see desk_store_error */
	void (*fatal)(const struct desk_err *);   /* desk_store_on_error */
	void (*again)(void);                      /* desk_store_on_again */
	int held;                     /* took the lock for its own work */
	struct { void (*fn)(void *); void *ctx; } hook[DESK_ST_HOOKS];
	int nhooks;
	struct { const void *tag; void *p; void (*fini)(void *); } ext[DESK_ST_HOOKS];
	int next_ext;
	int dfd, lockfd, statefd;
	int waitfd;                   /* lock.wait: see lock_wait */
	int subfd[DESK_NSUBDIRS];     /* checked at open: see subdirs_open */
	int present;                  /* 0: opened DESK_ST_LAZY, not created yet */
	int locked, dirty, wrote_log;
	struct desk_state clean;      /* as last read from or written to state */
	uint64_t next[DESK_ST_COUNTERS];   /* counters as allocated */
	uint64_t epoch;               /* epoch our derived fds belong to */

	uint32_t seg;                 /* the segment being appended to */
	int segfd;
	uint64_t segsize;
	uint64_t segmax;
	struct { uint32_t seg; int fd; } rfd[DESK_RFDS];
	unsigned rfd_next;

	int slotfd[DESK_ST_TABLES];
	int hxfd;
	uint32_t hx_nb;               /* buckets */
	int hx_v;                     /* its version (hx.c): 2 keeps keys near */
	int hx_make_v;                /* of a table made now; 0: DESK_HX_VERSION */
	uint64_t hx_count, hx_count_disk;
	uint64_t hx_writes;           /* puts and grows so far */
	/*
	 * Changes whenever the index may hold what this handle has not
	 * seen (desk_hx_newgen): at every lock, when the index is opened or
	 * made anew, when its lines are forgotten. Never the same for two
	 * handles: a layer above may keep what it read under the lock for
	 * as long as it stays (apply's status marks).
	 */
	uint64_t hx_gen;
	struct {                      /* where the last failed lookup found room */
		unsigned char key[16];
		uint32_t bucket;
		int slot;
		uint64_t writes;
		int valid;
	} hx_miss;
	unsigned tmpseq;
	int repairing;                /* fsck --repair: derived files are new */
	int tolerant;                 /* fsck: roll forward past damage, to report it */
	char hxpath[64];              /* where the hash index lives (repair: tmp/) */
	uint64_t rolled, cut;         /* records rolled forward, bytes cut at lock */
	uint64_t replayed;            /* journal records written again after a crash */
	/*
	 * Slots this process read or wrote, valid while nobody else writes:
	 * kept across batches only when the state file still says what our
	 * last commit wrote there.
	 */
	struct slot_cache {
		uint64_t id;
		uint8_t table, valid, present;
		struct desk_slot s;
	} *cache;
	uint64_t slot_end[DESK_ST_TABLES];   /* file size in slots; 0: unknown */
	struct slot_pages *spc;       /* the slot files' pages read, as cache */
	struct desk_state mine;            /* the state our last commit wrote */
	/* Parsed records by log position: a record never changes where it is. */
	struct rec_cache {
		uint64_t pos;
		uint32_t len;
		const char *without;   /* the member deleted before caching */
		jv rec;
	} *recs;
	struct log_cache *logc;       /* records' bytes by log position */
	int have_mine;
	struct desk_buf enc;          /* scratch for records */
	struct desk_buf raw;          /* a record read, before it is parsed */
	int enc_last;                 /* enc holds the last record added */
	/*
	 * What a batch holds back until its commit (or until a bound is
	 * reached): its log records, then the slots and index buckets that
	 * point at them, each written once, the log first, so a reader
	 * without the lock never finds an entry whose record is not yet in
	 * the file. Reads under the lock look here first.
	 */
	struct desk_buf logq;         /* records not yet written, ... */
	uint64_t logq_off;            /* ... from this offset of segment seg */
	struct slot_dirty *sd;        /* slots not yet written */
	size_t nsd, capsd;
	uint32_t *sdh;                /* their hash: index + 1, 0 empty */
	uint64_t sd_end[DESK_ST_TABLES];   /* 1 + the highest id held back */
	struct hx_lines *hxc;         /* index buckets read and held back */
	struct desk_buf redo;         /* a flush's units (index/batch.redo) */
	struct desk_buf redoz;        /* the record of them as written, packed */
	int redofd;
	uint32_t redo_gen;            /* as the state will say at commit */
	uint64_t redo_end;
	uint64_t redo_size;           /* the file's, when known (0: not) */
	char boot[40];                /* this boot's id; "": unknown */
	int boot_read;
	/* What the commit's sync covers: the files and directories touched. */
	int sync_seg, sync_hx, sync_state;
	uint64_t locked_epoch;        /* the state's epoch when the lock was taken */
	int sync_slot[DESK_ST_TABLES];
	unsigned sync_dirs;           /* 1 << enum desk_subdir; DESK_NSUBDIRS: root */
};

/* store.c */
/*
 * The directory fd to reach STORE/rel through, and rel's name in it: the
 * subdirectory's own fd for "sub/file", so no name but the last is
 * resolved again after the store was opened and checked.
 */
int desk_store_at(struct desk_store *st, const char *rel, const char **name);
/*
 * fd (-1: none) is no longer the file STORE/rel names (another was
 * renamed over it, or the name is gone): 1, else 0. desk_slot_replaced and
 * desk_hx_replaced ask it of the slot files and the index a handle holds.
 */
int desk_store_replaced(struct desk_store *st, int fd, const char *rel);
/*
 * A read without the lock, done: when a slot file or segment it held was
 * replaced since it opened it (a swap: the index's growth alone replaces
 * keys.hx, which is not asked), its answer may be of two stores, and it
 * fails as a read that met the swap does (run again, else 75): -1. Else 0.
 */
int desk_store_read_whole(struct desk_store *st);
/*
 * Creates STORE/rel with head at its start, size bytes long, whole: made
 * in tmp/ and linked into place (a file in tmp/ is made there), so a kill
 * never leaves it without its head. The fd, or -1 with errno (EEXIST:
 * another process made it first).
 */
int desk_store_create_with(struct desk_store *st, const char *rel,
    const void *head, size_t n, uint64_t size);
void desk_store_seen_id(struct desk_store *st, int k, uint64_t id);
int desk_log_fd(struct desk_store *st, uint32_t seg);
int desk_log_rollforward(struct desk_store *st, uint32_t seg, uint64_t off,
    int truncate_tail, void (*each)(struct desk_store *, jv, struct desk_loc, void *),
    void *ctx);
/*
 * As desk_log_rollforward, from position from up to position end only
 * (no tail truncated): *stop is past the last whole record read, where a
 * later read goes on. A read without the lock up to a committed position
 * sees only bytes no writer changes (a compaction or repair advances the
 * epoch). 0, or -1 with the store failed.
 */
int desk_log_rollforward_to(struct desk_store *st, uint64_t from, uint64_t end,
    void (*each)(struct desk_store *, jv, struct desk_loc, void *), void *ctx,
    uint64_t *stop);
int desk_state_write(struct desk_store *st);
/*
 * The log's committed end as the state says now (DESK_POS), read without
 * the lock and without failing the store: 0 when it cannot be read whole.
 */
uint64_t desk_state_committed(struct desk_store *st);
/* Writes the batch's records held back (the log's part of desk_store_flush). */
int desk_log_flush(struct desk_store *st);
/*
 * Writes all the batch holds back: the log's records, then the slots and
 * buckets, then the index's entry count. No sync. 0, or -1 with the store
 * failed.
 */
int desk_store_flush(struct desk_store *st);
/* Notes a directory of the store (DESK_NSUBDIRS: the root) for the sync. */
void desk_store_dir_dirty(struct desk_store *st, int sub);
/*
 * Adds to the flush being made a unit: len bytes at off of slot table
 * file (0 .. ntables-1) or of the index (DESK_REDO_HX); p NULL leaves
 * them for the caller to fill (at the end of st->redo).
 */
#define DESK_REDO_HX 0xffu
void desk_redo_add(struct desk_store *st, unsigned file, uint64_t off,
    const void *p, size_t len);
/*
 * A journal record's units packed (runs of literal bytes and of zeros)
 * onto the end of b, at most 2n + 20 bytes; and unpacked, n bytes of p
 * into exactly want bytes at out: 0, or -1 when they are not that.
 */
void desk_redo_pack(struct desk_buf *b, const unsigned char *p, size_t n);
int desk_redo_unpack(const unsigned char *p, size_t n, unsigned char *out,
    size_t want);
/*
 * Under the lock: index/batch.redo begun anew, its older records never
 * written again after a crash (before a derived file is replaced), and
 * the same after the derived files are synced (checkpoint: before the
 * index is grown, and every so often). 0, or -1 with the store failed.
 */
int desk_redo_reset(struct desk_store *st);
int desk_redo_checkpoint(struct desk_store *st);
/* Drops parsed records kept by position (after segments are rewritten). */
void desk_log_forget(struct desk_store *st);
/* Opens the log's last segment for appending, at its current end. */
int desk_log_reopen(struct desk_store *st);
void desk_derived_close(struct desk_store *st);

/*
 * Under the lock: reads the state and advances its epoch, durably, so
 * every other process reopens its derived files and log segments at its
 * next lock. 0, or -1 with the store failed.
 */
int desk_state_epoch_bump(struct desk_store *st);

/* compact.c */
/*
 * Under the lock, before anything else is read: finishes the renames of
 * a compaction that stopped after its journal (STORE/compact) was written,
 * and advances the epoch. 0 (also when there is none), or -1 with the
 * store failed.
 */
int desk_compact_redo(struct desk_store *st);
/* Whether a swap's journal (STORE/compact) waits to be carried out. */
int desk_swap_due(struct desk_store *st);
struct desk_rebuilt;
/* A file made in tmp/ (from) to be renamed over one of the store's (to). */
struct desk_move {
	char from[64], to[64];
};
/*
 * Under the lock: the journal (STORE/compact) of the renames of mv[0..n)
 * and of the rebuild r's derived files over st's, made durable, then
 * carried out by desk_compact_redo. From the journal's write on, those
 * tmp/ files are the journal's, and r is emptied to say so: a failure or
 * a kill after it leaves the rest to the next lock. 0, or -1 with st
 * failed.
 */
int desk_swap(struct desk_store *st, const struct desk_move *mv, size_t n,
    struct desk_rebuilt *r);

/* hx.c: a new hx_gen for st. */
void desk_hx_newgen(struct desk_store *st);

/* slots.c */
/* Drops cached slots, and slots held back (after a failure: never written). */
void desk_slot_forget(struct desk_store *st);
/* Frees the cached slots' memory (at close). */
void desk_slot_free(struct desk_store *st);
/* Hands the slots held back to the flush (desk_redo_add), and drops them. */
void desk_slot_collect(struct desk_store *st);
/* As desk_slot_get, but -1 for a damaged slot instead of dying. */
int desk_slot_read(struct desk_store *st, int t, uint64_t id,
    struct desk_slot *s);
int desk_slot_open(struct desk_store *st, int t, int create);
int desk_slot_replaced(struct desk_store *st);
int desk_slot_create_file(struct desk_store *st, int t, const char *rel);

/* repair.c: fsck --repair, under the lock */
/* A stretch of a log segment: a damaged record. */
struct desk_span {
	uint32_t seg;
	uint64_t off;
	uint32_t len;
};
/*
 * Moves the records at bad[0..n) (in log order) to rejects/, each segment
 * rewritten without them; then the derived files must be rebuilt
 * (desk_store_rebuild). Until they are, STORE/repair says so: a repair
 * stopped between the two leaves it, and the next lock rebuilds them
 * before anything reads them. 0, or -1 with the store failed.
 */
int desk_log_drop(struct desk_store *st, const struct desk_span *bad, size_t n);
/* Whether STORE/repair is there: the derived files are for an older log. */
int desk_rebuild_due(struct desk_store *st);
/* The files a rebuild writes in tmp/: "" for one not made yet. */
struct desk_rebuilt {
	char slots[DESK_ST_TABLES][64];
	char hx[64];
};
/*
 * Makes every derived file of st new and empty in tmp/ (names in *r): the
 * store's derived fds are those files afterwards, written without the
 * lock (they are nobody else's). 0, or -1 with the store failed.
 */
int desk_rebuild_open(struct desk_store *st, struct desk_rebuilt *r);
/* Closes the rebuild's files and removes what is left of them in tmp/. */
void desk_rebuild_close(struct desk_store *st, struct desk_rebuilt *r);
/*
 * Builds every slot file and the hash index anew in tmp/ from the whole
 * log through the schema's apply, then swaps them in and advances the
 * epoch, so other processes reopen them, and removes STORE/repair. 0, or
 * -1 with the store failed.
 */
int desk_store_rebuild(struct desk_store *st);

/*
 * A difference between a live derived file and its rebuild, as
 * desk_store_check reports it. Slots by table and id, index entries by
 * key; the engine knows no names but the schema's (its tables and
 * counters, and its describer's fields).
 */
enum desk_diff_kind {
	DESK_DIFF_FILE,       /* file missing, or its header not the rebuild's */
	DESK_DIFF_DAMAGED,    /* a live slot, or entry (in bucket id): bad CRC */
	DESK_DIFF_MISSING,    /* the rebuild has the slot or key, live not */
	DESK_DIFF_EXTRA,      /* live has the slot or key, the rebuild not */
	DESK_DIFF_FIELD,      /* a slot's field: "rec", the describer's, NULL */
	DESK_DIFF_VALUE,      /* a key's value or aux differs */
	DESK_DIFF_COUNT,      /* the index header miscounts its entries: a note */
	DESK_DIFF_COUNTER,    /* counter id's next is not past the log's ids */
};
struct desk_diff {
	enum desk_diff_kind kind;
	int table;                    /* the slot table; -1: index, state */
	uint64_t id;
	char file[64];                /* the live file: "index/users.slots", ... */
	const char *field;
	struct desk_key key;
	uint64_t live, want;          /* FIELD, VALUE, COUNTER, COUNT */
	uint32_t live_aux, want_aux;  /* VALUE */
	struct desk_loc live_rec, want_rec;   /* slots: where each points */
};
/* What fsck hands desk_store_check. */
struct desk_check {
	/*
	 * Called for every record of the log in order (rec borrowed; invalid
	 * when damaged), just before it is applied to the rebuild: the slots
	 * and keys then read the rebuild's as of the records before it, so
	 * what only the log can tell is checked in the same pass.
	 */
	void (*each)(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx);
	/* Called for every difference found, in file order. */
	void (*diff)(struct desk_store *st, const struct desk_diff *d, void *ctx);
	/*
	 * Called under the lock after the compare (NULL: never): nonzero
	 * swaps the rebuild in for the live files, as desk_store_rebuild
	 * would, and advances the epoch.
	 */
	int (*swap)(struct desk_store *st, void *ctx);
	void *ctx;
};
/*
 * Called with the lock, returns with it (on failure too, unless taking it
 * again failed), letting go of it in between: commits, then rebuilds
 * every derived file in tmp/ as desk_store_rebuild does, through a handle
 * of its own, from the log up to the committed end without the lock;
 * takes the lock again, rolls the rebuild on over the records appended
 * meanwhile, and compares each slot file with its rebuild slot by slot
 * and the index key by key in both directions, both streamed, and the
 * state's counters with the highest ids in the log. Fails with
 * DESK_EX_TEMPFAIL when a compaction or a repair by another process
 * rewrote the log meanwhile (the epoch moved). The live files and the
 * state are left as they were unless c->swap swaps; the tmp/ files are
 * removed, on failure too. 0, or -1 with the store failed.
 */
int desk_store_check(struct desk_store *st, const struct desk_check *c);
/* slots.c, hx.c: a live file (fd; -1: missing) compared with its rebuild. */
int desk_slot_compare(struct desk_store *st, int t, int live, int want,
    const struct desk_check *c);
int desk_hx_compare(struct desk_store *st, int live, int want,
    const struct desk_check *c);

/* hx.c */
int desk_hx_open(struct desk_store *st, int create);
int desk_hx_create_file(struct desk_store *st, const char *rel, uint32_t nb);
/* Writes the entry count (at commit). */
int desk_hx_flush(struct desk_store *st);
/* Hands the changed spans of the buckets held back to the flush. */
void desk_hx_collect(struct desk_store *st);
/* Drops the cached buckets (they are another file's, or stale). */
void desk_hx_forget(struct desk_store *st);
/* Re-reads the header, reopening the file if another writer replaced it. */
int desk_hx_refresh(struct desk_store *st);
int desk_hx_replaced(struct desk_store *st);
/* Calls f for every entry; -1 when a read failed (the store failed). */
int desk_hx_each(struct desk_store *st,
    void (*f)(const struct desk_key *, uint64_t, uint32_t, void *), void *ctx);

/* little-endian encoding */
static inline void
desk_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint64_t
desk_get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static inline void
desk_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t
desk_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

#endif
