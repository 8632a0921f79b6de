/*
 * store.c: the store directory, its writer lock, its state file and its log.
 *
 * The log (log/NNNNNNNN.jsonl) is the truth: every change is one JSON
 * record appended whole. Slots and the hash index under index/ are derived
 * from it (apply.c) and can always be rebuilt (fsck --repair). The state
 * file says how far the log is committed; a writer that finds more log than
 * that (its predecessor died mid-batch) rolls the rest forward before it
 * writes. See desk-store(5).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/engine.h"

#define VERSION_TEXT "desk store 1\n"

/* In the order of enum desk_subdir. */
static const char *const subdirs[DESK_NSUBDIRS] = {
	"log", "index", "channels", "secrets", "rejects", "tmp"
};

static int store_need(struct desk_store *);
static int straddled(struct desk_store *);
static int held_replaced(struct desk_store *, int);
static void straddle_fail(struct desk_store *);
static int redo_replay(struct desk_store *, int);
static const char *boot_id(struct desk_store *);

/*
 * The store's error state, as SQLite's pager has one: the first failure is
 * kept in st->err and every write after it is refused until the store is
 * closed, so a verb that failed halfway can never be made durable. What it
 * wrote to the log before the failure is left as a killed writer leaves
 * it: the next writer's roll-forward decides (desk-store(5)).
 */
static int
fail_v(struct desk_store *st, int code, int err, const char *fmt, va_list ap)
{
	if (!st->err.code) {
		int n = vsnprintf(st->err.msg, sizeof st->err.msg, fmt, ap);
		if (err && n >= 0 && (size_t)n < sizeof st->err.msg)
			snprintf(st->err.msg + n, sizeof st->err.msg - (size_t)n,
			    ": %s", strerror(err));
		st->err.code = code;
		st->err.field = NULL;
		/*
		 * What looks like damage to a read without the lock may be
		 * two stores: an index and a segment from either side of a
		 * swap.
		 */
		if (code == DESK_EX_IOERR && (!err || err == ENOENT) &&
		    straddled(st))
			straddle_fail(st);
		if (st->fatal)
			st->fatal(&st->err);
	}
	errno = err ? err : EIO;
	return -1;
}

int
desk_store_read_whole(struct desk_store *st)
{
	if (st->err.code)
		return -1;
	if (st->locked || st->repairing || st->tolerant || st->dfd < 0 ||
	    !held_replaced(st, 0))
		return 0;
	straddle_fail(st);
	if (st->fatal)
		st->fatal(&st->err);
	return -1;
}

