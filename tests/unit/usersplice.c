/*
 * desk_user_resolve's splice (a known user's record printed from its old
 * bytes) against its value path (parsed, set, dumped): the same random
 * messages resolved in two stores, one with the splice and one without,
 * must give the same ids, the same reports and the same log bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"

#define USERS 12
#define MESSAGES 3000

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

int
main(void)
{
	char dir[] = "/tmp/desk-unit-usersplice.XXXXXX";
	struct desk_store *st[2];
	char ucid[USERS][16];
	int same = 1, records = 0, full = 0;

	if (!mkdtemp(dir)) {
		perror(dir);
		return 1;
	}
	st[0] = open_store(dir, "splice");
	st[1] = open_store(dir, "value");
	for (int i = 0; i < USERS; i++)
		snprintf(ucid[i], sizeof ucid[i], "u%d", i);
	srand(12);
	for (int m = 0; m < MESSAGES && same; m++) {
		int u = rand() % USERS;
		char own[32];
		/* The user's own, past DESK_MAX_CONTACTS of them, or shared. */
		snprintf(own, sizeof own, "m%d.%d@own.io", rand() % 20, u);
		struct desk_who w = { u % 3 ? "app" : "c2d", ucid[u],
			strlen(ucid[u]), rand() % 2 ? own : PICK(emails, 12),
			PICK(phones, 6),
			PICK(names, 8), PICK(names, 10), jv_invalid(), 0, 0 };
		jv fields = jv_invalid();
		/* Fields for two users only: the others' records keep none. */
		if (u < 2 && rand() % 10 == 0)
			w.fields = fields = desk_jset_str(jv_object(), "plan",
			    w.name ? w.name : "x");
		char *rep[2];
		uint64_t id[2];
		for (int s = 0; s < 2; s++) {
			jv r;
			desk_user_splice = !s;
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
		full += strstr(rep[0], "16 emails already") != NULL;
		free(rep[0]);
		free(rep[1]);
		jv_free(fields);
		if (m % 500 == 499)
			for (int s = 0; s < 2; s++)
				if (desk_store_commit(st[s]) < 0 ||
				    desk_store_lock(st[s]) < 0)
					same = 0;
	}
	desk_user_splice = 1;
	ok(same, "%d messages: the same users and reports with the splice "
	    "and without", MESSAGES);
	for (int s = 0; s < 2; s++) {
		ok(desk_store_commit(st[s]) == 0, "store %d committed", s);
		desk_store_close(st[s]);
	}
	size_t n[2];
	char *a = log_text(dir, "splice", &n[0]), *b = log_text(dir, "value", &n[1]);
	for (const char *p = a; (p = strstr(p, "\"rec\":\"user\"")); p++)
		records++;
	ok(full > 0, "%d messages met a full list of emails", full);
	ok(records > MESSAGES / 4, "%d user records written", records);
	ok(n[0] == n[1] && !memcmp(a, b, n[0]), "the logs are the same bytes "
	    "(%zu, %zu)", n[0], n[1]);
	if (n[0] != n[1] || memcmp(a, b, n[0])) {
		size_t i = 0;
		while (i < n[0] && i < n[1] && a[i] == b[i])
			i++;
		size_t from = i > 200 ? i - 200 : 0;
		printf("# first difference at %zu:\n# splice: %.300s\n# value:  %.300s\n",
		    i, a + from, b + from);
	}
	free(a);
	free(b);
	return done_testing_in(dir);
}
