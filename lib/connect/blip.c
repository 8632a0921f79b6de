/*
 * blip.c: the blip connector.
 */
#include <stdio.h>
#include <string.h>

#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

/* ---- inbound: authentication and the normaliser ---- */

/*
 * The seed's authentication key is optional: with one configured (the
 * channel's token) the Authorization header must carry it ("Key K" as
 * Blip's own API, or bare); without one the channel is open.
 */
static int
blip_auth(jv ch, const struct desk_secrets *sec, const struct desk_http_in *in,
    struct desk_err *e)
{
	(void)ch;
	return sec->token ? desk_auth_token(sec->token, in, "authorization", e) : 0;
}

static const char ticket_type[] = "application/vnd.iris.ticket+json";
static const char desk_domain[] = "@desk.msging.net";

/*
 * What a LIME content that is not text says, as text and attachments:
 * media links become attachments, the rest a described placeholder.
 */
static int
lime_content(jv env, const char *ctype, jv *text, jv *files, struct desk_err *e)
{
	jv c = desk_jget(env, "content"), v;

	*text = *files = jv_invalid();
	if (!strcmp(ctype, "text/plain")) {
		if (desk_in_str(env, NULL, "content", 1, text, e) < 0)
			return -1;
		return 0;
	}
	if (jv_get_kind(c) == JV_KIND_OBJECT &&
	    (!strcmp(ctype, "application/vnd.lime.media-link+json") ||
	    !strcmp(ctype, "application/vnd.lime.web-link+json"))) {
		jv a = jv_object();
		if (desk_in_str(c, "content.", "uri", 1, &v, e) < 0) {
			jv_free(a);
			return -1;
		}
		a = desk_jset(a, "url", v);
		if (desk_in_str(c, "content.", "title", 0, &v, e) < 0 ||
		    (a = desk_in_set(a, "file_name", v), 0) ||
		    desk_in_str(c, "content.", "type", 0, &v, e) < 0 ||
		    (a = desk_in_set(a, "mime_type", v), 0)) {
			jv_free(a);
			return -1;
		}
		if (desk_jhas(c, "size"))
			a = desk_jset(a, "file_size", jv_copy(desk_jget(c, "size")));
		jv x;
		int r = desk_in_attachment(a, "content.", &x, e);
		jv_free(a);
		if (r < 0 || desk_in_str(c, "content.", "text", 0, text, e) < 0) {
			if (!r)
				jv_free(x);
			return -1;
		}
		*files = jv_array_append(jv_array(), x);
		return 0;
	}
	if (jv_get_kind(c) == JV_KIND_OBJECT &&
	    !strcmp(ctype, "application/vnd.lime.location+json")) {
		jv la = desk_jget(c, "latitude"), lo = desk_jget(c, "longitude");
		if (jv_get_kind(la) != JV_KIND_NUMBER || jv_get_kind(lo) != JV_KIND_NUMBER)
			return desk_in_fail(e, "content.", "latitude", "latitude and "
			    "longitude must be numbers");
		*text = jv_string_fmt("[location: %.6f, %.6f]", jv_number_value(la),
		    jv_number_value(lo));
		return 0;
	}
	if (jv_get_kind(c) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(c))) {
		*text = jv_copy(c);
		return 0;
	}
	/* Anything else (a contact, a menu choice, a type to come): said, not lost. */
	*text = jv_string_fmt("[%.100s content]", ctype);
	return 0;
}

/* A ticket: new (Waiting) is a message, closed by the customer a status. */
static int
blip_ticket(jv ch, jv env, jv *events, struct desk_skips *skips,
    struct desk_err *e)
{
	jv t, id = jv_invalid(), seq = jv_invalid(), cust = jv_invalid(),
	    status = jv_invalid(), eid = jv_invalid(), ev = jv_invalid(), v;
	int r = -1;

