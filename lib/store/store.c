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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "store/engine.h"

#define VERSION_TEXT "desk store 1\n"

/* In the order of enum desk_subdir. */
static const char *const subdirs[DESK_NSUBDIRS] = {
	"log", "index", "channels", "secrets", "rejects", "tmp"
};

static void store_need(struct desk_store *);

/* Missing directories on the way to the store are as private as the store. */
static void
mkdirs(const char *path)
{
	char *p = desk_xstrdup(path);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			desk_die_errno(DESK_EX_IOERR, "%s", p);
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		desk_die_errno(DESK_EX_IOERR, "%s", p);
	free(p);
}

/*
 * Whoever else can write to a directory of the store can swap what is in it
 * (a symbolic link for rejects/, and root writes where they choose), so such
 * a store is refused, as ssh refuses a ~/.ssh others can write.
 */
static void
dir_check(struct desk_store *st, int fd, const char *sub)
{
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s%s%s", st->root, *sub ? "/" : "", sub);
	if (sb.st_uid != geteuid())
		desk_die(DESK_EX_NOPERM, "%s%s%s: owned by uid %u, not by uid %u "
		    "that runs %s: refused", st->root, *sub ? "/" : "", sub,
		    (unsigned)sb.st_uid, (unsigned)geteuid(), desk_prog);
	if (sb.st_mode & (S_IWGRP | S_IWOTH))
		desk_die(DESK_EX_NOPERM, "%s%s%s: writable by group or others "
		    "(mode %03o): refused", st->root, *sub ? "/" : "", sub,
		    (unsigned)(sb.st_mode & 07777));
}

/*
 * Holds every subdirectory open, opened without following a link and
 * checked, so what is below them is reached through these fds and never
 * through a name another process could have replaced.
 */
static void
subdirs_open(struct desk_store *st)
{
	for (int i = 0; i < DESK_NSUBDIRS; i++) {
		if (st->subfd[i] >= 0)
			continue;
		int fd = openat(st->dfd, subdirs[i],
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT &&
		    (mkdirat(st->dfd, subdirs[i], 0700) == 0 || errno == EEXIST))
			fd = openat(st->dfd, subdirs[i],
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			struct stat sb;
			if ((errno == ELOOP || errno == ENOTDIR) &&
			    fstatat(st->dfd, subdirs[i], &sb, AT_SYMLINK_NOFOLLOW) == 0)
				desk_die(DESK_EX_NOPERM, "%s/%s: %s: refused", st->root,
				    subdirs[i], S_ISLNK(sb.st_mode) ?
				    "a symbolic link, not a directory" : "not a directory");
			desk_die_errno(DESK_EX_IOERR, "%s/%s", st->root, subdirs[i]);
		}
		st->subfd[i] = fd;
		dir_check(st, fd, subdirs[i]);
	}
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

	return unlinkat(dir, name, 0);
}

int
desk_store_rename(struct desk_store *st, const char *from, const char *to)
{
	const char *fname, *tname;
	int fdir = desk_store_at(st, from, &fname), tdir = desk_store_at(st, to, &tname);

	return renameat(fdir, fname, tdir, tname);
}

