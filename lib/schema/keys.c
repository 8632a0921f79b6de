/*
 * keys.c: index keys that more than one module builds (apply, fsck, the
 * domain), defined once here, and the lookup of a processed event by its
 * key.
 */
#include <string.h>

#include "schema/schema.h"

void
desk_event_key(struct desk_key *k, const char *scope, const char *channel,
    const char *id, size_t idlen)
{
	if (strcmp(scope, "message") && strcmp(scope, "status"))
		channel = "";
	if (!channel)
		channel = "";
	desk_key(k, "event", 3, scope, strlen(scope), channel, strlen(channel),
	    id, idlen);
}

int
desk_event_rec_key(struct desk_key *k, jv rec)
{
	const char *scope = desk_jstr(rec, "event_scope"), *id, *ch = NULL;
	size_t idlen;

	if (!scope || !desk_jstrn(rec, "event_id", &id, &idlen))
		return 0;
	/* Only status events name something other than the record's channel. */
	if (!strcmp(scope, "status"))
		ch = desk_jstr(rec, "event_channel");
	desk_event_key(k, scope, ch ? ch : desk_jstr(rec, "channel"), id, idlen);
	return 1;
}

jv
desk_event_seen(struct desk_store *st, const char *scope, const char *channel,
    const char *id, size_t idlen)
{
	struct desk_key k, rk;
	uint64_t pos;
	uint32_t len;

	desk_event_key(&k, scope, channel, id, idlen);
	if (!desk_hx_get(st, &k, &pos, &len))
		return jv_invalid();
	jv rec = desk_log_get(st, (struct desk_loc){ pos, len });
	/* Check that the record really is this event's: never trust a pointer. */
	if (jv_is_valid(rec) && desk_event_rec_key(&rk, rec) &&
	    !memcmp(rk.h, k.h, sizeof k.h))
		return rec;
	jv_free(rec);
	return jv_invalid();
}

void
desk_code_throttle_key(struct desk_key *k, const char *channel)
{
	if (channel)
		desk_key(k, "ithrottle", 1, channel, strlen(channel));
	else
		desk_key(k, "ithrottle", 0);
}
