/*
 * compact.c: desk-case compact. The sealed segments of the log (every one
 * before the segment being appended to) are rewritten without the records
 * the schema says are superseded, online and crash-safe:
 *
 *  1. Without the lock, one pass over the whole log in order. A record of
 *     a sealed segment the schema's superseded() lets go is left out; every
 *     other one is copied, byte for byte, into a new file in tmp/ and
 *     applied at its new place to a second, private handle (kept) whose
 *     derived files are new in tmp/, as fsck --repair builds them. Records
 *     of the later segments keep their places and are applied as they
 *     are. Writers go on appending meanwhile.
 *  2. Those files are synced, still without the lock.
 *  3. Under the lock: what was appended since the pass is applied to kept
 *     (the roll-forward of a writer that died, in effect), the files are
 *     synced again, and a journal (STORE/compact: "from to" lines) is made
 *     durable. Then desk_compact_redo renames every file into place, syncs
 *     the directories, advances the epoch and removes the journal.
 *
 * A kill before the journal is durable leaves the store as it was (and
 * files in tmp/, which fsck notes and --repair removes); a kill after it
 * leaves the journal, which the next desk_store_lock, fsck's too, finishes
 * before it reads anything. Segments keep their numbers, so the order of
 * the log, which apply depends on, is the order it always had. The epoch
 * makes every other process drop what it kept by position at its next
 * lock: its slot and record caches and its open segments and derived
 * files, as after fsck --repair. The engine knows no record's meaning: the
 * schema's superseded() decides, given the live store and the state of the
 * records kept so far.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"

#define JOURNAL "compact"
#define WINDOW (1u << 20)

struct pass {
	struct desk_store *st, *kept;
	struct desk_compact_stats *cs;
	uint32_t sealed;              /* segments below it are rewritten */
	uint64_t end;                 /* past the last record applied, later segments */
	/* the sealed segment being read: a window of its bytes */
	uint32_t rseg;
	int rfd;
	struct desk_buf win;
	uint64_t wbase;
	/* its rewrite in tmp/ */
	uint32_t wseg;
	int wfd;
	char wname[64];
	uint64_t woff, wdropped;
	struct desk_buf out;
	struct desk_move *mv;
	size_t nmv;
	int tail;                     /* under the lock: counting cs->tail */
};

static int
fail_at(struct pass *p, const char *rel)
{
	return desk_store_fail_errno(p->kept, DESK_EX_IOERR, "%s/%s",
	    p->st->root, rel);
}

/* The bytes of the record at loc in the sealed segment being read. */
static const char *
raw(struct pass *p, struct desk_loc loc)
{
	uint64_t off = DESK_POS_OFF(loc.pos);
	char rel[32];

	snprintf(rel, sizeof rel, "log/%08u.jsonl", DESK_POS_SEG(loc.pos));
	if (p->rfd < 0 || p->rseg != DESK_POS_SEG(loc.pos)) {
		if (p->rfd >= 0)
			close(p->rfd);
		p->rseg = DESK_POS_SEG(loc.pos);
		p->win.len = 0;
		if ((p->rfd = desk_store_open_file(p->st, rel, O_RDONLY, 0)) < 0) {
			fail_at(p, rel);
			return NULL;
		}
	}
	if (off < p->wbase || off + loc.len > p->wbase + p->win.len) {
		size_t n = loc.len > WINDOW ? loc.len : WINDOW;
		p->win.len = 0;
		desk_buf_reserve(&p->win, n);
		ssize_t r = desk_pread_all(p->rfd, p->win.p, n, off);
		if (r < (ssize_t)loc.len) {
			if (r >= 0)
				errno = EIO;    /* sealed: it cannot have shrunk */
			fail_at(p, rel);
			return NULL;
		}
		p->wbase = off;
		p->win.len = (size_t)r;
	}
	return p->win.p + (off - p->wbase);
}

static int
out_flush(struct pass *p)
{
	if (p->out.len && desk_write_all(p->wfd, p->out.p, p->out.len) < 0)
		return fail_at(p, p->wname);
	p->out.len = 0;
	return 0;
}

/*
 * Ends the rewrite of a sealed segment: kept when it lost something, else
 * removed (every record is where it was, and so is what kept applied).
 */
static int
seg_end(struct pass *p)
{
	int r = 0;

	if (p->wfd < 0)
		return 0;
	if (out_flush(p) < 0 || (p->wdropped && fdatasync(p->wfd) < 0))
		r = fail_at(p, p->wname);
	close(p->wfd);
	p->wfd = -1;
	if (r < 0 || !p->wdropped) {
		desk_store_unlink(p->st, p->wname);
		return r;
	}
	p->cs->rewritten++;
	p->mv = desk_xrealloc(p->mv, (p->nmv + 1) * sizeof *p->mv);
	snprintf(p->mv[p->nmv].from, sizeof p->mv[0].from, "%s", p->wname);
	snprintf(p->mv[p->nmv].to, sizeof p->mv[0].to, "log/%08u.jsonl", p->wseg);
	p->nmv++;
	return 0;
}

