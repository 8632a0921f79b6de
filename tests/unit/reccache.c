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
	desk_store_commit(st);
	desk_store_close(st);
	return done_testing_in(dir);
}
