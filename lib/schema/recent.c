/*
 * recent.c: the log read backwards, newest record first. The log is in
 * the order things happened, so the cases changed most recently are the
 * ones its last records name (desk-case list --limit): nothing is written
 * to know them, and reading stops as soon as the caller has enough. Also
 * the walk of a status list, a channel's newest case, and whether the
 * store has the case indexes apply keeps (desk-store(5)).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/engine.h"
#include "schema/schema.h"

#define CHUNK 65536

int
desk_case_indexes(struct desk_store *st)
{
	if (desk_slot_end(st, DESK_T_LIST) > 1 || desk_slot_end(st, DESK_T_CASE) <= 1)
		return 1;
	desk_store_fail(st, DESK_EX_CONFIG, "%s: the store has no case indexes "
	    "(an older desk wrote it): run desk-case fsck --repair once",
	    desk_store_root(st));
	return 0;
}

int
desk_case_chans(struct desk_store *st)
{
	struct desk_list_slot m;

	if (!desk_case_indexes(st))
		return 0;
	if (desk_list_slot(st, DESK_LIST_CHANS, &m) ||
	    desk_slot_end(st, DESK_T_CASE) <= 1)
		return 1;
	desk_store_fail(st, DESK_EX_CONFIG, "%s: the store has no channel index "
	    "(an older desk wrote it): run desk-case fsck --repair once",
	    desk_store_root(st));
	return 0;
}

int
desk_status_marked(struct desk_store *st)
{
	struct desk_list_slot kept;

	return desk_list_slot(st, DESK_LIST_MARKS, &kept);
}

uint64_t
desk_chan_newest(struct desk_store *st, const char *channel)
{
	struct desk_key k;
	uint64_t id;

	desk_key_chan(&k, channel);
	return desk_hx_get(st, &k, &id, NULL) ? id : 0;
}

void
desk_list_each(struct desk_store *st, enum desk_status s,
    int (*each)(uint64_t id, const struct desk_caselink_slot *l, void *ctx),
    void *ctx)
{
	uint64_t end = desk_slot_end(st, DESK_T_CASE);
	struct desk_list_slot ends;
	struct desk_caselink_slot l;

	if (!desk_list_slot(st, (uint64_t)s, &ends))
		return;
	/* A list longer than the store has cases is damage (fsck finds it). */
	uint64_t id = ends.head;
	for (uint64_t steps = 0; id && steps < end; steps++) {
		if (!desk_caselink_slot(st, id, &l) || l.list != s || each(id, &l, ctx))
			break;
		id = l.next;
	}
}

static int
fail_seg(struct desk_store *st, uint32_t seg)
{
	return desk_store_fail_errno(st, DESK_EX_IOERR, "%s/log/%08u.jsonl",
	    st->root, seg);
}

/*
 * The last segment: the first one after which there is none, from the
 * committed end's (end: DESK_POS, 0 unknown) on.
 */
static uint32_t
last_segment(struct desk_store *st, uint64_t end)
{
	uint32_t seg = st->clean.seg ? st->clean.seg : 1;

	if (DESK_POS_SEG(end) > seg)
		seg = DESK_POS_SEG(end);

	while (desk_log_fd(st, seg + 1) >= 0)
		seg++;
	return seg;
}

/*
 * Puts the up to CHUNK bytes before those b holds ([pos - b->len, pos) of
 * the segment) in front of them: 1, 0 at the segment's start, -1 when the
 * read failed (the store failed).
 */
static int
more(struct desk_store *st, uint32_t seg, int fd, struct desk_buf *b,
    uint64_t pos)
{
	uint64_t start = pos - b->len;
	size_t n = start < CHUNK ? (size_t)start : CHUNK;

	if (n == 0)
		return 0;
	desk_buf_reserve(b, n);
	memmove(b->p + n, b->p, b->len);
	if (desk_pread_all(fd, b->p, n, start - n) != (ssize_t)n)
		return fail_seg(st, seg);
	b->len += n;
	return 1;
}

/* The index in b just after the last '\n' before end, or -1: none. */
static long
line_start(const struct desk_buf *b, size_t end)
{
	for (size_t i = end; i > 0; i--)
		if (b->p[i - 1] == '\n')
			return (long)i;
	return -1;
}

/*
 * What the status marks let a backward read pass over: the records in
 * stretches (1 << DESK_MARK_SHIFT bytes) whose marks have none of the
 * statuses wanted, when the store keeps marks, and only those before the
 * end the state says is committed: a batch under way has written slots
 * whose marks may not be written yet, and a committed record's are.
 */
struct marks {
	struct desk_store *st;
	unsigned want;          /* 1 << status bits; 0: nothing passed over */
	uint64_t end;           /* DESK_POS of the committed end */
	struct {
		uint64_t key, val;  /* the last key looked up, and its marks */
		int have;
	} level[2];
};

/* Whether the chunk (level 0), or the 64 chunks (1), hold no status wanted. */
static int
marks_skip(struct marks *m, int level, uint64_t chunk)
{
	uint64_t key = chunk >> (level ? 10 : 4);
	struct desk_key k;

	if (!m->want)
		return 0;
	if (!m->level[level].have || m->level[level].key != key) {
		m->level[level].key = key;
		m->level[level].have = 1;
		desk_key_marks(m->st, &k, level, chunk);
		if (!desk_hx_get(m->st, &k, &m->level[level].val, NULL))
			m->level[level].val = 0;
		if (m->st->err.code)
			m->want = 0;    /* the read failed: read the log instead */
	}
	return !(m->level[level].val >> desk_mark_nibble(level, chunk) * 4 &
	    m->want);
}

