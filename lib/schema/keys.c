/*
 * keys.c: every key of the hash index (desk-store(5)), defined once for
 * apply, fsck, the domain and the tools, and the lookup of a processed
 * event by its key.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "schema/schema.h"

/*
 * Keys kept near a user's (desk_key_near): where the keys that a user's
 * new messages set go together, and with the key of the user's
 * user_custom_id (the user slot's near), so that a batch writes one index
 * page for them, not one each.
 */
static void
near_user(struct desk_store *st, struct desk_key *k, uint64_t user)
{
	struct desk_user_slot u;
	struct desk_key g;

	if (desk_user_slot(st, user, &u) && u.near) {
		for (int i = 0; i < 4; i++)
			g.h[i] = (unsigned char)(u.near >> (8 * i));
	} else
		desk_key_id(&g, "near", user, NULL);
	desk_key_near(k, &g);
}

uint64_t
desk_key_near_of(const struct desk_key *k)
{
	return (uint64_t)k->h[0] | (uint64_t)k->h[1] << 8 |
	    (uint64_t)k->h[2] << 16 | (uint64_t)k->h[3] << 24;
}

uint64_t
desk_user_near(jv rec)
{
	struct desk_key k;
	jv ids = desk_jget(rec, "custom_ids");
	uint64_t near = 0;

	if (jv_get_kind(ids) == JV_KIND_ARRAY && jv_array_length(jv_copy(ids)) > 0) {
		jv p = jv_array_get(jv_copy(ids), 0);
		const char *ch = desk_jstr(p, "channel"), *u;
		size_t ulen;
		if (ch && desk_jstrn(p, "user_custom_id", &u, &ulen)) {
			desk_key_ucid(&k, ch, u, ulen);
			near = desk_key_near_of(&k);
		}
		jv_free(p);
	}
	return near;
}

void
desk_event_key(struct desk_store *st, struct desk_key *k, const char *scope,
    const char *channel, const char *id, size_t idlen, uint64_t user)
{
	if (strcmp(scope, "message") && strcmp(scope, "status"))
		channel = "";
	if (!channel)
		channel = "";
	desk_key(k, "event", 3, scope, strlen(scope), channel, strlen(channel),
	    id, idlen);
	if (user)
		near_user(st, k, user);
}

int
desk_event_rec_key(struct desk_store *st, struct desk_key *k, jv rec)
{
	const char *scope = desk_jstr(rec, "event_scope"), *id;
	size_t idlen;
	int64_t user = 0;

	if (!scope || !desk_jstrn(rec, "event_id", &id, &idlen))
		return 0;
	desk_jint(rec, "user_id", &user);
	desk_event_fields_key(st, k, scope, desk_jstr(rec, "event_channel"),
	    desk_jstr(rec, "channel"), id, idlen, user);
	return 1;
}

void
desk_event_fields_key(struct desk_store *st, struct desk_key *k,
    const char *scope, const char *evch, const char *channel, const char *id,
    size_t idlen, int64_t user)
{
	/* Only status events name something other than the record's channel. */
	const char *ch = !strcmp(scope, "status") ? evch : NULL;

	/* A message's near its user's, where the index keeps keys near. */
	if (strcmp(scope, "message") || user < 1 || !desk_hx_near(st))
		user = 0;
	desk_event_key(st, k, scope, ch ? ch : channel, id, idlen, (uint64_t)user);
}

jv
desk_event_seen(struct desk_store *st, const char *scope, const char *channel,
    const char *id, size_t idlen, uint64_t user)
{
	struct desk_key k, rk;
	uint64_t pos;
	uint32_t len;

	if (!strcmp(scope, "message") && desk_hx_near(st)) {
		if (!user)
			return jv_invalid();    /* no user: no message of theirs */
	} else
		user = 0;
	desk_event_key(st, &k, scope, channel, id, idlen, user);
	if (!desk_hx_get(st, &k, &pos, &len))
		return jv_invalid();
	jv rec = desk_log_get(st, (struct desk_loc){ pos, len });
	/* Check that the record really is this event's: never trust a pointer. */
	if (jv_is_valid(rec) && desk_event_rec_key(st, &rk, rec) &&
	    !memcmp(rk.h, k.h, sizeof k.h))
		return rec;
	jv_free(rec);
	return jv_invalid();
}