int
desk_store_link(struct desk_store *st, const char *from, const char *to)
{
	const char *fname, *tname;
	int fdir = desk_store_at(st, from, &fname), tdir = desk_store_at(st, to, &tname);

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
desk_store_tmp(struct desk_store *st, char *name, size_t n)
{
	store_need(st);
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
	/* The rename is durable at the commit's sync. */
	st->dirty = 1;
	return 0;
}

int
desk_store_put(struct desk_store *st, const char *rel, const void *p,
    size_t n, int mode)
{
	store_need(st);
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

static void
state_parse(struct desk_store *st, const char *p, size_t n, struct desk_state *s)
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
	jv_free(v);
	return;
bad:
	jv_free(v);
	desk_die(DESK_EX_IOERR, "%s/state: damaged (run desk-case fsck --repair)",
	    st->root);
}

static void
state_read(struct desk_store *st)
{
	char buf[DESK_STATE_SIZE + 1];

	if (st->statefd < 0) {
		st->statefd = openat(st->dfd, "state",
		    O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (st->statefd < 0)
			desk_die_errno(DESK_EX_IOERR, "%s/state", st->root);
	}
	ssize_t r = desk_pread_all(st->statefd, buf, DESK_STATE_SIZE, 0);
	if (r < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/state", st->root);
	state_parse(st, buf, (size_t)r, &st->clean);
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
	n += snprintf(buf + n, DESK_STATE_SIZE - n, "}}");
	/* Fixed size, so one pwrite replaces it and a sector holds it whole. */
	memset(buf + n, ' ', DESK_STATE_SIZE - 1 - n);
	buf[DESK_STATE_SIZE - 1] = '\n';
	return DESK_STATE_SIZE;
}

void
desk_state_write(struct desk_store *st)
{
	char buf[DESK_STATE_SIZE];
	struct desk_state s = st->clean;

	s.seg = st->seg;
	s.size = st->segsize;
	memcpy(s.next, st->next, sizeof s.next);
	if (!memcmp(&s, &st->clean, sizeof s))
		return;
	state_format(st, &s, buf);
	if (pwrite(st->statefd, buf, DESK_STATE_SIZE, 0) != DESK_STATE_SIZE)
		desk_die_errno(DESK_EX_IOERR, "%s/state", st->root);
	st->clean = s;
	st->dirty = 1;
}

static volatile sig_atomic_t alarmed;

static void
on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/* flock with a deadline; a repeating timer interrupts the blocking call. */
static void
lock_wait(struct desk_store *st)
{
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) == 0)
		return;
	if (errno != EWOULDBLOCK)
		desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);

	double limit = desk_env()->lock_timeout, deadline = desk_mono() + limit;
	struct sigaction sa, old;
	struct itimerval it = { { 0, 20000 }, { 0, 20000 } }, off = { { 0, 0 }, { 0, 0 } };
	int r, e;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &it, NULL);
	for (;;) {
		alarmed = 0;
		r = flock(st->lockfd, LOCK_EX | (desk_mono() >= deadline ? LOCK_NB : 0));
		e = errno;
		if (r == 0 || (e != EINTR && e != EWOULDBLOCK) || desk_mono() >= deadline)
			break;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	if (r == 0)
		return;
	if (e == EINTR || e == EWOULDBLOCK)
		desk_die(DESK_EX_TEMPFAIL, "%s: locked by another writer; gave up "
		    "after %g s (DESK_LOCK_TIMEOUT)", st->root, limit);
	errno = e;
	desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);
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
static void
seg_switch(struct desk_store *st, uint32_t seg, int create)
{
	struct stat sb;

	if (st->segfd >= 0 && st->seg == seg) {
		if (fstat(st->segfd, &sb) < 0)
			desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl", st->root, seg);
		st->segsize = (uint64_t)sb.st_size;
		return;
	}
	int fd = seg_open(st, seg, O_RDWR | O_APPEND | (create ? O_CREAT : 0));
	if (fd < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl", st->root, seg);
	if (fstat(fd, &sb) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl", st->root, seg);
	if (st->segfd >= 0)
		close(st->segfd);
	st->segfd = fd;
	st->seg = seg;
	st->segsize = (uint64_t)sb.st_size;
}

static int
seg_exists(struct desk_store *st, uint32_t seg)
{
	char name[32];

	snprintf(name, sizeof name, "%08u.jsonl", seg);
	return faccessat(st->subfd[DESK_D_LOG], name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Reads the log from (seg, off) to its end, calling each() for every whole
 * record (an invalid jv with a message for a line that does not parse). A
 * last line without its newline is a write cut short by a crash: it is
 * truncated when truncate_tail is set and skipped otherwise.
 */
void
desk_log_rollforward(struct desk_store *st, uint32_t seg, uint64_t off,
    int truncate_tail, void (*each)(struct desk_store *, jv, struct desk_loc, void *),
    void *ctx)
{
	struct desk_buf b = DESK_BUF_INIT;

	for (;; seg++, off = 0) {
		int fd = seg_open(st, seg, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT)
				break;
			desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl", st->root, seg);
		}
		uint64_t base = off;     /* file offset of b.p[0] */
		b.len = 0;
		for (;;) {
			desk_buf_reserve(&b, 1 << 20);
			ssize_t r = pread(fd, b.p + b.len, b.cap - b.len - 1,
			    (off_t)(base + b.len));
			if (r < 0) {
				if (errno == EINTR)
					continue;
				desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl",
				    st->root, seg);
			}
			if (r == 0)
				break;
			b.len += (size_t)r;
			size_t start = 0;
			for (;;) {
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
		if (b.len > 0) {
			if (seg_exists(st, seg + 1)) {
				/* A torn line before a later segment is damage, not a crash tail. */
				struct desk_loc loc = { DESK_POS(seg, base), (uint32_t)b.len };
				each(st, jv_invalid_with_msg(jv_string(
				    "record without its newline")), loc, ctx);
			} else if (truncate_tail) {
				int wfd = seg_open(st, seg, O_WRONLY);
				if (wfd < 0 || ftruncate(wfd, (off_t)base) < 0)
					desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl",
					    st->root, seg);
				close(wfd);
				st->cut += b.len;
				st->dirty = 1;
			}
		}
	}
	desk_buf_free(&b);
}

#define REC_CACHE 2048
#define REC_CACHE_MAX 2048      /* longer records are not kept */

static void
rec_cache_clear(struct desk_store *st)
{
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

void
desk_log_reopen(struct desk_store *st)
{
	uint32_t last = st->clean.seg ? st->clean.seg : 1;

	while (seg_exists(st, last + 1))
		last++;
	if (st->segfd >= 0)
		close(st->segfd);
	st->segfd = -1;
	seg_switch(st, last, 0);
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
		desk_die(DESK_EX_IOERR, "%s/log/%08u.jsonl: damaged record at "
		    "offset %llu: %s (run desk-case fsck --repair)", st->root,
		    DESK_POS_SEG(loc.pos), (unsigned long long)DESK_POS_OFF(loc.pos),
		    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "?");
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

void
desk_store_lock(struct desk_store *st)
{
	if (st->locked)
		return;
	store_need(st);
	if (st->lockfd < 0) {
		st->lockfd = openat(st->dfd, "lock",
		    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (st->lockfd < 0)
			desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);
	}
	lock_wait(st);
	st->locked = 1;
	state_read(st);
	/* Cached slots hold only if nobody has written since our last commit. */
	if (!st->have_mine || memcmp(&st->mine, &st->clean, sizeof st->mine))
		desk_slot_forget(st);
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
	seg_switch(st, st->clean.seg, 0);
	/* Another writer may have grown the index since we last looked. */
	desk_hx_refresh(st);
	if (st->segsize != st->clean.size || seg_exists(st, st->clean.seg + 1)) {
		if (st->segsize < st->clean.size)
			desk_die(DESK_EX_IOERR, "%s/log/%08u.jsonl: shorter than "
			    "committed (run desk-case fsck)", st->root, st->seg);
		desk_slot_forget(st);
		desk_log_rollforward(st, st->clean.seg, st->clean.size, 1,
		    rollforward_one, NULL);
		desk_log_reopen(st);
		st->wrote_log = 1;
	}
}

int
desk_store_locked(struct desk_store *st)
{
	return st->locked;
}

void
desk_store_dirty(struct desk_store *st)
{
	st->dirty = 1;
}

void
desk_store_commit(struct desk_store *st)
{
	if (!st)
		return;
	if (st->locked) {
		desk_hx_flush(st);
		desk_state_write(st);
	}
	if (st->dirty) {
		/* One sync for the whole batch: every file written is durable. */
		if (syncfs(st->dfd) < 0)
			desk_die_errno(DESK_EX_IOERR, "%s: sync", st->root);
	}
	if (st->locked) {
		st->mine = st->clean;
		st->have_mine = 1;
		if (flock(st->lockfd, LOCK_UN) < 0)
			desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);
		st->locked = 0;
	}
	st->dirty = st->wrote_log = 0;
}

void
desk_store_seen_id(struct desk_store *st, int k, uint64_t id)
{
	if (id >= st->next[k])
		st->next[k] = id + 1;
}

uint64_t
desk_store_newid(struct desk_store *st, int k)
{
	if (!st->locked)
		desk_die(DESK_EX_SOFTWARE, "internal: id allocated without the lock");
	return st->next[k]++;
}

uint64_t
desk_store_nextid(struct desk_store *st, int k)
{
	return st->next[k];
}

struct desk_loc
desk_log_add(struct desk_store *st, jv rec)
{
	struct desk_buf *b = &st->enc;

	if (!st->locked)
		desk_die(DESK_EX_SOFTWARE, "internal: log written without the lock");
	b->len = 0;
	desk_json_dump(b, rec);
	desk_buf_addc(b, '\n');
	/*
	 * The limits on input (limits.c) keep every record under this; one
	 * that is not would be acknowledged and then unreadable, so it is
	 * never written.
	 */
	if (b->len > DESK_REC_MAX)
		desk_die(DESK_EX_SOFTWARE, "internal: a %s record of %zu bytes is "
		    "over the store's limit of %u bytes; nothing written",
		    desk_jstr(rec, "rec") ? desk_jstr(rec, "rec") : "?", b->len,
		    DESK_REC_MAX);
	if (st->segsize > 0 && st->segsize + b->len > st->segmax)
		seg_switch(st, st->seg + 1, 1);
	if (desk_write_all(st->segfd, b->p, b->len) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/log/%08u.jsonl", st->root, st->seg);
	struct desk_loc loc = { DESK_POS(st->seg, st->segsize), (uint32_t)b->len };
	st->segsize += b->len;
	st->wrote_log = st->dirty = 1;
	st->schema->apply(st, rec, loc);
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

jv
desk_log_get(struct desk_store *st, struct desk_loc loc)
{
	struct rec_cache *c = NULL;

	if (loc.len <= REC_CACHE_MAX) {
		if (!st->recs)
			st->recs = desk_xcalloc(REC_CACHE, sizeof *st->recs);
		c = &st->recs[(loc.pos ^ (loc.pos >> 17)) % REC_CACHE];
		if (c->pos == loc.pos && c->len == loc.len)
			return jv_copy(c->rec);
	}
	int fd = desk_log_fd(st, DESK_POS_SEG(loc.pos));
	char small[4096], *p = small;

	if (fd < 0)
		return jv_invalid_with_msg(jv_string_fmt("log/%08u.jsonl: %s",
		    DESK_POS_SEG(loc.pos), strerror(errno)));
	if (loc.len > sizeof small)
		p = desk_xmalloc(loc.len);
	ssize_t r = desk_pread_all(fd, p, loc.len, DESK_POS_OFF(loc.pos));
	jv v = r < 0 ? jv_invalid_with_msg(jv_string(strerror(errno))) :
	    log_parse(st, p, (size_t)r == loc.len ? loc.len : 0, loc.pos);
	if (p != small)
		free(p);
	if (c && jv_is_valid(v)) {
		if (c->pos)
			jv_free(c->rec);
		c->pos = loc.pos;
		c->len = loc.len;
		c->rec = jv_copy(v);
	}
	return v;
}

jv
desk_log_get_at(struct desk_store *st, uint64_t pos)
{
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

static void
store_init(struct desk_store *st)
{
	struct desk_state s = { 1, 0, 1, { 0 } };
	char buf[DESK_STATE_SIZE];
	size_t n;
	char *v;

	if (flock(st->lockfd, LOCK_EX) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);
	if ((v = desk_store_get(st, "VERSION", &n))) {
		free(v);          /* another process got here first */
		flock(st->lockfd, LOCK_UN);
		return;
	}
	subdirs_open(st);
	for (int k = 0; k < st->schema->ncounters; k++)
		s.next[k] = 1;
	state_format(st, &s, buf);
	int fd = seg_open(st, 1, O_WRONLY | O_CREAT);
	if (fd < 0 || close(fd) < 0 ||
	    put(st, "state", buf, DESK_STATE_SIZE, 0600) < 0 ||
	    put(st, "VERSION", VERSION_TEXT, strlen(VERSION_TEXT), 0600) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s: cannot create the store", st->root);
	if (syncfs(st->dfd) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s: sync", st->root);
	st->dirty = 0;
	flock(st->lockfd, LOCK_UN);
}

/*
 * Opens the store's directory, without following a link, and checks it:
 * 1 when it holds a store, 0 when it is missing or has no VERSION yet.
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
			desk_die(DESK_EX_NOPERM, "%s: a symbolic link: refused (name "
			    "the directory it points to)", st->root);
		desk_die_errno(DESK_EX_IOERR, "%s", st->root);
	}
	dir_check(st, st->dfd, "");
	char *v = desk_store_get(st, "VERSION", &n);
	if (!v) {
		if (errno != ENOENT)
			desk_die_errno(DESK_EX_IOERR, "%s/VERSION", st->root);
		return 0;
	}
	if (strcmp(v, VERSION_TEXT) != 0)
		desk_die(DESK_EX_CONFIG, "%s: unsupported store format: %.*s",
		    st->root, (int)strcspn(v, "\n"), v);
	free(v);
	subdirs_open(st);
	st->present = 1;
	return 1;
}

static void
store_create(struct desk_store *st)
{
	if (st->dfd < 0) {
		mkdirs(st->root);
		if (store_attach(st))
			return;         /* another process made it meanwhile */
		if (st->dfd < 0)
			desk_die_errno(DESK_EX_IOERR, "%s", st->root);
	}
	st->lockfd = openat(st->dfd, "lock",
	    O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (st->lockfd < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/lock", st->root);
	store_init(st);
	subdirs_open(st);
	st->present = 1;
}

/* A store opened DESK_ST_LAZY comes into being when first written to. */
static void
store_need(struct desk_store *st)
{
	if (!st->present)
		store_create(st);
}

void
desk_store_create(struct desk_store *st)
{
	store_need(st);
}

/*
 * The store a tool has open. Tools exit through desk_die with the store
 * open; keeping it reachable tells a leak checker that this is on purpose.
 */
static struct desk_store *opened;

struct desk_store *
desk_store_open(const char *dir, int flags, const struct desk_schema *schema)
{
	struct desk_store *st = opened = desk_xcalloc(1, sizeof *st);
	size_t len;

	if (!schema || !schema->apply || schema->ntables < 1 ||
	    schema->ntables > DESK_ST_TABLES || schema->ncounters < 1 ||
	    schema->ncounters > DESK_ST_COUNTERS)
		desk_die(DESK_EX_SOFTWARE, "internal: a store opened without a schema");
	st->schema = schema;
	st->root = desk_xstrdup(dir);
	/* "store/" would follow a link where "store" does not. */
	for (len = strlen(st->root); len > 1 && st->root[len - 1] == '/'; len--)
		st->root[len - 1] = '\0';
	st->dfd = st->lockfd = st->statefd = st->segfd = st->hxfd = -1;
	for (int t = 0; t < DESK_ST_TABLES; t++)
		st->slotfd[t] = -1;
	for (unsigned i = 0; i < DESK_RFDS; i++)
		st->rfd[i].fd = -1;
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		st->subfd[i] = -1;
	st->segmax = desk_env()->segment_size;
	if (store_attach(st) || (flags & DESK_ST_LAZY))
		return st;
	if (flags & DESK_ST_CREATE)
		store_create(st);
	else if (st->dfd < 0)
		desk_die(DESK_EX_CONFIG, "%s: no store here (the first "
		    "desk-case or desk-webhook channel add creates it)", st->root);
	else
		desk_die(DESK_EX_CONFIG, "%s: not a desk store (no VERSION)",
		    st->root);
	return st;
}

void
desk_store_close(struct desk_store *st)
{
	if (!st)
		return;
	if (opened == st)
		opened = NULL;
	while (st->nhooks > 0) {
		st->nhooks--;
		st->hook[st->nhooks].fn(st->hook[st->nhooks].ctx);
	}
	desk_derived_close(st);
	if (st->segfd >= 0)
		close(st->segfd);
	if (st->statefd >= 0)
		close(st->statefd);
	if (st->lockfd >= 0)
		close(st->lockfd);
	for (int i = 0; i < DESK_NSUBDIRS; i++)
		if (st->subfd[i] >= 0)
			close(st->subfd[i]);
	if (st->dfd >= 0)
		close(st->dfd);
	desk_buf_free(&st->enc);
	rec_cache_clear(st);
	free(st->cache);
	free(st->root);
	free(st);
}

void
desk_store_on_close(struct desk_store *st, void (*fn)(void *), void *ctx)
{
	if (st->nhooks == DESK_ST_HOOKS)
		desk_die(DESK_EX_SOFTWARE, "internal: more than %d close hooks",
		    DESK_ST_HOOKS);
	st->hook[st->nhooks].fn = fn;
	st->hook[st->nhooks].ctx = ctx;
	st->nhooks++;
}

const char *
desk_store_root(struct desk_store *st)
{
	return st->root;
}

int
desk_store_fd(struct desk_store *st)
{
	store_need(st);
	return st->dfd;
}
