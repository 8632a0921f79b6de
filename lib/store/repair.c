/*
 * repair.c: the engine's part of fsck. Every derived file is rebuilt in
 * tmp/ from the log through the schema's apply, the same callback every
 * live write and roll-forward goes through, so neither a check nor a
 * repair can derive anything a write would not. fsck checks by comparing
 * the live files with such a rebuild (desk_store_check); --repair swaps
 * that rebuild in, or, when damaged records must first be cut out of the
 * log into rejects/ (desk_log_drop), one made under the lock
 * (desk_store_rebuild). The check builds the most of its rebuild without
 * the writer lock, as compact does: the log up to its committed end is
 * bytes no writer changes, so writers wait only for the records they
 * appended meanwhile and for the compare. The engine knows the tables by
 * index only, their files by the names the schema gave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "store/engine.h"

#define REPAIR_MARK "repair"

int
desk_rebuild_due(struct desk_store *st)
{
	struct stat sb;

	return desk_store_stat(st, REPAIR_MARK, &sb) == 0;
}

int
desk_log_drop(struct desk_store *st, const struct desk_span *bad, size_t nbad)
{
	static const char mark[] = "fsck --repair is cutting damaged records "
	    "out of the log: the index is rebuilt at the next lock\n";

	if (!nbad)
		return 0;
	/*
	 * Positions move: the mark first, durably, so that a writer after a
	 * repair stopped before its rebuild does not go on with slots that
	 * point into the log as it was; then the epoch, so that a check
	 * reading the log without the lock meanwhile knows.
	 */
	if (desk_store_put(st, REPAIR_MARK, mark, sizeof mark - 1, 0600) < 0 ||
	    fsync(st->dfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REPAIR_MARK,
		    st->root);
	if (desk_state_epoch_bump(st) < 0)
		return -1;
	for (size_t i = 0; i < nbad;) {
		uint32_t seg = bad[i].seg;
		char rel[32], rej[96];
		snprintf(rel, sizeof rel, "log/%08u.jsonl", seg);
		size_t n;
		char *text = desk_store_get(st, rel, &n);
		if (!text)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, rel);
		struct desk_buf keep = DESK_BUF_INIT;
		uint64_t at = 0;
		int r = 0;
		for (; i < nbad && bad[i].seg == seg && !r; i++) {
			uint64_t off = bad[i].off, len = bad[i].len;
			desk_buf_add(&keep, text + at, off - at);
			/* The epoch too: a later repair may find damage at the same offset. */
			snprintf(rej, sizeof rej, "rejects/log-%08u-%llu-%llu.raw", seg,
			    (unsigned long long)off, (unsigned long long)st->clean.epoch);
			if (desk_store_put(st, rej, text + off, len, 0600) < 0) {
				r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
				    st->root, rej);
				break;
			}
			desk_warn("fsck: moved the damaged record at %s offset %llu to %s",
			    rel, (unsigned long long)off, rej);
			at = off + len;
		}
		/* The quarantined copies are on disk before the segment loses them. */
		if (!r && syncfs(st->dfd) < 0)
			r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s: sync", st->root);
		if (!r)
			desk_buf_add(&keep, text + at, n - at);
		/* The log is the truth: replaced whole, fsynced before the rename. */
		if (!r && desk_store_put(st, rel, keep.p ? keep.p : "", keep.len,
		    0600) < 0)
			r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
			    rel);
		free(text);
		desk_buf_free(&keep);
		if (r < 0)
			return -1;
	}
	/* The index is rebuilt over the new offsets: the segments are in place first. */
	if (syncfs(st->dfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s: sync", st->root);
	desk_log_forget(st);
	return 0;
}

static void
rebuild_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	const struct desk_check *c = ctx;

	if (c && c->each)
		c->each(st, rec, loc, c->ctx);
	if (jv_is_valid(rec) && loc.len <= DESK_REC_MAX)
		st->schema->apply(st, rec, loc);
	jv_free(rec);
}

