/*
 * Unit tests for the outbox's due list (schema/apply.c): entries join it
 * when queued and leave it when delivered or dead, in order; applying a
 * record again, or a suffix of the log again (the roll-forward), changes
 * nothing; and a writer killed half-way through a link or an unlink (some
 * of its slot writes done, the entry's own not) is completed by applying
 * the record again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

static struct desk_loc locs[64];
static int nrec;

static struct desk_loc
add(struct desk_store *st, const char *fmt, ...) DESK_PRINTF(2, 3);

static struct desk_loc
add(struct desk_store *st, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	jv r = desk_json_parse_all(buf, strlen(buf));
	struct desk_loc loc = desk_log_add(st, r);
	jv_free(r);
	locs[nrec++] = loc;
	return loc;
}

static void
reapply(struct desk_store *st, struct desk_loc loc)
{
	jv r = desk_log_get(st, loc);

	desk_apply(st, r, loc);
	jv_free(r);
}

/* The due list from its head, as "1 2 3", checking the back links. */
static const char *
walk(struct desk_store *st)
{
	static char out[256];
	struct desk_out_slot o;
	uint64_t prev = 0;
	size_t n = 0;

	out[0] = '\0';
	for (uint64_t id = desk_due_first(st); id; prev = id, id = o.next) {
		if (!desk_out_slot(st, id, &o) || !o.linked || o.prev != prev ||
		    n > 200)
			return "broken";
		n += (size_t)snprintf(out + n, sizeof out - n, "%s%llu", n ? " " : "",
		    (unsigned long long)id);
	}
	if (desk_due_last(st) != prev)
		return "bad tail";
	return out;
}

static void
queue(struct desk_store *st, int oid)
{
	add(st, "{\"rec\":\"message\",\"message_id\":%d,\"case_id\":1,\"out_id\":%d}",
	    100 + oid, oid);
}

static struct desk_loc
state(struct desk_store *st, int oid, const char *s, int attempt)
{
	return add(st, "{\"rec\":\"delivery\",\"out_id\":%d,\"state\":\"%s\","
	    "\"attempt\":%d,\"next_attempt_at\":\"2026-01-01T00:00:05Z\"}", oid, s,
	    attempt);
}

static void
put(struct desk_store *st, uint64_t id, struct desk_out_slot *o)
{
	struct desk_slot s = desk_out_to_slot(o);

	desk_slot_put(st, DESK_T_OUT, id, &s);
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-due.XXXXXX";
	struct desk_out_slot o;
	struct desk_store *st = scratch_writer(dir);

	add(st, "{\"rec\":\"user\",\"user_id\":1}");
	add(st, "{\"rec\":\"case\",\"case_id\":1,\"user_id\":1,\"channel\":\"app\","
	    "\"status\":\"open\"}");
	is_str(walk(st), "", "an empty store: an empty due list");
	for (int i = 1; i <= 4; i++)
		queue(st, i);
	is_str(walk(st), "1 2 3 4", "four replies queued: on the list in order");

	state(st, 2, "inflight", 1);
	is_str(walk(st), "1 2 3 4", "in flight: still on it");
	state(st, 2, "delivered", 1);
	is_str(walk(st), "1 3 4", "delivered: off it, the middle one");
	state(st, 1, "dead", 3);
	is_str(walk(st), "3 4", "dead: off it, the head");
	state(st, 4, "retry", 1);
	ok(desk_out_slot(st, 4, &o) && o.state == DESK_DS_RETRY && o.attempt == 1 &&
	    o.due == 1767225605, "a retry: its state, attempt and due time");
	struct desk_loc last = state(st, 4, "delivered", 2);
	is_str(walk(st), "3", "the tail delivered: off it");
	state(st, 1, "pending", 0);
	is_str(walk(st), "3 1", "a dead entry queued again joins at the tail");

	/* Idempotent: one record again, then the whole log again in order. */
	reapply(st, last);
	is_str(walk(st), "3 1", "a delivery record applied twice changes nothing");
	for (int i = 0; i < nrec; i++)
		reapply(st, locs[i]);
	is_str(walk(st), "3 1", "the whole log applied again: the same list");
	ok(desk_out_slot(st, 1, &o) && o.state == DESK_DS_PENDING && o.attempt == 0,
	    "and the same states");

	/*
	 * Killed half-way through linking 5 after 1: 5's prev, 1's next and
	 * the tail written, 5 itself not yet marked linked.
	 */
	struct desk_loc q5 = add(st, "{\"rec\":\"message\",\"message_id\":105,"
	    "\"case_id\":1,\"out_id\":5}");
	ok(desk_out_slot(st, 5, &o) && o.linked, "5 queued");
	o.linked = 0;
	o.prev = 1;
	o.next = 0;
	put(st, 5, &o);
	is_str(walk(st), "broken", "a link cut short leaves the list broken");
	reapply(st, q5);
	is_str(walk(st), "3 1 5", "the record applied again completes the link");

	/* Killed half-way through unlinking 1: 3's next already skips it. */
	struct desk_loc d1 = state(st, 1, "delivered", 1);
	is_str(walk(st), "3 5", "1 delivered: off the list");
	struct desk_out_slot three, one;
	desk_out_slot(st, 3, &three);
	desk_out_slot(st, 1, &one);
	one.state = DESK_DS_PENDING;
	one.linked = 1;
	one.prev = 3;
	one.next = 5;
	put(st, 1, &one);
	struct desk_out_slot five;
	desk_out_slot(st, 5, &five);
	five.prev = 1;
	put(st, 5, &five);     /* 3's next is 5 already; 5's prev not yet */
	is_str(walk(st), "broken", "an unlink cut short leaves the list broken");
	reapply(st, d1);
	is_str(walk(st), "3 5", "the record applied again completes the unlink");

	desk_store_commit(st);
	int r = desk_fsck(st, 0);
	ok(r == 0, "fsck agrees with the list: exit %d", r);
	desk_store_close(st);
	return done_testing_in(dir);
}