static int
seg_begin(struct pass *p, uint32_t seg)
{
	if (seg_end(p) < 0)
		return -1;
	p->wfd = desk_store_tmp(p->st, p->wname, sizeof p->wname);
	if (p->wfd < 0)
		return fail_at(p, "tmp");
	p->wseg = seg;
	p->woff = p->wdropped = 0;
	p->cs->segments++;
	return 0;
}

static void
apply(struct desk_store *kept, jv rec, struct desk_loc loc)
{
	if (jv_is_valid(rec) && loc.len <= DESK_REC_MAX)
		kept->schema->apply(kept, rec, loc);
}

/* One record of the pass, in log order (the roll-forward's callback). */
static void
each(struct desk_store *kept, jv rec, struct desk_loc loc, void *ctx)
{
	struct pass *p = ctx;
	uint32_t seg = DESK_POS_SEG(loc.pos);
	const struct desk_schema *sc = kept->schema;

	if (seg >= p->sealed) {
		if (p->wfd >= 0)
			seg_end(p);
		apply(kept, rec, loc);
		p->end = loc.pos + loc.len;
		if (p->tail)
			p->cs->tail++;
		jv_free(rec);
		return;
	}
	if ((p->wfd < 0 || seg != p->wseg) && seg_begin(p, seg) < 0)
		goto out;
	p->cs->records++;
	p->cs->bytes_before += loc.len;
	if (jv_is_valid(rec) && sc->superseded &&
	    sc->superseded(p->st, kept, rec, loc)) {
		p->cs->dropped++;
		p->wdropped++;
		goto out;
	}
	/* Damaged lines too, as they are: fsck goes on reporting them. */
	const char *b = raw(p, loc);
	if (!b)
		goto out;
	struct desk_loc at = { DESK_POS(seg, p->woff), loc.len };
	desk_buf_add(&p->out, b, loc.len);
	p->woff += loc.len;
	p->cs->bytes_after += loc.len;
	if (p->out.len >= WINDOW && out_flush(p) < 0)
		goto out;
	apply(kept, rec, at);
out:
	jv_free(rec);
}

/* The roll-forward reads each segment until its end, and the next after it. */
static int
pass_run(struct pass *p, uint64_t from)
{
	if (desk_log_rollforward(p->kept, DESK_POS_SEG(from), DESK_POS_OFF(from),
	    0, each, p) < 0)
		return -1;
	/* A sealed segment as the last one read: nothing after it was whole. */
	if (seg_end(p) < 0 || desk_hx_flush(p->kept) < 0)
		return -1;
	return 0;
}

static int
kept_sync(struct pass *p, const struct desk_rebuilt *r)
{
	struct desk_store *k = p->kept;

	/* The rebuild's slots and buckets are held back until a flush. */
	if (desk_store_flush(k) < 0)
		return fail_at(p, r->hx);
	for (int t = 0; t < k->schema->ntables; t++)
		if (k->slotfd[t] >= 0 && fdatasync(k->slotfd[t]) < 0)
			return fail_at(p, r->slots[t]);
	if (fdatasync(k->hxfd) < 0)
		return fail_at(p, r->hx);
	return 0;
}

/* The journal: every rename the swap makes, durable before the first. */
static int
journal_write(struct desk_store *st, const struct desk_move *mv, size_t n,
    const struct desk_rebuilt *r)
{
	struct desk_buf j = DESK_BUF_INIT;
	char line[160];

	for (size_t i = 0; i < n; i++) {
		snprintf(line, sizeof line, "%s %s\n", mv[i].from, mv[i].to);
		desk_buf_add(&j, line, strlen(line));
	}
	for (int t = 0; t < st->schema->ntables; t++) {
		snprintf(line, sizeof line, "%s index/%s.slots\n", r->slots[t],
		    st->schema->tables[t]);
		desk_buf_add(&j, line, strlen(line));
	}
	snprintf(line, sizeof line, "%s index/keys.hx\n", r->hx);
	desk_buf_add(&j, line, strlen(line));
	int rc = desk_store_put(st, JOURNAL, j.p, j.len, 0600);
	desk_buf_free(&j);
	if (rc < 0 || fsync(st->dfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    JOURNAL);
	return 0;
}

int
desk_swap(struct desk_store *st, const struct desk_move *mv, size_t n,
    struct desk_rebuilt *r)
{
	if (journal_write(st, mv, n, r) < 0)
		return -1;
	/*
	 * From here the tmp/ files are the journal's: never removed, even
	 * when a rename fails; the next lock finishes what this one could not.
	 */
	memset(r, 0, sizeof *r);
	return desk_compact_redo(st);
}

int
desk_swap_due(struct desk_store *st)
{
	struct stat sb;

	return desk_store_stat(st, JOURNAL, &sb) == 0;
}

int
desk_compact_redo(struct desk_store *st)
{
	size_t n;
	char *text = desk_store_get(st, JOURNAL, &n);

	if (!text) {
		if (errno == ENOENT)
			return 0;
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    JOURNAL);
	}
	/*
	 * The journal's units are for the files about to be replaced: they
	 * are synced, and it is begun anew, before any rename.
	 */
	int r = desk_redo_checkpoint(st);
	for (char *line = text, *nl; !r && (nl = strchr(line, '\n')); line = nl + 1) {
		*nl = '\0';
		char *to = strchr(line, ' ');
		struct stat sb;
		if (!to || strncmp(line, "tmp/", 4) || (strncmp(to + 1, "log/", 4) &&
		    strncmp(to + 1, "index/", 6))) {
			r = desk_store_fail(st, DESK_EX_IOERR, "%s/%s: damaged",
			    st->root, JOURNAL);
			break;
		}
		*to++ = '\0';
		/* Gone from tmp/: renamed before the last stop. */
		if (desk_store_stat(st, line, &sb) < 0 && errno == ENOENT)
			continue;
		if (desk_store_rename(st, line, to) < 0)
			r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
			    to);
	}
	free(text);
	if (r < 0)
		return -1;
	if (fsync(st->subfd[DESK_D_LOG]) < 0 || fsync(st->subfd[DESK_D_INDEX]) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s: sync",
		    st->root);
	/* Positions moved: other processes drop what they hold by position. */
	if (desk_state_epoch_bump(st) < 0)
		return -1;
	if (desk_store_unlink(st, JOURNAL) < 0 || fsync(st->dfd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    JOURNAL);
	return 0;
}