/* A fresh name in tmp/ for a file to be made with O_EXCL. */
static int
tmp_name(struct desk_store *st, char *name, size_t n)
{
	int fd = desk_store_tmp(st, name, n);

	if (fd < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/tmp", st->root);
	close(fd);
	desk_store_unlink(st, name);
	return 0;
}

int
desk_rebuild_open(struct desk_store *st, struct desk_rebuilt *r)
{
	int nt = st->schema->ntables;

	memset(r, 0, sizeof *r);
	desk_derived_close(st);
	desk_slot_forget(st);
	st->repairing = 1;
	for (int t = 0; t < nt; t++) {
		if (tmp_name(st, r->slots[t], sizeof r->slots[t]) < 0)
			return -1;
		if ((st->slotfd[t] = desk_slot_create_file(st, t, r->slots[t])) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, r->slots[t]);
	}
	if (tmp_name(st, r->hx, sizeof r->hx) < 0)
		return -1;
	memcpy(st->hxpath, r->hx, sizeof st->hxpath);
	desk_hx_newgen(st);
	st->hxfd = desk_hx_create_file(st, st->hxpath, DESK_HX_MIN_BUCKETS);
	if (st->hxfd < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    st->hxpath);
	st->hx_nb = DESK_HX_MIN_BUCKETS;
	st->hx_v = st->hx_make_v ? st->hx_make_v : DESK_HX_VERSION;
	st->hx_count = st->hx_count_disk = 0;
	st->hx_miss.valid = 0;
	return 0;
}

/*
 * Builds every slot file and the hash index anew in tmp/ (names in *r)
 * from the whole log through the schema's apply, c->each called before
 * each record when c is given. The store's derived fds are the new files
 * afterwards. 0, or -1 with the store failed.
 */
static int
build(struct desk_store *st, struct desk_rebuilt *r, const struct desk_check *c)
{
	if (desk_rebuild_open(st, r) < 0 ||
	    desk_log_rollforward(st, 1, 0, 0, rebuild_one, (void *)c) < 0 ||
	    desk_store_flush(st) < 0)
		return -1;
	return 0;
}

void
desk_rebuild_close(struct desk_store *st, struct desk_rebuilt *r)
{
	desk_derived_close(st);
	desk_slot_forget(st);
	for (int t = 0; t < DESK_ST_TABLES; t++)
		if (r->slots[t][0])
			desk_store_unlink(st, r->slots[t]);
	/* A grow of the index renames its new table onto this name. */
	if (r->hx[0])
		desk_store_unlink(st, r->hx);
	st->hxpath[0] = '\0';
	st->hx_miss.valid = 0;
	st->repairing = 0;
}

/*
 * Under st's lock: the rebuild b made (its fds; names in *r, emptied as
 * they are taken) renamed over st's derived files, whole on disk first,
 * through the swap's journal: a writer that keeps its derived files open
 * across batches learns of new ones only from the epoch, which moves
 * after the last rename, so a kill between two renames must not leave
 * some of them done and the epoch as it was (the next lock finishes the
 * journal and advances it). b may be st. 0, or -1 with st failed.
 */
static int
swap_in(struct desk_store *st, struct desk_store *b, struct desk_rebuilt *r)
{
	int nt = st->schema->ntables;

	/*
	 * st's live derived files on disk and its journal begun anew first:
	 * the journal's units are for them, and a crash before the renames
	 * below are durable leaves them in place. (A rebuild into st itself
	 * did so before it began: its fds are the new files now.)
	 */
	if (b != st && (desk_store_flush(st) < 0 || desk_redo_checkpoint(st) < 0))
		return -1;
	for (int t = 0; t < nt; t++)
		if (fdatasync(b->slotfd[t]) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, r->slots[t]);
	if (fdatasync(b->hxfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    r->hx);
	int rc = desk_swap(st, NULL, 0, r);
	if (!r->hx[0])
		b->hxpath[0] = '\0';    /* the journal's: not b's to remove */
	return rc;
}

/* After a swap: other processes learn that their open derived files are stale. */
static int
epoch_advance(struct desk_store *st)
{
	st->clean.epoch++;
	st->epoch = st->clean.epoch;
	st->clean.size = (uint64_t)-1;    /* force the state to be written */
	if (desk_state_write(st) < 0)
		return -1;
	st->dirty = 1;
	return 0;
}

int
desk_store_rebuild(struct desk_store *st)
{
	void (*fatal)(const struct desk_err *) = st->fatal;
	struct desk_rebuilt r;

	/* The live files on disk, the journal begun anew: see swap_in. */
	if (desk_store_flush(st) < 0 || desk_redo_checkpoint(st) < 0)
		return -1;
	/* A tool's die wrapper waits until the tmp/ files are gone. */
	st->fatal = NULL;
	if (build(st, &r, NULL) < 0 || swap_in(st, st, &r) < 0) {
		desk_rebuild_close(st, &r);
		desk_store_on_error(st, fatal);
		return -1;
	}
	st->repairing = 0;
	desk_store_on_error(st, fatal);
	if (desk_log_reopen(st) < 0 || epoch_advance(st) < 0)
		return -1;
	/* The state that names the log's new end on disk before the mark goes. */
	if (desk_rebuild_due(st) && (fdatasync(st->statefd) < 0 ||
	    desk_store_unlink(st, REPAIR_MARK) < 0 || fsync(st->dfd) < 0))
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REPAIR_MARK,
		    st->root);
	return 0;
}

/* A live derived file to compare, read-only: the fd, or -1 when missing. */
static int
open_live(struct desk_store *st, const char *rel)
{
	int fd = desk_store_open_file(st, rel, O_RDONLY, 0);

	if (fd < 0 && errno != ENOENT)
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root, rel);
	return fd;
}

