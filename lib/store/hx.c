/*
 * hx.c: index/keys.hx, an on-disk hash table from 16-byte keys to a value.
 *
 * A 4096-byte header, then a power-of-two number of 4096-byte buckets of
 * 128 entries (key, value, aux, CRC). A key lives in its home bucket or, when
 * that is full, in the next non-full one (linear probing by bucket; there
 * are no deletions, so an empty entry ends a search). Lookups cost one pread
 * per bucket visited and memory stays flat however big the table grows.
 * Past 80% full, the table is rebuilt at twice the size into tmp/ and
 * renamed into place, so a reader never sees half of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"

#define HX_PATH "index/keys.hx"
#define HXPATH(st) ((st)->hxpath[0] ? (st)->hxpath : HX_PATH)
#define HX_MAGIC "desk hx 1\n"

static int
fail_io(struct desk_store *st)
{
	return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/" HX_PATH, st->root);
}

static int
fail_head(struct desk_store *st)
{
	return desk_store_fail(st, DESK_EX_IOERR, "%s/" HX_PATH ": bad header "
	    "(run desk-case fsck --repair)", st->root);
}

static void
head_encode(unsigned char *h, uint32_t nb, uint64_t count)
{
	memset(h, 0, DESK_HX_BUCKET);
	memcpy(h, HX_MAGIC, strlen(HX_MAGIC));
	desk_le32(h + 16, nb);
	desk_le64(h + 24, count);
}

int
desk_hx_create_file(struct desk_store *st, const char *rel, uint32_t nb)
{
	unsigned char h[DESK_HX_BUCKET];
	int fd = desk_store_open_file(st, rel, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return -1;
	head_encode(h, nb, 0);
	if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    ftruncate(fd, (off_t)DESK_HX_BUCKET * (nb + 1)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	st->dirty = 1;
	return fd;
}

static int
read_head(struct desk_store *st, int fd, uint32_t *nb, uint64_t *count)
{
	unsigned char h[32];

	if (desk_pread_all(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    memcmp(h, HX_MAGIC, strlen(HX_MAGIC)) != 0)
		return -1;
	*nb = desk_get32(h + 16);
	*count = desk_get64(h + 24);
	if (*nb < 1 || (*nb & (*nb - 1)))
		return -1;
	(void)st;
	return 0;
}

int
desk_hx_open(struct desk_store *st, int create)
{
	if (st->hxfd >= 0)
		return 0;
	int fd = desk_store_open_file(st, HXPATH(st), O_RDWR, 0);
	if (fd < 0 && errno == EACCES)
		fd = desk_store_open_file(st, HXPATH(st), O_RDONLY, 0);
	if (fd < 0 && errno == ENOENT && create) {
		fd = desk_hx_create_file(st, HXPATH(st), DESK_HX_MIN_BUCKETS);
		if (fd < 0 && errno == EEXIST)
			fd = desk_store_open_file(st, HXPATH(st), O_RDWR, 0);
	}
	if (fd < 0) {
		if (errno != ENOENT || create)
			fail_io(st);
		return -1;
	}
	if (read_head(st, fd, &st->hx_nb, &st->hx_count) < 0) {
		close(fd);
		return fail_head(st);
	}
	st->hx_count_disk = st->hx_count;
	st->hxfd = fd;
	return 0;
}

int
desk_hx_refresh(struct desk_store *st)
{
	struct stat a, b;

	st->hx_miss.valid = 0;
	if (st->hxfd < 0)
		return 0;
	if (fstat(st->hxfd, &a) < 0)
		return fail_io(st);
	if (desk_store_stat(st, HX_PATH, &b) < 0 ||
	    a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
		close(st->hxfd);
		st->hxfd = -1;
		return 0;
	}
	if (read_head(st, st->hxfd, &st->hx_nb, &st->hx_count) < 0)
		return fail_head(st);
	st->hx_count_disk = st->hx_count;
	return 0;
}

int
desk_hx_flush(struct desk_store *st)
{
	unsigned char c[8];

	if (st->err.code)
		return -1;
	if (st->hxfd < 0 || st->hx_count == st->hx_count_disk)
		return 0;
	desk_le64(c, st->hx_count);
	if (pwrite(st->hxfd, c, 8, 24) != 8)
		return fail_io(st);
	st->hx_count_disk = st->hx_count;
	st->dirty = 1;
	return 0;
}

static uint32_t
home(const struct desk_key *k, uint32_t nb)
{
	return (uint32_t)(desk_get64(k->h) & (nb - 1));
}

static int
entry_empty(const unsigned char *e)
{
	static const unsigned char zero[16];

	return !memcmp(e, zero, 16);
}

static int
entry_ok(const unsigned char *e)
{
	return desk_get32(e + 28) == desk_crc32(e, 28);
}

static void
entry_encode(unsigned char *e, const unsigned char *key, uint64_t val, uint32_t aux)
{
	memcpy(e, key, 16);
	desk_le64(e + 16, val);
	desk_le32(e + 24, aux);
	desk_le32(e + 28, desk_crc32(e, 28));
}

static int
read_bucket(struct desk_store *st, int fd, uint32_t b, unsigned char *buf)
{
	ssize_t r = desk_pread_all(fd, buf, DESK_HX_BUCKET,
	    (uint64_t)DESK_HX_BUCKET * (b + 1));
	if (r < 0)
		return fail_io(st);
	if (r < DESK_HX_BUCKET)
		memset(buf + r, 0, DESK_HX_BUCKET - (size_t)r);
	return 0;
}

/* Buckets a search may visit before the table counts as too full. */
#define MAX_PROBE 8

