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
 *
 * A key made near others (desk_key_near: bytes 10 and 11 are its mark,
 * the last 4 name a bucket it shares with keys written at the same time,
 * such as a user's messages' event keys) goes to that bucket while it has
 * room, else to its home's chain as any other; a lookup looks there
 * first, and in the chain only when that bucket is full. So a batch
 * dirties one page for them, not one each. Version 1 tables
 * (magic "desk hx 1", which older desks read) have every key in its
 * home's chain, also after they grow, until fsck --repair or compact
 * rebuilds them as version 2; the schema makes no key near for them
 * (desk_hx_near).
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
#define HX_MAGIC1 "desk hx 1\n"
#define HX_MAGIC "desk hx 2\n"
#define HX_MAGIC_LEN 10

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
head_encode(unsigned char *h, int v, uint32_t nb, uint64_t count)
{
	memset(h, 0, DESK_HX_BUCKET);
	memcpy(h, v < 2 ? HX_MAGIC1 : HX_MAGIC, HX_MAGIC_LEN);
	desk_le32(h + 16, nb);
	desk_le64(h + 24, count);
}

int
desk_hx_create_file(struct desk_store *st, const char *rel, uint32_t nb)
{
	unsigned char h[DESK_HX_BUCKET];

	head_encode(h, st->hx_make_v ? st->hx_make_v : DESK_HX_VERSION, nb, 0);
	return desk_store_create_with(st, rel, h, sizeof h,
	    (uint64_t)DESK_HX_BUCKET * (nb + 1));
}

/*
 * The table's version (1, 2) from its header, with its size and count;
 * -1 for a bad header, -2 (errno set) when it could not be read: an I/O
 * error is reported as one, not as damage to repair.
 */
static int
read_head(struct desk_store *st, int fd, uint32_t *nb, uint64_t *count)
{
	unsigned char h[32];
	int v;
	ssize_t r = desk_pread_all(fd, h, sizeof h, 0);

	if (r < 0)
		return -2;
	if (r != (ssize_t)sizeof h)
		return -1;
	if (!memcmp(h, HX_MAGIC, HX_MAGIC_LEN))
		v = 2;
	else if (!memcmp(h, HX_MAGIC1, HX_MAGIC_LEN))
		v = 1;
	else
		return -1;
	*nb = desk_get32(h + 16);
	*count = desk_get64(h + 24);
	if (*nb < 1 || (*nb & (*nb - 1)))
		return -1;
	(void)st;
	return v;
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
	if ((st->hx_v = read_head(st, fd, &st->hx_nb, &st->hx_count)) < 0) {
		int e = errno, v = st->hx_v;
		close(fd);
		errno = e;
		return v == -2 ? fail_io(st) : fail_head(st);
	}
	st->hx_count_disk = st->hx_count;
	st->hxfd = fd;
	desk_hx_newgen(st);
	return 0;
}

int
desk_hx_replaced(struct desk_store *st)
{
	return desk_store_replaced(st, st->hxfd, HX_PATH);
}

int
desk_hx_refresh(struct desk_store *st)
{
	st->hx_miss.valid = 0;
	if (st->hxfd < 0)
		return 0;
	if (desk_hx_replaced(st)) {
		desk_hx_forget(st);
		close(st->hxfd);
		st->hxfd = -1;
		return 0;
	}
	if ((st->hx_v = read_head(st, st->hxfd, &st->hx_nb, &st->hx_count)) < 0)
		return st->hx_v == -2 ? fail_io(st) : fail_head(st);
	st->hx_count_disk = st->hx_count;
	return 0;
}

static uint32_t
home(const unsigned char *k, uint32_t nb)
{
	return (uint32_t)(desk_get64(k) & (nb - 1));
}

/*
 * The bucket key k would rather be in: in a version 2 table, the one a key
 * made near names (any key with the mark: one hashed to it, 1 in 65536,
 * is kept there as if made near, which is as right), else its home.
 */
