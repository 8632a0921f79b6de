/*
 * slots.c: index/TABLE.slots, one 64-byte slot per id holding where the
 * latest version of a record is and the hot state derived from the log.
 * Each slot carries a CRC: a reader racing a writer's pwrite, or a slot
 * damaged on disk, is told apart from a good one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"

int
desk_slot_create_file(struct desk_store *st, int t, const char *rel)
{
	unsigned char head[DESK_SLOT_SIZE];
	int fd = desk_store_open_file(st, rel, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return -1;
	memset(head, ' ', sizeof head);
	int n = snprintf((char *)head, sizeof head, "desk slots %s %d",
	    st->schema->tables[t], DESK_STORE_FORMAT);
	head[n] = ' ';
	head[DESK_SLOT_SIZE - 1] = '\n';
	if (pwrite(fd, head, sizeof head, 0) != (ssize_t)sizeof head) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	st->dirty = 1;
	return fd;
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
desk_slot_forget(struct desk_store *st)
{
	if (st->cache)
		memset(st->cache, 0, CACHE_SLOTS * sizeof *st->cache);
	memset(st->slot_end, 0, sizeof st->slot_end);
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
	/* A new id, past the end of the file: no read needed. */
	if (st->locked && !st->slot_end[t])
		desk_slot_end(st, t);
	if (st->locked && id >= st->slot_end[t])
		return 0;
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
	if (pwrite(st->slotfd[t], p, sizeof p, (off_t)(id * DESK_SLOT_SIZE)) !=
	    (ssize_t)sizeof p)
		return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/index/%s.slots",
		    st->root, st->schema->tables[t]);
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
	if (st->locked)
		st->slot_end[t] = n ? n : 1;
	return n ? n : 1;
}