/*
 * Finds key: 1 and the entry's place when present; 0 and the first free
 * place when absent; -1 when the table is full; -2 when a read failed
 * (the store failed). *probes counts the buckets visited.
 */
static int
find(struct desk_store *st, const struct desk_key *k, uint32_t *bucket,
    int *slot, unsigned char *buf, uint32_t *probes)
{
	uint32_t nb = st->hx_nb, h = home(k, nb);

	for (uint32_t i = 0; i < nb; i++) {
		*probes = i + 1;
		uint32_t b = (h + i) & (nb - 1);
		if (read_bucket(st, st->hxfd, b, buf) < 0)
			return -2;
		for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
			unsigned char *ent = buf + e * DESK_HX_ENTRY;
			if (entry_empty(ent)) {
				*bucket = b;
				*slot = e;
				return 0;
			}
			if (!memcmp(ent, k->h, 16)) {
				*bucket = b;
				*slot = e;
				return 1;
			}
		}
	}
	return -1;
}

int
desk_hx_get(struct desk_store *st, const struct desk_key *k, uint64_t *val,
    uint32_t *aux)
{
	unsigned char buf[DESK_HX_BUCKET];
	uint32_t b;
	int e;

	if (desk_hx_open(st, 0) < 0)
		return 0;
	uint32_t probes;
	for (int tries = 0; tries < 50; tries++) {
		int r = find(st, k, &b, &e, buf, &probes);
		if (r == 0 && st->locked && probes <= MAX_PROBE) {
			/* A lookup that misses is often followed by a put of the key. */
			memcpy(st->hx_miss.key, k->h, 16);
			st->hx_miss.bucket = b;
			st->hx_miss.slot = e;
			st->hx_miss.writes = st->hx_writes;
			st->hx_miss.valid = 1;
		}
		if (r != 1)
			return 0;
		unsigned char *ent = buf + e * DESK_HX_ENTRY;
		if (entry_ok(ent)) {
			*val = desk_get64(ent + 16);
			if (aux)
				*aux = desk_get32(ent + 24);
			return 1;
		}
		if (st->locked)
			break;
		usleep(1000);    /* a writer is halfway through this entry */
	}
	desk_store_fail(st, DESK_EX_IOERR, "%s/" HX_PATH ": damaged entry in "
	    "bucket %u (run desk-case fsck --repair)", st->root, b);
	return 0;
}

/*
 * A small write-back cache of buckets for rebuilding: entries arrive in
 * nearly ascending home order, in two streams (b and b + old size), so two
 * direct-mapped halves keep almost every bucket in memory until it is done.
 */
#define CACHE_N 256
struct bcache {
	int fd;
	uint32_t nb;
	struct {
		uint32_t b;
		int valid, dirty;
		unsigned char data[DESK_HX_BUCKET];
	} *line;      /* 2 * CACHE_N */
};

static unsigned char *
cache_get(struct desk_store *st, struct bcache *c, uint32_t b)
{
	unsigned idx = (b % CACHE_N) + (b >= c->nb / 2 ? CACHE_N : 0);
	__typeof__(c->line) l = &c->line[idx];

	if (l->valid && l->b == b)
		return l->data;
	if (l->valid && l->dirty &&
	    pwrite(c->fd, l->data, DESK_HX_BUCKET, (off_t)DESK_HX_BUCKET * (l->b + 1))
	    != DESK_HX_BUCKET) {
		fail_io(st);
		return NULL;
	}
	if (read_bucket(st, c->fd, b, l->data) < 0)
		return NULL;
	l->b = b;
	l->valid = 1;
	l->dirty = 0;
	return l->data;
}

static int
cache_insert(struct desk_store *st, struct bcache *c, const unsigned char *ent)
{
	uint32_t h = (uint32_t)(desk_get64(ent) & (c->nb - 1));

	for (uint32_t i = 0; i < c->nb; i++) {
		uint32_t b = (h + i) & (c->nb - 1);
		unsigned char *data = cache_get(st, c, b);
		if (!data)
			return -1;
		for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
			unsigned char *slot = data + e * DESK_HX_ENTRY;
			if (entry_empty(slot)) {
				memcpy(slot, ent, DESK_HX_ENTRY);
				unsigned idx = (b % CACHE_N) + (b >= c->nb / 2 ? CACHE_N : 0);
				c->line[idx].dirty = 1;
				return 0;
			}
		}
	}
	return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: rebuilt hash "
	    "index is full");
}

