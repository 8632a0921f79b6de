/*
 * slots.c: index/TABLE.slots, one 64-byte slot per id holding where the
 * latest version of a record is and the hot state derived from the log.
 * Each slot carries a CRC: a reader racing a writer's pwrite, or a slot
 * damaged on disk, is told apart from a good one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"

int
desk_slot_create_file(struct desk_store *st, int t, const char *rel)
{
	unsigned char head[DESK_SLOT_SIZE];

	memset(head, ' ', sizeof head);
	int n = snprintf((char *)head, sizeof head, "desk slots %s %d",
	    st->schema->tables[t], DESK_STORE_FORMAT);
	head[n] = ' ';
	head[DESK_SLOT_SIZE - 1] = '\n';
	return desk_store_create_with(st, rel, head, sizeof head, 0);
}

int
desk_slot_open(struct desk_store *st, int t, int create)
{
	char rel[64];

	if ((unsigned)t >= (unsigned)st->schema->ntables)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: no slot "
		    "table %d", t);
	if (st->slotfd[t] >= 0)
		return 0;
	snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
	int fd = desk_store_open_file(st, rel, O_RDWR, 0);
	if (fd < 0 && errno == EACCES)
		fd = desk_store_open_file(st, rel, O_RDONLY, 0);
	if (fd < 0 && errno == ENOENT && create) {
		fd = desk_slot_create_file(st, t, rel);
		if (fd < 0 && errno == EEXIST)
			fd = desk_store_open_file(st, rel, O_RDWR, 0);
	}
	if (fd < 0) {
		if (errno != ENOENT || create)
			desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root, rel);
		return -1;
	}
	st->slotfd[t] = fd;
	return 0;
}

int
desk_slot_replaced(struct desk_store *st)
{
	char rel[64];

	for (int t = 0; t < st->schema->ntables; t++) {
		snprintf(rel, sizeof rel, "index/%s.slots", st->schema->tables[t]);
		if (desk_store_replaced(st, st->slotfd[t], rel))
			return 1;
	}
	return 0;
}

static void
encode(unsigned char *p, const struct desk_slot *s)
{
	desk_le32(p + 4, (s->rec.len & 0xffffff) | (uint32_t)s->flags << 24);
	desk_le64(p + 8, s->rec.pos);
	for (int i = 0; i < 5; i++)
		desk_le64(p + 16 + 8 * i, s->word[i]);
	desk_le32(p + 56, s->half[0]);
	desk_le32(p + 60, s->half[1]);
	desk_le32(p, desk_crc32(p + 4, DESK_SLOT_SIZE - 4));
}

static void
decode(const unsigned char *p, struct desk_slot *s)
{
	uint32_t lf = desk_get32(p + 4);

	s->rec.len = lf & 0xffffff;
	s->flags = (uint8_t)(lf >> 24);
	s->rec.pos = desk_get64(p + 8);
	for (int i = 0; i < 5; i++)
		s->word[i] = desk_get64(p + 16 + 8 * i);
	s->half[0] = desk_get32(p + 56);
	s->half[1] = desk_get32(p + 60);
}

#define CACHE_SLOTS 8192

/*
 * A slot held back until the batch's flush: the newest encoding of (t, id).
 * At most SD_MAX of them (1.1 MiB); one more flushes them all first.
 */
struct slot_dirty {
	uint64_t id;
	int t, rank;                  /* rank: where t is in the write order */
	uint32_t h;                   /* where in sdh */
	unsigned char p[DESK_SLOT_SIZE];
};
#define SD_MAX 16384
#define SD_HASH (2 * SD_MAX)

static uint32_t
sd_hash(int t, uint64_t id)
{
	uint64_t h = (id * 0x9e3779b97f4a7c15ull) ^ (uint64_t)t;

	return (uint32_t)(h >> 40) % SD_HASH;
}

/* The held-back slot (t, id), or NULL. */
static struct slot_dirty *
sd_find(struct desk_store *st, int t, uint64_t id)
{
	if (!st->nsd)
		return NULL;
	for (uint32_t h = sd_hash(t, id);; h = (h + 1) % SD_HASH) {
		uint32_t i = st->sdh[h];
		if (!i)
			return NULL;
		if (st->sd[i - 1].id == id && st->sd[i - 1].t == t)
			return &st->sd[i - 1];
	}
}

