/*
 * outbox.c: the delivery state of the outbox (desk-webhook send, dead,
 * outbox). Each attempt is written as delivery records (desk-store(5)):
 * "inflight" before the request goes out, then "delivered", "retry" or
 * "dead" once its answer is in. The schema keeps every entry that is not
 * delivered or dead on the due list, so finding work reads only those.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "domain/domain.h"

void
desk_webhook_id(jv m, uint64_t oid, char out[DESK_WEBHOOK_ID_LEN + 1])
{
	/*
	 * Derived from the entry's message record, which never changes, so
	 * every attempt, every process and a replay after a crash send the
	 * same id: the receiver's idempotency key.
	 */
	unsigned char h[16];
	const char *ch = desk_jstr(m, "channel"), *at = desk_jstr(m, "created_at");
	int64_t mid = 0, cid = 0;
	struct desk_key k;

	desk_jint(m, "message_id", &mid);
	desk_jint(m, "case_id", &cid);
	char ids[64];
	int n = snprintf(ids, sizeof ids, "%llu.%lld.%lld", (unsigned long long)oid,
	    (long long)mid, (long long)cid);
	desk_key(&k, "webhook-id", 3, ids, (size_t)n, ch ? ch : "",
	    ch ? strlen(ch) : (size_t)0, at ? at : "", at ? strlen(at) : (size_t)0);
	memcpy(h, k.h, sizeof h);
	memcpy(out, "msg_", 4);
	desk_hex(h, sizeof h, out + 4);
	out[DESK_WEBHOOK_ID_LEN] = '\0';
}

jv
desk_outbox_message(struct desk_store *st, uint64_t oid, struct desk_out_slot *o)
{
	struct desk_out_slot s;

	if (!desk_out_slot(st, oid, &s))
		return jv_invalid();
	if (o)
		*o = s;
	jv m = desk_record(st, DESK_T_OUT, oid, NULL);
	if (!jv_is_valid(m))
		return m;
	/* What desk_reply_add added to the event but the record leaves out. */
	m = desk_jset_int(m, "message_id", (int64_t)s.message_id);
	return m;
}

void
desk_due_each(struct desk_store *st, void (*each)(uint64_t oid,
    const struct desk_out_slot *o, void *ctx), void *ctx)
{
	struct desk_out_slot o;

	for (uint64_t id = desk_due_first(st); id && desk_out_slot(st, id, &o);
	    id = o.next)
		each(id, &o, ctx);
}

void
desk_delivery_put(struct desk_store *st, uint64_t oid, enum desk_dstate state,
    jv d, int64_t now)
{
	jv r = jv_object();

	r = desk_jset_str(r, "rec", "delivery");
	r = desk_jset_int(r, "out_id", (int64_t)oid);
	r = desk_jset_str(r, "state", desk_dstate_name(state));
	r = desk_jset(r, "at", desk_jtime(now));
	if (jv_get_kind(d) == JV_KIND_OBJECT)
		jv_object_foreach(d, k, v) {
			const char *key = jv_string_value(k);
			if (strcmp(key, "rec") && strcmp(key, "out_id") &&
			    strcmp(key, "state") && strcmp(key, "at"))
				r = jv_object_set(r, k, v);
			else {
				jv_free(k);
				jv_free(v);
			}
		}
	jv_free(d);
	desk_log_add(st, r);
	jv_free(r);
}

/* One entry as `outbox` shows it: its message.out with its state. */
static jv
entry_view(struct desk_store *st, uint64_t oid)
{
	struct desk_out_slot o;
	char wid[DESK_WEBHOOK_ID_LEN + 1];
	jv m = desk_outbox_message(st, oid, &o);

	if (!jv_is_valid(m))
		return m;
	jv v = desk_outbox_event(m);
	desk_webhook_id(m, oid, wid);
	jv_free(m);
	v = desk_jset_str(v, "state", desk_dstate_name(o.state));
	v = desk_jset_int(v, "attempt", (int64_t)o.attempt);
	v = desk_jset_str(v, "webhook_id", wid);
	if (o.state == DESK_DS_RETRY)
		v = desk_jset(v, "next_attempt_at", desk_jtime(o.due));
	jv last = desk_delivery_last(st, oid);
	static const char *const keys[] = { "http_status", "error", "remote_id" };
	for (int i = 0; i < 3; i++) {
		jv x = desk_jget(last, keys[i]);
		if (jv_is_valid(x) && jv_get_kind(x) != JV_KIND_NULL)
			v = desk_jset(v, keys[i], jv_copy(x));
	}
	if (jv_is_valid(last))
		v = desk_jset(v, "state_at", jv_copy(desk_jget(last, "at")));
	jv_free(last);
	return v;
}

