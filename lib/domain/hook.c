/*
 * hook.c: the deliveries desk-webhook serve accepts. Each is one "hook"
 * record (its channel, webhook-id, time, raw body and the events it
 * brought) numbered in arrival order; an "emitted" record says how far
 * they have been written out, so that a restart writes out the rest. The
 * keys that find them are the schema's (keys.c, desk_hook_keys).
 */
#include <string.h>

#include "domain/domain.h"

static uint64_t
mark(struct desk_store *st, const char *which)
{
	struct desk_key k;
	uint64_t v;

	desk_key_hook_mark(&k, which);
	return desk_hx_get(st, &k, &v, NULL) ? v : 0;
}

void
desk_hook_marks(struct desk_store *st, uint64_t *head, uint64_t *emitted)
{
	*head = mark(st, DESK_HOOK_HEAD);
	*emitted = mark(st, DESK_HOOK_EMITTED);
}

/* An event of channel accepted before, by its type and id. */
static int
event_seen(struct desk_store *st, const char *channel, jv ev)
{
	struct desk_key k;
	const char *id, *type = desk_jstr(ev, "type");
	size_t n;

	if (!desk_jstrn(ev, "id", &id, &n))
		return 0;
	desk_key_hook_event(&k, channel, type ? type : "message", id, n);
	return desk_hx_get(st, &k, &(uint64_t){ 0 }, NULL);
}

int
desk_hook_accept(struct desk_store *st, const struct desk_hook *h, jv events,
    uint64_t *seq, jv *fresh, struct desk_err *e)
{
	struct desk_key k;

	desk_key_hook_delivery(&k, h->channel, h->delivery, h->dlen);
	if (desk_hx_get(st, &k, &(uint64_t){ 0 }, NULL)) {
		jv_free(events);
		return 0;
	}
	jv keep = jv_array();
	jv_array_foreach(events, i, ev) {
		if (event_seen(st, h->channel, ev))
			jv_free(ev);
		else
			keep = jv_array_append(keep, ev);
	}
	jv_free(events);
	if (jv_array_length(jv_copy(keep)) == 0) {
		jv_free(keep);
		return 0;
	}
	*seq = mark(st, DESK_HOOK_HEAD) + 1;
	jv rec = jv_object();
	rec = desk_jset_str(rec, "rec", "hook");
	rec = desk_jset_int(rec, "seq", (int64_t)*seq);
	rec = desk_jset_str(rec, "channel", h->channel);
	rec = desk_jset(rec, "delivery", desk_jstring(h->delivery, h->dlen));
	rec = desk_jset(rec, "received_at", desk_jtime(h->received_at));
	rec = desk_jset(rec, "body", desk_jstring(h->body, h->len));
	rec = desk_jset(rec, "events", jv_copy(keep));
	/* Escaping can make a body six times longer: measure the big ones. */
	if (h->len > DESK_REC_MAX / 64 && desk_json_size(rec) + 1 > DESK_REC_MAX) {
		jv_free(rec);
		jv_free(keep);
		return desk_err_set(e, DESK_EX_DATA, "body", "%zu bytes make a "
		    "record over the store's limit of %u bytes", h->len,
		    DESK_REC_MAX);
	}
	desk_log_add(st, rec);
	jv_free(rec);
	*fresh = keep;
	return 1;
}

void
desk_hook_emitted(struct desk_store *st, uint64_t seq)
{
	jv rec = desk_jset_int(desk_jset_str(jv_object(), "rec", "emitted"),
	    "seq", (int64_t)seq);

	desk_log_add(st, rec);
	jv_free(rec);
}

jv
desk_hook_events(struct desk_store *st, uint64_t seq)
{
	struct desk_key k;
	uint64_t pos;
	uint32_t len;
	int64_t got;

	desk_key_hook_seq(&k, seq);
	if (!desk_hx_get(st, &k, &pos, &len))
		return jv_invalid_with_msg(jv_string_fmt("delivery %llu: not in "
		    "the index (run desk-case fsck)", (unsigned long long)seq));
	jv rec = desk_log_get(st, (struct desk_loc){ pos, len });
	if (!jv_is_valid(rec))
		return rec;
	/* Never trust a pointer: the record must be that delivery's. */
	const char *type = desk_jstr(rec, "rec");
	jv evs = desk_jget(rec, "events");
	if (!type || strcmp(type, "hook") || !desk_jint(rec, "seq", &got) ||
	    got != (int64_t)seq || jv_get_kind(evs) != JV_KIND_ARRAY) {
		jv_free(rec);
		return jv_invalid_with_msg(jv_string_fmt("delivery %llu: the index "
		    "points at another record (run desk-case fsck)",
		    (unsigned long long)seq));
	}
	jv out = jv_copy(evs);
	jv_free(rec);
	return out;
}