/*
 * Passes over the records of segment seg, before pos (a record's start,
 * b holding [pos - b->len, pos)), that start in stretches the marks let
 * it pass over, when the one of the record ending at pos does: the new
 * pos and b, 1; 0 when there are none; 2 when that reaches the segment's
 * start; -1 when a read failed (the store failed).
 */
static int
marks_pass(struct marks *m, uint32_t seg, int fd, struct desk_buf *b,
    uint64_t *pos)
{
	uint64_t chunk = DESK_POS(seg, *pos - 1) >> DESK_MARK_SHIFT, low;
	char piece[4096];

	/* The committed end is a record's end: those before it are committed. */
	if (*pos == 0 || DESK_POS(seg, *pos) > m->end || !marks_skip(m, 0, chunk))
		return 0;
	/* Down to the first chunk with a status wanted, by 4 MiB where it can. */
	while (DESK_POS_OFF(chunk << DESK_MARK_SHIFT)) {
		if (marks_skip(m, 1, chunk - 1))
			chunk = (chunk - 1) & ~(uint64_t)63;
		else if (marks_skip(m, 0, chunk - 1))
			chunk--;
		else
			break;
	}
	low = DESK_POS_OFF(chunk << DESK_MARK_SHIFT);
	if (low == 0)
		return 2;
	/*
	 * The records from the first that starts at or after low on: the
	 * first newline at low - 1 or later ends the one before. The byte
	 * before pos is a newline, so there is one.
	 */
	uint64_t from = *pos - b->len, at = low - 1;
	for (;;) {
		const char *p, *nl;
		size_t n;
		if (at >= from) {
			p = b->p + (at - from);
			n = (size_t)(*pos - at);
		} else {
			n = *pos - at < sizeof piece ? (size_t)(*pos - at) : sizeof piece;
			if (desk_pread_all(fd, piece, n, at) != (ssize_t)n)
				return fail_seg(m->st, seg);
			p = piece;
		}
		if ((nl = memchr(p, '\n', n))) {
			uint64_t start = at + (uint64_t)(nl - p) + 1;
			if (start == *pos)
				return 0;    /* the record at pos began before low */
			b->len = start > from ? (size_t)(start - from) : 0;
			*pos = start;
			return 1;
		}
		at += n;
	}
}

/*
 * Hands each(text, length, loc, ctx) the whole records of segment seg
 * from its end to its start, a line that is not whole at the end (a
 * writer's, under way) passed over, and those the marks pass over: 1
 * when each said stop, 0 at the start, -1 (the store failed) when a read
 * did.
 */
static int
segment_back(struct desk_store *st, uint32_t seg, struct desk_buf *b,
    struct marks *m,
    int (*each)(const char *p, size_t n, struct desk_loc loc, void *ctx),
    void *ctx)
{
	int fd = desk_log_fd(st, seg), r = 0;
	struct stat sb;
	long e;

	if (fd < 0 || fstat(fd, &sb) < 0)
		return errno == ENOENT ? 0 : fail_seg(st, seg);
	uint64_t pos = (uint64_t)sb.st_size;
	b->len = 0;
	while ((e = line_start(b, b->len)) < 0)
		if ((r = more(st, seg, fd, b, pos)) <= 0)
			return r;
	pos -= b->len - (size_t)e;
	b->len = (size_t)e;
	for (;;) {
		if ((r = marks_pass(m, seg, fd, b, &pos)) < 0)
			return -1;
		if (r == 2)
			return 0;
		if (!b->len && (r = more(st, seg, fd, b, pos)) <= 0)
			return r;
		long i = line_start(b, b->len - 1);
		if (i < 0 && (r = more(st, seg, fd, b, pos)) != 0) {
			if (r < 0)
				return -1;
			continue;
		}
		size_t at = i < 0 ? 0 : (size_t)i, len = b->len - at;
		struct desk_loc loc = { DESK_POS(seg, pos - len), (uint32_t)len };
		if (each(b->p + at, len - 1, loc, ctx))
			return 1;
		b->len = at;
		pos -= len;
	}
}

int
desk_log_back(struct desk_store *st, unsigned statuses,
    int (*each)(const char *p, size_t n, struct desk_loc loc, void *ctx),
    void *ctx)
{
	struct desk_buf b = DESK_BUF_INIT;
	struct marks m = { st, 0, desk_state_committed(st), { { 0, 0, 0 } } };
	int r = 0;

	/*
	 * The end first, then the marks, from the index as it is now (an
	 * older one, replaced by a growth since it was opened, lacks the
	 * newer ones): those below the end are all written. A growth later
	 * adds only marks above it.
	 */
	if (statuses && m.end && desk_hx_refresh(st) == 0 &&
	    desk_status_marked(st))
		m.want = statuses;
	for (uint32_t seg = last_segment(st, m.end); seg >= 1 && !r; seg--)
		r = segment_back(st, seg, &b, &m, each, ctx);
	desk_buf_free(&b);
	/* Marks, index and segments passed over must be of one store. */
	if (r >= 0 && desk_store_read_whole(st) < 0)
		return -1;
	return r < 0 ? -1 : 0;
}