struct ids {
	uint64_t *v;
	size_t n, cap;
};

static void
add_id(uint64_t oid, const struct desk_out_slot *o, void *ctx)
{
	struct ids *s = ctx;

	(void)o;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = desk_xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = oid;
}

static int
by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

jv
desk_outbox(struct desk_store *st, int which)
{
	struct ids ids = { NULL, 0, 0 };
	jv list = jv_array();

	if (which == DESK_OUTBOX_QUEUED)
		desk_due_each(st, add_id, &ids);    /* the due list: no scan */
	else {
		struct desk_out_slot o;
		uint64_t end = desk_slot_end(st, DESK_T_OUT);
		for (uint64_t id = 1; id < end; id++)
			if (desk_out_slot(st, id, &o) && (which == DESK_OUTBOX_ALL ||
			    o.state == DESK_DS_DEAD))
				add_id(id, &o, &ids);
	}
	if (ids.n)
		qsort(ids.v, ids.n, sizeof *ids.v, by_id);
	for (size_t i = 0; i < ids.n; i++) {
		jv v = entry_view(st, ids.v[i]);
		if (jv_is_valid(v))
			list = jv_array_append(list, v);
	}
	free(ids.v);
	return list;
}

int
desk_dead_retry(struct desk_store *st, uint64_t oid, int64_t now,
    struct desk_err *e)
{
	struct desk_out_slot o;

	if (desk_store_lock(st) < 0)
		return desk_store_err(st, e);
	if (!desk_out_slot(st, oid, &o))
		return desk_err_set(e, DESK_EX_NO, "out_id", "no outbox entry %llu",
		    (unsigned long long)oid);
	if (o.state != DESK_DS_DEAD)
		return desk_err_set(e, DESK_EX_DATA, "out_id", "outbox %llu is %s, "
		    "not dead", (unsigned long long)oid, desk_dstate_name(o.state));
	/* Attempts start again from the beginning of the schedule. */
	desk_delivery_put(st, oid, DESK_DS_PENDING,
	    desk_jset_str(jv_object(), "reason", "dead retry"), now);
	return desk_store_err(st, e);
}

struct gone {
	struct desk_store *st;
	const char *channel;
	struct ids ids;
};

static void
gone_each(uint64_t oid, const struct desk_out_slot *o, void *ctx)
{
	struct gone *g = ctx;
	jv m = desk_log_get(g->st, o->rec);
	const char *ch = desk_jstr(m, "channel");

	if (ch && !strcmp(ch, g->channel))
		add_id(oid, o, &g->ids);
	jv_free(m);
}