static uint32_t
pref(const unsigned char *k, uint32_t nb, int v)
{
	if (v >= 2 && k[10] == DESK_KEY_NEAR0 && k[11] == DESK_KEY_NEAR1)
		return desk_get32(k + 12) & (nb - 1);
	return home(k, nb);
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

/*
 * The buckets a writer read or wrote, under the lock: a bucket written in
 * a batch stays here, dirty, until the flush writes it once (the span of
 * its entries that changed); clean ones are kept across batches while the
 * state says nobody else wrote (desk_store_lock). Lines are taken as
 * buckets are read, up to HX_LINES of them (16 MiB: a writer streaming
 * in bulk keeps the index it probes, at most the index's own size), or
 * HX_LINES_SMALL (4 MiB) for a handle whose derived files are being made
 * new (fsck's rebuild, compact's kept: repairing), which has no reader
 * to serve again; when every line is dirty, all are flushed first.
 */
#define HX_LINES 4096
#define HX_LINES_SMALL 1024
#define HX_HASH 8192
struct hx_line {
	uint32_t b;
	int next;                     /* chain in the hash; -1 ends it */
	uint8_t valid, dirty, lo, hi, used;
	unsigned char *data;
};
struct hx_lines {
	int head[HX_HASH];
	int n;                        /* lines in use so far */
	int hand;                     /* the clock's, for eviction */
	int ndirty;
	struct hx_line line[HX_LINES];
};

static struct hx_lines *
lines(struct desk_store *st)
{
	if (!st->hxc) {
		st->hxc = desk_xcalloc(1, sizeof *st->hxc);
		for (int i = 0; i < HX_HASH; i++)
			st->hxc->head[i] = -1;
	}
	return st->hxc;
}

void
desk_hx_newgen(struct desk_store *st)
{
	static uint64_t gens;

	st->hx_gen = __atomic_add_fetch(&gens, 1, __ATOMIC_RELAXED);
}

void
desk_hx_forget(struct desk_store *st)
{
	struct hx_lines *c = st->hxc;

	desk_hx_newgen(st);
	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		free(c->line[i].data);
	free(c);
	st->hxc = NULL;
}

static struct hx_line *
line_find(struct hx_lines *c, uint32_t b)
{
	for (int i = c->head[b % HX_HASH]; i >= 0; i = c->line[i].next)
		if (c->line[i].b == b)
			return &c->line[i];
	return NULL;
}

static void
line_unhash(struct hx_lines *c, struct hx_line *l)
{
	int *p = &c->head[l->b % HX_HASH], me = (int)(l - c->line);

	while (*p != me)
		p = &c->line[*p].next;
	*p = l->next;
	l->valid = 0;
}

static int
by_bucket(const void *a, const void *b)
{
	const struct hx_line *x = *(const struct hx_line *const *)a;
	const struct hx_line *y = *(const struct hx_line *const *)b;

	return x->b < y->b ? -1 : x->b > y->b;
}

/* The changed span of each dirty bucket, in file order (for the disk's sake). */
static void
collect_lines(struct desk_store *st, struct hx_lines *c)
{
	struct hx_line *dirty[HX_LINES];
	int n = 0;

	for (int i = 0; i < c->n; i++)
		if (c->line[i].valid && c->line[i].dirty)
			dirty[n++] = &c->line[i];
	qsort(dirty, (size_t)n, sizeof dirty[0], by_bucket);
	for (int i = 0; i < n; i++) {
		struct hx_line *l = dirty[i];
		size_t off = (size_t)l->lo * DESK_HX_ENTRY;
		desk_redo_add(st, DESK_REDO_HX,
		    (uint64_t)DESK_HX_BUCKET * (l->b + 1) + off, l->data + off,
		    (size_t)(l->hi - l->lo + 1) * DESK_HX_ENTRY);
		l->dirty = 0;
	}
	c->ndirty = 0;
}

void
desk_hx_collect(struct desk_store *st)
{
	if (st->hxc && st->hxc->ndirty)
		collect_lines(st, st->hxc);
	/* The entry count, with the entries, so a crash keeps the two together. */
	if (st->hxfd >= 0 && st->hx_count != st->hx_count_disk) {
		unsigned char u[8];
		desk_le64(u, st->hx_count);
		desk_redo_add(st, DESK_REDO_HX, 24, u, sizeof u);
		st->hx_count_disk = st->hx_count;
	}
}

/* A line for bucket b, its data not filled: a free one, or a clean one evicted. */
static struct hx_line *
line_take(struct desk_store *st, uint32_t b)
{
	struct hx_lines *c = lines(st);
	struct hx_line *l = NULL;

	if (c->n < (st->repairing ? HX_LINES_SMALL : HX_LINES)) {
		l = &c->line[c->n++];
		l->data = desk_xmalloc(DESK_HX_BUCKET);
	} else {
		if (c->ndirty == c->n && desk_store_flush(st) < 0)
			return NULL;
		for (;;) {
			l = &c->line[c->hand];
			c->hand = (c->hand + 1) % c->n;
			if (l->valid && l->dirty)
				continue;
			if (l->valid && l->used) {
				l->used = 0;      /* a second chance */
				continue;
			}
			break;
		}
		if (l->valid)
			line_unhash(c, l);
	}
	l->b = b;
	l->dirty = 0;
	l->used = 1;
	l->next = c->head[b % HX_HASH];
	c->head[b % HX_HASH] = (int)(l - c->line);
	l->valid = 1;
	return l;
}

/*
 * Bucket b of the live index, as this batch sees it: from the lines under
 * the lock (read into one the first time), else read into buf.
 */
static unsigned char *
bucket(struct desk_store *st, uint32_t b, unsigned char *buf)
{
	if (!st->locked)
		return read_bucket(st, st->hxfd, b, buf) < 0 ? NULL : buf;
	struct hx_line *l = st->hxc ? line_find(st->hxc, b) : NULL;
	if (l) {
		l->used = 1;
		return l->data;
	}
	if (!(l = line_take(st, b)))
		return NULL;
	if (read_bucket(st, st->hxfd, b, l->data) < 0) {
		line_unhash(st->hxc, l);
		return NULL;
	}
	return l->data;
}

/* Bucket b as the batch sees it, without taking a line for it. */
static unsigned char *
bucket_peek(struct desk_store *st, uint32_t b, unsigned char *buf)
{
	struct hx_line *l = st->locked && st->hxc ? line_find(st->hxc, b) : NULL;

	if (l)
		return l->data;
	return read_bucket(st, st->hxfd, b, buf) < 0 ? NULL : buf;
}

/* Sets entry e of bucket b: held back under the lock, else written. */
static int
entry_put(struct desk_store *st, uint32_t b, int e, const unsigned char *ent)
{
	unsigned char buf[DESK_HX_BUCKET];

	if (!st->locked) {
		if (desk_log_flush(st) < 0)
			return -1;
		if (desk_pwrite_all(st->hxfd, ent, DESK_HX_ENTRY,
		    (uint64_t)DESK_HX_BUCKET * (b + 1) + e * DESK_HX_ENTRY) < 0)
			return fail_io(st);
		st->sync_hx = 1;
		return 0;
	}
	unsigned char *data = bucket(st, b, buf);
	if (!data)
		return -1;
	struct hx_line *l = line_find(st->hxc, b);
	memcpy(data + e * DESK_HX_ENTRY, ent, DESK_HX_ENTRY);
	if (!l->dirty) {
		l->dirty = 1;
		l->lo = l->hi = (uint8_t)e;
		st->hxc->ndirty++;
	} else {
		if (e < l->lo)
			l->lo = (uint8_t)e;
		if (e > l->hi)
			l->hi = (uint8_t)e;
	}
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
	if (desk_pwrite_all(st->hxfd, c, 8, 24) < 0)
		return fail_io(st);
	st->hx_count_disk = st->hx_count;
	st->dirty = 1;
	st->sync_hx = 1;
	return 0;
}

/* Buckets a search may visit before the table counts as too full. */
#define MAX_PROBE 8

/* Bucket b of fd, as the batch sees it when fd is the live index's. */
static unsigned char *
visit(struct desk_store *st, int fd, uint32_t b, unsigned char *buf)
{
	if (fd == st->hxfd)
		return bucket(st, b, buf);
	return read_bucket(st, fd, b, buf) < 0 ? NULL : buf;
}

/*
 * Key k in bucket b: 1 and its entry; 0 and the first free entry; -1 when
 * b is full; -2 when the read failed.
 */
static int
probe_at(struct desk_store *st, int fd, uint32_t b, const unsigned char *k,
    uint32_t *bucket_no, int *slot, unsigned char *buf, unsigned char **data)
{
	unsigned char *d = visit(st, fd, b, buf);
	uint64_t k0, k1, a, z;

	if (!d)
		return -2;
	/* Empty, or k: compared a word at a time (the loop of every lookup). */
	memcpy(&k0, k, 8);
	memcpy(&k1, k + 8, 8);
	for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
		const unsigned char *ent = d + e * DESK_HX_ENTRY;
		memcpy(&a, ent, 8);
		memcpy(&z, ent + 8, 8);
		int empty = !(a | z);
		if (empty || (a == k0 && z == k1)) {
			*bucket_no = b;
			*slot = e;
			*data = d;
			return !empty;
		}
	}
	return -1;
}

