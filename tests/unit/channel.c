/*
 * Unit tests for lib/domain/channel.c's cache: it is kept per store handle,
 * so two stores open in one process (a server's, a test's) never see each
 * other's channels, and a handle sees its own changes at once.
 */
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "tap.h"

static struct desk_store *
store(const char *dir, const char *name)
{
	char p[128];

	snprintf(p, sizeof p, "%s/%s", dir, name);
	return desk_store_open(p, DESK_ST_CREATE, &desk_store_schema);
}

static void
put(struct desk_store *st, const char *type)
{
	jv ch = desk_jset_str(jv_object(), "name", "app");
	ch = desk_jset_str(ch, "connector", "custom");
	ch = desk_jset_str(ch, "type", type);
	desk_store_lock(st);
	ok(desk_channel_put(st, ch) == 0, "put app (%s)", type);
	desk_store_commit(st);
	jv_free(ch);
}

static const char *
type_of(struct desk_store *st, char *buf)
{
	jv ch = desk_channel_get(st, "app");
	snprintf(buf, 16, "%s", desk_jstr(ch, "type") ? desk_jstr(ch, "type") : "(none)");
	jv_free(ch);
	return buf;
}

int
main(void)
{
	char dir[] = "/tmp/desk-unit-channel.XXXXXX", b[16];

	if (!mkdtemp(dir))
		return 1;
	struct desk_store *a = store(dir, "a"), *c = store(dir, "b");
	put(a, "sync");
	put(c, "async");
	is_str(type_of(a, b), "sync", "store a: its own channel");
	is_str(type_of(c, b), "async", "store b: its own, not a's from a cache");
	is_str(type_of(a, b), "sync", "store a again: not b's");
	put(a, "async");
	is_str(type_of(a, b), "async", "a change through the handle is seen at once");
	desk_store_close(a);
	desk_store_close(c);
	return done_testing_in(dir);
}
