/*
 * inbound.c: the events a channel sends: a message from a user, stored in
 * the case the last-chat rule picks, and a status change of a case. Each
 * checks the event it is given before anything is written.
 */
#include <stdio.h>
#include <string.h>

#include "domain/domain.h"

/*
 * A string field (v, the event's member key, borrowed), or absent (NULL)
 * when missing or null; -1 when the wrong type. NUL bytes were refused by
 * desk_err_sizes, which every verb here runs first: a C string of it is
 * the whole of it.
 */
static int
opt_str(jv v, const char *key, const char **out, struct desk_err *e)
{
	*out = NULL;
	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
		return 0;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return desk_err_set(e, DESK_EX_DATA, key, "must be a string");
	*out = jv_string_value(v);
	return 0;
}

/* An id from outside: a non-empty string (without NUL: desk_err_sizes). */
static int
ext_id(jv v, const char *key, int required, const char **s, size_t *n,
    struct desk_err *e)
{
	*s = NULL;
	*n = 0;
	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
		return required ? desk_err_set(e, DESK_EX_DATA, key, "missing") : 0;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return desk_err_set(e, DESK_EX_DATA, key, "must be a string (ids "
		    "from outside are never numbers: quote it)");
	*s = jv_string_value(v);
	*n = (size_t)jv_string_length_bytes(jv_copy(v));
	if (*n == 0)
		return desk_err_set(e, DESK_EX_DATA, key, "empty");
	return 0;
}

/* The event's channel: named, and known (78 to a command, else 65). */
static int
check_channel(struct desk_store *st, jv v, const char **name,
    struct desk_err *e)
{
	const char *ch;

	if (opt_str(v, "channel", &ch, e) < 0)
		return -1;
	if (!ch)
		return desk_err_set(e, DESK_EX_DATA, "channel", "missing");
	jv c = desk_channel_get(st, ch);
	if (!jv_is_valid(c))
		return desk_err_set(e, DESK_EX_CONFIG, "channel", "unknown channel "
		    "\"%s\" (see desk-webhook channel add)", ch);
	jv_free(c);
	*name = ch;
	return 0;
}

/* External conversation ids (a Chat2Desk dialog, a Blip ticket): strings. */
static int
check_external(jv x, struct desk_err *e)
{
	int r = 0;

	if (!jv_is_valid(x) || jv_get_kind(x) == JV_KIND_NULL)
		return 0;
	if (jv_get_kind(x) != JV_KIND_OBJECT)
		return desk_err_set(e, DESK_EX_DATA, "external",
		    "must be an object of ids");
	jv_object_foreach(x, k, v) {
		if (!r && jv_get_kind(v) != JV_KIND_STRING) {
			snprintf(e->fieldbuf, sizeof e->fieldbuf, "external.%.80s",
			    jv_string_value(k));
			r = desk_err_set(e, DESK_EX_DATA, e->fieldbuf, "must be a string");
		}
		jv_free(k);
		jv_free(v);
	}
	return r;
}

static int
check_attachments(jv a, int *have, struct desk_err *e)
{
	char *f = e->fieldbuf;
	size_t fn = sizeof e->fieldbuf;
	int r = 0;

	*have = 0;
	if (!jv_is_valid(a) || jv_get_kind(a) == JV_KIND_NULL)
		return 0;
	if (jv_get_kind(a) != JV_KIND_ARRAY)
		return desk_err_set(e, DESK_EX_DATA, "attachments", "must be an array");
	jv_array_foreach(a, i, x) {
		int64_t size;
		if (r < 0) {
			jv_free(x);
			continue;
		}
		if (jv_get_kind(x) != JV_KIND_OBJECT) {
			snprintf(f, fn, "attachments[%d]", i);
			r = desk_err_set(e, DESK_EX_DATA, f, "must be an object");
		} else if (!desk_jstr(x, "url") || !*desk_jstr(x, "url")) {
			snprintf(f, fn, "attachments[%d].url", i);
			r = desk_err_set(e, DESK_EX_DATA, f, "missing or not a string");
		} else if (desk_jhas(x, "file_size") &&
		    (!desk_jint(x, "file_size", &size) || size < 0)) {
			snprintf(f, fn, "attachments[%d].file_size", i);
			r = desk_err_set(e, DESK_EX_DATA, f,
			    "must be a whole number of bytes");
		}
		jv_free(x);
	}
	*have = !r && jv_array_length(jv_copy(a)) > 0;
	return r;
}