/*
 * Finds key k in table fd of nb buckets, version v: 1 and the entry's
 * place when present; 0 and the place for it when absent (the first free
 * entry of its preferred bucket, else of its home's chain); -1 when the
 * chain is full; -2 when a read failed (the store failed). *probes counts
 * the buckets of the chain visited; *data is the bucket of the place found
 * (buf, or the live index's line: valid until the next bucket is read)
 * when present. A key goes to its preferred bucket whenever that has room,
 * and nothing is ever deleted, so a key not there while it has room is in
 * no other: a new key costs one read.
 */
static int
probe(struct desk_store *st, int fd, uint32_t nb, int v, const unsigned char *k,
    uint32_t *bucket_no, int *slot, unsigned char *buf, unsigned char **data,
    uint32_t *probes)
{
	uint32_t h = home(k, nb), p = pref(k, nb, v);
	int r;

	*probes = 0;
	/* First where a key written with others most often is. */
	if (p != h && (r = probe_at(st, fd, p, k, bucket_no, slot, buf, data)) != -1)
		return r;
	for (uint32_t i = 0; i < nb; i++) {
		*probes = i + 1;
		r = probe_at(st, fd, (h + i) & (nb - 1), k, bucket_no, slot, buf, data);
		if (r != -1)
			return r;
	}
	return -1;
}

