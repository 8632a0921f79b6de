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

/* What a query asks of a case's slot, and the cases found so far. */
struct sel {
	struct desk_store *st;
	const struct desk_case_query *q;
	const struct desk_ids *users, *want, *sync;
	int by_user;
	struct hit *hits;
	size_t n, cap;
	uint64_t walk;      /* list entries left to read */
};

static int
matches(const struct sel *s, const struct desk_case_slot *cs)
{
	const struct desk_case_query *q = s->q;

	return !((cs->merged_into && !q->merged) ||
	    (q->statuses && !(q->statuses & (1 << cs->status))) ||
	    (s->by_user && !desk_ids_has(s->users, cs->user_id)) ||
	    (q->channels && !desk_ids_has(s->want, cs->chan)) ||
	    (q->active && (cs->status == DESK_CLOSED || cs->merged_into ||
	    !desk_ids_has(s->sync, cs->chan))));
}

/* Case id, when its slot matches: a hit. */
static int
consider(struct sel *s, uint64_t id, struct desk_case_slot *cs)
{
	if (!desk_case_slot(s->st, id, cs) || !matches(s, cs))
		return 0;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->hits = desk_xrealloc(s->hits, s->cap * sizeof *s->hits);
	}
	s->hits[s->n++] = (struct hit){ cs->activity, id };
	return 1;
}

/* Every case's slot: for the queries no index answers (every case, a channel). */
static void
scan(struct sel *s)
{
	uint64_t end = desk_slot_end(s->st, DESK_T_CASE);
	struct desk_case_slot cs;

	for (uint64_t id = 1; id < end; id++)
		consider(s, id, &cs);
}

/*
 * The users' cases, by each user's chain (newest case first): a pointer is
 * not trusted, the case must be the user's. A chain longer than the store
 * has cases is damage (fsck finds it), not a reason to loop.
 */
static void
by_users(struct sel *s)
{
	uint64_t end = desk_slot_end(s->st, DESK_T_CASE);
	struct desk_user_slot u;
	struct desk_caselink_slot l;
	struct desk_case_slot cs;

	for (size_t i = 0; i < s->users->n; i++) {
		uint64_t id = desk_user_slot(s->st, s->users->v[i], &u) ?
		    u.last_case : 0;
		for (uint64_t steps = 0; id && steps < end; steps++) {
			if (desk_case_slot(s->st, id, &cs) &&
			    cs.user_id == s->users->v[i])
				consider(s, id, &cs);
			id = desk_caselink_slot(s->st, id, &l) ? l.user_prev : 0;
		}
	}
}

static int
list_one(uint64_t id, const struct desk_caselink_slot *l, void *ctx)
{
	struct sel *s = ctx;
	struct desk_case_slot cs;

	(void)l;
	if (!s->walk)
		return 1;
	s->walk--;
	consider(s, id, &cs);
	return 0;
}

/*
 * The cases in the statuses asked for, by the status lists: 1, or 0 when
 * they hold more than walk cases (then the log is cheaper for a --limit).
 */
static int
by_lists(struct sel *s, int statuses, uint64_t walk)
{
	s->walk = walk + 1;    /* one more: to know whether there is more */
	for (int st = DESK_OPEN; st <= DESK_CLOSED && s->walk; st++)
		if (statuses & 1 << st)
			desk_list_each(s->st, (enum desk_status)st, list_one, s);
	if (s->walk)
		return 1;
	s->n = 0;
	return 0;
}

/*
 * The most recent cases, by the log read backwards: a case's activity is
 * the position of the newest record naming it, so once limit hits are
 * newer than the record being read, no case not seen yet can beat them.
 * Gives up (0) after reading budget records: the hits are few (a rare
 * channel), and the other ways are cheaper.
 */
struct back {
	struct sel *s;
	uint64_t *seen;     /* open addressing, 0 empty */
	size_t nseen, cap;
	uint64_t budget;
	int gave_up;
};

static int
seen_add(struct back *b, uint64_t id)
{
	if ((b->nseen + 1) * 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		uint64_t *t = desk_xcalloc(cap, sizeof *t);
		for (size_t i = 0; i < b->cap; i++)
			for (size_t j = b->seen[i] * 0x9e3779b97f4a7c15u % cap;
			    b->seen[i]; j = (j + 1) % cap)
				if (!t[j]) {
					t[j] = b->seen[i];
					break;
				}
		free(b->seen);
		b->seen = t;
		b->cap = cap;
	}
	for (size_t j = id * 0x9e3779b97f4a7c15u % b->cap;; j = (j + 1) % b->cap) {
		if (b->seen[j] == id)
			return 0;
		if (!b->seen[j]) {
			b->seen[j] = id;
			b->nseen++;
			return 1;
		}
	}
}

static int
back_one(jv rec, struct desk_loc loc, void *ctx)
{
	struct back *b = ctx;
	struct sel *s = b->s;
	const char *type = desk_jstr(rec, "rec");
	struct desk_case_slot cs;
	int64_t id;

	if (!b->budget--) {
		b->gave_up = 1;
		return 1;
	}
	if (!type || (strcmp(type, "case") && strcmp(type, "message")) ||
	    !desk_jint(rec, "case_id", &id) || id < 1 || !seen_add(b, (uint64_t)id) ||
	    !consider(s, (uint64_t)id, &cs) || s->n < s->q->limit)
		return 0;
	uint64_t newer = 0;
	for (size_t i = 0; i < s->n; i++)
		newer += s->hits[i].activity >= loc.pos;
	return newer >= s->q->limit;
}

/* 1 when the log answered (enough hits, or all of it read), else 0. */
static int
by_log(struct sel *s)
{
	struct back b = { s, NULL, 0, 0, 4096 + 64 * s->q->limit, 0 };

	int r = desk_log_back(s->st, back_one, &b);
	free(b.seen);
	if (r == 0 && !b.gave_up)
		return 1;
	s->n = 0;
	return 0;
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
	struct sel s = { st, q, q->ucid ? &found : &q->users, &want, &sync,
		q->by_user || q->ucid, NULL, 0, 0, 0 };
	int active = 1 << DESK_OPEN | 1 << DESK_PENDING;
	int lists = !q->active ? q->statuses :
	    q->statuses ? q->statuses & active : active;
	int limited = q->limit < UINT64_MAX / 128;
	/*
	 * With a --limit, a status list longer than the log reading's budget
	 * is left for the log (the recent cases are likely in the status).
	 */
	if (!desk_case_indexes(st))
		;    /* the store's error is the answer */
	else if (s.by_user)
		by_users(&s);
	else if ((q->statuses || q->active) &&
	    by_lists(&s, lists, limited ? 4096 + 64 * q->limit : UINT64_MAX - 1))
		;
	else if (limited && by_log(&s))
		;
	else
		scan(&s);
	size_t n = s.n;
	struct hit *hits = s.hits;
	if (n)
		qsort(hits, n, sizeof *hits, by_activity);
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