static void
sd_add(struct desk_store *st, int t, uint64_t id, const unsigned char *p)
{
	struct slot_dirty *d = sd_find(st, t, id);

	if (!d) {
		if (!st->sdh)
			st->sdh = desk_xcalloc(SD_HASH, sizeof *st->sdh);
		if (st->nsd == st->capsd) {
			st->capsd = st->capsd ? 2 * st->capsd : 256;
			st->sd = desk_xrealloc(st->sd, st->capsd * sizeof *st->sd);
		}
		d = &st->sd[st->nsd++];
		d->id = id;
		d->t = t;
		uint32_t h = sd_hash(t, id);
		while (st->sdh[h])
			h = (h + 1) % SD_HASH;
		st->sdh[h] = (uint32_t)st->nsd;
		d->h = h;
	}
	memcpy(d->p, p, DESK_SLOT_SIZE);
	if (id >= st->sd_end[t])
		st->sd_end[t] = id + 1;
}

static void
sd_clear(struct desk_store *st)
{
	for (size_t i = 0; i < st->nsd; i++)
		st->sdh[st->sd[i].h] = 0;
	st->nsd = 0;
	memset(st->sd_end, 0, sizeof st->sd_end);
}

/* By the schema's write order of tables, then by id. */
static int
by_slot(const void *a, const void *b)
{
	const struct slot_dirty *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void sp_put(struct desk_store *st, int t, uint64_t id,
    const unsigned char *p);

/* The held-back slots sd[i..j), neighbours in one table, as one unit. */
static void
collect_run(struct desk_store *st, size_t i, size_t j)
{
	desk_redo_add(st, st->sd[i].t, st->sd[i].id * DESK_SLOT_SIZE, NULL,
	    (j - i) * DESK_SLOT_SIZE);
	for (size_t k = i; k < j; k++) {
		memcpy(st->redo.p + st->redo.len - (j - k) * DESK_SLOT_SIZE,
		    st->sd[k].p, DESK_SLOT_SIZE);
		/* A page read since the put has the file's older bytes. */
		sp_put(st, st->sd[k].t, st->sd[k].id, st->sd[k].p);
	}
}

/*
 * The units are written to the files in their order, and a reader that
 * takes no lock reads the files as they are between two of those writes
 * (or after a kill): so a table goes before the tables whose slots point
 * into it (struct desk_schema's write_order), and in a table the highest
 * ids (the new slots, which the older ones are made to point to) first.
 * Neighbours (new ids are) are one unit, one pwrite.
 */
void
desk_slot_collect(struct desk_store *st)
{
	int rank[DESK_ST_TABLES];

	if (!st->nsd)
		return;
	for (int t = 0; t < st->schema->ntables; t++)
		rank[t] = t;
	if (st->schema->write_order)
		for (int r = 0; r < st->schema->ntables; r++)
			rank[st->schema->write_order[r]] = r;
	for (size_t i = 0; i < st->nsd; i++)
		st->sd[i].rank = rank[st->sd[i].t];
	qsort(st->sd, st->nsd, sizeof *st->sd, by_slot);
	for (size_t i = 0, end; i < st->nsd; i = end) {
		for (end = i + 1; end < st->nsd && st->sd[end].t == st->sd[i].t; end++)
			;
		for (size_t j = end, k; j > i; j = k) {
			for (k = j - 1; k > i && st->sd[k - 1].id + 1 == st->sd[k].id; k--)
				;
			collect_run(st, k, j);
		}
	}
	sd_clear(st);
}

/*
 * The slot files' pages read under the lock, SP_PAGE bytes (64 slots)
 * each, so that a slot the cache above lost costs no pread when its page
 * is here: valid while the slot cache is (desk_slot_forget drops both
 * when another process wrote since our last commit, or the files were
 * replaced), and kept as the file is by the writes: a slot held back
 * is put in its page when the flush writes it (desk_slot_collect), as
 * the page may have been read from the file after the put. At most
 * SP_MAX pages (3 MiB); past that a clock gives the least used page's
 * room to the next.
 */
#define SP_PAGE 4096
#define SP_SLOTS (SP_PAGE / DESK_SLOT_SIZE)
#define SP_MAX 768
#define SP_HASH 2048
struct slot_page {
	uint64_t pg;
	int t, next;                  /* next: chain in the hash; -1 ends it */
	uint8_t valid, used;
	uint32_t len;                 /* bytes of the file in it: the rest past its end */
	unsigned char *data;
};
struct slot_pages {
	int head[SP_HASH];
	int n, hand;                  /* pages in use so far; the clock's */
	struct slot_page page[SP_MAX];
};

static uint32_t
sp_hash(int t, uint64_t pg)
{
	return (uint32_t)(((pg * 0x9e3779b97f4a7c15ull) >> 40) ^ (uint64_t)t) % SP_HASH;
}

static struct slot_page *
sp_find(struct slot_pages *c, int t, uint64_t pg)
{
	if (!c)
		return NULL;
	for (int i = c->head[sp_hash(t, pg)]; i >= 0; i = c->page[i].next)
		if (c->page[i].pg == pg && c->page[i].t == t)
			return &c->page[i];
	return NULL;
}

static void
sp_unhash(struct slot_pages *c, struct slot_page *p)
{
	int *q = &c->head[sp_hash(p->t, p->pg)], me = (int)(p - c->page);

	while (*q != me)
		q = &c->page[*q].next;
	*q = p->next;
	p->valid = 0;
}

static void
sp_clear(struct slot_pages *c)
{
	if (!c)
		return;
	for (int i = 0; i < SP_HASH; i++)
		c->head[i] = -1;
	for (int i = 0; i < c->n; i++)
		c->page[i].valid = 0;
}

/* A page for (t, pg), hashed, its data not filled: a new one or the clock's. */
static struct slot_page *
sp_take(struct desk_store *st, int t, uint64_t pg)
{
	struct slot_pages *c = st->spc;
	struct slot_page *p;

	if (!c) {
		c = st->spc = desk_xcalloc(1, sizeof *c);
		sp_clear(c);
	}
	if (c->n < SP_MAX) {
		p = &c->page[c->n++];
		p->data = desk_xmalloc(SP_PAGE);
	} else {
		for (;;) {
			p = &c->page[c->hand];
			c->hand = (c->hand + 1) % SP_MAX;
			if (!p->valid || !p->used)
				break;
			p->used = 0;      /* a second chance */
		}
		if (p->valid)
			sp_unhash(c, p);
	}
	p->t = t;
	p->pg = pg;
	p->used = 1;
	p->valid = 1;
	uint32_t h = sp_hash(t, pg);
	p->next = c->head[h];
	c->head[h] = (int)(p - c->page);
	return p;
}

/*
 * Slot id of table t as the file holds it, from its page (read the first
 * time): its bytes, or NULL past the file's end (*fail set when the read
 * failed, and the store failed).
 */
static const unsigned char *
sp_slot(struct desk_store *st, int t, uint64_t id, int *fail)
{
	uint64_t pg = id / SP_SLOTS;
	uint32_t at = (uint32_t)(id % SP_SLOTS) * DESK_SLOT_SIZE;
	struct slot_page *p = sp_find(st->spc, t, pg);

	*fail = 0;
	if (!p) {
		p = sp_take(st, t, pg);
		ssize_t r = desk_pread_all(st->slotfd[t], p->data, SP_PAGE,
		    pg * SP_PAGE);
		if (r < 0) {
			sp_unhash(st->spc, p);
			*fail = 1;
			desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/%s.slots",
			    st->root, st->schema->tables[t]);
			return NULL;
		}
		memset(p->data + r, 0, SP_PAGE - (size_t)r);
		p->len = (uint32_t)r;
	}
	p->used = 1;
	return at + DESK_SLOT_SIZE <= p->len ? p->data + at : NULL;
}