/* The text of a message: a string, kept whole (NUL and all); invalid when absent. */
static int
opt_content(jv v, jv *content, struct desk_err *e)
{
	*content = v;
	if (jv_get_kind(*content) == JV_KIND_NULL)
		*content = jv_invalid();
	if (jv_is_valid(*content) && jv_get_kind(*content) != JV_KIND_STRING)
		return desk_err_set(e, DESK_EX_DATA, "content", "must be a string");
	return 0;
}

/* User data the message brings: an object of fields (borrowed), or invalid. */
static int
opt_fields(jv v, jv *fields, struct desk_err *e)
{
	*fields = v;
	if (!jv_is_valid(*fields) || jv_get_kind(*fields) == JV_KIND_NULL) {
		*fields = jv_invalid();
		return 0;
	}
	if (jv_get_kind(*fields) != JV_KIND_OBJECT)
		return desk_err_set(e, DESK_EX_DATA, "fields", "must be an object");
	return 0;
}

/* The parts of an inbound message, checked. */
struct inmsg {
	struct desk_who w;
	const char *subject, *id, *conv;
	size_t idlen, convlen;
	jv content;       /* borrowed, or invalid */
	jv attachments, external;   /* borrowed, or invalid */
	int attach;
};

const char *const desk_added_keys[DESK_NADDED] = { "user_id", "case_id",
	"message_id", "trigger", "case_status", "linked_users", "not_linked",
	"user_custom_id", "duplicate" };

/*
 * The members a message may have, read in one walk over it, and those
 * desk-case adds that it may have already (user_custom_id is both).
 */
enum { M_CHANNEL, M_CONV, M_UCID, M_ID, M_CONTENT, M_SUBJECT, M_EMAIL,
	M_PHONE, M_NAME, M_COMPANY, M_ATTACH, M_EXTERNAL, M_FIELDS, M_ADDED,
	M_N = M_ADDED + DESK_NADDED - 1 };
static const char *const message_keys[M_N] = { "channel", "conversation_id",
	"user_custom_id", "id", "content", "subject", "email", "phone", "name",
	"company", "attachments", "external", "fields", "user_id", "case_id",
	"message_id", "trigger", "case_status", "linked_users", "not_linked",
	"duplicate" };

/* Which of desk_added_keys ev has, from message_check's walk (f). */
static unsigned
added_had(const jv *f)
{
	unsigned had = 0;

	for (int i = 0, j = M_ADDED; i < DESK_NADDED; i++)
		if (jv_is_valid(i == DESK_ADD_UCID ? f[M_UCID] : f[j++]))
			had |= 1u << i;
	return had;
}

static int
message_check(struct desk_store *st, jv ev, struct inmsg *m, unsigned *had,
    struct desk_err *e)
{
	struct desk_who *w = &m->w;
	jv f[M_N];

	int sizes = desk_err_sizes_gets(ev, message_keys, M_N, f, e);
	*had = added_had(f);
	m->attachments = f[M_ATTACH];
	m->external = f[M_EXTERNAL];
	if (sizes < 0 ||
	    check_channel(st, f[M_CHANNEL], &w->channel, e) < 0 ||
	    ext_id(f[M_CONV], "conversation_id", 0, &m->conv, &m->convlen, e) < 0 ||
	    ext_id(f[M_UCID], "user_custom_id", !m->conv, &w->ucid, &w->ucidlen,
	    e) < 0 ||
	    ext_id(f[M_ID], "id", 0, &m->id, &m->idlen, e) < 0 ||
	    opt_content(f[M_CONTENT], &m->content, e) < 0 ||
	    opt_str(f[M_SUBJECT], "subject", &m->subject, e) < 0 ||
	    opt_str(f[M_EMAIL], "email", &w->email, e) < 0 ||
	    opt_str(f[M_PHONE], "phone", &w->phone, e) < 0 ||
	    opt_str(f[M_NAME], "name", &w->name, e) < 0 ||
	    opt_str(f[M_COMPANY], "company", &w->company, e) < 0 ||
	    check_attachments(f[M_ATTACH], &m->attach, e) < 0 ||
	    check_external(f[M_EXTERNAL], e) < 0 ||
	    opt_fields(f[M_FIELDS], &w->fields, e) < 0)
		return -1;
	if ((!jv_is_valid(m->content) ||
	    !jv_string_length_bytes(jv_copy(m->content))) && !m->attach)
		return desk_err_set(e, DESK_EX_DATA, "content",
		    jv_is_valid(m->content) ? "empty, and no attachments" :
		    "missing, and no attachments");
	return 0;
}

/*
 * The user of a conversation that only names itself (a Blip customer's
 * message carries its ticket, not the customer): the user of the case its
 * first message went to, and their user_custom_id on the channel, which
 * borrows *user (owned by the caller: free it).
 */
