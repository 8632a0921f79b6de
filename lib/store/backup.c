/*
 * backup.c: a consistent copy of a live store (desk-case backup), made by
 * the engine from what it knows of its own files, nothing of what records
 * mean. Under the writer lock, so no batch is half in the copy: the sealed
 * log segments hard-linked (a sealed segment is never written again: the
 * only rewrites, fsck --repair's cut and compact, replace a segment by
 * rename, so the copy's inode keeps the old bytes), copied where the
 * filesystem will not link; the segment being appended to copied up to
 * the log's end; the derived files, the state and the other directories
 * copied as they stand. The copy is built under a temporary name beside
 * DEST, synced, and renamed to DEST last: DEST is a whole copy or absent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"

/* The subdirectories whose files are copied whole (log/ and tmp/ are not). */
static const struct {
	enum desk_subdir d;
	const char *name;
} copied[] = { { DESK_D_INDEX, "index" }, { DESK_D_CHANNELS, "channels" },
	{ DESK_D_SECRETS, "secrets" }, { DESK_D_REJECTS, "rejects" } };

struct copy {
	struct desk_store *st;
	const char *dest;             /* for messages */
	struct desk_backup *out;
	struct desk_err *e;           /* the first failure */
};

/*
 * A failure of the copy: the caller's to report, after the partial copy
 * is removed (not the store's error state: the store is not at fault).
 */
static int
bfail(struct copy *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!c->e->code)
		desk_err_vset(c->e, DESK_EX_IOERR, NULL, fmt, ap);
	va_end(ap);
	return -1;
}

static int
bfail_errno(struct copy *c, const char *fmt, ...)
{
	va_list ap;
	int err = errno;

	if (c->e->code)
		return -1;
	va_start(ap, fmt);
	desk_err_vset(c->e, DESK_EX_IOERR, NULL, fmt, ap);
	va_end(ap);
	size_t n = strlen(c->e->msg);
	snprintf(c->e->msg + n, sizeof c->e->msg - n, ": %s", strerror(err));
	return -1;
}

/*
 * len bytes from in to out: in the kernel (a reflink where the filesystem
 * has them), by read and write where it will not copy across filesystems.
 */
static int
copy_bytes(int in, int out, off_t len)
{
	char buf[65536];
	off_t done = 0;
	int kernel = 1;

	while (done < len) {
		size_t want = (size_t)(len - done);
		ssize_t n;
		if (kernel) {
			n = copy_file_range(in, NULL, out, NULL, want, 0);
			if (n < 0 && (errno == EXDEV || errno == EINVAL ||
			    errno == ENOSYS || errno == EOPNOTSUPP) && !done) {
				kernel = 0;
				continue;
			}
		} else {
			n = pread(in, buf, want < sizeof buf ? want : sizeof buf, done);
			if (n > 0 && desk_write_all(out, buf, (size_t)n) < 0)
				return -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;    /* shorter than it was under the lock */
			return -1;
		}
		done += n;
	}
	return 0;
}

/* len bytes (all of it when len is -1) of from/name into a new to/name. */
static int
copy_file(struct copy *c, int from, int to, const char *sub, const char *name,
    off_t len)
{
	struct stat sb;
	int in = openat(from, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (in < 0 || fstat(in, &sb) < 0) {
		if (in >= 0)
			close(in);
		return bfail_errno(c, "%s/%s%s%s",
		    c->st->root, sub, *sub ? "/" : "", name);
	}
	if (len < 0)
		len = sb.st_size;
	int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, sb.st_mode & 0777);
	if (out < 0) {
		close(in);
		return bfail_errno(c, "%s/%s%s%s",
		    c->dest, sub, *sub ? "/" : "", name);
	}
	if (copy_bytes(in, out, len) < 0) {
		int e = errno;
		close(in);
		close(out);
		errno = e;
		return bfail_errno(c, "%s/%s%s%s", c->dest, sub, *sub ? "/" : "", name);
	}
	close(in);
	if (close(out) < 0)
		return bfail_errno(c, "%s/%s%s%s",
		    c->dest, sub, *sub ? "/" : "", name);
	c->out->copied++;
	c->out->bytes += (uint64_t)len;
	return 0;
}