/* The page of slot (t, id), when cached, made to hold p as the file will. */
static void
sp_put(struct desk_store *st, int t, uint64_t id, const unsigned char *p)
{
	struct slot_page *pp = sp_find(st->spc, t, id / SP_SLOTS);
	uint32_t at = (uint32_t)(id % SP_SLOTS) * DESK_SLOT_SIZE;

	if (!pp)
		return;
	memcpy(pp->data + at, p, DESK_SLOT_SIZE);
	if (pp->len < at + DESK_SLOT_SIZE)
		pp->len = at + DESK_SLOT_SIZE;
}

static int classify(const unsigned char *p, struct desk_slot *s);

static struct slot_cache *
cached(struct desk_store *st, int t, uint64_t id)
{
	if (!st->locked)
		return NULL;
	if (!st->cache)
		st->cache = desk_xcalloc(CACHE_SLOTS, sizeof *st->cache);
	return &st->cache[(id * 7 + (uint64_t)t) % CACHE_SLOTS];
}

void
desk_slot_free(struct desk_store *st)
{
	struct slot_pages *c = st->spc;

	if (!c)
		return;
	for (int i = 0; i < c->n; i++)
		free(c->page[i].data);
	free(c);
	st->spc = NULL;
}

void
desk_slot_forget(struct desk_store *st)
{
	if (st->cache)
		memset(st->cache, 0, CACHE_SLOTS * sizeof *st->cache);
	sp_clear(st->spc);
	memset(st->slot_end, 0, sizeof st->slot_end);
	sd_clear(st);
}

