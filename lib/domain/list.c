/*
 * list.c: the cases a query selects, filtered on their slots alone (the
 * hot state) and read from the log only to be handed out.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

int
desk_ids_has(const struct desk_ids *s, uint64_t id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return 1;
	return 0;
}

void
desk_ids_add(struct desk_ids *s, uint64_t id)
{
	if (desk_ids_has(s, id))
		return;
	s->v = desk_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	s->v[s->n++] = id;
}

struct hit {
	uint64_t activity, id;
};

static int
by_activity(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->activity < y->activity ? 1 : x->activity > y->activity ? -1 : 0;
}

static int
named(char **names, const char *name)
{
	for (char **s = names; s && *s && name; s++)
		if (!strcmp(*s, name))
			return 1;
	return 0;
}

/* The users with q's user_custom_id on q's channels (among q's users). */
static void
users_by_ucid(struct desk_store *st, const struct desk_case_query *q, jv all,
    struct desk_ids *found)
{
	jv_array_foreach(all, i, ch) {
		const char *name = desk_jstr(ch, "name");
		int wanted = !q->channels || named(q->channels, name);
		uint64_t u = wanted && name ?
		    desk_user_by_custom_id(st, name, q->ucid, strlen(q->ucid)) : 0;
		if (u && (!q->by_user || desk_ids_has(&q->users, u)))
			desk_ids_add(found, u);
		jv_free(ch);
	}
}

/* Channel names and types by hash, to filter on slots alone. */
static void
channel_hashes(const struct desk_case_query *q, jv all, struct desk_ids *want,
    struct desk_ids *sync)
{
	jv_array_foreach(all, i, ch) {
		const char *name = desk_jstr(ch, "name");
		uint32_t h = name ? desk_hash32(name, strlen(name)) : 0;
		if (named(q->channels, name))
			desk_ids_add(want, h);
		if (desk_channel_is_sync(ch))
			desk_ids_add(sync, h);
		jv_free(ch);
	}
	for (char **s = q->channels; s && *s; s++)
		desk_ids_add(want, desk_hash32(*s, strlen(*s)));
}

/* The ids of the cases whose slots match, most recent activity first. */
static struct hit *
scan(struct desk_store *st, const struct desk_case_query *q,
    const struct desk_ids *users, const struct desk_ids *want,
    const struct desk_ids *sync, size_t *np)
{
	struct hit *hits = NULL;
	size_t n = 0, cap = 0;
	uint64_t end = desk_slot_end(st, DESK_T_CASE);
	int by_user = q->by_user || q->ucid;

	for (uint64_t id = 1; id < end; id++) {
		struct desk_case_slot cs;
		if (!desk_case_slot(st, id, &cs))
			continue;
		if ((cs.merged_into && !q->merged) ||
		    (q->statuses && !(q->statuses & (1 << cs.status))) ||
		    (by_user && !desk_ids_has(users, cs.user_id)) ||
		    (q->channels && !desk_ids_has(want, cs.chan)) ||
		    (q->active && (cs.status == DESK_CLOSED || cs.merged_into ||
		    !desk_ids_has(sync, cs.chan))))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			hits = desk_xrealloc(hits, cap * sizeof *hits);
		}
		hits[n++] = (struct hit){ cs.activity, id };
	}
	if (n)
		qsort(hits, n, sizeof *hits, by_activity);
	*np = n;
	return hits;
}

static int
case_list_unchecked(struct desk_store *st, const struct desk_case_query *q,
    void (*each)(jv c, void *ctx), void *ctx, uint64_t *count,
    struct desk_err *e)
{
	for (char **s = q->channels; s && *s; s++) {
		jv ch = desk_channel_get(st, *s);
		if (!jv_is_valid(ch))
			return desk_err_set(e, DESK_EX_CONFIG, "channel",
			    "%s: unknown channel", *s);
		jv_free(ch);
	}
	jv all = desk_channel_list(st);
	struct desk_ids found = { 0 }, want = { 0 }, sync = { 0 };
	if (q->ucid)
		users_by_ucid(st, q, all, &found);
	channel_hashes(q, all, &want, &sync);
	size_t n;
	struct hit *hits = scan(st, q, q->ucid ? &found : &q->users, &want,
	    &sync, &n);
	*count = 0;
	for (size_t i = 0; i < n && *count < q->limit; i++) {
		jv cj = desk_case_get(st, hits[i].id);
		/* The channel hash can collide: the record has the name. */
		if (!q->channels || named(q->channels, desk_jstr(cj, "channel"))) {
			each(cj, ctx);
			++*count;
		} else
			jv_free(cj);
	}
	free(hits);
	free(found.v);
	free(want.v);
	free(sync.v);
	jv_free(all);
	return 0;
}

/* The verb, with the store's error, when it failed, as its own. */
int
desk_case_list(struct desk_store *st, const struct desk_case_query *q,
    void (*each)(jv c, void *ctx), void *ctx, uint64_t *count,
    struct desk_err *e)
{
	int r = case_list_unchecked(st, q, each, ctx, count, e);

	return desk_store_err(st, e) < 0 ? -1 : r;
}