static int
conversation_user(struct desk_store *st, struct inmsg *m, jv *user,
    struct desk_err *e)
{
	struct desk_key k;
	struct desk_case_slot cs;
	uint64_t cid;

	*user = jv_invalid();
	desk_key_conv(&k, m->w.channel, m->conv, m->convlen);
	if (!desk_hx_get(st, &k, &cid, NULL) || !desk_case_slot(st, cid, &cs))
		return desk_err_set(e, DESK_EX_DATA, "conversation_id", "no case "
		    "has this conversation on channel %s yet, and there is no "
		    "user_custom_id", m->w.channel);
	*user = desk_user_get(st, cs.user_id);
	jv ids = desk_jget(*user, "custom_ids");
	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, p) {
			/* p is the array's too: what it points at outlives this copy. */
			const char *ch = desk_jstr(p, "channel");
			if (!m->w.ucid && ch && !strcmp(ch, m->w.channel))
				desk_jstrn(p, "user_custom_id", &m->w.ucid, &m->w.ucidlen);
			jv_free(p);
		}
	if (!m->w.ucid)
		return desk_err_set(e, DESK_EX_DATA, "conversation_id", "the user "
		    "of this conversation's case has no user_custom_id on channel %s",
		    m->w.channel);
	return 0;
}

void
desk_received_free(struct desk_received *r)
{
	for (int i = 0; i < DESK_NADDED; i++)
		jv_free(r->v[i]);
}

/* A replay's: what the first run stored, and duplicate. */
static int
replayed(jv seen, struct desk_received *r)
{
	jv v[DESK_NADDED - 1];

	desk_jgets(seen, desk_added_keys, DESK_NADDED - 1, v);
	for (int i = 0; i < DESK_NADDED - 1; i++)
		r->v[i] = jv_copy(v[i]);
	r->v[DESK_ADD_DUPLICATE] = jv_true();
	jv_free(seen);
	return 0;
}

static int
message_receive_unchecked(struct desk_store *st, jv ev, struct desk_received *r,
    struct desk_err *e)
{
	struct inmsg in = { .w = { 0 } };

	for (int i = 0; i < DESK_NADDED; i++)
		r->v[i] = jv_invalid();
	if (message_check(st, ev, &in, &r->had, e) < 0)
		return -1;
	desk_store_lock(st);
	/*
	 * The user first: a message's event key is kept near its user's keys.
	 * A conversation that names no case yet has had no message.
	 */
	jv conv_user = jv_invalid();
	uint64_t seen_by = 0;
	if (!in.w.ucid && conversation_user(st, &in, &conv_user, e) < 0) {
		jv_free(conv_user);
		return -1;
	}
	if (in.id) {
		int64_t cu;
		if (jv_is_valid(conv_user))
			seen_by = desk_jint(conv_user, "user_id", &cu) && cu > 0 ?
			    (uint64_t)cu : 0;
		else {
			seen_by = desk_user_by_custom_id(st, in.w.channel, in.w.ucid,
			    in.w.ucidlen);
			in.w.found = 1;    /* for desk_user_resolve: not looked up twice */
			in.w.uid = seen_by;
		}
		jv seen = desk_event_seen(st, "message", in.w.channel, in.id,
		    in.idlen, seen_by);
		if (jv_is_valid(seen)) {
			jv_free(conv_user);
			return replayed(seen, r);
		}
	}
	int64_t now = desk_now();
	jv report;
	uint64_t uid = desk_user_resolve(st, &in.w, now, &report);
	if (!uid) {
		const char *f = desk_jstr(report, "field");
		if (f)
			snprintf(e->fieldbuf, sizeof e->fieldbuf, "%s", f);
		desk_err_set(e, DESK_EX_DATA, f ? e->fieldbuf : NULL, "%s",
		    desk_jstr(report, "reason"));
		jv_free(report);
		jv_free(conv_user);
		return -1;
	}
	struct desk_user_msg um = { .channel = in.w.channel,
		.subject = in.subject, .external = in.external, .conv = in.conv,
		.convlen = in.convlen, .content = in.content,
		.attachments = in.attach ? in.attachments : jv_invalid(),
		.id = in.id, .idlen = in.idlen, .report = report };
	/* Who the conversation's user is, for the stages after desk-case. */
	if (in.conv && jv_is_valid(conv_user)) {
		um.ucid = in.w.ucid;
		um.ucidlen = in.w.ucidlen;
	}
	desk_user_message_print(st, uid, &um, now, r);
	jv_free(report);
	jv_free(conv_user);
	return 0;
}

/* The verb, with the store's error, when it failed, as its own. */
int
desk_message_receive(struct desk_store *st, jv ev, struct desk_received *r,
    struct desk_err *e)
{
	int rc = message_receive_unchecked(st, ev, r, e);

