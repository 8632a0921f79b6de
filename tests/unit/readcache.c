/*
 * Unit tests for the engine's read caches (store/slots.c, store/store.c):
 * a slot file's page kept across batches is dropped when another handle
 * wrote in between, and holds the handle's own writes; the ring of
 * records' bytes gives every record its own bytes, also once it has
 * wrapped many times over, to a writer and to a reader without the lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"

#define NSLOTS 9000       /* past the slot cache's 8192: ids share its entries */
#define NRECS 24000       /* ~7 MiB of records: the ring wraps twice */

static void
noop_apply(struct desk_store *st, jv rec, struct desk_loc loc)
{
	(void)st;
	(void)rec;
	(void)loc;
}

static const char *const tables[] = { "alpha" };
static const char *const counters[] = { "x" };
static const struct desk_schema other = { .apply = noop_apply, .ntables = 1,
    .tables = tables, .ncounters = 1, .counters = counters };

/* Slot id with word 0 = v, pointing at a record, so the state moves on. */
static void
put(struct desk_store *st, uint64_t id, uint64_t v)
{
	jv r = jv_object_set(jv_object(), jv_string("v"), jv_number((double)v));
	struct desk_loc loc = desk_log_add_as(st, "t", r);
	jv_free(r);
	struct desk_slot s = { .rec = loc, .word = { v } };
	desk_slot_put(st, 0, id, &s);
}

static uint64_t
word(struct desk_store *st, uint64_t id)
{
	struct desk_slot s = { 0 };

	return desk_slot_get(st, 0, id, &s) == 1 ? s.word[0] : 0;
}

/* Every record at loc[0..n) read back as the segment holds it: how many not. */
static int
wrong_records(struct desk_store *st, const struct desk_loc *loc, int n,
    const char *seg)
{
	struct desk_buf b = DESK_BUF_INIT;
	int bad = 0;

	for (int i = 0; i < n; i++) {
		size_t len;
		const char *p = desk_log_raw(st, loc[i], &b, &len);
		if (!p || len != loc[i].len - 1 ||
		    memcmp(p, seg + DESK_POS_OFF(loc[i].pos), len))
			bad++;
	}
	desk_buf_free(&b);
	return bad;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-readcache.XXXXXX", store[64];

	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	snprintf(store, sizeof store, "%s/store", dir);
	struct desk_store *a = desk_store_open(store, DESK_ST_CREATE, &other);
	struct desk_store *b = desk_store_open(store, 0, &other);

	desk_store_lock(a);
	for (uint64_t id = 1; id < NSLOTS; id++)
		put(a, id, id);
	desk_store_commit(a);

	/* b reads slot 5 from its file, under the lock: its page is kept. */
	desk_store_lock(b);
	ok(word(b, 5) == 5, "b reads slot 5 from the file");
	desk_store_commit(b);
	desk_store_lock(a);
	put(a, 5, 555);
	desk_store_commit(a);
	desk_store_lock(b);
	ok(word(b, 5) == 555, "after a wrote slot 5, b's next batch reads a's "
	    "value, not its cached page's (%llu)", (unsigned long long)word(b, 5));
	desk_store_commit(b);

	/*
	 * b's own write, read back once the slot cache lost it (slot 6 and
	 * 6 + 8192 share its entry) and the flush is done: from the page.
	 */
	desk_store_lock(b);
	ok(word(b, 6) == 6, "b reads slot 6 (its page now cached)");
	put(b, 6, 666);
	desk_store_commit(b);
	desk_store_lock(b);
	ok(word(b, 6 + 8192) == 6 + 8192, "b reads slot 8198 (slot 6's entry)");
	ok(word(b, 6) == 666, "b reads its own write of slot 6 from the page");
	desk_store_commit(b);
	desk_store_lock(a);
	ok(word(a, 6) == 666, "and a, which did not write since, reads it too");
	desk_store_commit(a);

	/*
	 * A slot held back, its page read from the file after the put (for
	 * a neighbour): once the flush wrote it, the page holds it too.
	 */
	desk_store_lock(a);
	put(a, 7, 777);
	ok(word(a, 8) == 8, "a reads slot 8 after holding back a write of 7");
	desk_store_commit(a);
	desk_store_lock(a);
	ok(word(a, 7 + 8192) == 7 + 8192, "a reads slot 8199 (slot 7's entry)");
	ok(word(a, 7) == 777, "a reads its write of slot 7 from the page (%llu)",
	    (unsigned long long)word(a, 7));
	desk_store_commit(a);

	/* Records: more than the ring holds, each read back whole and its own. */
	static struct desk_loc loc[NRECS];
	char pad[501];
	memset(pad, 'p', 500);
	pad[500] = '\0';
	desk_store_lock(a);
	for (int i = 0; i < NRECS; i++) {
		jv r = jv_object_set(jv_object_set(jv_object(), jv_string("i"),
		    jv_number(i)), jv_string("pad"), jv_string(pad + i % 200));
		loc[i] = desk_log_add_as(a, "r", r);
		jv_free(r);
	}
	desk_store_commit(a);
	size_t n;
	char *seg = desk_store_get(a, "log/00000001.jsonl", &n);
	ok(seg && n > 6u << 20, "%d records, %zu bytes of log", NRECS, n);
	if (!seg)
		return done_testing_in(dir);
	/* Twice: the first read of each puts it in the ring again, in turn. */
	int bad = wrong_records(a, loc, NRECS, seg);
	ok(bad == 0, "the writer reads every record as the log holds it (%d not)",
	    bad);
	bad = wrong_records(a, loc, NRECS, seg);
	ok(bad == 0, "and again, in the same order (%d not)", bad);
	bad = wrong_records(b, loc, NRECS, seg);
	ok(bad == 0, "a reader without the lock too (%d not)", bad);
	desk_store_lock(b);
	bad = wrong_records(b, loc, NRECS, seg);
	ok(bad == 0, "and with it (%d not)", bad);
	desk_store_commit(b);
	free(seg);
	desk_store_close(a);
	desk_store_close(b);
	return done_testing_in(dir);
}
