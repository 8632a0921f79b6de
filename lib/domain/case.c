/*
 * case.c: cases, the last-chat rule that picks a user's case, messages, and
 * event idempotency.
 */
#include <stdlib.h>
#include <string.h>

#include "domain/domain.h"

static jv
with_rec(const char *type, jv rec)
{
	jv out = jv_object_set(jv_object(), jv_string("rec"), jv_string(type));

	return jv_object_merge(out, desk_jdel(rec, "rec"));
}

uint64_t
desk_case_survivor(struct desk_store *st, uint64_t id)
{
	struct desk_case_slot c;

	/* Bounded: merges cannot form a cycle, but a damaged store might. */
	for (int hops = 0; hops < 1000; hops++) {
		if (!desk_case_slot(st, id, &c) || !c.merged_into)
			return id;
		id = c.merged_into;
	}
	desk_die(DESK_EX_IOERR, "%s: case %llu: merged_into forms a cycle "
	    "(run desk-case fsck)", desk_store_root(st), (unsigned long long)id);
}

jv
desk_case_record(struct desk_store *st, uint64_t id)
{
	return desk_record(st, DESK_T_CASE, id, NULL);
}

jv
desk_case_get(struct desk_store *st, uint64_t id)
{
	struct desk_case_slot c;
	struct desk_slot s;
	jv rec = desk_record(st, DESK_T_CASE, id, &s);

	if (!jv_is_valid(rec))
		return rec;
	desk_case_from_slot(&s, &c);
	rec = desk_event_strip(rec);
	rec = desk_jset(rec, "updated_at", desk_jtime(c.updated_at));
	rec = desk_jset_int(rec, "message_count", c.count);
	return desk_jset(rec, "last_message_id",
	    c.head ? jv_number((double)c.head) : jv_null());
}

jv
desk_event_strip(jv rec)
{
	rec = desk_jdel(rec, "event_id");
	rec = desk_jdel(rec, "event_scope");
	return desk_jdel(rec, "event_channel");
}

void
desk_case_save(struct desk_store *st, jv rec, const struct desk_evid *ev,
    int64_t now)
{
	if (ev) {
		rec = desk_jset(rec, "event_id", desk_jstring(ev->id, ev->idlen));
		rec = desk_jset_str(rec, "event_scope", ev->scope);
		rec = ev->channel ? desk_jset_str(rec, "event_channel", ev->channel) :
		    desk_jdel(rec, "event_channel");
	} else
		rec = desk_event_strip(rec);
	rec = desk_jset(rec, "updated_at", desk_jtime(now));
	rec = with_rec("case", rec);
	desk_log_add(st, rec);
	jv_free(rec);
}

static uint64_t
case_new(struct desk_store *st, uint64_t user_id, const char *channel,
    const char *subject, int64_t now)
{
	uint64_t id = desk_store_newid(st, DESK_CASE);
	jv c = jv_object();

	c = desk_jset_str(c, "rec", "case");
	c = desk_jset_int(c, "case_id", (int64_t)id);
	c = desk_jset_int(c, "user_id", (int64_t)user_id);
	c = desk_jset_str(c, "channel", channel);
	c = desk_jset_str(c, "status", "open");
	c = desk_jset_str(c, "subject", subject);
	c = desk_jset(c, "assignee", jv_null());
	c = desk_jset(c, "team", jv_null());
	c = desk_jset(c, "fields", jv_object());
	c = desk_jset(c, "merged_into", jv_null());
	c = desk_jset(c, "created_at", desk_jtime(now));
	c = desk_jset(c, "updated_at", desk_jtime(now));
	desk_log_add(st, c);
	jv_free(c);
	return id;
}

uint64_t
desk_case_for(struct desk_store *st, uint64_t user_id, const char *channel,
    const char *subject, int64_t now, int *created)
{
	struct desk_case_slot c;
	struct desk_key k;
	uint64_t last;

	desk_key_last(&k, user_id, channel);
	if (desk_hx_get(st, &k, &last, NULL)) {
		uint64_t id = desk_case_survivor(st, last);
		if (desk_case_slot(st, id, &c) && c.status != DESK_CLOSED) {
			*created = 0;
			return id;
		}
	}
	*created = 1;
	return case_new(st, user_id, channel, subject, now);
}