	if (desk_store_err(st, e) < 0 || rc < 0) {
		desk_received_free(r);
		for (int i = 0; i < DESK_NADDED; i++)
			r->v[i] = jv_invalid();
		return -1;
	}
	return 0;
}

/* The case a status event names: its case_id, or its user's last on channel. */
static int
status_case(struct desk_store *st, const char *channel, const char *ucid,
    size_t ucidlen, int64_t *cid, struct desk_err *e)
{
	struct desk_key k;
	uint64_t uid, last;

	if (*cid)
		return 0;
	uid = desk_user_by_custom_id(st, channel, ucid, ucidlen);
	desk_key_last(st, &k, uid, channel);
	if (!uid || !desk_hx_get(st, &k, &last, NULL))
		return desk_err_set(e, DESK_EX_NO, "user_custom_id", "no case for "
		    "this user_custom_id on channel %s", channel);
	*cid = (int64_t)last;
	return 0;
}

static jv
case_status_unchecked(struct desk_store *st, jv ev, struct desk_err *e)
{
	const char *channel = NULL, *ucid = NULL, *id, *status;
	size_t ucidlen = 0, idlen;
	enum desk_status want = DESK_CLOSED;
	int64_t cid = 0;

	if (desk_err_sizes(ev, e) < 0)
		return jv_invalid();
	if (desk_jhas(ev, "case_id")) {
		if (!desk_jint(ev, "case_id", &cid) || cid < 1) {
			desk_err_set(e, DESK_EX_DATA, "case_id", "must be a case id (a "
			    "positive whole number)");
			return jv_invalid();
		}
		if (desk_jhas(ev, "channel") &&
		    check_channel(st, desk_jget(ev, "channel"), &channel, e) < 0)
			return jv_invalid();
	} else if (check_channel(st, desk_jget(ev, "channel"), &channel, e) < 0 ||
	    ext_id(desk_jget(ev, "user_custom_id"), "user_custom_id", 1, &ucid,
	    &ucidlen, e) < 0)
		return jv_invalid();
	if (ext_id(desk_jget(ev, "id"), "id", 0, &id, &idlen, e) < 0 ||
	    opt_str(desk_jget(ev, "status"), "status", &status, e) < 0)
		return jv_invalid();
	if (status && !desk_status_parse(status, &want)) {
		desk_err_set(e, DESK_EX_DATA, "status", "must be open, pending or "
		    "closed");
		return jv_invalid();
	}

	desk_store_lock(st);
	/*
	 * A status id is the channel's own, so it is keyed by what the event
	 * named: its channel, or else its case_id as given. Not by the case's
	 * channel, which a merge can change.
	 */
	char keych[32];
	snprintf(keych, sizeof keych, "#case:%lld", (long long)cid);
	const char *key = channel ? channel : keych;
	if (id) {
		jv seen = desk_event_seen(st, "status", key, id, idlen, 0);
		if (jv_is_valid(seen)) {
			jv r = desk_jset(jv_object(), "user_id",
			    jv_copy(desk_jget(seen, "user_id")));
			r = desk_jset(r, "case_id", jv_copy(desk_jget(seen, "case_id")));
			r = desk_jset(r, "case_status", jv_copy(desk_jget(seen, "status")));
			jv_free(seen);
			return desk_jset(r, "duplicate", jv_true());
		}
	}
	if (status_case(st, channel, ucid, ucidlen, &cid, e) < 0)
		return jv_invalid();
	uint64_t sid = desk_case_survivor(st, (uint64_t)cid);
	jv rec = desk_case_record(st, sid);
	if (!jv_is_valid(rec)) {
		desk_err_set(e, DESK_EX_NO, "case_id", "no case %lld", (long long)cid);
		return jv_invalid();
	}
	const char *cur = desk_jstr(rec, "status");
	if (id || !cur || strcmp(cur, desk_status_name(want))) {
		struct desk_evid ei = { "status", key, id, idlen };
		rec = desk_jset_str(rec, "status", desk_status_name(want));
		desk_case_save(st, jv_copy(rec), id ? &ei : NULL, desk_now());
	}
	jv r = desk_jset(jv_object(), "user_id", jv_copy(desk_jget(rec, "user_id")));
	r = desk_jset_int(r, "case_id", (int64_t)sid);
	r = desk_jset_str(r, "case_status", desk_status_name(want));
	jv_free(rec);
	return r;
}

/* The verb, with the store's error, when it failed, as its own. */
jv
desk_case_status(struct desk_store *st, jv ev, struct desk_err *e)
{
	return desk_store_result(st, case_status_unchecked(st, ev, e), e);
}