/*
 * A sealed segment: a hard link, checked to be the very file (link, then
 * verify: the same inode on both sides); a copy where linking is refused.
 */
static int
link_file(struct copy *c, int from, int to, const char *sub, const char *name)
{
	struct stat a, b;

	if (linkat(from, name, to, name, 0) < 0) {
		if (errno != EXDEV && errno != EPERM && errno != EMLINK &&
		    errno != EOPNOTSUPP)
			return bfail_errno(c, "%s/%s%s%s",
			    c->dest, sub, *sub ? "/" : "", name);
		return copy_file(c, from, to, sub, name, -1);
	}
	if (fstatat(from, name, &a, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fstatat(to, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return bfail_errno(c, "%s/%s%s%s",
		    c->dest, sub, *sub ? "/" : "", name);
	if (a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		return bfail(c, "%s/%s/%s: the link is "
		    "not the segment it was made from", c->dest, sub, *sub ? "/" : "", name);
	c->out->linked++;
	c->out->bytes += (uint64_t)a.st_size;
	return 0;
}

static int
segment_number(const char *name, uint32_t *seg)
{
	char *end;
	unsigned long v;

	if (strlen(name) != 14 || strcmp(name + 8, ".jsonl"))
		return 0;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || end != name + 8 || v > UINT32_MAX)
		return 0;
	*seg = (uint32_t)v;
	return 1;
}

/* log/: every segment before the one appended to linked, that one copied. */
static int
copy_log(struct copy *c, int to)
{
	DIR *d = desk_store_opendir(c->st, "log");
	struct dirent *e;
	int r = 0;

	if (!d)
		return bfail_errno(c, "%s/log", c->st->root);
	while (!r && (errno = 0, e = readdir(d))) {
		uint32_t seg;
		if (!segment_number(e->d_name, &seg))
			continue;
		if (seg < c->st->seg)
			r = link_file(c, c->st->subfd[DESK_D_LOG], to, "log", e->d_name);
		else if (seg == c->st->seg)
			r = copy_file(c, c->st->subfd[DESK_D_LOG], to, "log", e->d_name,
			    (off_t)c->st->segsize);
		/* Past it nothing is committed: the lock rolled it forward. */
		if (!r && seg <= c->st->seg)
			c->out->segments++;
	}
	if (!r && errno)
		r = bfail_errno(c, "%s/log", c->st->root);
	closedir(d);
	return r;
}

/* Every regular file of a subdirectory; rejects/ linked (written once). */
static int
copy_dir(struct copy *c, enum desk_subdir sub, const char *name, int to)
{
	DIR *d = desk_store_opendir(c->st, name);
	struct dirent *e;
	struct stat sb;
	int r = 0, from = c->st->subfd[sub];

	if (!d)
		return bfail_errno(c, "%s/%s",
		    c->st->root, name);
	while (!r && (errno = 0, e = readdir(d))) {
		if (e->d_name[0] == '.' ||
		    fstatat(from, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		r = sub == DESK_D_REJECTS ? link_file(c, from, to, name, e->d_name) :
		    copy_file(c, from, to, name, e->d_name, -1);
	}
	if (!r && errno)
		r = bfail_errno(c, "%s/%s",
		    c->st->root, name);
	closedir(d);
	return r;
}

static int
subdir(struct copy *c, int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0)
		return -1;
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	(void)c;
	return fd;
}

/* The copy's files, under the lock, into the directory dfd. */
static int
copy_all(struct copy *c, int dfd)
{
	static const char *const top[] = { "VERSION", "state" };
	int r = 0;

	for (size_t i = 0; !r && i < sizeof top / sizeof *top; i++)
		r = copy_file(c, c->st->dfd, dfd, "", top[i], -1);
	int fd = r ? -1 : subdir(c, dfd, "log");
	if (!r && fd < 0)
		r = bfail_errno(c, "%s/log", c->dest);
	if (!r)
		r = copy_log(c, fd);
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; !r && i < sizeof copied / sizeof *copied; i++) {
		fd = subdir(c, dfd, copied[i].name);
		if (fd < 0)
			r = bfail_errno(c, "%s/%s",
			    c->dest, copied[i].name);
		else
			r = copy_dir(c, copied[i].d, copied[i].name, fd);
		if (fd >= 0)
			close(fd);
	}
	if (!r && mkdirat(dfd, "tmp", 0700) < 0)
		r = bfail_errno(c, "%s/tmp", c->dest);
	/* One sync for the copy's whole filesystem, before its name appears. */
	if (!r && syncfs(dfd) < 0)
		r = bfail_errno(c, "%s: sync", c->dest);
	return r;
}

/* Removes what a failed backup made of its temporary directory. */
static void
remove_tree(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		unlinkat(parent, name, 0);
		return;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			if (unlinkat(fd, e->d_name, 0) < 0)
				remove_tree(fd, e->d_name);
		}
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

int
desk_store_backup(struct desk_store *st, const char *dest, struct desk_backup *out,
    struct desk_err *e)
{
	struct desk_buf tmp = DESK_BUF_INIT, parent = DESK_BUF_INIT;
	struct copy c = { st, dest, out, e };
	const char *slash = strrchr(dest, '/');
	int r;

	memset(out, 0, sizeof *out);
	e->code = 0;
	if (!*dest || (slash && !slash[1]))
		return desk_err_set(e, DESK_EX_USAGE, NULL, "%s: name the new "
		    "directory (no trailing slash)", dest);
	if (slash)
		desk_buf_add(&parent, dest, (size_t)(slash - dest) + (slash == dest));
	else
		desk_buf_adds(&parent, ".");
	const char *base = slash ? slash + 1 : dest;
	int pfd = open(desk_buf_str(&parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0) {
		r = bfail_errno(&c, "%s", parent.p);
		goto out;
	}
	struct stat sb;
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) {
		r = bfail(&c, "%s: already exists (a backup "
		    "goes into a new directory)", dest);
		goto out;
	}
	desk_buf_addf(&tmp, ".%s.partial-%ld", base, (long)getpid());
	desk_buf_str(&tmp);
	if (desk_store_lock(st) < 0) {
		r = desk_store_err(st, e);
		goto out;
	}
	/*
	 * What the lock rolled forward goes into the state first, as any
	 * writer's commit would put it: the copy's state then says where its
	 * log ends.
	 */
	if (desk_store_flush(st) < 0 || desk_state_write(st) < 0) {
		r = desk_store_err(st, e);
		goto out;
	}
	int dfd = subdir(&c, pfd, tmp.p);
	if (dfd < 0) {
		r = bfail_errno(&c, "%s", tmp.p);
		goto out;
	}
	r = copy_all(&c, dfd);
	close(dfd);
	if (!r && renameat(pfd, tmp.p, pfd, base) < 0)
		r = bfail_errno(&c, "%s", dest);
	if (!r && fsync(pfd) < 0)
		r = bfail_errno(&c, "%s", parent.p);
	if (r)
		remove_tree(pfd, tmp.p);
	out->log_end = DESK_POS(st->seg, st->segsize);
out:
	if (pfd >= 0)
		close(pfd);
	desk_buf_free(&tmp);
	desk_buf_free(&parent);
	/* Lets go of the lock (and makes the roll-forward durable, if any). */
	if (desk_store_commit(st) < 0 && !r)
		r = desk_store_err(st, e);
	return r;
}
