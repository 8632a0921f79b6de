/*
 * supersede.c: which records desk-case compact may leave out of the log
 * (desk_store_compact asks, record by record, in log order). Only an
 * earlier version of a user or a case, and only when apply would derive
 * the same state without it:
 *
 *  - it is not the first version: the slot it creates is what the ident
 *    records (a user's failures) and the messages (their case) that follow
 *    it are applied to;
 *  - the slot points at a later version, which is kept: a version is only
 *    ever superseded by a later one, so what is left out stays left out;
 *  - a case version that answers a replayed event (it has an event key,
 *    and desk_event_seen reads it) stays;
 *  - what the version sets beyond its slot is set again by the later one:
 *    a user's keys (user_custom_ids and contacts) are among the later
 *    version's, a case's user and channel (the user's last case there)
 *    are the later version's, and its updated_at is not past the later
 *    one's (the slot keeps the latest of them).
 * The conditions hold from one version to the next, so a version left out
 * is covered by a chain of later ones that ends at one that is kept.
 * Messages, codes, idents, deliveries and every other record stay.
 */
#include <stdlib.h>
#include <string.h>

#include "store/engine.h"
#include "schema/schema.h"

/* The live store's latest version of a record, checked to be it. */
static jv
latest(struct desk_store *st, struct desk_loc at, const char *type,
    const char *idkey, int64_t id)
{
	jv rec = desk_log_get(st, at);
	int64_t have;

	if (!jv_is_valid(rec) || !desk_jstr(rec, "rec") ||
	    strcmp(desk_jstr(rec, "rec"), type) || !desk_jint(rec, idkey, &have) ||
	    have != id) {
		jv_free(rec);
		return jv_invalid();
	}
	return rec;
}

struct keyset {
	struct desk_key *k;
	size_t n;
	int missing;
};

static void
key_add(const struct desk_key *k, const char *what, void *ctx)
{
	struct keyset *s = ctx;

	(void)what;
	s->k = desk_xrealloc(s->k, (s->n + 1) * sizeof *s->k);
	s->k[s->n++] = *k;
}

static void
key_check(const struct desk_key *k, const char *what, void *ctx)
{
	struct keyset *s = ctx;

	(void)what;
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->k[i].h, k->h, sizeof k->h))
			return;
	s->missing = 1;
}

static int
user_superseded(struct desk_store *st, struct desk_store *kept, jv rec,
    struct desk_loc loc)
{
	struct desk_user_slot live, first;
	struct keyset later = { NULL, 0, 0 };
	int64_t id;

	if (!desk_jint(rec, "user_id", &id) || id < 1 ||
	    !desk_user_slot(kept, (uint64_t)id, &first) ||
	    !desk_user_slot(st, (uint64_t)id, &live) || live.rec.pos <= loc.pos)
		return 0;
	jv l = latest(st, live.rec, "user", "user_id", id);
	if (!jv_is_valid(l))
		return 0;
	desk_user_keys(l, key_add, &later);
	desk_user_keys(rec, key_check, &later);
	jv_free(l);
	free(later.k);
	return !later.missing;
}

static int64_t
rec_time(jv rec)
{
	const char *s = desk_jstr(rec, "updated_at");
	int64_t t;

	return s && desk_time_parse(s, &t) ? t : 0;
}

static int
case_superseded(struct desk_store *st, struct desk_store *kept, jv rec,
    struct desk_loc loc)
{
	struct desk_case_slot live, first;
	struct desk_key k;
	int64_t id, user, luser;
	const char *ch = desk_jstr(rec, "channel"), *lch;

	if (!desk_jint(rec, "case_id", &id) || id < 1 || !ch ||
	    !desk_jint(rec, "user_id", &user) || desk_event_rec_key(kept, &k, rec) ||
	    !desk_case_slot(kept, (uint64_t)id, &first) ||
	    !desk_case_slot(st, (uint64_t)id, &live) || live.rec.pos <= loc.pos)
		return 0;
	jv l = latest(st, live.rec, "case", "case_id", id);
	if (!jv_is_valid(l))
		return 0;
	int r = desk_jint(l, "user_id", &luser) && luser == user &&
	    (lch = desk_jstr(l, "channel")) && !strcmp(lch, ch) &&
	    rec_time(rec) <= rec_time(l);
	jv_free(l);
	return r;
}

int
desk_superseded(struct desk_store *st, struct desk_store *kept, jv rec,
    struct desk_loc loc)
{
	const char *type = desk_jstr(rec, "rec");

	if (!type)
		return 0;
	if (!strcmp(type, "user"))
		return user_superseded(st, kept, rec, loc);
	if (!strcmp(type, "case"))
		return case_superseded(st, kept, rec, loc);
	return 0;
}