static int
find(struct desk_store *st, const struct desk_key *k, uint32_t *b,
    int *slot, unsigned char *buf, unsigned char **data, uint32_t *probes)
{
	return probe(st, st->hxfd, st->hx_nb, st->hx_v, k->h, b, slot, buf, data,
	    probes);
}

int
desk_hx_near(struct desk_store *st)
{
	if (st->hxfd < 0 && desk_hx_open(st, 0) < 0)
		return (st->hx_make_v ? st->hx_make_v : DESK_HX_VERSION) >= 2;
	return st->hx_v >= 2;
}

int
desk_hx_get(struct desk_store *st, const struct desk_key *k, uint64_t *val,
    uint32_t *aux)
{
	unsigned char buf[DESK_HX_BUCKET], *data = buf;
	uint32_t b;
	int e;

	if (desk_hx_open(st, 0) < 0)
		return 0;
	uint32_t probes;
	for (int tries = 0; tries < 50; tries++) {
		int r = find(st, k, &b, &e, buf, &data, &probes);
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
		unsigned char *ent = data + e * DESK_HX_ENTRY;
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
	    desk_pwrite_all(c->fd, l->data, DESK_HX_BUCKET,
	    (uint64_t)DESK_HX_BUCKET * (l->b + 1)) < 0) {
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

/* Puts ent at the first free entry of bucket b: 1, or 0 when b is full. */
static int
cache_put(struct desk_store *st, struct bcache *c, uint32_t b,
    const unsigned char *ent)
{
	unsigned char *data = cache_get(st, c, b);
	if (!data)
		return -1;
	for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
		unsigned char *slot = data + e * DESK_HX_ENTRY;
		if (entry_empty(slot)) {
			memcpy(slot, ent, DESK_HX_ENTRY);
			unsigned idx = (b % CACHE_N) + (b >= c->nb / 2 ? CACHE_N : 0);
			c->line[idx].dirty = 1;
			return 1;
		}
	}
	return 0;
}

/*
 * As desk_hx_put places a new key in a table of version v: its preferred
 * bucket, else its chain.
 */
static int
cache_insert(struct desk_store *st, struct bcache *c, int v,
    const unsigned char *ent)
{
	uint32_t h = home(ent, c->nb), p = pref(ent, c->nb, v);
	int r;

	if (p != h && (r = cache_put(st, c, p, ent)) != 0)
		return r < 0 ? -1 : 0;
	for (uint32_t i = 0; i < c->nb; i++)
		if ((r = cache_put(st, c, (h + i) & (c->nb - 1), ent)) != 0)
			return r < 0 ? -1 : 0;
	return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: rebuilt hash "
	    "index is full");
}