static int
lock_and_swap(struct pass *p, struct desk_rebuilt *r, uint64_t epoch)
{
	struct desk_store *st = p->st;
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	if (desk_store_lock(st) < 0)
		return -1;
	if (st->clean.epoch != epoch)
		desk_store_fail(st, DESK_EX_TEMPFAIL, "%s: repaired or compacted "
		    "by another process meanwhile; nothing changed (run compact "
		    "again)", st->root);
	/* What writers appended since the pass, up to the log's end. */
	else if (p->tail = 1, pass_run(p, p->end) < 0 || kept_sync(p, r) < 0)
		desk_store_fail(st, p->kept->err.code, "%s", p->kept->err.msg);
	else {
		desk_swap(st, p->mv, p->nmv, r);
		if (!r->hx[0])
			p->nmv = 0;    /* the journal's now, as r's files */
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	desk_store_commit(st);
	p->cs->lock_s = (double)(b.tv_sec - a.tv_sec) +
	    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	return st->err.code ? -1 : 0;
}

int
desk_store_compact(struct desk_store *st, struct desk_compact_stats *cs)
{
	void (*fatal)(const struct desk_err *) = st->fatal;
	struct pass p;
	struct desk_rebuilt r;

	memset(cs, 0, sizeof *cs);
	memset(&p, 0, sizeof p);
	memset(&r, 0, sizeof r);
	p.st = st;
	p.cs = cs;
	p.rfd = p.wfd = -1;
	/* Which segments are sealed, and the epoch they belong to: a moment's lock. */
	if (desk_store_lock(st) < 0)
		return -1;
	p.sealed = st->clean.seg;
	uint64_t epoch = st->clean.epoch;
	if (desk_store_commit(st) < 0)
		return -1;
	p.end = DESK_POS(p.sealed, 0);
	if (p.sealed <= 1)
		return 0;    /* nothing sealed yet */
	/* A tool's die wrapper waits until the tmp/ files are gone. */
	st->fatal = NULL;
	/*
	 * kept: a handle of its own, its derived files new in tmp/ and
	 * nobody else's, so its caches hold without the writer lock.
	 */
	p.kept = desk_store_open(st->root, 0, st->schema);
	if (desk_store_error(p.kept))
		goto kept_failed;
	if (desk_rebuild_open(p.kept, &r) < 0)
		goto kept_failed;
	p.kept->locked = 1;
	if (pass_run(&p, DESK_POS(1, 0)) < 0 || kept_sync(&p, &r) < 0)
		goto kept_failed;
	if (!cs->dropped) {
		cs->bytes_after = cs->bytes_before;
		goto out;       /* nothing superseded: nothing to swap */
	}
	lock_and_swap(&p, &r, epoch);
	goto out;
kept_failed:
	desk_store_fail(st, p.kept->err.code, "%s", p.kept->err.msg);
out:
	for (size_t i = 0; i < p.nmv; i++)
		desk_store_unlink(st, p.mv[i].from);
	if (p.kept) {
		p.kept->locked = 0;
		desk_rebuild_close(p.kept, &r);
		desk_store_close(p.kept);
	}
	if (p.rfd >= 0)
		close(p.rfd);
	if (p.wfd >= 0) {
		close(p.wfd);
		desk_store_unlink(st, p.wname);
	}
	desk_buf_free(&p.win);
	desk_buf_free(&p.out);
	free(p.mv);
	desk_store_on_error(st, fatal);
	return st->err.code ? -1 : 0;
}
