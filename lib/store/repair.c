/*
 * repair.c: the engine's part of fsck. Every derived file is rebuilt in
 * tmp/ from the log through the schema's apply, the same callback every
 * live write and roll-forward goes through, so neither a check nor a
 * repair can derive anything a write would not. fsck checks by comparing
 * the live files with such a rebuild (desk_store_check); --repair swaps
 * one in (desk_store_rebuild) after cutting damaged records out of the log
 * into rejects/ (desk_log_drop). The engine knows the tables by index
 * only, their files by the names the schema gave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include "store/engine.h"

int
desk_log_drop(struct desk_store *st, const struct desk_span *bad, size_t nbad)
{
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
	st->hxfd = desk_hx_create_file(st, st->hxpath, DESK_HX_MIN_BUCKETS);
	if (st->hxfd < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    st->hxpath);
	st->hx_nb = DESK_HX_MIN_BUCKETS;
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

int
desk_store_rebuild(struct desk_store *st)
{
	int nt = st->schema->ntables;
	void (*fatal)(const struct desk_err *) = st->fatal;
	struct desk_rebuilt r;

	/*
	 * The live derived files on disk and the journal begun anew first:
	 * its units are for them, and a crash before the renames below are
	 * durable leaves them in place.
	 */
	if (desk_store_flush(st) < 0 || desk_redo_checkpoint(st) < 0)
		return -1;
	/* A tool's die wrapper waits until the tmp/ files are gone. */
	st->fatal = NULL;
	if (build(st, &r, NULL) < 0)
		goto fail;
	/* The new files are whole on disk before they replace the old ones. */
	for (int t = 0; t < nt; t++)
		if (fdatasync(st->slotfd[t]) < 0) {
			desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
			    r.slots[t]);
			goto fail;
		}
	if (fdatasync(st->hxfd) < 0) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root, r.hx);
		goto fail;
	}
	for (int t = 0; t < nt; t++) {
		char rel[64];
		snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
		if (desk_store_rename(st, r.slots[t], rel) < 0) {
			desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root, rel);
			goto fail;
		}
		r.slots[t][0] = '\0';
	}
	if (desk_store_rename(st, r.hx, "index/keys.hx") < 0) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/keys.hx",
		    st->root);
		goto fail;
	}
	st->hxpath[0] = '\0';
	st->repairing = 0;
	desk_store_on_error(st, fatal);
	if (desk_log_reopen(st) < 0)
		return -1;
	/* Tell other processes that their open derived files are stale. */
	st->clean.epoch++;
	st->epoch = st->clean.epoch;
	st->clean.size = (uint64_t)-1;    /* force the state to be written */
	if (desk_state_write(st) < 0)
		return -1;
	st->dirty = 1;
	return 0;
fail:
	desk_rebuild_close(st, &r);
	desk_store_on_error(st, fatal);
	return -1;
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

static int
compare(struct desk_store *st, const struct desk_check *c,
    const uint64_t *want_next, const uint64_t *live_next)
{
	int nt = st->schema->ntables;

	for (int t = 0; t < nt; t++) {
		char rel[64];
		snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
		int fd = open_live(st, rel);
		if (fd < 0 && st->err.code)
			return -1;
		int r = desk_slot_compare(st, t, fd, st->slotfd[t], c);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return -1;
	}
	int fd = open_live(st, "index/keys.hx");
	if (fd < 0 && st->err.code)
		return -1;
	int r = desk_hx_compare(st, fd, st->hxfd, c);
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

int
desk_store_check(struct desk_store *st, const struct desk_check *c)
{
	uint64_t live_next[DESK_ST_COUNTERS], want_next[DESK_ST_COUNTERS];
	void (*fatal)(const struct desk_err *) = st->fatal;
	int dirty = st->dirty;
	struct desk_rebuilt r;

	if (!st->locked)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: check "
		    "without the lock");
	/*
	 * What roll-forward left held back, and the index's entry count, in
	 * the live files before they are compared (a no-op unless records
	 * were rolled).
	 */
	if (desk_store_flush(st) < 0)
		return -1;
	/* A tool's die wrapper waits until the tmp/ files are gone. */
	st->fatal = NULL;
	/* The rebuild's counters start from nothing; the live ones stay. */
	memcpy(live_next, st->next, sizeof live_next);
	memset(st->next, 0, sizeof st->next);
	int ok = build(st, &r, c) == 0;
	memcpy(want_next, st->next, sizeof want_next);
	memcpy(st->next, live_next, sizeof st->next);
	if (ok)
		ok = compare(st, c, want_next, live_next) == 0;
	desk_rebuild_close(st, &r);
	/* Nothing live was written: the commit has nothing to sync for us. */
	st->dirty = dirty;
	desk_store_on_error(st, fatal);
	return ok ? 0 : -1;
}