int
desk_slot_read(struct desk_store *st, int t, uint64_t id,
    struct desk_slot *s)
{
	static const unsigned char zero[DESK_SLOT_SIZE];
	unsigned char p[DESK_SLOT_SIZE];

	if (id == 0 || id > ((uint64_t)1 << 53) || desk_slot_open(st, t, 0) < 0)
		return 0;
	struct slot_cache *c = cached(st, t, id);
	if (c && c->valid && c->table == t && c->id == id) {
		if (c->present)
			*s = c->s;
		return c->present;
	}
	/* The batch's own write, not yet in the file (the cache may have lost it). */
	struct slot_dirty *d = st->locked ? sd_find(st, t, id) : NULL;
	if (d) {
		decode(d->p, s);
		if (c)
			*c = (struct slot_cache){ id, (uint8_t)t, 1, 1, *s };
		return 1;
	}
	/* A new id, past the end of the file: no read needed. */
	if (st->locked && !st->slot_end[t])
		desk_slot_end(st, t);
	if (st->locked && id >= st->slot_end[t])
		return 0;
	if (st->locked) {
		int fail;
		const unsigned char *q = sp_slot(st, t, id, &fail);
		int r = fail ? -1 : q ? classify(q, s) : 0;
		if (c && r > 0)
			*c = (struct slot_cache){ id, (uint8_t)t, 1, 1, *s };
		else if (c && r == 0)
			*c = (struct slot_cache){ id, (uint8_t)t, 1, 0, { { 0, 0 }, 0, { 0 }, { 0 } } };
		return r;
	}
	for (int tries = 0; tries < 50; tries++) {
		ssize_t r = desk_pread_all(st->slotfd[t], p, sizeof p,
		    id * DESK_SLOT_SIZE);
		if (r < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR,
			    "%s/index/%s.slots", st->root, st->schema->tables[t]);
		if (r < (ssize_t)sizeof p || !memcmp(p, zero, sizeof p)) {
			if (c)
				*c = (struct slot_cache){ id, (uint8_t)t, 1, 0, { { 0, 0 }, 0, { 0 }, { 0 } } };
			return 0;
		}
		if (desk_get32(p) == desk_crc32(p + 4, DESK_SLOT_SIZE - 4)) {
			decode(p, s);
			if (c)
				*c = (struct slot_cache){ id, (uint8_t)t, 1, 1, *s };
			return 1;
		}
		/* A writer may be halfway through this slot: look again. */
		if (st->locked)
			break;
		usleep(1000);
	}
	return -1;
}

int
desk_slot_get(struct desk_store *st, int t, uint64_t id,
    struct desk_slot *s)
{
	int r = desk_slot_read(st, t, id, s);

