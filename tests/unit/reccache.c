/*
 * Unit tests for the log's record cache (store/store.c): desk_record's
 * reads cache the record without its rec member, desk_log_get's with it;
 * neither must get the other's, and a caller changing what it got must
 * not change what the cache gives next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"
#include "tap.h"
#include "scratch.h"

/* What rec has, as JSON text: the test's view (static, overwritten). */
static const char *
text(jv rec)
{
	static char out[512];
	struct desk_buf b = DESK_BUF_INIT;

	desk_json_dump(&b, rec);
	snprintf(out, sizeof out, "%.*s", (int)b.len, b.p ? b.p : "");
	desk_buf_free(&b);
	jv_free(rec);
	return out;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-reccache.XXXXXX";
	struct desk_slot s;
	struct desk_store *st = scratch_writer(dir);

	const char *line = "{\"rec\":\"user\",\"user_id\":1,\"name\":\"A\"}";
	jv r = desk_json_parse_all(line, strlen(line));
	struct desk_loc loc = desk_log_add(st, r);
	jv_free(r);

	is_str(text(desk_log_get(st, loc)), "{\"rec\":\"user\",\"user_id\":1,\"name\":\"A\"}",
	    "the log's record: with rec");
	is_str(text(desk_record(st, DESK_T_USER, 1, &s)), "{\"user_id\":1,\"name\":\"A\"}",
	    "desk_record after it: without rec");
	is_str(text(desk_record(st, DESK_T_USER, 1, NULL)), "{\"user_id\":1,\"name\":\"A\"}",
	    "desk_record again (from the cache): without rec");
	is_str(text(desk_log_get(st, loc)), "{\"rec\":\"user\",\"user_id\":1,\"name\":\"A\"}",
	    "the log's record after desk_record cached it: with rec still");
	jv u = desk_record(st, DESK_T_USER, 1, NULL);
	u = desk_jset_str(u, "name", "changed");
	jv_free(u);
	is_str(text(desk_record(st, DESK_T_USER, 1, NULL)), "{\"user_id\":1,\"name\":\"A\"}",
	    "a caller's change to its record is not the cache's");

	/*
	 * desk_log_add_as: the record printed with "rec" first and applied
	 * (desk_record finds it by its slot); what desk_record reads back is
	 * the very value written, kept by the cache, not parsed again.
	 */
	jv f = desk_jset_str(desk_jset_int(jv_object(), "user_id", 2), "name", "B");
	struct desk_loc l2 = desk_log_add_as(st, "user", f);
	ok(l2.len > 0, "desk_log_add_as appended");
	jv got = desk_record(st, DESK_T_USER, 2, NULL);
	ok(jv_identical(jv_copy(got), jv_copy(f)), "desk_record after it: the value written, from the cache");
	jv_free(got);
	is_str(text(desk_log_get(st, l2)), "{\"rec\":\"user\",\"user_id\":2,\"name\":\"B\"}",
	    "desk_log_add_as: the log's record, rec first");
	f = desk_jset_str(f, "name", "changed");
	is_str(text(desk_record(st, DESK_T_USER, 2, NULL)), "{\"user_id\":2,\"name\":\"B\"}",
	    "the writer's change to its value after is not the cache's");
	jv_free(f);
	desk_store_commit(st);
	desk_store_close(st);
	st = desk_open(0);
	is_str(text(desk_record(st, DESK_T_USER, 2, NULL)), "{\"user_id\":2,\"name\":\"B\"}",
	    "read back by another handle: the same");
	desk_store_close(st);
	return done_testing_in(dir);
}
