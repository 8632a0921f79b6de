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

/*
 * Channel names and types by hash, to filter on slots alone; 1 when
 * another channel's name has the hash of one asked for (then a slot's
 * hash does not say the name, and only the record does).
 */
static int
channel_hashes(const struct desk_case_query *q, jv all, struct desk_ids *want,
    struct desk_ids *sync)
{
	int collide = 0;

	for (char **s = q->channels; s && *s; s++)
		desk_ids_add(want, desk_hash32(*s, strlen(*s)));
	jv_array_foreach(all, i, ch) {
		const char *name = desk_jstr(ch, "name");
		uint32_t h = name ? desk_hash32(name, strlen(name)) : 0;
		if (q->channels && !named(q->channels, name) && desk_ids_has(want, h))
			collide = 1;
		if (desk_channel_is_sync(ch))
			desk_ids_add(sync, h);
		jv_free(ch);
	}
	return collide;
}

/* What a query asks of a case's slot, and the cases found so far. */
struct sel {
	struct desk_store *st;
	const struct desk_case_query *q;
	const struct desk_ids *users, *want, *sync;
	int by_user;
	uint64_t keep;      /* only the newest keep hits matter; 0: all do */
	struct hit *hits;
	size_t n, cap;
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

/*
 * Case id, when its slot matches: a hit. With a --limit, a walk over
 * many cases keeps only the newest: the hits are cut down to keep when
 * they reach four times as many, so that memory and the sort stay
 * proportional to the limit.
 */
static int
consider(struct sel *s, uint64_t id, struct desk_case_slot *cs)
{
	if (!desk_case_slot(s->st, id, cs) || !matches(s, cs))
		return 0;
	if (s->keep && s->n >= 4 * s->keep + 256) {
		qsort(s->hits, s->n, sizeof *s->hits, by_activity);
		s->n = s->keep;
	}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->hits = desk_xrealloc(s->hits, s->cap * sizeof *s->hits);
	}
	s->hits[s->n++] = (struct hit){ cs->activity, id };
	return 1;
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

/*
 * A walk over a set of cases that an index holds whole, a case a step:
 * the status lists asked for (in the order the cases entered them), the
 * channels' chains (newest first), or every case slot. Whichever walk
 * ends first has seen every case the query can select (each set holds
 * them all), so its hits are the answer: racing the walks costs about
 * as many steps as the smallest set has cases, times the walks raced.
 */
enum walk_kind { W_LIST, W_CHAN, W_SCAN };
struct walk {
	struct sel s;       /* its own hits */
	enum walk_kind kind;
	struct desk_ids start;  /* the lists' heads, or the chains' newest */
	int tag[DESK_CLOSED + 1];  /* a list's status, by its start */
	size_t next;        /* the next start to go to */
	uint64_t at;        /* the case to read next, 0: the next start */
	uint64_t steps, end;
	int tagnow;
};

static void
walk_start(struct walk *w, uint64_t id, int tag)
{
	size_t n = w->start.n;

	if (!id)
		return;
	desk_ids_add(&w->start, id);
	if (w->start.n > n && n <= DESK_CLOSED)
		w->tag[n] = tag;
}

/* One case of the walk; 1 when the walk has ended. */
static int
walk_step(struct walk *w)
{
	struct desk_caselink_slot l;
	struct desk_case_slot cs;
	uint64_t id;

	if (w->kind == W_SCAN) {
		if (!w->at)
			return 1;
		consider(&w->s, w->at--, &cs);
		return 0;
	}
	while (!w->at) {
		if (w->next == w->start.n)
			return 1;
		w->tagnow = w->next <= DESK_CLOSED ? w->tag[w->next] : 0;
		w->at = w->start.v[w->next++];
		w->steps = 0;
	}
	/*
	 * A pointer at a case not on the list ends the list; a chain goes to
	 * older cases only; either longer than the store has cases is damage
	 * (fsck finds it), not a reason to loop.
	 */
	id = w->at;
	w->at = 0;
	if (++w->steps > w->end || !desk_caselink_slot(w->s.st, id, &l) ||
	    (w->kind == W_LIST && l.list != (enum desk_status)w->tagnow))
		return 0;
	consider(&w->s, id, &cs);
	w->at = w->kind == W_LIST ? l.next : l.chan_prev < id ? l.chan_prev : 0;
	return 0;
}

/*
 * The most recent cases, by the log read backwards: a case's activity is
 * the position of the newest record naming it, so once limit hits are
 * newer than the record being read, no case not seen yet can beat them.
 * The walks race it, WALK_PER_RECORD steps each per record read: a filter
 * that the recent cases rarely match is answered by the walk of its set.
 * A record skimmed and a step cost about the same (a slot read or two),
 * so 1 would bound the race by twice the cheaper way; 4 makes a long walk
 * cost 1.25 times itself instead of twice, and a log that answers in a
 * few records (the usual --limit) is still read at the cost of a few
 * dozen steps.
 */
#define WALK_PER_RECORD 4
struct back {
	struct sel *s;
	int steps;          /* the walks' per record */
	uint64_t *seen;     /* open addressing, 0 empty */
	size_t nseen, cap;
	struct walk **w;
	int nw;
	struct walk *won;   /* the walk that ended first, or NULL */
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

/*
 * The walks' steps for one record: 1 when one of them ended. Every case
 * slot is walked a step per record only: the log answers a --limit
 * without a filter in a few records unless nearly every case is merged,
 * and its reads are then a small share of the log's.
 */
static int
walks_step(struct walk **w, int nw, int steps, struct walk **won)
{
	for (int k = 0; k < steps; k++)
		for (int i = 0; i < nw; i++)
			if ((k == 0 || w[i]->kind != W_SCAN) && walk_step(w[i])) {
				*won = w[i];
				return 1;
			}
	return 0;
}

/* The case a record (text p, n bytes) of type case or message names, or 0. */
static uint64_t
rec_case(const char *p, size_t n)
{
	const char *t = desk_json_skim(p, n, "rec"), *end = p + n, *c;
	char *e;

	if (!t || !((end - t >= 6 && !memcmp(t, "\"case\"", 6)) ||
	    (end - t >= 9 && !memcmp(t, "\"message\"", 9))) ||
	    !(c = desk_json_skim(p, n, "case_id")) || *c < '1' || *c > '9')
		return 0;
	/* The record ends in '}' (or the line in '\n'): strtoull stops there. */
	unsigned long long id = strtoull(c, &e, 10);
	return e < end && id < (1ULL << 53) ? (uint64_t)id : 0;
}

static int
back_one(const char *p, size_t n, struct desk_loc loc, void *ctx)
{
	struct back *b = ctx;
	struct sel *s = b->s;
	struct desk_case_slot cs;
	uint64_t id = rec_case(p, n);

	if (!id || !seen_add(b, id) ||
	    !consider(s, id, &cs) || s->n < s->q->limit)
		return walks_step(b->w, b->nw, b->steps, &b->won);
	uint64_t newer = 0;
	for (size_t i = 0; i < s->n; i++)
		newer += s->hits[i].activity >= loc.pos;
	return newer >= s->q->limit ||
	    walks_step(b->w, b->nw, b->steps, &b->won);
}

/* The statuses whose lists hold every case q can select (0: not known). */
static unsigned
statuses_of(const struct desk_case_query *q)
{
	unsigned active = 1 << DESK_OPEN | 1 << DESK_PENDING;

	return !q->active ? (unsigned)q->statuses :
	    q->statuses ? (unsigned)q->statuses & active : active;
}

/*
 * The hits of whichever ends first: the log read backwards (with a
 * --limit; past the stretches where no case in a status asked for has
 * its newest record, by the status marks) or one of the walks; the
 * others' are freed.
 */
static struct sel *
race(struct sel *log, struct walk **w, int nw)
{
	struct walk *won = NULL;

	if (log) {
		unsigned statuses = statuses_of(log->q);
		/*
		 * Where the status marks pass over the records that do not
		 * count, those read are few and likely to: a walk a step per
		 * record still ends first when its set is the smaller.
		 */
		struct back b = { log, statuses && desk_status_marked(log->st) ?
		    1 : WALK_PER_RECORD, NULL, 0, 0, w, nw, NULL };
		/*
		 * The walks' first steps before the first record: a set of a
		 * few cases (an empty status list) ends them before a log
		 * whose marks pass over most of it has handed on a record.
		 */
		if (!walks_step(w, nw, WALK_PER_RECORD, &b.won))
			desk_log_back(log->st, statuses, back_one, &b);
		free(b.seen);
		won = b.won;
	} else
		while (!walks_step(w, nw, 1, &won))
			;
	for (int i = 0; i < nw; i++)
		if (w[i] != won) {
			free(w[i]->s.hits);
			w[i]->s.hits = NULL;
			w[i]->s.n = 0;
		}
	if (!won)
		return log;
	free(log ? log->hits : NULL);
	return &won->s;
}

/*
 * The walks that can answer q, into w (each with a copy of s): the status
 * lists asked for, the channels' chains, or when neither is, every case.
 * 0 when the store lacks the channel index q needs (the store failed, 78).
 */
static int
walks(const struct desk_case_query *q, jv all, const struct sel *s,
    struct walk *w, int *nw)
{
	struct desk_store *st = s->st;
	unsigned lists = statuses_of(q);
	uint64_t end = desk_slot_end(st, DESK_T_CASE);
	struct desk_list_slot ends;