void
desk_key_ucid(struct desk_key *k, const char *channel, const char *ucid,
    size_t ucidlen)
{
	desk_key(k, "ucid", 2, channel, strlen(channel), ucid, ucidlen);
}

void
desk_key_contact(struct desk_key *k, const char *kind, const char *norm)
{
	desk_key(k, kind, 1, norm, strlen(norm));
}

void
desk_key_last(struct desk_store *st, struct desk_key *k, uint64_t user_id,
    const char *channel)
{
	desk_key_id(k, "last", user_id, channel);
	if (desk_hx_near(st))
		near_user(st, k, user_id);
}

void
desk_key_chan(struct desk_key *k, const char *channel)
{
	desk_key(k, "chan", 1, channel, strlen(channel));
}

/*
 * The marks of 64 MiB of the log, both levels, are near one another, so
 * that a backward read of the log looks at a bucket for them, and a batch
 * writes one.
 */
void
desk_key_marks(struct desk_store *st, struct desk_key *k, int level,
    uint64_t chunk)
{
	struct desk_key g;

	desk_key_id(k, level ? "marks64" : "marks", level ? chunk >> 10 :
	    chunk >> 4, NULL);
	if (desk_hx_near(st)) {
		desk_key_id(&g, "near", chunk >> 10, "marks");
		desk_key_near(k, &g);
	}
}

void
desk_key_conv(struct desk_key *k, const char *channel, const char *conv,
    size_t convlen)
{
	desk_key(k, "conv", 2, channel, strlen(channel), conv, convlen);
}

int
desk_conv_rec_key(struct desk_key *k, jv rec)
{
	const char *ch = desk_jstr(rec, "channel"), *conv;
	size_t convlen;

	if (!ch || !desk_jstrn(rec, "conversation_id", &conv, &convlen))
		return 0;
	desk_key_conv(k, ch, conv, convlen);
	return 1;
}

void
desk_key_code(struct desk_key *k, const unsigned char h[32])
{
	desk_key(k, "code", 1, h, (size_t)32);
}

void
desk_user_keys(jv rec, void (*each)(const struct desk_key *, const char *,
    void *), void *ctx)
{
	static const char *const contacts[] = { "emails", "email", "phones", "phone" };
	struct desk_key k;
	jv ids = desk_jget(rec, "custom_ids");

	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, p) {
			const char *ch = desk_jstr(p, "channel"), *u;
			size_t ulen;
			if (ch && desk_jstrn(p, "user_custom_id", &u, &ulen)) {
				desk_key_ucid(&k, ch, u, ulen);
				each(&k, "a user_custom_id", ctx);
			}
			jv_free(p);
		}
	for (int c = 0; c < 4; c += 2) {
		jv list = desk_jget(rec, contacts[c]);
		if (jv_get_kind(list) != JV_KIND_ARRAY)
			continue;
		jv_array_foreach(list, i, e) {
			if (jv_get_kind(e) == JV_KIND_STRING) {
				desk_key_contact(&k, contacts[c + 1], jv_string_value(e));
				each(&k, contacts[c + 1], ctx);
			}
			jv_free(e);
		}
	}
}

void
desk_code_throttle_key(struct desk_key *k, const char *channel)
{
	if (channel)
		desk_key(k, "ithrottle", 1, channel, strlen(channel));
	else
		desk_key(k, "ithrottle", 0);
}

void
desk_key_due(struct desk_key *k, const char *which)
{
	desk_key(k, "due", 1, which, strlen(which));
}

void
desk_key_delivery(struct desk_key *k, uint64_t out_id)
{
	desk_key_id(k, "delivery", out_id, NULL);
}