static int
cache_flush(struct desk_store *st, struct bcache *c)
{
	int r = 0;

	for (unsigned i = 0; i < 2 * CACHE_N && !r; i++)
		if (c->line[i].valid && c->line[i].dirty &&
		    desk_pwrite_all(c->fd, c->line[i].data, DESK_HX_BUCKET,
		    (uint64_t)DESK_HX_BUCKET * (c->line[i].b + 1)) < 0)
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

	/*
	 * The old table is read whole from its file: what the batch holds
	 * back first. The journal's units are for the old table: it is on
	 * disk, and they are done with, before the new one replaces it.
	 */
	if (desk_store_flush(st) < 0 || desk_redo_checkpoint(st) < 0)
		return -1;
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
			r = cache_insert(st, &c, st->hx_v, ent);
			count++;
		}
	}
	if (cache_flush(st, &c) < 0 || r < 0) {
		close(fd);
		desk_store_unlink(st, tmp);
		return -1;
	}
	/* The same version: its keys were made for it. */
	head_encode(h, st->hx_v, nb2, count);
	if (desk_pwrite_all(fd, h, sizeof h, 0) < 0 ||
	    ftruncate(fd, (off_t)DESK_HX_BUCKET * (nb2 + 1)) < 0 ||
	    fdatasync(fd) < 0 ||
	    desk_store_rename(st, tmp, HXPATH(st)) < 0) {
		int e = errno;
		close(fd);
		desk_store_unlink(st, tmp);
		errno = e;
		return fail_io(st);
	}
	desk_hx_forget(st);       /* its buckets are the old table's */
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
	unsigned char buf[DESK_HX_BUCKET], ent[DESK_HX_ENTRY], *data = buf;
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
	} else if ((found = find(st, k, &b, &e, buf, &data, &probes)) == -2)
		return -1;
	st->hx_miss.valid = 0;
	st->hx_writes++;
	/*
	 * The header's count is written at commit, so after a crash it can be
	 * low; long probes, or no room at all, say the table is full whatever
	 * the count says. grow() counts the entries afresh.
	 */
	if (found < 0 || (!found && probes > MAX_PROBE)) {
		if (grow(st) < 0 ||
		    (found = find(st, k, &b, &e, buf, &data, &probes)) == -2)
			return -1;
		if (found < 0)
			return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: hash "
			    "index full after growing");
	}
	unsigned char *old = data + e * DESK_HX_ENTRY;
	if (found && entry_ok(old) && desk_get64(old + 16) == val &&
	    desk_get32(old + 24) == aux)
		return 0;
	entry_encode(ent, k->h, val, aux);
	if (entry_put(st, b, e, ent) < 0)
		return -1;
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
		unsigned char *d = bucket_peek(st, b, buf);
		if (!d)
			return -1;
		for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
			unsigned char *ent = d + e * DESK_HX_ENTRY;
			if (entry_empty(ent))
				continue;
			memcpy(k.h, ent, 16);
			f(&k, entry_ok(ent) ? desk_get64(ent + 16) : UINT64_MAX,
			    desk_get32(ent + 24), ctx);
		}
	}
	return 0;
}

