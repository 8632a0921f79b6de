/*
 * channel.c: the channel registry, one file per channel in channels/.
 * Files rather than log records: there are few channels, they change
 * rarely, and an operator may well read or edit one by hand.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "domain/domain.h"

#define CACHE 32

/*
 * Cached per name in the store handle (desk_store_ext: a server's store
 * has its own, no two stores share one), and checked against the file
 * again at most once a second: a long-running pipeline sees a changed
 * channel within a second. A filter looks its channel up once per event,
 * and reading and parsing the file each time would cost more than the
 * event's own lookups.
 */
struct entry {
	char name[65];
	struct timespec mtime;
	ino_t ino;
	off_t size;
	double checked;
	jv ch;
};
struct cache {
	struct entry e[CACHE];
	unsigned next;
};

static void
cache_free(void *p)
{
	struct cache *c = p;

	for (unsigned i = 0; i < CACHE; i++)
		if (c->e[i].name[0])
			jv_free(c->e[i].ch);
}

static struct cache *
cache_of(struct desk_store *st)
{
	static const char tag = 0;     /* its address names the block */

	return desk_store_ext(st, &tag, sizeof(struct cache), cache_free);
}

int
desk_channel_name_ok(const char *n)
{
	size_t len = strlen(n);

	if (len < 1 || len > 64 || n[0] == '.' || n[0] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void
forget(struct desk_store *st, const char *name)
{
	struct cache *c = cache_of(st);

	if (!c)
		return;
	struct entry *cache = c->e;
	for (unsigned i = 0; i < CACHE; i++)
		if (!strcmp(cache[i].name, name)) {
			jv_free(cache[i].ch);
			cache[i].name[0] = '\0';
		}
}

static void
rel_path(char *rel, size_t n, const char *name)
{
	snprintf(rel, n, "channels/%s.json", name);
}

jv
desk_channel_lookup(struct desk_store *st, const char *name, struct desk_err *e)
{
	char rel[128];
	struct stat sb;
	size_t n;

	e->code = 0;
	if (!desk_channel_name_ok(name))
		return jv_invalid();
	struct cache *c = cache_of(st);
	if (!c) {
		desk_store_err(st, e);
		return jv_invalid();
	}
	struct entry *cache = c->e;
	double now = desk_mono();
	for (unsigned i = 0; i < CACHE; i++)
		if (!strcmp(cache[i].name, name) && now - cache[i].checked < 1.0)
			return jv_copy(cache[i].ch);
	rel_path(rel, sizeof rel, name);
	if (desk_store_stat(st, rel, &sb) < 0) {
		if (errno == ENOENT)
			return jv_invalid();
		desk_err_set(e, DESK_EX_IOERR, "channel", "%s/%s: %s",
		    desk_store_root(st), rel, strerror(errno));
		return jv_invalid();
	}
	for (unsigned i = 0; i < CACHE; i++)
		if (!strcmp(cache[i].name, name) && cache[i].ino == sb.st_ino &&
		    cache[i].size == sb.st_size &&
		    cache[i].mtime.tv_sec == sb.st_mtim.tv_sec &&
		    cache[i].mtime.tv_nsec == sb.st_mtim.tv_nsec) {
			cache[i].checked = now;
			return jv_copy(cache[i].ch);
		}
	char *text = desk_store_get(st, rel, &n);
	if (!text) {
		if (errno == ENOENT)
			return jv_invalid();
		desk_err_set(e, DESK_EX_IOERR, "channel", "%s/%s: %s",
		    desk_store_root(st), rel, strerror(errno));
		return jv_invalid();
	}
	jv ch = desk_json_parse_all(text, n);
	free(text);
	if (jv_get_kind(ch) != JV_KIND_OBJECT || !desk_jstr(ch, "connector")) {
		jv_free(ch);
		desk_err_set(e, DESK_EX_CONFIG, "channel", "%s/%s: not a channel "
		    "configuration", desk_store_root(st), rel);
		return jv_invalid();
	}
	unsigned i = c->next++ % CACHE;
	if (cache[i].name[0])
		jv_free(cache[i].ch);
	snprintf(cache[i].name, sizeof cache[i].name, "%s", name);
	cache[i].ino = sb.st_ino;
	cache[i].size = sb.st_size;
	cache[i].mtime = sb.st_mtim;
	cache[i].checked = now;
	cache[i].ch = jv_copy(ch);
	return ch;
}

jv
desk_channel_get(struct desk_store *st, const char *name)
{
	struct desk_err e;
	jv ch = desk_channel_lookup(st, name, &e);

	if (e.code)
		desk_store_fail(st, e.code, "%s", e.msg);
	return ch;
}

int
desk_channel_put(struct desk_store *st, jv ch)
{
	const char *name = desk_jstr(ch, "name");
	struct desk_buf b = DESK_BUF_INIT;
	char rel[128];

	if (!name || !desk_channel_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	rel_path(rel, sizeof rel, name);
	forget(st, name);
	desk_json_dump(&b, ch);
	desk_buf_addc(&b, '\n');
	int r = desk_store_put(st, rel, b.p, b.len, 0600);
	desk_buf_free(&b);
	return r;
}

int
desk_channel_rm(struct desk_store *st, const char *name)
{
	char rel[128];

	if (!desk_channel_name_ok(name)) {
		errno = ENOENT;
		return -1;
	}
	rel_path(rel, sizeof rel, name);
	forget(st, name);
	if (desk_store_unlink(st, rel) < 0)
		return -1;
	desk_store_dirty(st);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

jv
desk_channel_list(struct desk_store *st)
{
	DIR *d = desk_store_opendir(st, "channels");
	char **names = NULL;
	size_t n = 0;
	jv out = jv_array();

	if (!d) {
		desk_store_fail_errno(st, DESK_EX_IOERR, "%s/channels",
		    desk_store_root(st));
		return out;
	}
	for (struct dirent *e; (e = readdir(d));) {
		size_t len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		names = desk_xrealloc(names, (n + 1) * sizeof *names);
		names[n] = desk_xstrdup(e->d_name);
		names[n++][len - 5] = '\0';
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		jv ch = desk_channel_get(st, names[i]);
		if (jv_is_valid(ch))
			out = jv_array_append(out, ch);
		free(names[i]);
	}
	free(names);
	return out;
}

int
desk_channel_is_sync(jv ch)
{
	const char *t = desk_jstr(ch, "type");

	return t && !strcmp(t, "sync");
}
