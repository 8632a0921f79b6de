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

/* The last segment: the first one after which there is none. */
static uint32_t
last_segment(struct desk_store *st)
{
	uint32_t seg = st->clean.seg ? st->clean.seg : 1;

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
 * Hands each(text, length, loc, ctx) the whole records of segment seg
 * from its end to its start, a line that is not whole at the end (a
 * writer's, under way) passed over: 1 when each said stop, 0 at the start, -1 (the store
 * failed) when a read did.
 */
static int
segment_back(struct desk_store *st, uint32_t seg, struct desk_buf *b,
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
	while (b->len || (r = more(st, seg, fd, b, pos)) > 0) {
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
	return r;
}

int
desk_log_back(struct desk_store *st,
    int (*each)(const char *p, size_t n, struct desk_loc loc, void *ctx),
    void *ctx)
{
	struct desk_buf b = DESK_BUF_INIT;
	int r = 0;

	for (uint32_t seg = last_segment(st); seg >= 1 && !r; seg--)
		r = segment_back(st, seg, &b, each, ctx);
	desk_buf_free(&b);
	return r < 0 ? -1 : 0;
}