/* The index's entries of one bucket, sorted by key for a merge. */
struct hx_side {
	int fd, v;
	uint32_t nb;
	unsigned char bucket[DESK_HX_BUCKET];
	const unsigned char *ent[DESK_HX_PER_BUCKET];
	int n;
};

static int
by_key(const void *a, const void *b)
{
	return memcmp(*(const unsigned char *const *)a,
	    *(const unsigned char *const *)b, 16);
}

/* Looks key up in side's whole file: 1 with its entry in *ent, 0, -1. */
static int
lookup(struct desk_store *st, struct hx_side *side, const unsigned char *key,
    unsigned char *ent)
{
	unsigned char buf[DESK_HX_BUCKET], *data = buf;
	uint32_t b, probes;
	int e;

	int r = probe(st, side->fd, side->nb, side->v, key, &b, &e, buf, &data,
	    &probes);
	if (r == 1)
		memcpy(ent, data + e * DESK_HX_ENTRY, DESK_HX_ENTRY);
	return r == -2 ? -1 : r == 1;
}

static void
key_diff(struct desk_store *st, struct desk_diff *d, enum desk_diff_kind kind,
    const unsigned char *live, const unsigned char *want,
    const struct desk_check *c)
{
	d->kind = kind;
	memcpy(d->key.h, live ? live : want, 16);
	d->live = live ? desk_get64(live + 16) : 0;
	d->live_aux = live ? desk_get32(live + 24) : 0;
	d->want = want ? desk_get64(want + 16) : 0;
	d->want_aux = want ? desk_get32(want + 24) : 0;
	c->diff(st, d, c->ctx);
}

/*
 * Bucket by bucket, both files read in step. Where the tables are the same
 * size and a bucket is the same bytes (a healthy store, written in the
 * log's order as the rebuild is), that is all; otherwise the bucket's keys
 * are sorted and merged, and a key found on one side only is looked up in
 * the whole of the other (it may have been placed in a later bucket).
 * Every key of the rebuild is so looked for in the live file (missing,
 * different value), and every live key in the rebuild (extra).
 */