jv
desk_delivery_last(struct desk_store *st, uint64_t out_id)
{
	struct desk_key k;
	uint64_t pos;
	uint32_t len;
	int64_t oid;

	desk_key_delivery(&k, out_id);
	if (!desk_hx_get(st, &k, &pos, &len))
		return jv_invalid();
	jv rec = desk_log_get(st, (struct desk_loc){ pos, len });
	/* Never trust a pointer: the record must be this entry's. */
	if (jv_is_valid(rec) && desk_jint(rec, "out_id", &oid) &&
	    (uint64_t)oid == out_id && desk_jstr(rec, "rec") &&
	    !strcmp(desk_jstr(rec, "rec"), "delivery"))
		return desk_jdel(rec, "rec");
	jv_free(rec);
	return jv_invalid();
}

void
desk_key_rotation(struct desk_key *k, const char *team)
{
	desk_key(k, "rotation", 1, team, strlen(team));
}

void
desk_key_rulemark(struct desk_key *k, const char *rule, uint64_t case_id)
{
	desk_key_id(k, "rulemark", case_id, rule);
}

/*
 * The keys of serve's deliveries (desk-webhook(1) SERVING): a delivery by
 * its channel and webhook-id, an event a delivery brought by its channel,
 * type and id, a delivery by its sequence number, and the two marks: the
 * last sequence number accepted and the last emitted.
 */
void
desk_key_hook_delivery(struct desk_key *k, const char *channel,
    const char *delivery, size_t n)
{
	desk_key(k, "hook", 2, channel, strlen(channel), delivery, n);
}

void
desk_key_hook_event(struct desk_key *k, const char *channel, const char *type,
    const char *id, size_t n)
{
	desk_key(k, "hookevent", 3, channel, strlen(channel), type, strlen(type),
	    id, n);
}

void
desk_key_hook_seq(struct desk_key *k, uint64_t seq)
{
	desk_key_id(k, "hookseq", seq, NULL);
}

void
desk_key_hook_mark(struct desk_key *k, const char *which)
{
	desk_key(k, "hookmark", 1, which, strlen(which));
}

int
desk_hook_keys(jv rec, void (*each)(const struct desk_key *, void *), void *ctx)
{
	const char *ch = desk_jstr(rec, "channel"), *d;
	size_t dlen;
	int64_t seq;
	struct desk_key k;
	jv evs = desk_jget(rec, "events");

	if (!ch || !desk_jstrn(rec, "delivery", &d, &dlen) ||
	    !desk_jint(rec, "seq", &seq) || seq < 1 ||
	    jv_get_kind(evs) != JV_KIND_ARRAY)
		return 0;
	desk_key_hook_seq(&k, (uint64_t)seq);
	each(&k, ctx);
	desk_key_hook_delivery(&k, ch, d, dlen);
	each(&k, ctx);
	jv_array_foreach(evs, i, ev) {
		const char *id, *type = desk_jstr(ev, "type");
		size_t idlen;
		if (desk_jstrn(ev, "id", &id, &idlen)) {
			desk_key_hook_event(&k, ch, type ? type : "message", id, idlen);
			each(&k, ctx);
		}
		jv_free(ev);
	}
	return 1;
}

struct namer {
	void (*each)(const struct desk_key *, const char *, void *);
	void *ctx;
	int64_t id;
};

static void
user_key_name(const struct desk_key *k, const char *what, void *ctx)
{
	struct namer *n = ctx;
	char name[96];

	snprintf(name, sizeof name, "%s of user %lld", what, (long long)n->id);
	n->each(k, name, n->ctx);
}

static void
hook_key_name(const struct desk_key *k, void *ctx)
{
	struct namer *n = ctx;

	n->each(k, "a key of a delivery serve accepted", n->ctx);
}

