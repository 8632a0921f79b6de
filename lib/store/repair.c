/*
 * repair.c: the engine's part of fsck --repair. Damaged records are cut
 * out of the log into rejects/ (desk_log_drop), and every derived file is
 * rebuilt from the log (desk_store_rebuild) through the schema's apply,
 * the same callback every live write and roll-forward goes through, so a
 * repair cannot derive anything a write would not. The engine knows the
 * tables by index only, their files by the names the schema gave it.
 */
#include <stdio.h>
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
apply_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	(void)ctx;
	if (jv_is_valid(rec) && loc.len <= DESK_REC_MAX)
		st->schema->apply(st, rec, loc);
	jv_free(rec);
}

int
desk_store_rebuild(struct desk_store *st)
{
	int nt = st->schema->ntables;
	char tmp[DESK_ST_TABLES][64];

	desk_derived_close(st);
	desk_slot_forget(st);
	st->repairing = 1;
	for (int t = 0; t < nt; t++) {
		int fd = desk_store_tmp(st, tmp[t], sizeof tmp[t]);
		if (fd < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/tmp",
			    st->root);
		close(fd);
		desk_store_unlink(st, tmp[t]);
		if ((st->slotfd[t] = desk_slot_create_file(st, t, tmp[t])) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, tmp[t]);
	}
	int fd = desk_store_tmp(st, st->hxpath, sizeof st->hxpath);
	if (fd < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/tmp", st->root);
	close(fd);
	desk_store_unlink(st, st->hxpath);
	if ((st->hxfd = desk_hx_create_file(st, st->hxpath, DESK_HX_MIN_BUCKETS)) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    st->hxpath);
	st->hx_nb = DESK_HX_MIN_BUCKETS;
	st->hx_count = st->hx_count_disk = 0;
	if (desk_log_rollforward(st, 1, 0, 0, apply_one, NULL) < 0 ||
	    desk_hx_flush(st) < 0)
		return -1;
	/* The new files are whole on disk before they replace the old ones. */
	for (int t = 0; t < nt; t++)
		if (fdatasync(st->slotfd[t]) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, tmp[t]);
	if (fdatasync(st->hxfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    st->hxpath);
	for (int t = 0; t < nt; t++) {
		char rel[64];
		snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
		if (desk_store_rename(st, tmp[t], rel) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, rel);
	}
	if (desk_store_rename(st, st->hxpath, "index/keys.hx") < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/keys.hx",
		    st->root);
	st->hxpath[0] = '\0';
	st->repairing = 0;
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
}