int
desk_hx_compare(struct desk_store *st, int live, int want,
    const struct desk_check *c)
{
	struct hx_side sides[2], *l = &sides[0], *w = &sides[1];
	struct desk_diff d;
	uint64_t lcount, wcount, held = 0;
	unsigned char ent[DESK_HX_ENTRY];
	uint32_t lnb, wnb;

	memset(&d, 0, sizeof d);
	d.table = -1;
	snprintf(d.file, sizeof d.file, "%s", HX_PATH);
	if ((w->v = read_head(st, want, &wnb, &wcount)) < 0)
		return w->v == -2 ? desk_store_fail_errno(st, DESK_EX_IOERR,
		    "%s/tmp", st->root) : desk_store_fail(st, DESK_EX_SOFTWARE,
		    "internal: rebuilt index: bad header");
	if (live >= 0 && (l->v = read_head(st, live, &lnb, &lcount)) == -2)
		return fail_io(st);
	if (live < 0 || l->v < 0) {
		/* Lost or unreadable as a whole: one finding, not one per key. */
		if (live >= 0 || wcount) {
			d.kind = DESK_DIFF_FILE;
			d.field = live < 0 ? "missing" : "header";
			d.id = wcount;
			c->diff(st, &d, c->ctx);
		}
		return 0;
	}
	l->fd = live;
	l->nb = lnb;
	w->fd = want;
	w->nb = wnb;
	int r = 0;
	uint32_t end = lnb > wnb ? lnb : wnb;
	for (uint32_t b = 0; b < end && !r; b++) {
		int have_l = b < lnb, have_w = b < wnb;
		if ((have_l && read_bucket(st, live, b, l->bucket) < 0) ||
		    (have_w && read_bucket(st, want, b, w->bucket) < 0)) {
			r = -1;
			break;
		}
		if (!have_l)
			memset(l->bucket, 0, sizeof l->bucket);
		if (!have_w)
			memset(w->bucket, 0, sizeof w->bucket);
		int same = lnb == wnb && !memcmp(l->bucket, w->bucket, DESK_HX_BUCKET);
		l->n = w->n = 0;
		for (int e = 0; e < DESK_HX_PER_BUCKET; e++) {
			const unsigned char *pl = l->bucket + e * DESK_HX_ENTRY;
			const unsigned char *pw = w->bucket + e * DESK_HX_ENTRY;
			if (!entry_empty(pl)) {
				held++;
				if (same)
					continue;
				if (entry_ok(pl))
					l->ent[l->n++] = pl;
				else {
					d.kind = DESK_DIFF_DAMAGED;
					d.id = b;
					memcpy(d.key.h, pl, 16);
					c->diff(st, &d, c->ctx);
				}
			}
			if (!same && !entry_empty(pw))
				w->ent[w->n++] = pw;
		}
		if (same)
			continue;
		qsort(l->ent, (size_t)l->n, sizeof l->ent[0], by_key);
		qsort(w->ent, (size_t)w->n, sizeof w->ent[0], by_key);
		int i = 0, j = 0;
		while (!r && (i < l->n || j < w->n)) {
			int cmp = i == l->n ? 1 : j == w->n ? -1 :
			    memcmp(l->ent[i], w->ent[j], 16);
			if (!cmp) {
				if (memcmp(l->ent[i] + 16, w->ent[j] + 16, 12))
					key_diff(st, &d, DESK_DIFF_VALUE, l->ent[i],
					    w->ent[j], c);
				i++, j++;
			} else if (cmp < 0) {
				/* A live key not here: extra unless elsewhere. */
				int got = lookup(st, w, l->ent[i], ent);
				if (got < 0)
					r = -1;
				else if (!got)
					key_diff(st, &d, DESK_DIFF_EXTRA, l->ent[i], NULL, c);
				i++;
			} else {
				/* Missing unless elsewhere; a value told from here. */
				int got = lookup(st, l, w->ent[j], ent);
				if (got < 0)
					r = -1;
				else if (!got)
					key_diff(st, &d, DESK_DIFF_MISSING, NULL, w->ent[j], c);
				else if (entry_ok(ent) && memcmp(ent + 16, w->ent[j] + 16, 12))
					key_diff(st, &d, DESK_DIFF_VALUE, ent, w->ent[j], c);
				j++;
			}
		}
	}
	if (!r && held != lcount) {
		d.kind = DESK_DIFF_COUNT;
		d.live = lcount;
		d.want = held;
		c->diff(st, &d, c->ctx);
	}
	return r;
}