static int
cache_flush(struct desk_store *st, struct bcache *c)
{
	int r = 0;

	for (unsigned i = 0; i < 2 * CACHE_N && !r; i++)
		if (c->line[i].valid && c->line[i].dirty &&
		    pwrite(c->fd, c->line[i].data, DESK_HX_BUCKET,
		    (off_t)DESK_HX_BUCKET * (c->line[i].b + 1)) != DESK_HX_BUCKET)
			r = fail_io(st);
	free(c->line);
	return r;
}

/* Doubles the table into tmp/ and renames it into place; 0 or -1. */
static int
grow(struct desk_store *st)
{
	unsigned char buf[DESK_HX_BUCKET], h[DESK_HX_BUCKET];
	char tmp[64];
	uint32_t nb2 = st->hx_nb * 2;
	struct bcache c;
	uint64_t count = 0;

	int fd = desk_store_tmp(st, tmp, sizeof tmp), r = 0;
	if (fd < 0)
		return fail_io(st);
	c.fd = fd;
	c.nb = nb2;
	c.line = desk_xcalloc(2 * CACHE_N, sizeof *c.line);
	for (uint32_t b = 0; b < st->hx_nb && !r; b++) {
		r = read_bucket(st, st->hxfd, b, buf);
		for (int e = 0; e < DESK_HX_PER_BUCKET && !r; e++) {
			unsigned char *ent = buf + e * DESK_HX_ENTRY;
			if (entry_empty(ent) || !entry_ok(ent))
				continue;
			r = cache_insert(st, &c, ent);
			count++;
		}
	}
	if (cache_flush(st, &c) < 0 || r < 0) {
		close(fd);
		desk_store_unlink(st, tmp);
		return -1;
	}
	head_encode(h, nb2, count);
	if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    ftruncate(fd, (off_t)DESK_HX_BUCKET * (nb2 + 1)) < 0 ||
	    fdatasync(fd) < 0 ||
	    desk_store_rename(st, tmp, HXPATH(st)) < 0) {
		int e = errno;
		close(fd);
		desk_store_unlink(st, tmp);
		errno = e;
		return fail_io(st);
	}
	close(st->hxfd);
	st->hxfd = fd;
	st->hx_writes++;
	st->hx_nb = nb2;
	st->hx_count = st->hx_count_disk = count;
	st->dirty = 1;
	return 0;
}

int
desk_hx_put(struct desk_store *st, const struct desk_key *k, uint64_t val,
    uint32_t aux)
{
	unsigned char buf[DESK_HX_BUCKET], ent[DESK_HX_ENTRY];
	uint32_t b;
	int e;

	if (st->err.code)
		return -1;        /* the store's error state: no more writes */
	if (!st->locked && !st->repairing)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: index "
		    "written without the lock");
	if (desk_hx_open(st, 1) < 0)
		return -1;
	uint32_t probes = 1;
	int found;
	if (st->hx_miss.valid && st->hx_miss.writes == st->hx_writes &&
	    !memcmp(st->hx_miss.key, k->h, 16)) {
		/* Nothing was written since that lookup missed: its room is still free. */
		found = 0;
		b = st->hx_miss.bucket;
		e = st->hx_miss.slot;
	} else if ((found = find(st, k, &b, &e, buf, &probes)) == -2)
		return -1;
	st->hx_miss.valid = 0;
	st->hx_writes++;
	/*
	 * The header's count is written at commit, so after a crash it can be
	 * low; long probes, or no room at all, say the table is full whatever
	 * the count says. grow() counts the entries afresh.
	 */
	if (found < 0 || (!found && probes > MAX_PROBE)) {
		if (grow(st) < 0 || (found = find(st, k, &b, &e, buf, &probes)) == -2)
			return -1;
		if (found < 0)
			return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: hash "
			    "index full after growing");
	}
	unsigned char *old = buf + e * DESK_HX_ENTRY;
	if (found && entry_ok(old) && desk_get64(old + 16) == val &&
	    desk_get32(old + 24) == aux)
		return 0;
	entry_encode(ent, k->h, val, aux);
	if (pwrite(st->hxfd, ent, sizeof ent,
	    (off_t)DESK_HX_BUCKET * (b + 1) + e * DESK_HX_ENTRY) != (ssize_t)sizeof ent)
		return fail_io(st);
	st->dirty = 1;
	if (!found && ++st->hx_count * 10 > (uint64_t)st->hx_nb * DESK_HX_PER_BUCKET * 8)
		return grow(st);
	return 0;
}

int
desk_hx_each(struct desk_store *st,
    void (*f)(const struct desk_key *, uint64_t, uint32_t, void *), void *ctx)
{
	unsigned char buf[DESK_HX_BUCKET];
	struct desk_key k;

	if (desk_hx_open(st, 0) < 0)
		return st->err.code ? -1 : 0;
	for (uint32_t b = 0; b < st->hx_nb; b++) {
		if (read_bucket(st, st->hxfd, b, buf) < 0)
			return -1;
		for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
			unsigned char *ent = buf + e * DESK_HX_ENTRY;
			if (entry_empty(ent))
				continue;
			memcpy(k.h, ent, 16);
			f(&k, entry_ok(ent) ? desk_get64(ent + 16) : UINT64_MAX,
			    desk_get32(ent + 24), ctx);
		}
	}
	return 0;
}
