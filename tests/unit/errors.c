/*
 * The error contract for long-running code (lib/README, store/store.h):
 * a store opened without the tools' die wrapper, whose disk fails under
 * it (its descriptors pointed at /dev/full, which fails every write with
 * ENOSPC), returns the error (74 and a message) from the library call
 * instead of ending the process, refuses every write until it is closed,
 * lets go of the lock, and leaves the store intact: reopened, fsck finds
 * nothing wrong and what was committed before is all there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"

static jv
parse(const char *s)
{
	return desk_json_parse_all(s, strlen(s));
}

/* The fds of this process open on a path ending in suffix: how many. */
static int
fds_on(const char *suffix, int *fds, int max)
{
	int n = 0;
	size_t sl = strlen(suffix);

	for (int fd = 3; fd < 1024 && n < max; fd++) {
		char link[64], path[PATH_MAX];
		snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
		ssize_t r = readlink(link, path, sizeof path - 1);
		if (r < 0)
			continue;
		path[r] = '\0';
		if ((size_t)r >= sl && !strcmp(path + r - sl, suffix))
			fds[n++] = fd;
	}
	return n;
}

/* Points fds at /dev/full, keeping the originals in saved. */
static void
break_fds(const int *fds, int n, int *saved)
{
	int full = open("/dev/full", O_RDWR);

	for (int i = 0; i < n; i++) {
		saved[i] = dup(fds[i]);
		dup2(full, fds[i]);
	}
	close(full);
}

static void
mend_fds(const int *fds, int n, const int *saved)
{
	for (int i = 0; i < n; i++) {
		dup2(saved[i], fds[i]);
		close(saved[i]);
	}
}

static long long
size_of(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat sb;

	snprintf(p, sizeof p, "%s/%s", dir, rel);
	return stat(p, &sb) < 0 ? -1 : (long long)sb.st_size;
}

static jv
bind(struct desk_store *st, const char *email, struct desk_err *e)
{
	char json[128];

	snprintf(json, sizeof json, "{\"email\":\"%s\"}", email);
	jv b = parse(json);
	jv o = desk_code_bind(st, b, 60, e);
	jv_free(b);
	return o;
}