	if (r < 0) {
		/* Damage, unless a read failed and the store failed already. */
		desk_store_fail(st, DESK_EX_IOERR, "%s/index/%s.slots: slot %llu "
		    "damaged (run desk-case fsck --repair)", st->root,
		    st->schema->tables[t], (unsigned long long)id);
		return 0;
	}
	return r;
}

int
desk_slot_put(struct desk_store *st, int t, uint64_t id,
    const struct desk_slot *s)
{
	unsigned char p[DESK_SLOT_SIZE];

	if (st->err.code)
		return -1;        /* the store's error state: no more writes */
	if (!st->locked && !st->repairing)
		return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: slot "
		    "written without the lock");
	if (desk_slot_open(st, t, 1) < 0)
		return -1;
	/* A length the slot cannot hold would point at part of a record. */
	if (s->rec.len > DESK_REC_MAX)
		return desk_store_fail(st, DESK_EX_IOERR, "%s/log/%08u.jsonl: the "
		    "record at offset %llu is %u bytes, over the store's limit "
		    "(run desk-case fsck --repair)", st->root,
		    DESK_POS_SEG(s->rec.pos),
		    (unsigned long long)DESK_POS_OFF(s->rec.pos), s->rec.len);
	encode(p, s);
	if (!st->locked) {
		/* fsck --repair's rebuild without the lock: written as it comes. */
		if (desk_log_flush(st) < 0)
			return -1;
		if (desk_pwrite_all(st->slotfd[t], p, sizeof p, id * DESK_SLOT_SIZE) < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR,
			    "%s/index/%s.slots", st->root, st->schema->tables[t]);
		sp_put(st, t, id, p);
		st->sync_slot[t] = 1;
	} else {
		if (st->nsd == SD_MAX && !sd_find(st, t, id) &&
		    desk_store_flush(st) < 0)
			return -1;
		sd_add(st, t, id, p);
	}
	st->dirty = 1;
	struct slot_cache *c = cached(st, t, id);
	if (c)
		*c = (struct slot_cache){ id, (uint8_t)t, 1, 1, *s };
	if (st->slot_end[t] && id >= st->slot_end[t])
		st->slot_end[t] = id + 1;
	return 0;
}

uint64_t
desk_slot_end(struct desk_store *st, int t)
{
	struct stat sb;

	if (desk_slot_open(st, t, 0) < 0)
		return 1;
	if (fstat(st->slotfd[t], &sb) < 0) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/%s.slots",
		    st->root, st->schema->tables[t]);
		return 1;
	}
	uint64_t n = (uint64_t)sb.st_size / DESK_SLOT_SIZE;
	if (st->locked && st->sd_end[t] > n)
		n = st->sd_end[t];        /* slots held back past the file's end */
	if (st->locked)
		st->slot_end[t] = n ? n : 1;
	return n ? n : 1;
}

/* A slot as read from a file: 0 empty, 1 good (decoded), -1 damaged. */
static int
classify(const unsigned char *p, struct desk_slot *s)
{
	static const unsigned char zero[DESK_SLOT_SIZE];

	if (!memcmp(p, zero, sizeof zero))
		return 0;
	if (desk_get32(p) != desk_crc32(p + 4, DESK_SLOT_SIZE - 4))
		return -1;
	decode(p, s);
	return 1;
}

/* Both slots are there and differ: which of their fields do. */
static void
fields_differ(struct desk_store *st, struct desk_diff *d,
    const struct desk_slot *a, const struct desk_slot *b,
    const struct desk_check *c)
{
	struct desk_field fa[DESK_ST_FIELDS], fb[DESK_ST_FIELDS];
	int said = 0;

	d->kind = DESK_DIFF_FIELD;
	d->live_rec = a->rec;
	d->want_rec = b->rec;
	if (a->rec.pos != b->rec.pos || a->rec.len != b->rec.len) {
		d->field = "rec";
		d->live = a->rec.pos;
		d->want = b->rec.pos;
		c->diff(st, d, c->ctx);
		said = 1;
	}
	int (*named)(int, const struct desk_slot *, struct desk_field *) =
	    st->schema->slot_fields;
	int na = named ? named(d->table, a, fa) : 0;
	int nb = named ? named(d->table, b, fb) : 0;
	for (int i = 0; i < na && i < nb; i++)
		if (fa[i].value != fb[i].value) {
			d->field = fa[i].name;
			d->live = fa[i].value;
			d->want = fb[i].value;
			c->diff(st, d, c->ctx);
			said = 1;
		}
	if (!said) {
		/* The words differ where the describer names nothing. */
		d->field = NULL;
		d->live = d->want = 0;
		c->diff(st, d, c->ctx);
	}
}