	if (desk_in_kind(env, NULL, "content", JV_KIND_OBJECT, &t, e) < 0)
		return -1;
	if (!jv_is_valid(t))
		return desk_in_fail(e, NULL, "content", "missing: a ticket");
	if (desk_in_id(t, "content.", "id", DESK_IN_REQUIRED, &id, e) < 0 ||
	    desk_in_id(t, "content.", "sequentialId", DESK_IN_NUMBER, &seq, e) < 0 ||
	    desk_in_id(t, "content.", "customerIdentity", DESK_IN_REQUIRED, &cust,
	    e) < 0 ||
	    desk_in_str(t, "content.", "status", 1, &status, e) < 0 ||
	    desk_in_id(env, NULL, "id", 0, &eid, e) < 0)
		goto out;
	const char *st = jv_string_value(status);
	int closed = !strcmp(st, "ClosedClient") ||
	    !strcmp(st, "ClosedClientInactivity");
	if (strcmp(st, "Waiting") && !closed) {
		/* Open, Transferred, ClosedAttendant: what desk itself asked for. */
		skips->other++;
		r = 0;
		goto out;
	}
	jv x = desk_jset(jv_object(), "ticket_id", jv_copy(id));
	x = desk_in_set(x, "sequential_id", seq);
	seq = jv_invalid();
	static const char *const more[][2] = { { "ownerIdentity", "owner_identity" },
		{ "customerDomain", "customer_domain" }, { "provider", "provider" } };
	for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
		if (desk_in_str(t, "content.", more[i][0], 0, &v, e) < 0) {
			jv_free(x);
			goto out;
		}
		x = desk_in_set(x, more[i][1], v);
	}
	if (!jv_is_valid(eid))
		eid = jv_string_fmt("Ticket:%s:%s", jv_string_value(id), st);
	ev = desk_in_event(ch, closed ? "status" : NULL);
	ev = desk_jset(ev, "id", eid);
	eid = jv_invalid();
	ev = desk_jset(ev, "user_custom_id", jv_copy(cust));
	if (closed)
		ev = desk_jset_str(ev, "status", "closed");
	else {
		jv in, text = jv_invalid(), files = jv_invalid(), itype;
		ev = desk_jset(ev, "conversation_id", jv_copy(id));
		if (desk_in_kind(t, "content.", "customerInput", JV_KIND_OBJECT, &in,
		    e) < 0) {
			jv_free(x);
			goto out;
		}
		if (jv_is_valid(in)) {
			if (desk_in_str(in, "content.customerInput.", "type", 0, &itype,
			    e) < 0) {
				jv_free(x);
				goto out;
			}
			/* customerInput is a LIME content: {type, value}. */
			jv as = desk_jset(jv_object(), "content",
			    jv_copy(desk_jget(in, "value")));
			int r2 = lime_content(as, jv_is_valid(itype) ?
			    jv_string_value(itype) : "text/plain", &text, &files, e);
			jv_free(as);
			jv_free(itype);
			if (r2 < 0) {
				if (e->field && !strncmp(e->field, "content", 7)) {
					char f[sizeof e->fieldbuf];
					snprintf(f, sizeof f, "content.customerInput.value%s",
					    e->field + 7);
					memcpy(e->fieldbuf, f, sizeof f);
					e->field = e->fieldbuf;
				}
				jv_free(x);
				goto out;
			}
		}
		if (!jv_is_valid(text) || !jv_string_length_bytes(jv_copy(text))) {
			jv_free(text);
			text = jv_is_valid(files) ? jv_invalid() :
			    jv_string("[new ticket]");
		}
		ev = desk_in_set(ev, "content", text);
		ev = desk_in_set(ev, "attachments", files);
	}
	ev = desk_jset(ev, "external", x);
	*events = jv_array_append(*events, ev);
	ev = jv_invalid();
	r = 0;
out:
	jv_free(ev);
	jv_free(id);
	jv_free(seq);
	jv_free(cust);
	jv_free(status);
	jv_free(eid);
	return r;
}

/* A customer's message on a ticket: from TICKET@desk.msging.net/Webhook. */
static int
blip_message(jv ch, jv env, const char *type, jv *events,
    struct desk_skips *skips, struct desk_err *e)
{
	jv from, id, text, files;

	if (desk_in_str(env, NULL, "from", 0, &from, e) < 0)
		return -1;
	if (!jv_is_valid(from)) {
		/* An attendant's message (to the ticket) echoed back. */
		if (desk_jhas(env, "to")) {
			skips->echo++;
			return 0;
		}
		return desk_in_fail(e, NULL, "from", "missing");
	}
	const char *f = jv_string_value(from), *at = strchr(f, '@');
	if (!at || at == f || strncmp(at, desk_domain, sizeof desk_domain - 1) ||
	    (at[sizeof desk_domain - 1] && at[sizeof desk_domain - 1] != '/')) {
		jv_free(from);
		return desk_in_fail(e, NULL, "from", "not a ticket's address "
		    "(TICKET%s/Webhook)", desk_domain);
	}
	if (desk_in_id(env, NULL, "id", DESK_IN_REQUIRED, &id, e) < 0) {
		jv_free(from);
		return -1;
	}
	if (lime_content(env, type, &text, &files, e) < 0) {
		jv_free(from);
		jv_free(id);
		return -1;
	}
	if ((!jv_is_valid(text) || !jv_string_length_bytes(jv_copy(text))) &&
	    !jv_is_valid(files)) {
		jv_free(text);
		text = jv_string_fmt("[empty %.100s message]", type);
	}
	jv ticket = desk_jstring(f, (size_t)(at - f));
	jv ev = desk_in_event(ch, NULL);
	ev = desk_jset(ev, "id", id);
	ev = desk_jset(ev, "conversation_id", jv_copy(ticket));
	ev = desk_in_set(ev, "content", text);
	ev = desk_in_set(ev, "attachments", files);
	ev = desk_jset(ev, "external", desk_jset(jv_object(), "ticket_id", ticket));
	jv_free(from);
	*events = jv_array_append(*events, ev);
	return 0;
}

/* A LIME envelope: a ticket, a message, or something else (skipped). */
static int
blip_inbound(jv ch, const struct desk_http_in *in, jv *events,
    struct desk_skips *skips, struct desk_err *e)
{
	jv env, type;
	int r;

	if (desk_in_json(in, &env, e) < 0)
		return -1;
	if (jv_get_kind(env) != JV_KIND_OBJECT) {
		jv_free(env);
		return desk_in_fail(e, NULL, "body", "must be an object: a LIME "
		    "envelope");
	}
	if (!desk_jhas(env, "content")) {
		/* A notification (event) or a command (method): not a message. */
		if (desk_jhas(env, "event") || desk_jhas(env, "method")) {
			skips->other++;
			jv_free(env);
			return 0;
		}
		jv_free(env);
		return desk_in_fail(e, NULL, "content", "missing");
	}
	if (desk_in_str(env, NULL, "type", 1, &type, e) < 0) {
		jv_free(env);
		return -1;
	}
	if (!strcmp(jv_string_value(type), ticket_type))
		r = blip_ticket(ch, env, events, skips, e);
	else
		r = blip_message(ch, env, jv_string_value(type), events, skips, e);
	jv_free(type);
	jv_free(env);
	return r;
}

/* ---- outbound ---- */

/* ---- activation ---- */

const struct desk_connector desk_connector_blip = {
	.name = "blip",
	.auth = blip_auth,
	.inbound = blip_inbound,
};