void
desk_rec_keys(struct desk_store *st, jv rec, void (*each)(const struct desk_key *,
    const char *, void *), void *ctx)
{
	const char *type = desk_jstr(rec, "rec"), *ch = desk_jstr(rec, "channel");
	const char *s, *id;
	char name[200];
	struct desk_key k;
	size_t n;
	int64_t v, user;

	if (!type)
		return;
	if (desk_event_rec_key(st, &k, rec)) {
		desk_jstrn(rec, "event_id", &id, &n);
		s = desk_jstr(rec, "event_scope");
		snprintf(name, sizeof name, "the %s event %.*s", s,
		    (int)(n > 64 ? 64 : n), id);
		each(&k, name, ctx);
	}
	if (!strcmp(type, "message") && desk_conv_rec_key(&k, rec)) {
		desk_jstrn(rec, "conversation_id", &id, &n);
		snprintf(name, sizeof name, "the conversation %.*s of channel %.64s",
		    (int)(n > 64 ? 64 : n), id, ch);
		each(&k, name, ctx);
	}
	if (!strcmp(type, "user") && desk_jint(rec, "user_id", &v))
		desk_user_keys(rec, user_key_name, &(struct namer){ each, ctx, v });
	else if (!strcmp(type, "case") && ch && desk_jint(rec, "user_id", &user) &&
	    desk_jint(rec, "case_id", &v)) {
		desk_key_last(st, &k, (uint64_t)user, ch);
		snprintf(name, sizeof name, "user %lld's last case on channel %.64s "
		    "(case %lld)", (long long)user, ch, (long long)v);
		each(&k, name, ctx);
		desk_key_chan(&k, ch);
		snprintf(name, sizeof name, "the newest case of channel %.64s "
		    "(case %lld or later)", ch, (long long)v);
		each(&k, name, ctx);
	} else if (!strcmp(type, "code") && (s = desk_jstr(rec, "hash")) &&
	    desk_jint(rec, "code_id", &v)) {
		unsigned char h[32];
		if (sodium_hex2bin(h, sizeof h, s, strlen(s), NULL, &n, NULL) == 0 &&
		    n == sizeof h) {
			desk_key_code(&k, h);
			snprintf(name, sizeof name, "the hash of code %lld", (long long)v);
			each(&k, name, ctx);
		}
	} else if (!strcmp(type, "ident")) {
		if (ch) {
			desk_code_throttle_key(&k, ch);
			snprintf(name, sizeof name, "the identification throttle of "
			    "channel %.64s", ch);
			each(&k, name, ctx);
		}
		desk_code_throttle_key(&k, NULL);
		each(&k, "the identification throttle of the store", ctx);
	} else if (!strcmp(type, "delivery") && desk_jint(rec, "out_id", &v) &&
	    v > 0) {
		desk_key_delivery(&k, (uint64_t)v);
		snprintf(name, sizeof name, "the latest delivery of outbox %lld",
		    (long long)v);
		each(&k, name, ctx);
	} else if (!strcmp(type, "rotation") && (s = desk_jstr(rec, "team"))) {
		desk_key_rotation(&k, s);
		snprintf(name, sizeof name, "the rotation of team %.64s", s);
		each(&k, name, ctx);
	} else if (!strcmp(type, "rulemark") && (s = desk_jstr(rec, "rule")) &&
	    desk_jint(rec, "case_id", &v) && v > 0) {
		desk_key_rulemark(&k, s, (uint64_t)v);
		snprintf(name, sizeof name, "the mark of rule %.64s on case %lld", s,
		    (long long)v);
		each(&k, name, ctx);
	}
	/* Whatever queues or delivers moves the due list's ends. */
	if (!strcmp(type, "delivery") || !strcmp(type, "command") ||
	    (!strcmp(type, "message") && desk_jint(rec, "out_id", &v))) {
		desk_key_due(&k, "head");
		each(&k, "the due list's head", ctx);
		desk_key_due(&k, "tail");
		each(&k, "the due list's tail", ctx);
	}
	/* serve's deliveries: the keys a hook points at itself, and the marks. */
	if (!strcmp(type, "hook")) {
		desk_hook_keys(rec, hook_key_name, &(struct namer){ each, ctx, 0 });
		desk_key_hook_mark(&k, DESK_HOOK_HEAD);
		each(&k, "serve's head mark", ctx);
	} else if (!strcmp(type, "emitted")) {
		desk_key_hook_mark(&k, DESK_HOOK_EMITTED);
		each(&k, "serve's emitted mark", ctx);
	}
}
