/*
 * Unit tests for the schema's named slot fields and the engine's tables
 * by index: every named field lands in the word of the slot that
 * desk-store(5) and older stores have it in, and an engine handed another
 * schema names its files and counters after that schema alone.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

static jv
parse(const char *s)
{
	return desk_json_parse_all(s, strlen(s));
}

static void
add(struct desk_store *st, const char *json)
{
	jv r = parse(json);

	desk_log_add(st, r);
	jv_free(r);
}

/* Slot id of table's file as the bytes on disk. */
static int
raw(struct desk_store *st, const char *table, uint64_t id, unsigned char *p)
{
	char rel[64];
	size_t n;

	snprintf(rel, sizeof rel, "index/%s.slots", table);
	char *text = desk_store_get(st, rel, &n);
	int r = text && n >= (id + 1) * 64;
	if (r)
		memcpy(p, text + id * 64, 64);
	free(text);
	return r;
}

static uint64_t
le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* The slot's flags (byte 7) and its words 0-4 (bytes 16-55), halves (56-63). */
#define FLAGS(p) ((p)[7])
#define WORD(p, i) le64((p) + 16 + 8 * (i))
#define HALF(p, i) le32((p) + 56 + 4 * (i))

static void
noop_apply(struct desk_store *st, jv rec, struct desk_loc loc)
{
	(void)st;
	(void)rec;
	(void)loc;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-slots.XXXXXX";
	unsigned char p[64];
	char store[64];
	struct desk_store *st = scratch_writer(dir);

	add(st, "{\"rec\":\"user\",\"user_id\":7,\"identified\":true}");
	add(st, "{\"rec\":\"case\",\"case_id\":3,\"user_id\":7,\"channel\":\"app\","
	    "\"status\":\"pending\",\"merged_into\":2,\"updated_at\":\"2026-01-01T00:00:00Z\"}");
	add(st, "{\"rec\":\"message\",\"message_id\":5,\"case_id\":3,\"out_id\":4,"
	    "\"created_at\":\"2026-01-02T00:00:00Z\"}");
	add(st, "{\"rec\":\"message\",\"message_id\":6,\"case_id\":3,"
	    "\"created_at\":\"2026-01-01T00:00:00Z\"}");
	add(st, "{\"rec\":\"code\",\"code_id\":9,\"hash\":\""
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	    "\"expires_at\":\"2026-01-03T00:00:00Z\",\"created_at\":\"2026-01-01T00:00:00Z\"}");
	add(st, "{\"rec\":\"ident\",\"user_id\":7,\"code_id\":9,\"attempt\":2,"
	    "\"result\":\"valid\"}");
	add(st, "{\"rec\":\"ident\",\"user_id\":7,\"result\":\"invalid\",\"failures\":4,"
	    "\"locked_at\":\"2026-01-04T00:00:00Z\"}");
	desk_store_commit(st);

	int64_t jan1 = 1767225600, day = 86400;
	struct desk_user_slot u = { 0 };
	ok(desk_user_slot(st, 7, &u) && u.identified && u.failures == 4 &&
	    u.locked_at == (uint64_t)(jan1 + 3 * day) && u.last_case == 3,
	    "user 7 by name: identified, 4 failures, locked on the 4th, last "
	    "case 3");
	ok(raw(st, "users", 7, p) && FLAGS(p) == 1 && WORD(p, 0) == 3 &&
	    WORD(p, 1) == 0 && WORD(p, 2) == 4 && WORD(p, 3) == u.locked_at &&
	    WORD(p, 4) == 0 && HALF(p, 0) == 0 && HALF(p, 1) == 0,
	    "users.slots: identified in flags, last_case word 0, failures word 2, "
	    "locked_at word 3");

	struct desk_case_slot c = { 0 };
	ok(desk_case_slot(st, 3, &c) && c.status == DESK_PENDING && c.user_id == 7 &&
	    c.merged_into == 2 && c.head == 6 && c.count == 2 &&
	    c.updated_at == jan1 + day && c.chan == desk_hash32("app", 3),
	    "case 3 by name: pending, user 7, merged into 2, 2 messages up to 6");
	ok(raw(st, "cases", 3, p) && FLAGS(p) == DESK_PENDING && WORD(p, 0) == 7 &&
	    WORD(p, 1) == 2 && WORD(p, 2) == 6 && WORD(p, 3) == c.activity &&
	    WORD(p, 4) == (uint64_t)(jan1 + day) && HALF(p, 0) == 2 &&
	    HALF(p, 1) == c.chan, "cases.slots: status in flags, user_id, "
	    "merged_into, head, activity, updated_at in words 0-4, count, chan");

	struct desk_message_slot m = { 0 };
	ok(desk_message_slot(st, 6, &m) && m.case_id == 3 && m.prev == 5,
	    "message 6 by name: case 3, previous message 5");
	ok(raw(st, "messages", 6, p) && FLAGS(p) == 0 && WORD(p, 0) == 3 &&
	    WORD(p, 1) == 5 && WORD(p, 2) == 0, "messages.slots: case_id word 0, "
	    "prev word 1");

	struct desk_code_slot k = { 0 };
	ok(desk_code_slot(st, 9, &k) && k.used && k.used_by == 7 && k.attempts == 2 &&
	    k.expires_at == jan1 + 2 * day && k.created_at == jan1,
	    "code 9 by name: used by user 7 at attempt 2");
	ok(raw(st, "codes", 9, p) && FLAGS(p) == 1 &&
	    WORD(p, 0) == (uint64_t)(jan1 + 2 * day) && WORD(p, 1) == 2 &&
	    WORD(p, 2) == 7 && WORD(p, 3) == (uint64_t)jan1 && WORD(p, 4) == 0,
	    "codes.slots: used in flags, expires_at, attempts, used_by, created_at "
	    "in words 0-3");

	struct desk_out_slot o = { 0 };
	ok(desk_out_slot(st, 4, &o) && o.state == DESK_DS_PENDING && o.linked &&
	    o.message_id == 5 && o.attempt == 0 && !o.prev && !o.next,
	    "outbox 4 by name: pending, on the due list alone, message 5");
	ok(raw(st, "outbox", 4, p) && FLAGS(p) == DESK_OUT_LINKED && WORD(p, 0) == 0 &&
	    WORD(p, 2) == 5, "outbox.slots: pending (0) on the due list (0x80), "
	    "message_id word 2");
	desk_store_close(st);

	/* The engine with another schema: its names, nothing of desk's. */
	static const char *const tables[] = { "alpha", "beta" };
	static const char *const counters[] = { "x" };
	const struct desk_schema other = { .apply = noop_apply, .ntables = 2,
	    .tables = tables, .ncounters = 1, .counters = counters };
	snprintf(store, sizeof store, "%s/other", dir);
	st = desk_store_open(store, DESK_ST_CREATE, &other);
	desk_store_lock(st);
	ok(desk_store_newid(st, 0) == 1, "a counter by index");
	struct desk_slot s = { .rec = { DESK_POS(1, 0), 2 }, .word = { 11 } };
	desk_slot_put(st, 1, 5, &s);
	desk_store_commit(st);
	size_t n;
	char *head = desk_store_get(st, "index/beta.slots", &n);
	ok(head && n == 6 * 64 && !strncmp(head, "desk slots beta 1 ", 18),
	    "table 1 is index/beta.slots, its header naming it");
	free(head);
	char *state = desk_store_get(st, "state", &n);
	ok(state && strstr(state, "\"next\":{\"x\":2}"),
	    "the state names the one counter the schema gave (%.90s)",
	    state ? state : "none");
	free(state);
	struct desk_slot back = { 0 };
	ok(desk_slot_get(st, 1, 5, &back) == 1 && back.word[0] == 11 &&
	    desk_slot_get(st, 0, 5, &back) == 0, "a slot by table index");
	desk_store_close(st);

	return done_testing_in(dir);
}