int
desk_channel_gone(struct desk_store *st, const char *channel, int http_status,
    int64_t now, struct desk_err *e)
{
	struct gone g = { st, channel, { NULL, 0, 0 } };
	char why[160];

	if (desk_store_lock(st) < 0)
		return desk_store_err(st, e);
	jv ch = desk_channel_get(st, channel);
	if (!jv_is_valid(ch))
		return desk_err_set(e, DESK_EX_CONFIG, "channel", "no channel %s",
		    channel);
	snprintf(why, sizeof why, "the receiver answered %d Gone: channel %s "
	    "deactivated", http_status, channel);
	ch = desk_jset(ch, "active", jv_false());
	ch = desk_jset_str(ch, "inactive_reason", why);
	ch = desk_jset(ch, "updated_at", desk_jtime(now));
	int r = desk_channel_put(st, ch);
	jv_free(ch);
	if (r < 0)
		return desk_err_set(e, DESK_EX_IOERR, "channel", "%s/channels/%s.json: "
		    "%s", desk_store_root(st), channel, strerror(errno));
	desk_store_dirty(st);
	desk_due_each(st, gone_each, &g);
	for (size_t i = 0; i < g.ids.n; i++) {
		struct desk_out_slot o;
		if (!desk_out_slot(st, g.ids.v[i], &o))
			continue;
		jv d = desk_jset_str(jv_object(), "error", why);
		d = desk_jset_int(d, "attempt", (int64_t)o.attempt);
		desk_delivery_put(st, g.ids.v[i], DESK_DS_DEAD, d, now);
	}
	free(g.ids.v);
	return desk_store_err(st, e);
}

int
desk_sender_lock(struct desk_store *st, struct desk_err *e)
{
	int fd = desk_store_open_file(st, "send_lock", O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return desk_err_set(e, DESK_EX_IOERR, NULL, "%s/send_lock: %s",
		    desk_store_root(st), strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		close(fd);
		if (err == EWOULDBLOCK)
			return desk_err_set(e, DESK_EX_TEMPFAIL, NULL, "another "
			    "desk-webhook send is delivering from %s; try later",
			    desk_store_root(st));
		return desk_err_set(e, DESK_EX_IOERR, NULL, "%s/send_lock: %s",
		    desk_store_root(st), strerror(err));
	}
	return fd;
}

/*
 * The changes of a case that its platform mirrors: a Blip ticket is
 * assigned (Open, with the agent) and finalised (ClosedAttendant); a
 * Chat2Desk dialog is closed. A custom channel's app reads the case itself.
 */
int
desk_case_mirrored(const char *connector, const char *command)
{
	if (!connector)
		return 0;
	if (!strcmp(connector, "blip"))
		return 1;
	return !strcmp(connector, "chat2desk") && !strcmp(command, "close");
}

int
desk_case_command(struct desk_store *st, uint64_t case_id, const char *command,
    jv agent, int64_t now)
{
	static const char *const keys[] = { "channel", "external" };
	jv kase = desk_record_members(st, DESK_T_CASE, case_id, keys, 2);
	const char *chname = desk_jstr(kase, "channel");
	jv ch = chname ? desk_channel_get(st, chname) : jv_invalid();
	int queued = 0;

	if (jv_is_valid(ch) && desk_case_mirrored(desk_jstr(ch, "connector"),
	    command)) {
		jv r = jv_object();
		r = desk_jset_str(r, "rec", "command");
		r = desk_jset_int(r, "out_id", (int64_t)desk_store_newid(st, DESK_OUT));
		r = desk_jset_int(r, "case_id", (int64_t)case_id);
		r = desk_jset_str(r, "channel", chname);
		r = desk_jset_str(r, "command", command);
		if (jv_is_valid(agent) && jv_get_kind(agent) != JV_KIND_NULL)
			r = desk_jset(r, "agent", jv_copy(agent));
		r = desk_jset_str(r, "connector", desk_jstr(ch, "connector"));
		jv ext = desk_jget(kase, "external");
		r = desk_jset(r, "external", jv_get_kind(ext) == JV_KIND_OBJECT ?
		    jv_copy(ext) : jv_object());
		r = desk_jset(r, "created_at", desk_jtime(now));
		desk_log_add(st, r);
		jv_free(r);
		queued = 1;
	}
	jv_free(ch);
	jv_free(kase);
	return queued;
}

jv
desk_outbox_event(jv m)
{
	static const char *const keys[] = { "out_id", "case_id", "channel",
		"connector", "external", "command", "agent", "created_at" };

	if (!desk_jhas(m, "command"))
		return desk_message_out(m);
	jv o = desk_jset_str(jv_object(), "type", "case.command");
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		jv v = desk_jget(m, keys[i]);
		if (jv_is_valid(v))
			o = desk_jset(o, keys[i], jv_copy(v));
	}
	return o;
}