#define CMP_SLOTS 256     /* slots read at once from each file: 16 KiB */

int
desk_slot_compare(struct desk_store *st, int t, int live, int want,
    const struct desk_check *c)
{
	unsigned char a[CMP_SLOTS * DESK_SLOT_SIZE], b[CMP_SLOTS * DESK_SLOT_SIZE];
	struct desk_diff d;
	struct stat sa, sb;
	uint64_t missing = 0;

	memset(&d, 0, sizeof d);
	d.table = t;
	snprintf(d.file, sizeof d.file, "index/%s.slots", st->schema->tables[t]);
	if ((live >= 0 && fstat(live, &sa) < 0) || fstat(want, &sb) < 0)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s", st->root,
		    d.file);
	uint64_t nl = live >= 0 ? ((uint64_t)sa.st_size + DESK_SLOT_SIZE - 1) /
	    DESK_SLOT_SIZE : 0;
	uint64_t nw = (uint64_t)sb.st_size / DESK_SLOT_SIZE;
	uint64_t end = nl > nw ? nl : nw;
	for (uint64_t base = 0; base < end; base += CMP_SLOTS) {
		size_t n = sizeof a;
		off_t off = (off_t)(base * DESK_SLOT_SIZE);
		ssize_t ra = live >= 0 ? desk_pread_all(live, a, n, (uint64_t)off) : 0;
		ssize_t rb = desk_pread_all(want, b, n, (uint64_t)off);
		if (ra < 0 || rb < 0)
			return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/%s",
			    st->root, ra < 0 ? d.file : "tmp");
		memset(a + ra, 0, n - (size_t)ra);
		memset(b + rb, 0, n - (size_t)rb);
		for (uint64_t i = 0; i < CMP_SLOTS && base + i < end; i++) {
			const unsigned char *pa = a + i * DESK_SLOT_SIZE;
			const unsigned char *pb = b + i * DESK_SLOT_SIZE;
			struct desk_slot sl, sw;
			if (!memcmp(pa, pb, DESK_SLOT_SIZE))
				continue;
			d.id = base + i;
			if (d.id == 0) {
				/* The header: "desk slots NAME FORMAT". */
				if (live >= 0) {
					d.kind = DESK_DIFF_FILE;
					d.field = "header";
					c->diff(st, &d, c->ctx);
				}
				continue;
			}
			int hl = classify(pa, &sl), hw = classify(pb, &sw);
			if (hw < 0)
				return desk_store_fail(st, DESK_EX_SOFTWARE, "internal: "
				    "rebuilt %s: slot %llu damaged", d.file,
				    (unsigned long long)d.id);
			if (live < 0) {
				missing++;
				continue;
			}
			d.live_rec = hl > 0 ? sl.rec : (struct desk_loc){ 0, 0 };
			d.want_rec = hw > 0 ? sw.rec : (struct desk_loc){ 0, 0 };
			d.field = NULL;
			if (hl < 0)
				d.kind = DESK_DIFF_DAMAGED;
			else if (!hl)
				d.kind = DESK_DIFF_MISSING;
			else if (!hw)
				d.kind = DESK_DIFF_EXTRA;
			else {
				fields_differ(st, &d, &sl, &sw, c);
				continue;
			}
			c->diff(st, &d, c->ctx);
		}
	}
	if (missing) {
		/* One finding for a lost file, not one per slot. */
		d.kind = DESK_DIFF_FILE;
		d.id = missing;
		d.field = "missing";
		c->diff(st, &d, c->ctx);
	}
	return 0;
}