/* Records a conversation's external ids on the case when they are news. */
static void
note_external(struct desk_store *st, uint64_t cid, jv x, int64_t now)
{
	if (jv_get_kind(x) != JV_KIND_OBJECT || !jv_object_length(jv_copy(x)))
		return;
	jv rec = desk_case_record(st, cid);
	jv cur = jv_copy(desk_jget(rec, "external"));
	if (jv_get_kind(cur) != JV_KIND_OBJECT) {
		jv_free(cur);
		cur = jv_object();
	}
	jv merged = jv_object_merge(jv_copy(cur), jv_copy(x));
	/* Ids pile up over a long conversation: past the limit, the latest win. */
	if (desk_json_size(merged) > DESK_MAX_EXTERNAL_SIZE) {
		jv_free(merged);
		merged = jv_copy(x);
	}
	if (jv_equal(jv_copy(merged), cur)) {
		jv_free(merged);
		jv_free(rec);
		return;
	}
	rec = desk_jset(rec, "external", merged);
	desk_case_save(st, rec, NULL, now);
}

jv
desk_user_message(struct desk_store *st, uint64_t uid, const char *channel,
    const char *subject, jv external, jv msg, int64_t now)
{
	int created;
	struct desk_case_slot cs;
	uint64_t cid = desk_case_for(st, uid, channel, subject, now, &created);

	note_external(st, cid, external, now);
	desk_case_slot(st, cid, &cs);
	jv m = jv_object();
	m = desk_jset_int(m, "user_id", (int64_t)uid);
	m = desk_jset_int(m, "staff_id", 0);
	m = desk_jset_str(m, "channel", channel);
	m = desk_jset_int(m, "sent_via_rule", 0);
	m = jv_object_merge(m, msg);
	m = desk_jset_str(m, "trigger", created ? "new" : "updated");
	m = desk_jset_str(m, "case_status", desk_status_name(cs.status));
	uint64_t mid = desk_message_add(st, cid, jv_copy(m), now);
	m = desk_jset_int(m, "message_id", (int64_t)mid);
	return desk_jset_int(m, "case_id", (int64_t)cid);
}

uint64_t
desk_message_add(struct desk_store *st, uint64_t case_id, jv msg, int64_t now)
{
	uint64_t id = desk_store_newid(st, DESK_MESSAGE);
	jv m = jv_object();

	m = desk_jset_str(m, "rec", "message");
	m = desk_jset_int(m, "message_id", (int64_t)id);
	m = desk_jset_int(m, "case_id", (int64_t)case_id);
	m = jv_object_merge(m, msg);
	m = desk_jset(m, "created_at", desk_jtime(now));
	desk_log_add(st, m);
	jv_free(m);
	return id;
}

jv
desk_message_get(struct desk_store *st, uint64_t id)
{
	return desk_record(st, DESK_T_MESSAGE, id, NULL);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Message ids of case id and of every case merged into it. */
static void
collect(struct desk_store *st, uint64_t id, uint64_t **ids, size_t *n,
    size_t *cap, int depth)
{
	struct desk_case_slot c;
	struct desk_slot m;

	if (depth > 1000 || !desk_case_slot(st, id, &c))
		return;
	for (uint64_t mid = c.head, left = c.count; mid && left;
	    mid = m.b, left--) {
		if (!desk_slot_get(st, DESK_T_MESSAGE, mid, &m))
			break;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 64;
			*ids = desk_xrealloc(*ids, *cap * sizeof **ids);
		}
		(*ids)[(*n)++] = mid;
	}
	jv rec = desk_case_record(st, id);
	jv from = desk_jget(rec, "merged_from");
	if (jv_get_kind(from) == JV_KIND_ARRAY)
		jv_array_foreach(from, i, f) {
			if (jv_get_kind(f) == JV_KIND_NUMBER && jv_number_value(f) >= 1 &&
			    jv_number_value(f) < 9007199254740992.0)
				collect(st, (uint64_t)jv_number_value(f), ids, n, cap,
				    depth + 1);
			jv_free(f);
		}
	jv_free(rec);
}

jv
desk_case_messages(struct desk_store *st, uint64_t id)
{
	uint64_t *ids = NULL;
	size_t n = 0, cap = 0;
	jv out = jv_array();

	collect(st, id, &ids, &n, &cap, 0);
	if (n)    /* qsort must not be given NULL, even for nothing */
		qsort(ids, n, sizeof *ids, cmp_u64);
	for (size_t i = 0; i < n; i++) {
		jv m = desk_message_get(st, ids[i]);
		if (jv_is_valid(m))
			out = jv_array_append(out, m);
	}
	free(ids);
	return out;
}

