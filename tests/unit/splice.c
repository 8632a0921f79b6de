/*
 * The splices (a known user's or case's record printed from its old
 * bytes: desk_user_resolve, desk_user_message_begin's external ids,
 * desk_case_save_set as a reply reopens or assigns a case)
 * against the value path (parsed, set, dumped): the same random messages
 * in two stores, one with the splices and one without (desk_splices_set),
 * must give the same ids, the same reports and the same log bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"

#define USERS 12
#define MESSAGES 3000
#define CASES 4000

static const char *const emails[] = { "a@x.io", "B@x.io ", "c@y.org",
	"d\"q@y.org", "\xc3\xa9@z.fr", "no-at", "e@x", "f@q.io", "g@q.io",
	"h@q.io", "i@q.io", "j@q.io", "k@q.io", "l@q.io", "m@q.io", "n@q.io",
	"o@q.io", "p@q.io", "q@q.io", "r@q.io" };
static const char *const phones[] = { "+7 903 111-22-33", "79031112233",
	"12", "(555) 123 45", "555-000-111", "abc", "8800 555 35 35" };
static const char *const names[] = { "Ann", "Bob", "\"Q\"", "a\\b",
	"line\nbreak", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd", "" };

static const char *
pick(const char *const *a, size_t n, int none)
{
	int r = rand() % (int)(n + (size_t)none);

	return r < (int)n ? a[r] : NULL;
}
#define PICK(a, none) pick(a, sizeof a / sizeof *a, none)

static struct desk_store *
open_store(const char *dir, const char *name)
{
	char p[256];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	struct desk_store *st = desk_store_open(p, DESK_ST_CREATE,
	    &desk_store_schema);
	if (desk_store_error(st) || desk_store_lock(st) < 0) {
		printf("Bail out! %s: %s\n", p, desk_store_error(st)->msg);
		exit(1);
	}
	return st;
}

static const char *const ext_keys[] = { "client_id", "dialog_id",
	"transport", "ticket_id", "q\"k" };
static const char *const ext_vals[] = { "1", "2", "whatsapp", "telegram",
	"\xc3\xa9\n", "" };

/* The log's bytes, malloc'd. */
static char *
log_text(const char *dir, const char *name, size_t *n)
{
	char cmd[300];
	struct desk_buf b = DESK_BUF_INIT;
	char chunk[4096];
	size_t got;

	snprintf(cmd, sizeof cmd, "cat '%s/%s'/log/*.jsonl", dir, name);
	FILE *f = popen(cmd, "r");
	while (f && (got = fread(chunk, 1, sizeof chunk, f)) > 0)
		desk_buf_add(&b, chunk, got);
	if (f)
		pclose(f);
	*n = b.len;
	desk_buf_str(&b);
	return b.p;
}

/* Commits both stores and locks them again: 0, or -1. */
static int
batch(struct desk_store **st)
{
	for (int s = 0; s < 2; s++)
		if (desk_store_commit(st[s]) < 0 || desk_store_lock(st[s]) < 0)
			return -1;
	return 0;
}

/* Random messages' users resolved in both stores: 1 when alike. */
static int
users(struct desk_store **st, int *full)
{
	char ucid[USERS][16];
	int same = 1;

	for (int i = 0; i < USERS; i++)
		snprintf(ucid[i], sizeof ucid[i], "u%d", i);
	for (int m = 0; m < MESSAGES && same; m++) {
		int u = rand() % USERS;
		char own[32];
		/* The user's own, past DESK_MAX_CONTACTS of them, or shared. */
		snprintf(own, sizeof own, "m%d.%d@own.io", rand() % 20, u);
		struct desk_who w = { u % 3 ? "app" : "c2d", ucid[u],
			strlen(ucid[u]), rand() % 2 ? own : PICK(emails, 12),
			PICK(phones, 6), PICK(names, 8), PICK(names, 10),
			jv_invalid(), 0, 0 };
		jv fields = jv_invalid();
		/* Fields for two users only: the others' records keep none. */
		if (u < 2 && rand() % 10 == 0)
			w.fields = fields = desk_jset_str(jv_object(), "plan",
			    w.name ? w.name : "x");
		char *rep[2];
		uint64_t id[2];
		for (int s = 0; s < 2; s++) {
			jv r;
			id[s] = desk_user_resolve(st[s], &w, 1700000000 + m, &r);
			rep[s] = desk_json_text(r);
			jv_free(r);
		}
		if (id[0] != id[1] || strcmp(rep[0], rep[1])) {
			same = 0;
			printf("# message %d: id %llu, %s; value path: id %llu, %s\n",
			    m, (unsigned long long)id[0], rep[0],
			    (unsigned long long)id[1], rep[1]);
		}
		*full += strstr(rep[0], "16 emails already") != NULL;
		free(rep[0]);
		free(rep[1]);
		jv_free(fields);
		if (m % 500 == 499 && batch(st) < 0)
			same = 0;
	}
	return same;
}