/* fsck of the store in dir, its summary line kept off the TAP output. */
static int
fsck(const char *dir)
{
	struct desk_store *st = desk_store_open(dir, 0, &desk_store_schema);
	int out = dup(1), null = open("/dev/null", O_WRONLY);

	dup2(null, 1);
	close(null);
	int r = desk_store_error(st) ? -1 : desk_fsck(st, 0);
	desk_out_flush();
	dup2(out, 1);
	close(out);
	desk_store_close(st);
	return r;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-errors.XXXXXX";
	struct desk_err e;
	int fds[8], saved[8], n;

	if (!mkdtemp(dir))
		return 1;
	char store[64];
	snprintf(store, sizeof store, "%s/store", dir);

	/* A store that cannot be opened: an error to return, not an exit. */
	struct desk_store *st = desk_store_open(store, 0, &desk_store_schema);
	const struct desk_err *se = desk_store_error(st);
	ok(se && se->code == DESK_EX_CONFIG && strstr(se->msg, "no store here"),
	    "a missing store is an error (78) the caller gets: %s",
	    se ? se->msg : "none");
	desk_store_close(st);

	/* Two codes committed: acknowledged. */
	st = desk_store_open(store, DESK_ST_CREATE, &desk_store_schema);
	ok(!desk_store_error(st), "a new store opens without an error");
	jv o = bind(st, "a@example.com", &e);
	ok(jv_is_valid(o), "a code is bound");
	jv_free(o);
	o = bind(st, "b@example.com", &e);
	jv_free(o);
	ok(desk_store_commit(st) == 0, "and committed");
	long long logsize = size_of(store, "log/00000001.jsonl");

	/*
	 * The disk fills under the log, once the batch has the lock (taken
	 * here, so the verb finds it held): the next append fails.
	 */
	ok(desk_store_lock(st) == 0, "a new batch takes the lock");
	n = fds_on("/log/00000001.jsonl", fds, 8);
	ok(n > 0, "the store holds its log open (%d fds)", n);
	break_fds(fds, n, saved);
	/*
	 * The batch's records are held back to its commit (desk-store(5)), so
	 * the write fails there, unless the verb had to write them itself.
	 */
	memset(&e, 0, sizeof e);
	o = bind(st, "c@example.com", &e);
	int held = jv_is_valid(o);
	jv_free(o);
	ok(desk_store_commit(st) < 0, "commit fails: nothing made durable");
	se = desk_store_error(st);
	ok(se && se->code == DESK_EX_IOERR, "with 74 (got %d)", se ? se->code : 0);
	ok(se && strstr(se->msg, "/log/00000001.jsonl: No space left on device"),
	    "and a message naming the file and the reason: %s", se ? se->msg : "");
	ok(held || (e.code == se->code && !strcmp(se->msg, e.msg)),
	    "a verb that failed returned the store's error");
	ok(size_of(store, "log/00000001.jsonl") == logsize,
	    "the log is as before the failed write");

	/* The disk is back, but the store stays in its error state. */
	mend_fds(fds, n, saved);
	o = bind(st, "d@example.com", &e);
	ok(!jv_is_valid(o) && e.code == DESK_EX_IOERR && !strcmp(e.msg, se->msg),
	    "a later verb is refused with the first error");
	jv_free(o);
	ok(desk_store_lock(st) < 0, "the lock is refused");
	struct desk_slot s;
	ok(desk_slot_get(st, DESK_T_CODE, 2, &s) == 1,
	    "reads still work (code 2's slot)");
	jv rec = parse("{\"rec\":\"note\"}");
	ok(desk_log_add(st, rec).len == 0, "an append to the log is refused");
	jv_free(rec);
	ok(desk_slot_put(st, DESK_T_CODE, 2, &s) < 0, "a slot write is refused");
	struct desk_key k;
	desk_key(&k, "test", 1, "x", (size_t)1);
	ok(desk_hx_put(st, &k, 1, 0) < 0, "an index write is refused");
	ok(desk_store_put(st, "channels/x.json", "{}", 2, 0600) < 0,
	    "a file write is refused");
	ok(desk_store_newid(st, DESK_CODE) == 0, "no id is given");
	ok(desk_store_commit(st) < 0, "commit still fails");
	ok(size_of(store, "log/00000001.jsonl") == logsize,
	    "nothing was written after the error");

	/* It let go of the lock: another handle writes meanwhile. */
	struct desk_store *other = desk_store_open(store, 0, &desk_store_schema);
	ok(desk_store_lock(other) == 0, "another writer gets the lock");
	o = bind(other, "e@example.com", &e);
	ok(jv_is_valid(o) && desk_store_commit(other) == 0,
	    "and binds a code (3)");
	jv_free(o);
	desk_store_close(other);
	desk_store_close(st);

	/* Reopened: intact, nothing acknowledged lost. */
	ok(fsck(store) == 0, "fsck finds the store clean");
	st = desk_store_open(store, 0, &desk_store_schema);
	ok(desk_store_lock(st) == 0, "the reopened store takes the lock");
	ok(desk_slot_end(st, DESK_T_CODE) == 4 &&
	    desk_slot_get(st, DESK_T_CODE, 1, &s) == 1 &&
	    desk_slot_get(st, DESK_T_CODE, 2, &s) == 1 &&
	    desk_slot_get(st, DESK_T_CODE, 3, &s) == 1,
	    "codes 1 to 3 are there and no other");

	/*
	 * The index fails under a batch: its record is in the log, its slot
	 * is not (written after it, at the commit). Commit fails, and the log is left as a killed
	 * writer leaves it: the next writer rolls the record forward.
	 */
	desk_store_commit(st);
	ok(desk_store_lock(st) == 0, "a new batch takes the lock");
	n = fds_on("/index/codes.slots", fds, 8);
	ok(n > 0, "the store holds the code slots open (%d fds)", n);
	break_fds(fds, n, saved);
	memset(&e, 0, sizeof e);
	logsize = size_of(store, "log/00000001.jsonl");
	o = bind(st, "f@example.com", &e);
	held = jv_is_valid(o);
	jv_free(o);
	ok(desk_store_commit(st) < 0, "commit fails");
	se = desk_store_error(st);
	ok(se && se->code == DESK_EX_IOERR &&
	    strstr(se->msg, "/index/codes.slots: No space left on device"),
	    "a failed slot write fails the store with 74: %s", se ? se->msg : "");
	ok(held || (e.code == se->code && !strcmp(se->msg, e.msg)),
	    "a verb that failed returned the store's error");
	ok(size_of(store, "log/00000001.jsonl") > logsize,
	    "its record was written to the log first");
	mend_fds(fds, n, saved);
	desk_store_close(st);
	ok(fsck(store) == 0, "fsck: clean (the uncommitted record rolled forward)");
	st = desk_store_open(store, 0, &desk_store_schema);
	ok(desk_store_lock(st) == 0 && desk_slot_end(st, DESK_T_CODE) == 5 &&
	    desk_slot_get(st, DESK_T_CODE, 4, &s) == 1,
	    "code 4, in the log when the slot write failed, is applied");
	desk_store_commit(st);
	desk_store_close(st);

	return done_testing_in(dir);
}