	*nw = 0;
	if (lists) {
		w[*nw] = (struct walk){ .s = *s, .kind = W_LIST, .end = end };
		for (int t = DESK_OPEN; t <= DESK_CLOSED; t++)
			if (lists & 1 << t && desk_list_slot(st, (uint64_t)t, &ends))
				walk_start(&w[*nw], ends.head, t);
		++*nw;
	}
	if (q->channels || q->active) {
		if (!desk_case_chans(st))
			return 0;    /* w[*nw] not made: nothing to free */
		w[*nw] = (struct walk){ .s = *s, .kind = W_CHAN, .end = end };
		for (char **c = q->channels; c && *c; c++)
			walk_start(&w[*nw], desk_chan_newest(st, *c), 0);
		jv_array_foreach(all, i, ch) {
			const char *name = desk_jstr(ch, "name");
			if (!q->channels && name && desk_channel_is_sync(ch))
				walk_start(&w[*nw], desk_chan_newest(st, name), 0);
			jv_free(ch);
		}
		++*nw;
	}
	if (!*nw)
		w[(*nw)++] = (struct walk){ .s = *s, .kind = W_SCAN, .at = end - 1 };
	return 1;
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
	int collide = channel_hashes(q, all, &want, &sync);
	int limited = q->limit < UINT64_MAX / 128;
	struct sel s = { st, q, q->ucid ? &found : &q->users, &want, &sync,
		q->by_user || q->ucid, limited && !collide ? q->limit : 0, NULL,
		0, 0 };
	struct walk w[3], *wp[3];
	struct sel *won = &s;
	int nw = 0;
	/*
	 * A user's chain is the smallest set there is; else the walks race
	 * (and the log read backwards with them, for a --limit).
	 */
	if (!desk_case_indexes(st))
		;    /* the store's error is the answer */
	else if (s.by_user)
		by_users(&s);
	else if (walks(q, all, &s, w, &nw)) {
		for (int i = 0; i < nw; i++)
			wp[i] = &w[i];
		won = race(limited ? &s : NULL, wp, nw);
	}
	size_t n = won->n;
	struct hit *hits = won->hits;
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
	for (int i = 0; i < nw; i++)
		free(w[i].start.v);
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