/* Random external ids, now and then too many, or none. */
static jv
external(void)
{
	int r = rand() % 20;

	if (r == 0)
		return jv_invalid();
	if (r == 1)
		return jv_string("x");
	jv x = jv_object();
	for (int i = rand() % 3; i >= 0; i--)
		x = desk_jset_str(x, ext_keys[rand() % 5], ext_vals[rand() % 6]);
	if (r == 2) {
		char big[3000];
		memset(big, 'z', sizeof big - 1);
		big[sizeof big - 1] = 0;
		for (int i = 0; i < 7; i++) {
			char k[8];
			snprintf(k, sizeof k, "big%d", rand() % 9);
			x = desk_jset_str(x, k, big);
		}
	}
	return x;
}

/* Now and then a case closed, changed, given an event's ids, or saved as a reply does. */
static void
case_change(struct desk_store *st, uint64_t cid, const char *ch, int r,
    int64_t now)
{
	struct desk_evid ev = { "status", ch, "ev-1", 4 };
	struct desk_err e;
	jv c = jv_invalid();

	if (r == 0)
		c = desk_jset_str(jv_object(), "status", "closed");
	else if (r == 1)
		c = desk_jset_str(jv_object(), "team", "t\"1");
	else if (r == 2)
		desk_case_save(st, desk_case_record(st, cid), &ev, now);
	else if (r >= 3 && r <= 5) {
		/* As a reply saves it: reopened, assigned, or both (out of order). */
		static const char *const keys[] = { "assignee", "status" };
		jv v[2] = { jv_string(r == 3 ? "7" : "a\"gent"), jv_string("open") };
		desk_case_save_set(st, cid, keys + (r == 4), v + (r == 4),
		    r == 5 ? 2 : 1, now);
		jv_free(v[0]);
		jv_free(v[1]);
	}
	if (jv_is_valid(c))
		desk_case_set(st, cid, c, jv_invalid(), now, &e);
	jv_free(c);
}

/* Random messages' cases (external ids noted) in both stores: 1 when alike. */
static int
cases(struct desk_store **st)
{
	static const char *const chans[] = { "c2d", "bot" };
	int same = 1;

	for (int m = 0; m < CASES && same; m++) {
		uint64_t uid = 1 + (uint64_t)(rand() % 6);
		const char *ch = chans[rand() % 2];
		jv x = external();
		int r = rand() % 30;
		int64_t cid[2] = { 0, 0 };
		for (int s = 0; s < 2; s++) {
			struct desk_msg_case mc;
			jv msg = desk_user_message_begin(st[s], uid, ch, "subj",
			    x, 1700000000 + m, &mc);
			desk_jint(msg, "case_id", &cid[s]);
			jv_free(msg);
			case_change(st[s], (uint64_t)cid[s], ch, r, 1700000000 + m);
		}
		if (!cid[0] || cid[0] != cid[1]) {
			same = 0;
			printf("# message %d: case %lld; value path: case %lld\n", m,
			    (long long)cid[0], (long long)cid[1]);
		}
		jv_free(x);
		if (m % 500 == 499 && batch(st) < 0)
			same = 0;
	}
	return same;
}

/* Whether the two stores' logs are the same bytes; *recs the records of type. */
static int
same_logs(const char *dir, const char *type, int *recs)
{
	size_t n[2];
	char *a = log_text(dir, "splice", &n[0]), *b = log_text(dir, "value", &n[1]);
	char pat[40];
	int same = n[0] == n[1] && !memcmp(a, b, n[0]);

	snprintf(pat, sizeof pat, "\"rec\":\"%s\"", type);
	*recs = 0;
	for (const char *p = a; (p = strstr(p, pat)); p++)
		(*recs)++;
	if (!same) {
		size_t i = 0;
		while (i < n[0] && i < n[1] && a[i] == b[i])
			i++;
		size_t from = i > 200 ? i - 200 : 0;
		printf("# first difference at %zu:\n# splice: %.300s\n"
		    "# value:  %.300s\n", i, a + from, b + from);
	}
	free(a);
	free(b);
	return same;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-splice.XXXXXX";
	struct desk_store *st[2];
	int full = 0, recs;

	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	st[0] = open_store(dir, "splice");
	st[1] = open_store(dir, "value");
	desk_splices_set(st[1], 0);
	srand(12);
	ok(users(st, &full), "%d messages: the same users and reports with the "
	    "splice and without", MESSAGES);
	ok(full > 0, "%d messages met a full list of emails", full);
	ok(batch(st) == 0, "committed");
	ok(same_logs(dir, "user", &recs), "the logs are the same bytes");
	ok(recs > MESSAGES / 4, "%d user records written", recs);
	ok(cases(st), "%d messages: the same cases with the splice and without",
	    CASES);
	for (int s = 0; s < 2; s++) {
		ok(desk_store_commit(st[s]) == 0, "store %d committed", s);
		desk_store_close(st[s]);
	}
	ok(same_logs(dir, "case", &recs), "the logs are the same bytes, cases too");
	ok(recs > CASES / 4, "%d case records written", recs);
	return done_testing_in(dir);
}