/* The live files of st compared with the rebuild b: every difference to c. */
static int
compare(struct desk_store *st, struct desk_store *b, const struct desk_check *c,
    const uint64_t *want_next, const uint64_t *live_next)
{
	int nt = st->schema->ntables;

	for (int t = 0; t < nt; t++) {
		char rel[64];
		snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
		int fd = open_live(st, rel);
		if (fd < 0 && st->err.code)
			return -1;
		int r = desk_slot_compare(st, t, fd, b->slotfd[t], c);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return -1;
	}
	int fd = open_live(st, "index/keys.hx");
	if (fd < 0 && st->err.code)
		return -1;
	int r = desk_hx_compare(st, fd, b->hxfd, c);
	if (fd >= 0)
		close(fd);
	if (r < 0)
		return -1;
	for (int k = 0; k < st->schema->ncounters; k++)
		if (live_next[k] < want_next[k]) {
			struct desk_diff d;
			memset(&d, 0, sizeof d);
			d.kind = DESK_DIFF_COUNTER;
			d.table = -1;
			d.id = (uint64_t)k;
			snprintf(d.file, sizeof d.file, "state");
			d.field = st->schema->counters[k];
			d.live = live_next[k];
			d.want = want_next[k];
			c->diff(st, &d, c->ctx);
		}
	return 0;
}

/*
 * The rebuild's own handle: its derived files new in tmp/ and nobody
 * else's, so it holds back and caches as under the lock without taking
 * it (compact's kept, likewise). Its counters start from nothing.
 */
static struct desk_store *
rebuild_handle(struct desk_store *st, struct desk_rebuilt *r)
{
	struct desk_store *b = desk_store_open(st->root, 0, st->schema);

	memset(r, 0, sizeof *r);
	/*
	 * The rebuild's index is the live one's version, whose keys it makes
	 * (an older store's are told apart by --repair's own rebuild only).
	 */
	if (desk_hx_open(st, 0) < 0 && st->err.code) {
		desk_store_fail(b, st->err.code, "%s", st->err.msg);
		return b;
	}
	b->hx_make_v = st->hxfd >= 0 ? st->hx_v : 0;
	if (desk_store_error(b) || desk_rebuild_open(b, r) < 0)
		return b;
	b->locked = 1;
	memset(b->next, 0, sizeof b->next);
	return b;
}

/*
 * Under the lock again: the rebuild rolled on over what writers appended
 * since end, compared, and swapped in when c->swap says so.
 */
static int
check_locked(struct desk_store *st, struct desk_store *b, struct desk_rebuilt *r,
    const struct desk_check *c, uint64_t stop)
{
	uint64_t want_next[DESK_ST_COUNTERS];

	/* What the lock's own roll-forward held back, in the live files. */
	if (desk_store_flush(st) < 0)
		return -1;
	int dirty = st->dirty;
	if (desk_log_rollforward(b, DESK_POS_SEG(stop), DESK_POS_OFF(stop), 0,
	    rebuild_one, (void *)c) < 0 || desk_store_flush(b) < 0)
		return desk_store_fail(st, b->err.code, "%s", b->err.msg);
	memcpy(want_next, b->next, sizeof want_next);
	if (compare(st, b, c, want_next, st->next) < 0)
		return -1;
	/* An older index is made anew in the current version, not swapped. */
	if (!c->swap || b->hx_v != DESK_HX_VERSION || !c->swap(st, c->ctx)) {
		/* Nothing live was written: the commit has nothing to sync for us. */
		st->dirty = dirty;
		return 0;
	}
	if (swap_in(st, b, r) < 0)
		return -1;
	/* Counters below the log's ids are raised, as a rebuild's apply raises them. */
	for (int k = 0; k < st->schema->ncounters; k++)
		if (st->next[k] < want_next[k])
			st->next[k] = want_next[k];
	/* st's own fds are the files just replaced: opened again when needed. */
	desk_derived_close(st);
	return epoch_advance(st);
}

int
desk_store_check(struct desk_store *st, const struct desk_check *c)
{
	void (*fatal)(const struct desk_err *) = st->fatal;
	struct desk_rebuilt r;
	uint64_t stop;

	if (!st->locked)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: check "
		    "without the lock");
	/*
	 * The caller's changes committed, and with them the log's end: every
	 * record before it is whole, and its bytes stay as they are until a
	 * compaction or a repair, which advance the epoch.
	 */
	if (desk_store_commit(st) < 0)
		return -1;
	uint64_t end = DESK_POS(st->clean.seg, st->clean.size);
	uint64_t epoch = st->clean.epoch;
	/* A tool's die wrapper waits until the tmp/ files are gone. */
	st->fatal = NULL;
	struct desk_store *b = rebuild_handle(st, &r);
	if (desk_store_error(b) || desk_log_rollforward_to(b, DESK_POS(1, 0), end,
	    rebuild_one, (void *)c, &stop) < 0)
		desk_store_fail(st, b->err.code, "%s", b->err.msg);
	else if (desk_store_lock(st) < 0)
		;
	else if (st->clean.epoch != epoch)
		desk_store_fail(st, DESK_EX_TEMPFAIL, "%s: repaired or compacted "
		    "by another process meanwhile; nothing changed (run fsck "
		    "again)", st->root);
	else
		check_locked(st, b, &r, c, stop);
	b->locked = 0;
	desk_rebuild_close(b, &r);
	desk_store_close(b);
	desk_store_on_error(st, fatal);
	return st->err.code ? -1 : 0;
}