int
desk_store_fail(struct desk_store *st, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fail_v(st, code, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int
desk_store_fail_errno(struct desk_store *st, int code, const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	fail_v(st, code, err ? err : EIO, fmt, ap);
	va_end(ap);
	return -1;
}

const struct desk_err *
desk_store_error(const struct desk_store *st)
{
	return st->err.code ? &st->err : NULL;
}

int
desk_store_err(const struct desk_store *st, struct desk_err *e)
{
	if (!st->err.code)
		return 0;
	if (e)
		*e = st->err;
	return -1;
}

void
desk_store_on_error(struct desk_store *st,
    void (*fatal)(const struct desk_err *))
{
	st->fatal = fatal;
	if (fatal && st->err.code)
		fatal(&st->err);
}

void
desk_store_on_again(struct desk_store *st, void (*again)(void))
{
	st->again = again;
}

int
desk_store_replaced(struct desk_store *st, int fd, const char *rel)
{
	struct stat a, b;

	if (fd < 0)
		return 0;
	if (fstat(fd, &a) < 0 || desk_store_stat(st, rel, &b) < 0)
		return 1;
	return a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

static int
seg_replaced(struct desk_store *st, int fd, uint32_t seg)
{
	char rel[32];

	snprintf(rel, sizeof rel, "log/%08u.jsonl", seg);
	return desk_store_replaced(st, fd, rel);
}

/* STORE/lock opened with flags (O_CREAT: made 0600). */
static int
lock_open(struct desk_store *st, int flags)
{
	return openat(st->dfd, "lock", flags | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/*
 * A swap's journal or a repair's mark that a read run again gets past:
 * its swap is under way (someone holds the lock), or this process may take
 * the lock to finish it (swap_finish). Else, in a store it may only read,
 * a left one stays, and what the read met is reported as it is.
 */
static int
swap_passable(struct desk_store *st)
{
	int fd = lock_open(st, O_RDWR), held;

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	if ((fd = lock_open(st, O_RDONLY)) < 0)
		return 0;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

/* A file st holds was replaced (hx: the index too, which growth replaces). */
static int
held_replaced(struct desk_store *st, int hx)
{
	if (desk_slot_replaced(st) || (hx && desk_hx_replaced(st)))
		return 1;
	for (unsigned i = 0; i < DESK_RFDS; i++)
		if (seg_replaced(st, st->rfd[i].fd, st->rfd[i].seg))
			return 1;
	return seg_replaced(st, st->segfd, st->seg);
}

/*
 * A handle without the lock whose files may be of two stores: a swap
 * (desk_swap: compact, fsck --repair) is under way, or a repair's cut, or
 * one of the files it holds open was replaced since it opened it, so the
 * segments it opens after are not of the index it holds, or the other
 * way round. Asked only when a read met what looks like damage.
 */
static int
straddled(struct desk_store *st)
{
	if (st->locked || st->repairing || st->tolerant || st->dfd < 0)
		return 0;
	return ((desk_swap_due(st) || desk_rebuild_due(st)) &&
	    swap_passable(st)) || held_replaced(st, 1);
}

/*
 * The failure of a read that straddled a swap, st->err's code and message
 * made: not damage, and not for fsck: the read again, in a new process
 * (st->again), or a temporary failure.
 */
static void
straddle_fail(struct desk_store *st)
{
	/* Never a writer's: what it did before is not done again. */
	if (st->again && !st->held)
		st->again();
	snprintf(st->err.msg, sizeof st->err.msg, "%s: compacted or "
	    "repaired while this read it: run it again", st->root);
	st->err.code = DESK_EX_TEMPFAIL;
	st->err.field = NULL;
}

/* A write on a store in its error state: refused, the first error kept. */
static int
refused(struct desk_store *st)
{
	if (!st->err.code)
		return 0;
	errno = EIO;
	return 1;
}

/* Missing directories on the way to the store are as private as the store. */
static int
mkdirs(struct desk_store *st, const char *path)
{
	char *p = desk_xstrdup(path);
	int r = 0;

	for (char *s = p + 1; *s && !r; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s", p);
		*s = '/';
	}
	if (!r && mkdir(p, 0700) < 0 && errno != EEXIST)
		r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s", p);
	free(p);
	return r;
}

/*
 * Whoever else can write to a directory of the store can swap what is in it
 * (a symbolic link for rejects/, and root writes where they choose), so such
 * a store is refused, as ssh refuses a ~/.ssh others can write.
 */
static int
dir_check(struct desk_store *st, int fd, const char *sub)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s%s%s", st->root,
		    *sub ? "/" : "", sub);
	if (sb.st_uid != geteuid())
		return desk_store_fail(st, DESK_EX_NOPERM, "%s%s%s: owned by uid "
		    "%u, not by uid %u that runs %s: refused", st->root,
		    *sub ? "/" : "", sub, (unsigned)sb.st_uid,
		    (unsigned)geteuid(), desk_prog);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		return desk_store_fail(st, DESK_EX_NOPERM, "%s%s%s: writable by "
		    "group or others (mode %03o): refused", st->root,
		    *sub ? "/" : "", sub, (unsigned)(sb.st_mode & 07777));
	return 0;
}

/*
 * Holds every subdirectory open, opened without following a link and
 * checked, so what is below them is reached through these fds and never
 * through a name another process could have replaced.
 */
static int
subdirs_open(struct desk_store *st)
{
	for (int i = 0; i < DESK_NSUBDIRS; i++) {
		if (st->subfd[i] >= 0)
			continue;
		int fd = openat(st->dfd, subdirs[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT &&
		    (mkdirat(st->dfd, subdirs[i], 0700) == 0 || errno == EEXIST)) {
			desk_store_dir_dirty(st, DESK_NSUBDIRS);
			fd = openat(st->dfd, subdirs[i],
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			struct stat sb;
			if ((errno == ELOOP || errno == ENOTDIR) &&
			    fstatat(st->dfd, subdirs[i], &sb, AT_SYMLINK_NOFOLLOW) == 0)
				return desk_store_fail(st, DESK_EX_NOPERM,
				    "%s/%s: %s: refused", st->root, subdirs[i],
				    S_ISLNK(sb.st_mode) ? "a symbolic link, not a "
				    "directory" : "not a directory");
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, subdirs[i]);
		}
		st->subfd[i] = fd;
		if (dir_check(st, fd, subdirs[i]) < 0)
			return -1;
	}
	return 0;
}

int
desk_store_at(struct desk_store *st, const char *rel, const char **name)
{
	const char *slash = strchr(rel, '/');

	*name = rel;
	if (!slash || strchr(slash + 1, '/'))
		return st->dfd;
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		if (st->subfd[i] >= 0 && !strncmp(rel, subdirs[i], (size_t)(slash - rel)) &&
		    !subdirs[i][slash - rel]) {
			*name = slash + 1;
			return st->subfd[i];
		}
	return st->dfd;
}

void
desk_store_dir_dirty(struct desk_store *st, int sub)
{
	st->sync_dirs |= 1u << sub;
	st->dirty = 1;
}

/* The directory of rel (as desk_store_at finds it) is noted for the sync. */
static void
rel_dirty(struct desk_store *st, const char *rel)
{
	const char *name;
	int dir = desk_store_at(st, rel, &name);

	for (int i = 0; i < DESK_NSUBDIRS; i++)
		if (dir == st->subfd[i] && dir >= 0) {
			desk_store_dir_dirty(st, i);
			return;
		}
	desk_store_dir_dirty(st, DESK_NSUBDIRS);
}

/*
 * The file calls of everything below the store go through the directory
 * fds checked at open, never by a path from the root: a subdirectory
 * swapped for a link afterwards is not followed.
 */
int
desk_store_open_file(struct desk_store *st, const char *rel, int flags, int mode)
{
	const char *name;
	int dir = desk_store_at(st, rel, &name);

	return openat(dir, name, flags | O_CLOEXEC | O_NOFOLLOW, mode);
}

int
desk_store_unlink(struct desk_store *st, const char *rel)
{
	const char *name;
	int dir = desk_store_at(st, rel, &name);

	rel_dirty(st, rel);
	return unlinkat(dir, name, 0);
}

int
desk_store_rename(struct desk_store *st, const char *from, const char *to)
{
	const char *fname, *tname;
	int fdir = desk_store_at(st, from, &fname), tdir = desk_store_at(st, to, &tname);

	rel_dirty(st, from);
	rel_dirty(st, to);
	return renameat(fdir, fname, tdir, tname);
}

int
desk_store_link(struct desk_store *st, const char *from, const char *to)
{
	const char *fname, *tname;
	int fdir = desk_store_at(st, from, &fname), tdir = desk_store_at(st, to, &tname);

	rel_dirty(st, to);
	return linkat(fdir, fname, tdir, tname, 0);
}

int
desk_store_stat(struct desk_store *st, const char *rel, struct stat *sb)
{
	const char *name;
	int dir = desk_store_at(st, rel, &name);

	return fstatat(dir, name, sb, AT_SYMLINK_NOFOLLOW);
}

DIR *
desk_store_opendir(struct desk_store *st, const char *sub)
{
	int dir = desk_store_dir_fd(st, sub);
	/* Its own fd: a dup would share, and leave at the end, the offset. */
	int fd = dir < 0 ? -1 : openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);

	if (!d && fd >= 0)
		close(fd);
	return d;
}

int
desk_store_dir_fd(struct desk_store *st, const char *sub)
{
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		if (!strcmp(sub, subdirs[i]))
			return st->subfd[i];
	return -1;
}

/* name gets "tmp/N.M", the name in the store; the file is in tmp/ as "N.M". */
static int
tmp_open(struct desk_store *st, char *name, size_t n)
{
	for (int tries = 0; tries < 100; tries++) {
		snprintf(name, n, "tmp/%ld.%u", (long)getpid(), st->tmpseq++);
		int fd = openat(st->subfd[DESK_D_TMP], name + 4,
		    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

int
desk_store_create_with(struct desk_store *st, const char *rel,
    const void *head, size_t n, uint64_t size)
{
	char tmp[64];
	int intmp = !strncmp(rel, "tmp/", 4);
	int fd = intmp ? desk_store_open_file(st, rel, O_RDWR | O_CREAT | O_EXCL,
	    0600) : tmp_open(st, tmp, sizeof tmp);

	if (fd < 0)
		return -1;
	if (desk_pwrite_all(fd, head, n, 0) < 0 ||
	    (size > n && ftruncate(fd, (off_t)size) < 0) ||
	    (!intmp && desk_store_link(st, tmp, rel) < 0)) {
		int e = errno;
		close(fd);
		desk_store_unlink(st, intmp ? rel : tmp);
		errno = e;
		return -1;
	}
	if (!intmp)
		unlinkat(st->subfd[DESK_D_TMP], tmp + 4, 0);
	rel_dirty(st, rel);
	return fd;
}

int
desk_store_tmp(struct desk_store *st, char *name, size_t n)
{
	if (refused(st) || store_need(st) < 0)
		return -1;
	return tmp_open(st, name, n);
}

static int
put(struct desk_store *st, const char *rel, const void *p, size_t n, int mode)
{
	char tmp[64];
	const char *name;
	int dir = desk_store_at(st, rel, &name);
	int tmpdir = st->subfd[DESK_D_TMP];
	int fd = tmp_open(st, tmp, sizeof tmp);

	if (fd < 0)
		return -1;
	/* fsync before rename: a crash must leave the old file or the new, never an empty one. */
	if (desk_write_all(fd, p, n) < 0 || fchmod(fd, (mode_t)mode) < 0 ||
	    fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlinkat(tmpdir, tmp + 4, 0);
		errno = e;
		return -1;
	}
	if (close(fd) < 0 || renameat(tmpdir, tmp + 4, dir, name) < 0) {
		int e = errno;
		unlinkat(tmpdir, tmp + 4, 0);
		errno = e;
		return -1;
	}
	/* The rename is durable at the commit's sync of its directory. */
	rel_dirty(st, rel);
	return 0;
}

int
desk_store_put(struct desk_store *st, const char *rel, const void *p,
    size_t n, int mode)
{
	if (refused(st) || store_need(st) < 0)
		return -1;
	return put(st, rel, p, n, mode);
}

char *
desk_store_get(struct desk_store *st, const char *rel, size_t *np)
{
	const char *name;
	int dir = desk_store_at(st, rel, &name);
	struct stat sb;

	if (dir < 0) {
		errno = ENOENT;     /* a store not created yet holds nothing */
		return NULL;
	}
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		int e = errno ? errno : EINVAL;
		close(fd);
		errno = e;
		return NULL;
	}
	char *p = desk_xmalloc((size_t)sb.st_size + 1);
	ssize_t r = desk_pread_all(fd, p, (size_t)sb.st_size, 0);
	int e = errno;
	close(fd);
	if (r < 0) {
		free(p);
		errno = e;
		return NULL;
	}
	p[r] = '\0';
	if (np)
		*np = (size_t)r;
	return p;
}

/* The state in text p, n bytes: 0, or -1 when it is not one. */
static int
state_decode(struct desk_store *st, const char *p, size_t n, struct desk_state *s)
{
	jv v = desk_json_parse_all(p, n);
	int64_t x;

	if (!jv_is_valid(v) || !desk_jint(v, "seg", &x) || x < 1)
		goto bad;
	s->seg = (uint32_t)x;
	if (!desk_jint(v, "size", &x) || x < 0)
		goto bad;
	s->size = (uint64_t)x;
	s->epoch = desk_jint(v, "epoch", &x) ? (uint64_t)x : 1;
	jv next = desk_jget(v, "next");
	for (int k = 0; k < st->schema->ncounters; k++)
		s->next[k] = desk_jint(next, st->schema->counters[k], &x) && x > 0 ?
		    (uint64_t)x : 1;
	/* An older store's state has none: its derived files were synced. */
	jv redo = desk_jget(v, "redo");
	s->redo_gen = desk_jint(redo, "gen", &x) && x >= 0 && x <= UINT32_MAX ?
	    (uint32_t)x : 0;
	s->redo_end = desk_jint(redo, "end", &x) && x >= 0 ? (uint64_t)x : 0;
	const char *boot = desk_jstr(redo, "boot");
	memset(s->boot, 0, sizeof s->boot);
	if (boot && strlen(boot) < sizeof s->boot)
		strcpy(s->boot, boot);
	jv_free(v);
	return 0;
bad:
	jv_free(v);
	return -1;
}

static int
state_parse(struct desk_store *st, const char *p, size_t n, struct desk_state *s)
{
	if (state_decode(st, p, n, s) == 0)
		return 0;
	return desk_store_fail(st, DESK_EX_IOERR, "%s/state: damaged (run "
	    "desk-case fsck --repair)", st->root);
}

uint64_t
desk_state_committed(struct desk_store *st)
{
	char buf[2][DESK_STATE_SIZE];
	struct desk_state s;
	ssize_t r[2];
	int fd = st->statefd >= 0 ? st->statefd :
	    openat(st->dfd, "state", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	/*
	 * Without the lock a read may meet the one pwrite that replaces the
	 * state halfway: two reads that agree were not torn.
	 */
	for (int i = 0; i < 2; i++)
		r[i] = desk_pread_all(fd, buf[i], DESK_STATE_SIZE, 0);
	if (fd != st->statefd)
		close(fd);
	if (r[0] <= 0 || r[0] != r[1] || memcmp(buf[0], buf[1], (size_t)r[0]) ||
	    state_decode(st, buf[0], (size_t)r[0], &s) < 0)
		return 0;
	return DESK_POS(s.seg, s.size);
}

static int
state_read(struct desk_store *st)
{
	char buf[DESK_STATE_SIZE + 1];

	if (st->statefd < 0) {
		st->statefd = openat(st->dfd, "state",
		    O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (st->statefd < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/state",
			    st->root);
	}
	ssize_t r = desk_pread_all(st->statefd, buf, DESK_STATE_SIZE, 0);
	if (r < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/state", st->root);
	return state_parse(st, buf, (size_t)r, &st->clean);
}

static int
state_format(const struct desk_store *st, const struct desk_state *s,
    char *buf)
{
	int n = snprintf(buf, DESK_STATE_SIZE,
	    "{\"format\":%d,\"epoch\":%llu,\"seg\":%u,\"size\":%llu,\"next\":{",
	    DESK_STORE_FORMAT, (unsigned long long)s->epoch, s->seg,
	    (unsigned long long)s->size);
	for (int k = 0; k < st->schema->ncounters; k++)
		n += snprintf(buf + n, DESK_STATE_SIZE - n, "%s\"%s\":%llu",
		    k ? "," : "", st->schema->counters[k], (unsigned long long)s->next[k]);
	n += snprintf(buf + n, DESK_STATE_SIZE - n, "},\"redo\":{\"gen\":%u,"
	    "\"end\":%llu,\"boot\":\"%s\"}}", s->redo_gen,
	    (unsigned long long)s->redo_end, s->boot);
	/* Fixed size, so one pwrite replaces it and a sector holds it whole. */
	memset(buf + n, ' ', DESK_STATE_SIZE - 1 - n);
	buf[DESK_STATE_SIZE - 1] = '\n';
	return DESK_STATE_SIZE;
}

/* Replaces the state with s (synced when sync), which st->clean becomes. */
static int
state_put(struct desk_store *st, const struct desk_state *s, int sync)
{
	char buf[DESK_STATE_SIZE];

	state_format(st, s, buf);
	if (desk_pwrite_all(st->statefd, buf, DESK_STATE_SIZE, 0) < 0 ||
	    (sync && fdatasync(st->statefd) < 0))
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/state", st->root);
	st->clean = *s;
	return 0;
}

/* What the state says of index/batch.redo: as this process left it. */
static void
redo_mark(const struct desk_store *st, struct desk_state *s)
{
	s->redo_gen = st->redo_gen;
	s->redo_end = st->redo_end;
	memcpy(s->boot, st->boot, sizeof s->boot);
}

int
desk_state_write(struct desk_store *st)
{
	struct desk_state s = st->clean;

	if (refused(st))
		return -1;
	s.seg = st->seg;
	s.size = st->segsize;
	memcpy(s.next, st->next, sizeof s.next);
	redo_mark(st, &s);
	if (!memcmp(&s, &st->clean, sizeof s))
		return 0;
	if (state_put(st, &s, 0) < 0)
		return -1;
	/* A new epoch (fsck --repair) is synced at the commit (sync_touched). */
	if (s.epoch != st->locked_epoch)
		st->sync_state = 1;
	st->dirty = 1;
	return 0;
}

int
desk_state_epoch_bump(struct desk_store *st)
{
	if (refused(st) || state_read(st) < 0)
		return -1;
	struct desk_state s = st->clean;
	s.epoch++;
	return state_put(st, &s, 1);
}

/*
 * flock with a deadline, and no signal: a blocked flock ends only by a
 * signal, and a SIGALRM handler and timer are the whole process's, not a
 * library's to take from a server's other threads. So the wait polls with
 * LOCK_NB, napping 1 ms at first and doubling to at most 8 ms: a waiter
 * finds the lock free at most 8 ms after its release, little beside the
 * batch it waited for.
 */
#define LOCK_NAP_MAX 8000000L     /* ns */

/*
 * Taking turns: a writer streaming batches lets go of the lock for a few
 * microseconds between them, which a waiter polling every 8 ms would
 * hardly ever see (desk-case compact's swap, a second writer). So a waiter
 * holds a shared flock on lock.wait while it polls, and a writer about to
 * lock first looks there: while someone waits (for at most 200 ms) it
 * naps before it competes, so the waiter gets its turn.
 */
static int
wait_fd(struct desk_store *st)
{
	if (st->waitfd < 0)
		st->waitfd = openat(st->dfd, "lock.wait",
		    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	return st->waitfd;
}

#define GIVE_WAY_MAX 100    /* naps of 2 ms: a waiter stopped holds no one up longer */

static void
give_way(struct desk_store *st)
{
	int fd = wait_fd(st);

	if (fd < 0)
		return;     /* no turns then: the lock itself is unaffected */
	/* Until the waiters have had the lock (they let go of lock.wait then). */
	for (int i = 0; i < GIVE_WAY_MAX; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			flock(fd, LOCK_UN);
			return;
		}
		struct timespec ts = { 0, 2000000L };
		nanosleep(&ts, NULL);
	}
}

static int
lock_wait(struct desk_store *st)
{
	double limit = desk_env()->lock_timeout, deadline = desk_mono() + limit;
	long nap = 1000000L;
	int waiting = 0;

	give_way(st);
	for (;;) {
		if (flock(st->lockfd, LOCK_EX | LOCK_NB) == 0) {
			if (waiting)
				flock(st->waitfd, LOCK_UN);
			return 0;
		}
		int e = errno;
		if (e == EINTR)
			continue;
		double left = deadline - desk_mono();
		if (waiting && (e != EWOULDBLOCK || left <= 0))
			flock(st->waitfd, LOCK_UN);
		errno = e;
		if (e != EWOULDBLOCK)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/lock",
			    st->root);
		if (!waiting && left > 0 && wait_fd(st) >= 0 &&
		    flock(st->waitfd, LOCK_SH | LOCK_NB) == 0)
			waiting = 1;
		if (left <= 0)
			return desk_store_fail(st, DESK_EX_TEMPFAIL, "%s: locked by "
			    "another writer; gave up after %g s (DESK_LOCK_TIMEOUT)",
			    st->root, limit);
		struct timespec ts = { 0, nap };
		if (left < 1e-9 * (double)nap)
			ts.tv_nsec = (long)(left * 1e9) + 1;
		nanosleep(&ts, NULL);
		if (nap < LOCK_NAP_MAX)
			nap = nap * 2 > LOCK_NAP_MAX ? LOCK_NAP_MAX : nap * 2;
	}
}

static int
seg_open(struct desk_store *st, uint32_t seg, int flags)
{
	char name[32];

	snprintf(name, sizeof name, "%08u.jsonl", seg);
	return openat(st->subfd[DESK_D_LOG], name, flags | O_CLOEXEC | O_NOFOLLOW,
	    0600);
}

int
desk_log_fd(struct desk_store *st, uint32_t seg)
{
	if (seg == st->seg && st->segfd >= 0)
		return st->segfd;
	for (unsigned i = 0; i < DESK_RFDS; i++)
		if (st->rfd[i].fd >= 0 && st->rfd[i].seg == seg)
			return st->rfd[i].fd;
	int fd = seg_open(st, seg, O_RDONLY);
	if (fd < 0)
		return -1;
	unsigned i = st->rfd_next++ % DESK_RFDS;
	if (st->rfd[i].fd >= 0)
		close(st->rfd[i].fd);
	st->rfd[i].seg = seg;
	st->rfd[i].fd = fd;
	return fd;
}

/* Makes seg the segment appended to, and learns its size (others append too). */
static int
seg_switch(struct desk_store *st, uint32_t seg, int create)
{
	struct stat sb;

	if (st->segfd >= 0 && st->seg == seg) {
		if (fstat(st->segfd, &sb) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR,
			    "%s/log/%08u.jsonl", st->root, seg);
		st->segsize = (uint64_t)sb.st_size;
		return 0;
	}
	/*
	 * The segment left behind is whole on disk before it is closed: the
	 * commit's sync covers only the one appended to.
	 */
	if (st->segfd >= 0 && (desk_log_flush(st) < 0 ||
	    (st->sync_seg && fdatasync(st->segfd) < 0)))
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/log/%08u.jsonl",
		    st->root, st->seg);
	st->sync_seg = 0;
	int fd = seg_open(st, seg, O_RDWR | O_APPEND | (create ? O_CREAT : 0));
	if (fd >= 0 && create)
		desk_store_dir_dirty(st, DESK_D_LOG);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/log/%08u.jsonl",
		    st->root, seg);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st->segfd >= 0)
		close(st->segfd);
	st->segfd = fd;
	st->seg = seg;
	st->segsize = (uint64_t)sb.st_size;
	return 0;
}

static int
seg_exists(struct desk_store *st, uint32_t seg)
{
	char name[32];

	snprintf(name, sizeof name, "%08u.jsonl", seg);
	return faccessat(st->subfd[DESK_D_LOG], name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Reads the log from (seg, off) up to end (a position; NO_END: its end),
 * calling each() for every whole record (an invalid jv with a message for
 * a line that does not parse), and sets *stop past the last one. A last
 * line without its newline is a write cut short by a crash: it is
 * truncated when truncate_tail is set and skipped otherwise; one cut by
 * end is left for the read that goes on from *stop. Stops at the store's
 * first error: 0, or -1 with the store failed.
 */
#define NO_END UINT64_MAX

static int
roll(struct desk_store *st, uint32_t seg, uint64_t off, uint64_t end,
    int truncate_tail, void (*each)(struct desk_store *, jv, struct desk_loc, void *),
    void *ctx, uint64_t *stop)
{
	struct desk_buf b = DESK_BUF_INIT;

	for (; !st->err.code; seg++, off = 0) {
		/* Where this segment's read ends: the bound, or its end. */
		int last = end != NO_END && seg >= DESK_POS_SEG(end);
		uint64_t lim = last ? DESK_POS_OFF(end) : NO_END;
		*stop = DESK_POS(seg, off);
		if (last && seg > DESK_POS_SEG(end))
			break;
		int fd = seg_open(st, seg, O_RDONLY);
		if (fd < 0) {
			if (errno != ENOENT)
				desk_store_fail_errno(st, DESK_EX_IOERR,
				    "%s/log/%08u.jsonl", st->root, seg);
			break;
		}
		uint64_t base = off;     /* file offset of b.p[0] */
		b.len = 0;
		while (!st->err.code && base + b.len < lim) {
			desk_buf_reserve(&b, 1 << 20);
			size_t want = b.cap - b.len - 1;
			if (want > lim - (base + b.len))
				want = (size_t)(lim - (base + b.len));
			ssize_t r = pread(fd, b.p + b.len, want,
			    (off_t)(base + b.len));
			if (r < 0) {
				if (errno == EINTR)
					continue;
				desk_store_fail_errno(st, DESK_EX_IOERR,
				    "%s/log/%08u.jsonl", st->root, seg);
				break;
			}
			if (r == 0)
				break;
			b.len += (size_t)r;
			size_t start = 0;
			while (!st->err.code) {
				char *nl = memchr(b.p + start, '\n', b.len - start);
				if (!nl)
					break;
				size_t len = (size_t)(nl - (b.p + start)) + 1;
				struct desk_loc loc = { DESK_POS(seg, base + start), (uint32_t)len };
				jv rec = desk_json_parse_all(b.p + start, len - 1);
				each(st, rec, loc, ctx);
				start += len;
			}
			memmove(b.p, b.p + start, b.len - start);
			b.len -= start;
			base += start;
		}
		close(fd);
		*stop = DESK_POS(seg, base);
		if (last)
			break;
		if (b.len > 0 && !st->err.code) {
			if (seg_exists(st, seg + 1)) {
				/* A torn line before a later segment is damage, not a crash tail. */
				struct desk_loc loc = { DESK_POS(seg, base), (uint32_t)b.len };
				each(st, jv_invalid_with_msg(jv_string(
				    "record without its newline")), loc, ctx);
			} else if (truncate_tail) {
				int wfd = refused(st) ? -1 : seg_open(st, seg, O_WRONLY);
				if (wfd < 0 || ftruncate(wfd, (off_t)base) < 0)
					desk_store_fail_errno(st, DESK_EX_IOERR,
					    "%s/log/%08u.jsonl", st->root, seg);
				if (wfd >= 0)
					close(wfd);
				st->cut += b.len;
				st->dirty = st->sync_seg = 1;
			}
		}
	}
	desk_buf_free(&b);
	return st->err.code ? -1 : 0;
}

int
desk_log_rollforward(struct desk_store *st, uint32_t seg, uint64_t off,
    int truncate_tail, void (*each)(struct desk_store *, jv, struct desk_loc, void *),
    void *ctx)
{
	uint64_t stop;

	return roll(st, seg, off, NO_END, truncate_tail, each, ctx, &stop);
}

int
desk_log_rollforward_to(struct desk_store *st, uint64_t from, uint64_t end,
    void (*each)(struct desk_store *, jv, struct desk_loc, void *), void *ctx,
    uint64_t *stop)
{
	return roll(st, DESK_POS_SEG(from), DESK_POS_OFF(from), end, 0, each, ctx,
	    stop);
}

#define REC_CACHE 2048
#define REC_CACHE_MAX 2048      /* longer records are not kept */

/*
 * Records' bytes by log position, for the reads the parsed records above
 * do not serve (a record too long for them, one they lost, its bytes
 * read by desk_log_raw): a ring, each record copied whole where the last
 * ended, an older one so overwritten in turn; an index by position says
 * where each is and finds it only while the ring still holds it. Bytes
 * at a position never change (the epoch says when segments were
 * rewritten, and rec_cache_clear drops both), so these serve readers
 * with and without the lock alike. A record read again when half the
 * ring has been written since is copied anew, so what is read often
 * stays.
 *
 * The ring starts at LOGC_MIN and doubles as it fills, up to its budget:
 * half the log, at least LOGC_SMALL and at most LOGC_MAX, so a run of a
 * few events allocates little and a writer streaming in bulk keeps the
 * records it reads again (a reply's case and user). A handle whose
 * derived files are being made new (fsck's rebuild, compact's kept:
 * repairing) reads the log in order and keeps LOGC_SMALL.
 */
#define LOGC_MIN (256u << 10)
#define LOGC_SMALL (4u << 20)
#define LOGC_MAX (16u << 20)
#define LOGC_PER_IDX 256          /* ring bytes an index entry stands for */
#define LOGC_REC_MAX 8192         /* longer records are not kept */
struct logc_ent {
	uint64_t pos, at;
	uint32_t len;
};
struct log_cache {
	struct logc_ent *idx;         /* size / LOGC_PER_IDX of them */
	uint64_t head;                /* bytes ever put in the ring */
	uint64_t full;                /* past it, a put overwrites what is kept */
	uint64_t size;                /* the ring's, a power of two */
	char *ring;
};

static struct logc_ent *
logc_ent(const struct log_cache *c, uint64_t pos)
{
	uint64_t n = c->size / LOGC_PER_IDX;

	return &c->idx[((pos ^ (pos >> 17)) * 0x9e3779b97f4a7c15ull >> 40) & (n - 1)];
}

/* Whether e is still in the ring. */
static int
logc_has(const struct log_cache *c, const struct logc_ent *e)
{
	return e->len && c->head - e->at <= c->size;
}

/* The record at loc from the ring, or NULL. */
static const char *
logc_get(struct desk_store *st, struct desk_loc loc)
{
	struct log_cache *c = st->logc;

	if (!c)
		return NULL;
	struct logc_ent *e = logc_ent(c, loc.pos);
	if (e->pos != loc.pos || e->len != loc.len || !logc_has(c, e))
		return NULL;
	return c->ring + e->at % c->size;
}

/* The largest ring allowed, a power of two. */
static uint64_t
logc_budget(const struct desk_store *st)
{
	uint64_t log = st->clean.seg ?
	    (uint64_t)(st->clean.seg - 1) * st->segmax + st->clean.size : 0;
	uint64_t b = LOGC_SMALL;

	while (!st->repairing && b < LOGC_MAX && b * 2 <= log / 2)
		b *= 2;
	return b;
}

/*
 * The ring twice as large, with what it holds: each record at the same
 * count of bytes put, now modulo the new size (the ones kept span less
 * than the old size, so none lands on another, nor across the end).
 */
static void
logc_grow(struct log_cache *c)
{
	struct log_cache o = *c;
	uint64_t n = o.size / LOGC_PER_IDX;

	c->size *= 2;
	c->ring = desk_xmalloc(c->size);
	c->idx = desk_xcalloc(c->size / LOGC_PER_IDX, sizeof *c->idx);
	for (uint64_t i = 0; i < n; i++)
		if (logc_has(&o, &o.idx[i])) {
			memcpy(c->ring + o.idx[i].at % c->size,
			    o.ring + o.idx[i].at % o.size, o.idx[i].len);
			*logc_ent(c, o.idx[i].pos) = o.idx[i];
		}
	c->full = c->head + o.size;
	free(o.ring);
	free(o.idx);
}

/* Keeps the n bytes at p as the record at loc. */
static void
logc_put(struct desk_store *st, struct desk_loc loc, const char *p)
{
	struct log_cache *c = st->logc;

	if (!loc.len || loc.len > LOGC_REC_MAX)
		return;
	if (!c) {
		c = st->logc = desk_xcalloc(1, sizeof *c);
		c->size = c->full = LOGC_MIN;
		c->ring = desk_xmalloc(c->size);
		c->idx = desk_xcalloc(c->size / LOGC_PER_IDX, sizeof *c->idx);
	}
	if (c->head + loc.len > c->full && c->size < logc_budget(st))
		logc_grow(c);
	/* Whole: a record that would wrap goes to the ring's start. */
	uint64_t room = c->size - c->head % c->size;
	if (room < loc.len)
		c->head += room;
	struct logc_ent *e = logc_ent(c, loc.pos);
	e->pos = loc.pos;
	e->len = loc.len;
	e->at = c->head;
	memmove(c->ring + c->head % c->size, p, loc.len);
	c->head += loc.len;
}

static void
logc_clear(struct desk_store *st)
{
	if (!st->logc)
		return;
	free(st->logc->ring);
	free(st->logc->idx);
	free(st->logc);
	st->logc = NULL;
}

static void
rec_cache_clear(struct desk_store *st)
{
	logc_clear(st);
	if (!st->recs)
		return;
	for (unsigned i = 0; i < REC_CACHE; i++)
		if (st->recs[i].pos)
			jv_free(st->recs[i].rec);
	free(st->recs);
	st->recs = NULL;
}

void
desk_log_forget(struct desk_store *st)
{
	rec_cache_clear(st);
}

int
desk_log_reopen(struct desk_store *st)
{
	uint32_t last = st->clean.seg ? st->clean.seg : 1;

	while (seg_exists(st, last + 1))
		last++;
	if (st->segfd >= 0)
		close(st->segfd);
	st->segfd = -1;
	return seg_switch(st, last, 0);
}

static void
rollforward_one(struct desk_store *st, jv rec, struct desk_loc loc, void *ctx)
{
	(void)ctx;
	st->rolled++;
	if (!jv_is_valid(rec) && st->tolerant) {
		jv_free(rec);     /* fsck reports it, and --repair moves it aside */
		return;
	}
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		desk_store_fail(st, DESK_EX_IOERR, "%s/log/%08u.jsonl: damaged "
		    "record at offset %llu: %s (run desk-case fsck --repair)",
		    st->root, DESK_POS_SEG(loc.pos),
		    (unsigned long long)DESK_POS_OFF(loc.pos),
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
		jv_free(msg);
		return;
	}
	/*
	 * Too long for a slot (only an older version could have written it):
	 * it was never acknowledged, so it is left for fsck --repair to move
	 * aside rather than make the store unopenable.
	 */
	if (loc.len > DESK_REC_MAX)
		desk_warn("%s/log/%08u.jsonl: the record at offset %llu is over "
		    "16 MiB: not applied (run desk-case fsck --repair)", st->root,
		    DESK_POS_SEG(loc.pos), (unsigned long long)DESK_POS_OFF(loc.pos));
	else
		st->schema->apply(st, rec, loc);
	jv_free(rec);
}

void
desk_derived_close(struct desk_store *st)
{
	/* What was held back for these files is dropped with them. */
	desk_slot_forget(st);
	desk_hx_forget(st);
	for (int t = 0; t < DESK_ST_TABLES; t++) {
		if (st->slotfd[t] >= 0)
			close(st->slotfd[t]);
		st->slotfd[t] = -1;
	}
	if (st->hxfd >= 0)
		close(st->hxfd);
	st->hxfd = -1;
	for (unsigned i = 0; i < DESK_RFDS; i++) {
		if (st->rfd[i].fd >= 0)
			close(st->rfd[i].fd);
		st->rfd[i].fd = -1;
	}
}

int
desk_store_lock(struct desk_store *st)
{
	if (refused(st))
		return -1;
	if (st->locked)
		return 0;
	desk_hx_newgen(st);
	if (store_need(st) < 0)
		return -1;
	if (st->lockfd < 0) {
		st->lockfd = lock_open(st, O_RDWR | O_CREAT);
		if (st->lockfd < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/lock",
			    st->root);
	}
	if (lock_wait(st) < 0)
		return -1;
	st->locked = 1;
	st->held = 1;
	/* A compaction cut short between its renames is finished first. */
	if (desk_compact_redo(st) < 0 || state_read(st) < 0)
		return -1;
	st->locked_epoch = st->clean.epoch;
	/* Cached slots and buckets hold only if nobody has written since our last commit. */
	if (!st->have_mine || memcmp(&st->mine, &st->clean, sizeof st->mine)) {
		desk_slot_forget(st);
		desk_hx_forget(st);
	}
	if (st->epoch != st->clean.epoch) {
		/* fsck --repair may have rewritten segments: positions moved. */
		rec_cache_clear(st);
		desk_derived_close(st);
		if (st->segfd >= 0)
			close(st->segfd);
		st->segfd = -1;
		st->epoch = st->clean.epoch;
	}
	memcpy(st->next, st->clean.next, sizeof st->next);
	if (seg_switch(st, st->clean.seg, 0) < 0)
		return -1;
	/* Another writer may have grown the index since we last looked. */
	if (desk_hx_refresh(st) < 0)
		return -1;
	st->redo_gen = st->clean.redo_gen;
	st->redo_end = st->clean.redo_end;
	st->redo_size = 0;        /* others may have made it longer */
	/*
	 * fsck --repair stopped after it cut records out of the log and
	 * before its rebuild: the derived files point into the log as it
	 * was, so they are made anew from it first (desk_log_drop).
	 */
	if (desk_rebuild_due(st))
		return desk_store_rebuild(st);
	int behind = st->segsize != st->clean.size ||
	    seg_exists(st, st->clean.seg + 1);
	/*
	 * The page cache that held the derived files' latest writes is gone,
	 * or cannot be known to be there (no boot here, though the last
	 * writer had one): every record of the journal written again, which
	 * changes nothing if it was there after all.
	 */
	const char *boot = boot_id(st);
	int crashed = *st->clean.boot && (!*boot || strcmp(st->clean.boot, boot));
	if (behind || crashed) {
		if (st->segsize < st->clean.size)
			return desk_store_fail(st, DESK_EX_IOERR, "%s/log/%08u.jsonl: "
			    "shorter than committed (run desk-case fsck)", st->root,
			    st->seg);
		desk_slot_forget(st);
		desk_hx_forget(st);
		if (redo_replay(st, crashed) < 0)
			return -1;
		if (behind && (desk_log_rollforward(st, st->clean.seg,
		    st->clean.size, 1, rollforward_one, NULL) < 0 ||
		    desk_log_reopen(st) < 0))
			return -1;
		st->wrote_log = behind;
	}
	/*
	 * After a crash, or on a store whose derived files were synced at
	 * every commit until now: on disk, and a new journal begun.
	 */
	if (*st->boot && (crashed || !*st->clean.boot) &&
	    (desk_store_flush(st) < 0 || desk_redo_checkpoint(st) < 0))
		return -1;
	return 0;
}

int
desk_store_locked(struct desk_store *st)
{
	return st->locked;
}

/* A write the engine cannot place: every directory is synced for it. */
void
desk_store_dirty(struct desk_store *st)
{
	st->sync_dirs = (1u << (DESK_NSUBDIRS + 1)) - 1;
	st->dirty = 1;
}

/*
 * index/batch.redo, the journal of the derived files. Every flush's units
 * (slot runs, bucket spans, the index's count) are appended to it as one
 * record, after the log records they derive from are durable and before
 * any unit goes to its file. So:
 *
 * - a writer killed half-way through writing the units leaves the slots
 *   and the index as they were before the flush or, once the next writer
 *   has written the records past the state's end again, after it: both
 *   what the records up to a point make them, from where the roll-forward
 *   goes on. Without it a kill there could leave an entry linked on the
 *   due list with its list's end not yet moved, or a message's slot
 *   without its case's count (apply counts on the order of its writes);
 *
 * - the derived files need no sync of their own at a commit: the journal
 *   is synced (two fdatasyncs a batch, the log's and its own, whatever it
 *   touched), and after a crash of the machine (the state names another
 *   boot) the next lock writes every record of the journal's generation
 *   again, in order, over what reached the disk of the files, whichever
 *   of their pages that was. A checkpoint (every REDO_CKPT bytes, before
 *   the index is grown or a derived file is replaced) syncs the derived
 *   files and starts a new generation, whose records are written from the
 *   journal's start over the older ones.
 *
 * Where the boot cannot be known (no /proc), the derived files are synced
 * at every commit instead, and the state says so (an empty boot).
 *
 * A record: a 64-byte head of magic, generation, epoch, the log position
 * the units derive up to, the index's bucket count, the units' length and
 * CRC, the head's CRC; then units of file (u32), len (u32), off (u64) and
 * the bytes. (The journal of an older desk holds one record of generation
 * 0 at its start.) The units are mostly zeros (the high bytes of ids and
 * positions, a slot's unused fields), so a record's are written packed
 * when that is shorter (see desk_redo_pack): at 10^6 cases, 140 bytes an
 * event written and synced, not 224.
 */
#define REDO_PATH "index/batch.redo"
#define REDO_MAGIC "desk redo 1\n"
#define REDO_HEAD 64
#define REDO_MAX (256u << 20)
/*
 * A checkpoint syncs every page of the derived files a stream dirtied
 * since the last, however often it was written meanwhile: the longer
 * between them, the fewer times a page of the index goes to the disk
 * (at 10^6 cases, 100,000 new messages in one run with no checkpoint
 * among them write a page of keys.hx about once). The cost is at the
 * first lock after a crash of the machine, which writes the whole
 * generation again: 2.3 s for 120 MiB of it (a store of 2.6 million
 * messages, its files in the page cache; 0.4 s for 16 MiB at 10^6 cases).
 */
#define REDO_CKPT (128u << 20)

void
desk_redo_add(struct desk_store *st, unsigned file, uint64_t off,
    const void *p, size_t len)
{
	unsigned char u[16];

	if (!st->redo.len) {
		desk_buf_reserve(&st->redo, REDO_HEAD);
		memset(st->redo.p, 0, REDO_HEAD);
		st->redo.len = REDO_HEAD;
	}
	desk_le32(u, file);
	desk_le32(u + 4, (uint32_t)len);
	desk_le64(u + 8, off);
	desk_buf_add(&st->redo, u, sizeof u);
	desk_buf_reserve(&st->redo, len);
	if (p)
		memcpy(st->redo.p + st->redo.len, p, len);
	else
		memset(st->redo.p + st->redo.len, 0, len);
	st->redo.len += len;
}

/*
 * A packed record's units are one unit of file REDO_PACKED, whose len is
 * the packed bytes' and whose off is the length of the units they stand
 * for: runs, each a literal's length (LEB128), its bytes, and a length of
 * zeros. An older desk, which writes no such record, takes one for a
 * damaged unit and refuses before it writes any (fsck --repair rebuilds
 * what it was for) rather than write the packed bytes to a file.
 */
#define REDO_PACKED 0xfffffffeu
#define REDO_ZEROS 3        /* the fewest zeros a literal ends at */

static unsigned char *
put_len(unsigned char *o, size_t n)
{
	do
		*o++ = (unsigned char)((n & 127) | (n > 127 ? 128 : 0));
	while ((n >>= 7));
	return o;
}

static int
get_len(const unsigned char *p, size_t n, size_t *at, size_t *v)
{
	size_t x = 0;

	for (int sh = 0; sh < 35 && *at < n; sh += 7) {
		unsigned char c = p[(*at)++];
		x |= (size_t)(c & 127) << sh;
		if (!(c & 128)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/*
 * Where the bytes from at on stop being nonzero (zero: 0) or zero
 * (zero: 1), before n; eight at a time where the byte order lets the
 * first of them be told by counting trailing zero bits.
 */
static size_t
run_end(const unsigned char *p, size_t at, size_t n, int zero)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (uint64_t v, m; at + 8 <= n; at += 8) {
		memcpy(&v, p + at, sizeof v);
		/* The lowest bit set is the first zero byte's (or nonzero's). */
		m = zero ? v : (v - 0x0101010101010101u) & ~v & 0x8080808080808080u;
		if (m)
			return at + (size_t)__builtin_ctzll(m) / 8;
	}
#endif
	while (at < n && (!p[at]) == zero)
		at++;
	return at;
}

/*
 * Units p[0..n), packed, appended to b: at most 2n + 20 bytes, as a run
 * takes at least REDO_ZEROS bytes and adds two lengths to the literal's.
 */
void
desk_redo_pack(struct desk_buf *b, const unsigned char *p, size_t n)
{
	desk_buf_reserve(b, 2 * n + 32);
	unsigned char *o0 = (unsigned char *)b->p + b->len, *o = o0;

	for (size_t at = 0, lit, z; at < n; at = z) {
		/* The literal ends where REDO_ZEROS zeros or more do, or at the end. */
		for (lit = at;; lit = z) {
			lit = run_end(p, lit, n, 0);
			z = run_end(p, lit, n, 1);
			if (z - lit >= REDO_ZEROS || z == n)
				break;
		}
		o = put_len(o, lit - at);
		memcpy(o, p + at, lit - at);
		o = put_len(o + (lit - at), z - lit);
	}
	b->len += (size_t)(o - o0);
}

/* Packed bytes p[0..n) as want bytes of units at out: 0, or -1 when they are not. */
int
desk_redo_unpack(const unsigned char *p, size_t n, unsigned char *out,
    size_t want)
{
	size_t at = 0, o = 0, lit, z;

	while (o < want) {
		if (get_len(p, n, &at, &lit) < 0 || lit > n - at || lit > want - o)
			return -1;
		memcpy(out + o, p + at, lit);
		at += lit;
		o += lit;
		if (get_len(p, n, &at, &z) < 0 || z > want - o)
			return -1;
		memset(out + o, 0, z);
		o += z;
	}
	return at == n ? 0 : -1;
}

/* Writes units p[0..n) to their files: 0, or -1 with the store failed. */
static int
redo_apply(struct desk_store *st, const unsigned char *p, size_t n)
{
	for (size_t at = 0; at + 16 <= n && !st->err.code;) {
		unsigned file = desk_get32(p + at);
		size_t len = desk_get32(p + at + 4);
		uint64_t off = desk_get64(p + at + 8);
		at += 16;
		if (len > n - at || (file != DESK_REDO_HX &&
		    file >= (unsigned)st->schema->ntables))
			return desk_store_fail(st, DESK_EX_IOERR, "%s/" REDO_PATH
			    ": damaged unit (run desk-case fsck --repair)", st->root);
		int fd;
		if (file == DESK_REDO_HX) {
			if (desk_hx_open(st, 1) < 0)
				return -1;
			fd = st->hxfd;
			st->sync_hx = 1;
		} else {
			if (desk_slot_open(st, (int)file, 1) < 0)
				return -1;
			fd = st->slotfd[file];
			st->sync_slot[file] = 1;
		}
		if (desk_pwrite_all(fd, p + at, len, off) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/%s%s",
			    st->root, file == DESK_REDO_HX ? "keys.hx" :
			    st->schema->tables[file], file == DESK_REDO_HX ? "" : ".slots");
		at += len;
	}
	st->dirty = 1;
	return st->err.code ? -1 : 0;
}

static int
redo_open(struct desk_store *st, int create)
{
	if (st->redofd >= 0)
		return 0;
	st->redofd = desk_store_open_file(st, REDO_PATH,
	    O_RDWR | (create ? O_CREAT : 0), 0600);
	if (st->redofd >= 0 || (!create && errno == ENOENT))
		return 0;
	return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REDO_PATH, st->root);
}

/*
 * This boot's id, once per handle: what tells a crash of the machine
 * (the page cache lost) from a killed writer (kept). "" when unknown.
 */
static const char *
boot_id(struct desk_store *st)
{
	if (!st->boot_read) {
		st->boot_read = 1;
		memset(st->boot, 0, sizeof st->boot);
		int fd = open("/proc/sys/kernel/random/boot_id",
		    O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, st->boot, sizeof st->boot - 1);
			close(fd);
			while (n > 0 && (st->boot[n - 1] == '\n' ||
			    st->boot[n - 1] == ' '))
				n--;
			/* Only what can go in the state unquoted. */
			for (ssize_t i = 0; i < n; i++)
				if (!strchr("0123456789abcdefABCDEF-", st->boot[i]))
					n = 0;
			st->boot[n > 0 ? n : 0] = '\0';
		}
	}
	return st->boot;
}

static int
sync_fd(struct desk_store *st, int fd, const char *what)
{
	if (fd >= 0 && fdatasync(fd) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s: sync",
		    st->root, what);
	return 0;
}

static int
sync_dirs(struct desk_store *st)
{
	for (int i = 0; i <= DESK_NSUBDIRS; i++)
		if (st->sync_dirs & (1u << i)) {
			int fd = i < DESK_NSUBDIRS ? st->subfd[i] : st->dfd;
			if (fd >= 0 && fsync(fd) < 0)
				return desk_store_fail_errno(st, DESK_EX_IOERR,
				    "%s%s%s: sync", st->root, i < DESK_NSUBDIRS ?
				    "/" : "", i < DESK_NSUBDIRS ? subdirs[i] : "");
		}
	st->sync_dirs = 0;
	return 0;
}

/* The log appended to, on disk (with the directory of a new segment). */
static int
sync_log(struct desk_store *st)
{
	char what[64];

	if (st->sync_seg) {
		snprintf(what, sizeof what, "log/%08u.jsonl", st->seg);
		if (sync_fd(st, st->segfd, what) < 0)
			return -1;
		st->sync_seg = 0;
	}
	return sync_dirs(st);
}

/* Every derived file on disk, whoever wrote it; 0 or -1, the store failed. */
static int
sync_derived(struct desk_store *st)
{
	char what[64];

	for (int t = 0; t < st->schema->ntables; t++) {
		if (desk_slot_open(st, t, 0) < 0 && st->err.code)
			return -1;
		snprintf(what, sizeof what, "index/%s.slots", st->schema->tables[t]);
		if (sync_fd(st, st->slotfd[t], what) < 0)
			return -1;
	}
	if (desk_hx_open(st, 0) < 0 && st->err.code)
		return -1;
	if (sync_fd(st, st->hxfd, "index/keys.hx") < 0)
		return -1;
	st->sync_hx = 0;
	memset(st->sync_slot, 0, sizeof st->sync_slot);
	return 0;
}

/*
 * A new generation of the journal, durable: its older records are not
 * written again after a crash. The state keeps the committed point it
 * had (mid-batch, the rest is not committed yet).
 */
int
desk_redo_reset(struct desk_store *st)
{
	if (refused(st) || state_read(st) < 0)
		return -1;
	struct desk_state s = st->clean;
	st->redo_gen = st->clean.redo_gen + 1;
	st->redo_end = 0;
	boot_id(st);
	redo_mark(st, &s);
	return state_put(st, &s, 1);
}

/* The derived files synced, then a new generation: the journal restarts. */
int
desk_redo_checkpoint(struct desk_store *st)
{
	if (refused(st) || st->repairing)
		return st->err.code ? -1 : 0;
	if (sync_derived(st) < 0 || sync_dirs(st) < 0)
		return -1;
	return desk_redo_reset(st);
}

/*
 * The journal as long as end, a megabyte ahead of its records at a time:
 * blocks allocated by fallocate(2), which writes none of them (zeros
 * written ahead went to the disk once more than the records over them:
 * on ext4, 200 records of 200 KB, each synced, wrote 78 MB that way and
 * 44 MB with fallocate, whose blocks' first writes cost the file
 * system's own journal a few blocks a sync), else, where it has no
 * fallocate, in zeros, so that a record's sync changes the file's size
 * only at the first of each megabyte. It is reused from the start at
 * every checkpoint, so that stops at about REDO_CKPT.
 */
static int
redo_room(struct desk_store *st, uint64_t end)
{
	static const unsigned char zero[65536];
	struct stat sb;

	if (!st->redo_size) {
		if (fstat(st->redofd, &sb) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REDO_PATH,
			    st->root);
		st->redo_size = (uint64_t)sb.st_size;
	}
	uint64_t want = (end + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	if (st->redo_size < end) {
		if (fallocate(st->redofd, 0, (off_t)st->redo_size,
		    (off_t)(want - st->redo_size)) == 0) {
			st->redo_size = want;
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REDO_PATH,
			    st->root);
	}
	while (st->redo_size < end) {
		size_t n = want - st->redo_size < sizeof zero ?
		    (size_t)(want - st->redo_size) : sizeof zero;
		if (desk_pwrite_all(st->redofd, zero, n, st->redo_size) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REDO_PATH,
			    st->root);
		st->redo_size += n;
	}
	return 0;
}

/* Appends the flush's record: 0, or -1 with the store failed. */
static int
redo_append(struct desk_store *st)
{
	unsigned char *h = (unsigned char *)st->redo.p;
	size_t body = st->redo.len - REDO_HEAD;
	struct desk_buf *z = &st->redoz;

	/* Packed when that is shorter: the units themselves stay in st->redo. */
	z->len = 0;
	desk_buf_reserve(z, REDO_HEAD + 16);
	z->len = REDO_HEAD + 16;
	desk_redo_pack(z, h + REDO_HEAD, body);
	if (z->len < st->redo.len) {
		h = (unsigned char *)z->p;
		desk_le32(h + REDO_HEAD, REDO_PACKED);
		desk_le32(h + REDO_HEAD + 4, (uint32_t)(z->len - REDO_HEAD - 16));
		desk_le64(h + REDO_HEAD + 8, body);
		body = z->len - REDO_HEAD;
	}
	if (redo_open(st, 1) < 0 ||
	    (*st->boot && redo_room(st, st->redo_end + REDO_HEAD + body) < 0))
		return -1;
	memset(h, 0, REDO_HEAD);
	memcpy(h, REDO_MAGIC, strlen(REDO_MAGIC));
	desk_le32(h + 12, st->redo_gen);
	desk_le64(h + 16, st->epoch);
	desk_le64(h + 24, DESK_POS(st->seg, st->segsize));
	desk_le32(h + 32, st->hx_nb);
	desk_le32(h + 36, (uint32_t)body);
	desk_le32(h + 40, desk_crc32(h + REDO_HEAD, body));
	desk_le32(h + 60, desk_crc32(h, 60));
	if (desk_pwrite_all(st->redofd, h, REDO_HEAD + body, st->redo_end) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" REDO_PATH,
		    st->root);
	st->redo_end += REDO_HEAD + body;
	return 0;
}

/* A record's units p[0..n), packed or not, written to their files again. */
static int
redo_again(struct desk_store *st, const unsigned char *p, size_t n)
{
	if (n < 16 || desk_get32(p) != REDO_PACKED)
		return redo_apply(st, p, n);
	size_t want = desk_get64(p + 8);
	unsigned char *u = want <= REDO_MAX && desk_get32(p + 4) == n - 16 ?
	    desk_xmalloc(want ? want : 1) : NULL;
	int r = u && desk_redo_unpack(p + 16, n - 16, u, want) == 0 ?
	    redo_apply(st, u, want) : desk_store_fail(st, DESK_EX_IOERR, "%s/"
	    REDO_PATH ": damaged record (run desk-case fsck --repair)", st->root);
	free(u);
	return r;
}

/*
 * At the lock, before the roll-forward: the journal's records written
 * again, in order, from its start after a crash of the machine (all), else
 * from the state's end, those a writer killed since the last commit made
 * (their log position is past the committed one). A record counts when it
 * is whole, of the generation and epoch the state names, and the log holds
 * what it derives from; the first that does not ends the journal, which
 * is then appended to from there.
 */
static int
redo_replay(struct desk_store *st, int all)
{
	unsigned char h[REDO_HEAD];
	uint64_t at = all ? 0 : st->redo_end, clean = DESK_POS(st->clean.seg,
	    st->clean.size);
	struct stat sb;
	char name[32];
	int r = 0;

	if (redo_open(st, 0) < 0 || st->redofd < 0)
		return st->err.code ? -1 : 0;
	/* A table grown since was grown from the units' files, whole. */
	if (desk_hx_open(st, 0) < 0 && st->err.code)
		return -1;
	while (!r) {
		if (desk_pread_all(st->redofd, h, REDO_HEAD, (off_t)at) != REDO_HEAD ||
		    memcmp(h, REDO_MAGIC, strlen(REDO_MAGIC)) ||
		    desk_get32(h + 60) != desk_crc32(h, 60) ||
		    desk_get32(h + 12) != st->redo_gen ||
		    desk_get64(h + 16) != st->clean.epoch)
			break;
		uint64_t pos = desk_get64(h + 24);
		size_t body = desk_get32(h + 36);
		snprintf(name, sizeof name, "%08u.jsonl", DESK_POS_SEG(pos));
		if (body > REDO_MAX ||
		    fstatat(st->subfd[DESK_D_LOG], name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    (uint64_t)sb.st_size < DESK_POS_OFF(pos) ||
		    (st->hxfd >= 0 && desk_get32(h + 32) != st->hx_nb))
			break;
		unsigned char *p = desk_xmalloc(body ? body : 1);
		if (desk_pread_all(st->redofd, p, body, (off_t)at + REDO_HEAD) !=
		    (ssize_t)body || desk_get32(h + 40) != desk_crc32(p, body)) {
			free(p);
			break;    /* torn: none of its units was written */
		}
		if (all || pos > clean) {
			r = redo_again(st, p, body);
			st->replayed += all;
		}
		free(p);
		at += REDO_HEAD + body;
	}
	st->redo_end = at;
	return r;
}

/*
 * Writes what the batch holds back: the log's records, then (journaled,
 * see index/batch.redo) the slots and buckets that point into them.
 */
int
desk_store_flush(struct desk_store *st)
{
	if (desk_log_flush(st) < 0)
		return -1;
	st->redo.len = 0;
	desk_slot_collect(st);
	desk_hx_collect(st);
	if (st->redo.len) {
		/* A rebuild's files in tmp/ are thrown away whole after a crash. */
		if (!st->repairing) {
			if (*boot_id(st) && st->redo_end &&
			    st->redo_end + st->redo.len > REDO_CKPT &&
			    desk_redo_checkpoint(st) < 0)
				return -1;
			/*
			 * Without a boot, the journal is only for a killed
			 * writer, whose page cache outlives it: no sync.
			 */
			if ((*st->boot && sync_log(st) < 0) || redo_append(st) < 0 ||
			    (*st->boot && sync_fd(st, st->redofd, REDO_PATH) < 0))
				return -1;
		}
		if (redo_apply(st, (unsigned char *)st->redo.p + REDO_HEAD,
		    st->redo.len - REDO_HEAD) < 0)
			return -1;
		st->redo.len = 0;
		if (st->redo.cap > (8u << 20)) {
			desk_buf_free(&st->redo);
			desk_buf_free(&st->redoz);
			desk_buf_free(&st->raw);
		}
	}
	return desk_hx_flush(st);
}

/* Starts the writeback of fd's dirty pages, so that the files' go out together. */
static void
sync_start(int fd, int want)
{
	if (want && fd >= 0)
		sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/*
 * The batch's barrier: the log and the journal (synced at the flush, see
 * index/batch.redo) and every directory it made or renamed in, on disk; no
 * other process's writes waited for, as syncfs(2) would have (a large copy
 * elsewhere on the disk). Without a boot to tell a crash of the machine
 * by, every derived file it wrote too. Not the state, but when fsck
 * --repair changed its epoch: an older state on disk only makes the
 * roll-forward after a crash of the machine longer (it never claims more
 * of the log than a barrier made durable before it was written).
 */
static int
sync_touched(struct desk_store *st)
{
	char what[64];
	int derived = !*boot_id(st);

	sync_start(st->segfd, st->sync_seg);
	for (int t = 0; t < st->schema->ntables; t++)
		sync_start(st->slotfd[t], derived && st->sync_slot[t]);
	sync_start(st->hxfd, derived && st->sync_hx);
	sync_start(st->statefd, st->sync_state);
	if (sync_log(st) < 0)
		return -1;
	for (int t = 0; derived && t < st->schema->ntables; t++)
		if (st->sync_slot[t]) {
			snprintf(what, sizeof what, "index/%s.slots",
			    st->schema->tables[t]);
			if (sync_fd(st, st->slotfd[t], what) < 0)
				return -1;
		}
	if (derived && st->sync_hx && sync_fd(st, st->hxfd, "index/keys.hx") < 0)
		return -1;
	if (st->sync_state && sync_fd(st, st->statefd, "state") < 0)
		return -1;
	if (derived) {
		st->sync_hx = 0;
		memset(st->sync_slot, 0, sizeof st->sync_slot);
	}
	st->sync_state = 0;
	return 0;
}

/*
 * Writes what the batch held back, the log first, then the slots and
 * buckets that point into it (desk_store_flush); makes them durable
 * (sync_touched); and only then writes the state that says they are
 * committed. The state itself reaches the disk at the next commit's
 * barrier, by whichever writer: until then, after a crash of the machine,
 * the roll-forward from the older state applies the batch's records a
 * second time, which changes nothing (apply is idempotent). On a store in
 * its error state commit writes nothing (no index count, no state, no
 * sync) and only lets go of the lock: what the batch appended stays past
 * the committed size, as a writer killed there leaves it.
 */
int
desk_store_commit(struct desk_store *st)
{
	if (!st)
		return 0;
	if (st->locked && !st->err.code)
		desk_store_flush(st);
	if (st->dirty && !st->err.code)
		sync_touched(st);
	if (st->locked && !st->err.code) {
		/* Synced as they were written: a killed writer's journal only. */
		if (!*st->boot)
			st->redo_end = 0;
		desk_state_write(st);
	}
	if (st->locked) {
		if (!st->err.code) {
			st->mine = st->clean;
			st->have_mine = 1;
		}
		if (flock(st->lockfd, LOCK_UN) < 0)
			desk_store_fail_errno(st, DESK_EX_IOERR, "%s/lock", st->root);
		st->locked = 0;
	}
	st->dirty = st->wrote_log = 0;
	return st->err.code ? -1 : 0;
}

void
desk_store_seen_id(struct desk_store *st, int k, uint64_t id)
{
	if (id >= st->next[k])
		st->next[k] = id + 1;
}

/* Whether st may be written: not refused, and locked (else an internal error: what). */
static int
held(struct desk_store *st, const char *what)
{
	if (refused(st))
		return 0;
	if (!st->locked) {
		desk_store_fail(st, DESK_EX_SOFTWARE, "internal: %s without the "
		    "lock", what);
		return 0;
	}
	return 1;
}

uint64_t
desk_store_newid(struct desk_store *st, int k)
{
	return held(st, "id allocated") ? st->next[k]++ : 0;
}

uint64_t
desk_store_nextid(struct desk_store *st, int k)
{
	return st->next[k];
}

/* Records held back past this many bytes are written out at once. */
#define LOGQ_MAX (1u << 20)

int
desk_log_flush(struct desk_store *st)
{
	if (!st->logq.len)
		return 0;
	if (st->err.code)
		return -1;
	/* Part of a line may be out: a torn tail, which the next lock cuts. */
	if (desk_write_all(st->segfd, st->logq.p, st->logq.len) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/log/%08u.jsonl",
		    st->root, st->seg);
	st->logq.len = 0;
	st->logq_off = st->segsize;
	st->sync_seg = 1;
	return 0;
}

/* The bytes at (pos, len) when the batch holds them back, else NULL. */
static const char *
logq_at(struct desk_store *st, uint64_t pos, size_t len)
{
	uint64_t off = DESK_POS_OFF(pos);

	if (!st->logq.len || DESK_POS_SEG(pos) != st->seg || off < st->logq_off ||
	    off - st->logq_off + len > st->logq.len)
		return NULL;
	return st->logq.p + (off - st->logq_off);
}

/*
 * Appends the record printed in st->enc (a rec of type, for a message);
 * the caller applies it. desk_log_last gives its bytes until the next.
 */
static struct desk_loc
log_append(struct desk_store *st, const char *type)
{
	struct desk_buf *b = &st->enc;
	struct desk_loc none = { 0, 0 };

	st->enc_last = 0;
	desk_buf_addc(b, '\n');
	/*
	 * The limits on input (limits.c) keep every record under this; one
	 * that is not would be acknowledged and then unreadable, so it is
	 * never written.
	 */
	if (b->len > DESK_REC_MAX) {
		desk_store_fail(st, DESK_EX_SOFTWARE, "internal: a %s record of "
		    "%zu bytes is over the store's limit of %u bytes; nothing "
		    "written", type ? type : "?", b->len, DESK_REC_MAX);
		return none;
	}
	if (st->segsize > 0 && st->segsize + b->len > st->segmax &&
	    seg_switch(st, st->seg + 1, 1) < 0)
		return none;
	/* Held back, to go out with the batch's others in one write. */
	if (!st->logq.len)
		st->logq_off = st->segsize;
	desk_buf_add(&st->logq, b->p, b->len);
	struct desk_loc loc = { DESK_POS(st->seg, st->segsize), (uint32_t)b->len };
	st->segsize += b->len;
	if (st->logq.len >= LOGQ_MAX && desk_log_flush(st) < 0)
		return none;
	st->wrote_log = st->dirty = 1;
	st->enc_last = 1;
	return loc;
}

struct desk_loc
desk_log_add(struct desk_store *st, jv rec)
{
	struct desk_loc none = { 0, 0 };

	if (!held(st, "log written"))
		return none;
	st->enc.len = 0;
	desk_json_dump(&st->enc, rec);
	struct desk_loc loc = log_append(st, desk_jstr(rec, "rec"));
	if (loc.len)
		st->schema->apply(st, rec, loc);
	return loc;
}

static void rec_cache_put(struct desk_store *st, struct desk_loc loc,
    const char *key, jv v);
static void logc_put(struct desk_store *st, struct desk_loc loc, const char *p);

struct desk_loc
desk_log_add_as(struct desk_store *st, const char *type, jv fields)
{
	struct desk_loc none = { 0, 0 };
	jv t = jv_string(type);

	if (!held(st, "log written")) {
		jv_free(t);
		return none;
	}
	st->enc.len = 0;
	desk_json_dump_with(&st->enc, "rec", t, fields);
	struct desk_loc loc = log_append(st, type);
	if (!loc.len) {
		jv_free(t);
		return none;
	}
	if (st->schema->apply_as) {
		st->schema->apply_as(st, type, fields, loc);
		jv_free(t);
	} else {
		jv rec = jv_object_merge(jv_object_set(jv_object(), jv_string("rec"),
		    t), jv_copy(fields));
		st->schema->apply(st, rec, loc);
		jv_free(rec);
	}
	/*
	 * What the record reads back as, without "rec", is fields: not
	 * parsed again; and its bytes, should that be lost, not read again.
	 */
	if (!desk_jhas(fields, "rec"))
		rec_cache_put(st, loc, "rec", fields);
	logc_put(st, loc, st->enc.p);
	return loc;
}

struct desk_loc
desk_log_add_bytes(struct desk_store *st, const char *type, const char *p,
    size_t n, void (*apply)(struct desk_store *, struct desk_loc, void *),
    void *ctx)
{
	struct desk_loc none = { 0, 0 };

	if (!held(st, "log written"))
		return none;
	st->enc.len = 0;
	desk_buf_add(&st->enc, p, n);
	struct desk_loc loc = log_append(st, type);
	if (loc.len)
		apply(st, loc, ctx);
	return loc;
}

static jv
log_parse(struct desk_store *st, const char *p, size_t n, uint64_t pos)
{
	if (n == 0 || p[n - 1] != '\n')
		return jv_invalid_with_msg(jv_string_fmt(
		    "log/%08u.jsonl: no whole record at offset %llu",
		    DESK_POS_SEG(pos), (unsigned long long)DESK_POS_OFF(pos)));
	(void)st;
	return desk_json_parse_all(p, n - 1);
}

/* Keeps v (borrowed) as the record at loc without its member key. */
static void
rec_cache_put(struct desk_store *st, struct desk_loc loc, const char *key, jv v)
{
	if (loc.len > REC_CACHE_MAX)
		return;
	if (!st->recs)
		st->recs = desk_xcalloc(REC_CACHE, sizeof *st->recs);
	struct rec_cache *c = &st->recs[(loc.pos ^ (loc.pos >> 17)) % REC_CACHE];
	if (c->pos)
		jv_free(c->rec);
	c->pos = loc.pos;
	c->len = loc.len;
	c->without = key;
	c->rec = jv_copy(v);
}

static int
same_key(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * The bytes at loc: where the batch holds them back, else read into b.
 * NULL with errno when the segment cannot be read; *got short (0) when
 * it is shorter than loc says.
 */
static const char *
log_bytes(struct desk_store *st, struct desk_loc loc, struct desk_buf *b,
    size_t *got)
{
	const char *q = logq_at(st, loc.pos, loc.len);

	*got = loc.len;
	if (q)
		return q;
	b->len = 0;
	if ((q = logc_get(st, loc))) {
		/* Into b, so it lasts as long as a read would (the ring moves on). */
		desk_buf_add(b, q, loc.len);
		/* Put there long ago: put anew, so what is read often stays. */
		if (st->logc->head - logc_ent(st->logc, loc.pos)->at >
		    st->logc->size / 2)
			logc_put(st, loc, b->p);
		return b->p;
	}
	int fd = desk_log_fd(st, DESK_POS_SEG(loc.pos));
	b->len = 0;
	if (fd < 0)
		return NULL;
	desk_buf_reserve(b, loc.len);
	ssize_t r = desk_pread_all(fd, b->p, loc.len, DESK_POS_OFF(loc.pos));
	if (r < 0)
		return NULL;
	b->len = (size_t)r;
	*got = (size_t)r == loc.len ? loc.len : 0;
	if (*got)
		logc_put(st, loc, b->p);
	return b->p;
}

jv
desk_log_get_without(struct desk_store *st, struct desk_loc loc, const char *key)
{
	struct rec_cache *c = NULL;

	if (loc.len <= REC_CACHE_MAX) {
		if (!st->recs)
			st->recs = desk_xcalloc(REC_CACHE, sizeof *st->recs);
		c = &st->recs[(loc.pos ^ (loc.pos >> 17)) % REC_CACHE];
		if (c->pos == loc.pos && c->len == loc.len && same_key(c->without, key))
			return jv_copy(c->rec);
	}
	size_t got;
	const char *q = log_bytes(st, loc, &st->raw, &got);
	jv v = q ? log_parse(st, q, got, loc.pos) :
	    jv_invalid_with_msg(jv_string_fmt("log/%08u.jsonl: %s",
	    DESK_POS_SEG(loc.pos), strerror(errno)));
	if (st->raw.cap > (1u << 20)) {      /* a long record's room not kept */
		desk_buf_free(&st->raw);
		st->raw = (struct desk_buf)DESK_BUF_INIT;
	}
	if (key && jv_get_kind(v) == JV_KIND_OBJECT && jv_object_has(jv_copy(v),
	    jv_string(key)))
		v = jv_object_delete(v, jv_string(key));    /* not shared yet */
	if (c && jv_is_valid(v))
		rec_cache_put(st, loc, key, v);
	return v;
}

const char *
desk_log_raw(struct desk_store *st, struct desk_loc loc, struct desk_buf *b,
    size_t *n)
{
	size_t got;
	const char *q = log_bytes(st, loc, b, &got);

	if (!q || got == 0 || q[got - 1] != '\n')
		return NULL;
	*n = got - 1;
	return q;
}

const char *
desk_log_last(struct desk_store *st, size_t *n)
{
	if (!st->enc_last || st->err.code)
		return NULL;
	*n = st->enc.len - 1;
	return st->enc.p;
}

jv
desk_log_get(struct desk_store *st, struct desk_loc loc)
{
	return desk_log_get_without(st, loc, NULL);
}

jv
desk_log_get_at(struct desk_store *st, uint64_t pos)
{
	const char *q = logq_at(st, pos, 1);
	if (q) {
		const char *nl = memchr(q, '\n', (size_t)(st->logq.p + st->logq.len - q));
		return log_parse(st, q, nl ? (size_t)(nl - q) + 1 : 0, pos);
	}
	int fd = desk_log_fd(st, DESK_POS_SEG(pos));
	struct desk_buf b = DESK_BUF_INIT;
	char *nl = NULL;

	if (fd < 0)
		return jv_invalid_with_msg(jv_string(strerror(errno)));
	while (!nl) {
		desk_buf_reserve(&b, 4096);
		ssize_t r = desk_pread_all(fd, b.p + b.len, 4096,
		    DESK_POS_OFF(pos) + b.len);
		if (r <= 0)
			break;
		nl = memchr(b.p + b.len, '\n', (size_t)r);
		b.len += (size_t)r;
	}
	jv v = log_parse(st, b.p, nl ? (size_t)(nl - b.p) + 1 : 0, pos);
	desk_buf_free(&b);
	return v;
}

static int
store_init(struct desk_store *st)
{
	struct desk_state s = { .seg = 1, .epoch = 1 };
	char buf[DESK_STATE_SIZE];
	size_t n;
	char *v;

	if (lock_wait(st) < 0)
		return -1;
	if ((v = desk_store_get(st, "VERSION", &n))) {
		free(v);          /* another process got here first */
		flock(st->lockfd, LOCK_UN);
		return 0;
	}
	if (subdirs_open(st) < 0) {
		flock(st->lockfd, LOCK_UN);
		return -1;
	}
	for (int k = 0; k < st->schema->ncounters; k++)
		s.next[k] = 1;
	state_format(st, &s, buf);
	int fd = seg_open(st, 1, O_WRONLY | O_CREAT), r = 0;
	if (fd < 0 || close(fd) < 0 ||
	    put(st, "state", buf, DESK_STATE_SIZE, 0600) < 0 ||
	    put(st, "VERSION", VERSION_TEXT, strlen(VERSION_TEXT), 0600) < 0)
		r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s: cannot create "
		    "the store", st->root);
	else {
		/* The new names on disk, the store's own in its parent too. */
		int up = openat(st->dfd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		desk_store_dir_dirty(st, DESK_D_LOG);
		if (sync_touched(st) < 0)
			r = -1;
		else if (up < 0 || fsync(up) < 0)
			r = desk_store_fail_errno(st, DESK_EX_IOERR, "%s/..: sync",
			    st->root);
		if (up >= 0)
			close(up);
	}
	st->dirty = 0;
	flock(st->lockfd, LOCK_UN);
	return r;
}

/*
 * Opens the store's directory, without following a link, and checks it:
 * 1 when it holds a store, 0 when it is missing or has no VERSION yet,
 * -1 with the store failed.
 */
static int
store_attach(struct desk_store *st)
{
	size_t n;

	st->dfd = open(st->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (st->dfd < 0) {
		if (errno == ENOENT)
			return 0;
		struct stat sb;
		if ((errno == ELOOP || errno == ENOTDIR) &&
		    lstat(st->root, &sb) == 0 && S_ISLNK(sb.st_mode))
			return desk_store_fail(st, DESK_EX_NOPERM, "%s: a symbolic "
			    "link: refused (name the directory it points to)", st->root);
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s", st->root);
	}
	if (dir_check(st, st->dfd, "") < 0)
		return -1;
	char *v = desk_store_get(st, "VERSION", &n);
	if (!v) {
		if (errno != ENOENT)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/VERSION",
			    st->root);
		return 0;
	}
	if (strcmp(v, VERSION_TEXT) != 0) {
		desk_store_fail(st, DESK_EX_CONFIG, "%s: unsupported store format: "
		    "%.*s", st->root, (int)strcspn(v, "\n"), v);
		free(v);
		return -1;
	}
	free(v);
	if (subdirs_open(st) < 0)
		return -1;
	st->present = 1;
	return 1;
}

/*
 * A compaction or repair killed between its renames leaves its journal
 * (STORE/compact), and a repair killed after it cut records out of the
 * log its mark (STORE/repair), which the next lock carries out: until
 * then the log's new segments are read through the old index, and a
 * reader fails. So a handle that finds either at its open takes the lock
 * for that moment (readers need no lock otherwise); where it cannot open
 * the lock file (a store it may only read), it reads on.
 */
static void
swap_finish(struct desk_store *st)
{
	int swap = desk_swap_due(st);

	if (!swap && !desk_rebuild_due(st))
		return;
	st->lockfd = lock_open(st, O_RDWR);
	/*
	 * A swap holds the lock for a moment; a repair for its whole cut and
	 * rebuild, which a reader does not wait for: while it holds the lock,
	 * the reader reads on (and reads again if it meets the cut).
	 */
	if (st->lockfd >= 0 && !swap) {
		if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
			close(st->lockfd);
			st->lockfd = -1;
			return;
		}
		flock(st->lockfd, LOCK_UN);    /* free: taken the usual way below */
	}
	if (st->lockfd >= 0 && desk_store_lock(st) == 0)
		desk_store_commit(st);
	st->held = 0;             /* a reader still: it did nothing under it */
}

static int
store_create(struct desk_store *st)
{
	if (st->dfd < 0) {
		if (mkdirs(st, st->root) < 0)
			return -1;
		int r = store_attach(st);
		if (r)
			return r < 0 ? -1 : 0;   /* another process made it meanwhile */
		if (st->dfd < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s", st->root);
	}
	st->lockfd = lock_open(st, O_RDWR | O_CREAT);
	if (st->lockfd < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/lock", st->root);
	if (store_init(st) < 0 || subdirs_open(st) < 0)
		return -1;
	st->present = 1;
	return 0;
}

/* A store opened DESK_ST_LAZY comes into being when first written to. */
static int
store_need(struct desk_store *st)
{
	if (refused(st))
		return -1;
	return st->present ? 0 : store_create(st);
}

int
desk_store_create(struct desk_store *st)
{
	return store_need(st);
}

struct desk_store *
desk_store_open(const char *dir, int flags, const struct desk_schema *schema)
{
	struct desk_store *st = desk_xcalloc(1, sizeof *st);
	size_t len;

	st->schema = schema;
	st->root = desk_xstrdup(dir);
	/* "store/" would follow a link where "store" does not. */
	for (len = strlen(st->root); len > 1 && st->root[len - 1] == '/'; len--)
		st->root[len - 1] = '\0';
	st->dfd = st->lockfd = st->statefd = st->segfd = st->hxfd = st->redofd = -1;
	st->waitfd = -1;
	for (int t = 0; t < DESK_ST_TABLES; t++)
		st->slotfd[t] = -1;
	for (unsigned i = 0; i < DESK_RFDS; i++)
		st->rfd[i].fd = -1;
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		st->subfd[i] = -1;
	st->segmax = desk_env()->segment_size;
	if (!schema || !schema->apply || schema->ntables < 1 ||
	    schema->ntables > DESK_ST_TABLES || schema->ncounters < 1 ||
	    schema->ncounters > DESK_ST_COUNTERS) {
		static const struct desk_schema none;   /* no tables, no counters */
		st->schema = &none;
		desk_store_fail(st, DESK_EX_SOFTWARE, "internal: a store opened "
		    "without a schema");
		return st;
	}
	int r = store_attach(st);
	if (r > 0)
		swap_finish(st);
	if (r || (flags & DESK_ST_LAZY))
		return st;
	if (flags & DESK_ST_CREATE)
		store_create(st);
	else if (st->dfd < 0)
		desk_store_fail(st, DESK_EX_CONFIG, "%s: no store here (the first "
		    "desk-case or desk-webhook channel add creates it)", st->root);
	else
		desk_store_fail(st, DESK_EX_CONFIG, "%s: not a desk store (no "
		    "VERSION)", st->root);
	return st;
}

void
desk_store_close(struct desk_store *st)
{
	if (!st)
		return;
	while (st->nhooks > 0) {
		st->nhooks--;
		st->hook[st->nhooks].fn(st->hook[st->nhooks].ctx);
	}
	while (st->next_ext > 0) {
		st->next_ext--;
		if (st->ext[st->next_ext].fini)
			st->ext[st->next_ext].fini(st->ext[st->next_ext].p);
		free(st->ext[st->next_ext].p);
	}
	desk_derived_close(st);
	if (st->segfd >= 0)
		close(st->segfd);
	if (st->statefd >= 0)
		close(st->statefd);
	if (st->redofd >= 0)
		close(st->redofd);
	desk_buf_free(&st->redo);
	desk_buf_free(&st->redoz);
	desk_buf_free(&st->raw);
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->waitfd >= 0)
		close(st->waitfd);
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		if (st->subfd[i] >= 0)
			close(st->subfd[i]);
	if (st->dfd >= 0)
		close(st->dfd);
	desk_buf_free(&st->enc);
	desk_buf_free(&st->logq);
	rec_cache_clear(st);
	free(st->cache);
	desk_slot_free(st);
	free(st->sd);
	free(st->sdh);
	free(st->root);
	free(st);
}

int
desk_store_on_close(struct desk_store *st, void (*fn)(void *), void *ctx)
{
	if (st->nhooks == DESK_ST_HOOKS)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: more than "
		    "%d close hooks", DESK_ST_HOOKS);
	st->hook[st->nhooks].fn = fn;
	st->hook[st->nhooks].ctx = ctx;
	st->nhooks++;
	return 0;
}

void *
desk_store_ext(struct desk_store *st, const void *tag, size_t size,
    void (*fini)(void *))
{
	for (int i = 0; i < st->next_ext; i++)
		if (st->ext[i].tag == tag)
			return st->ext[i].p;
	if (st->next_ext == DESK_ST_HOOKS) {
		desk_store_fail(st, DESK_EX_SOFTWARE, "internal: more than %d "
		    "store extensions", DESK_ST_HOOKS);
		return NULL;
	}
	st->ext[st->next_ext].tag = tag;
	st->ext[st->next_ext].fini = fini;
	return st->ext[st->next_ext++].p = desk_xcalloc(1, size);
}

const char *
desk_store_root(struct desk_store *st)
{
	return st->root;
}

int
desk_store_fd(struct desk_store *st)
{
	if (store_need(st) < 0)
		return -1;
	return st->dfd;
}

jv
desk_store_result(const struct desk_store *st, jv out, struct desk_err *e)
{
	if (!st->err.code)
		return out;
	jv_free(out);
	if (e)
		*e = st->err;
	return jv_invalid();
}
