/*
 * blip.c: the blip connector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/http.h"

/* ---- settings (channel add, set) ---- */

/*
 * Blip's HTTP API (https://BOT.http.msging.net, REFERENCES §3), no default:
 * each bot has its own. The token is the bot's key, sent as
 * "Authorization: Key TOKEN"; hook_url is what Blip is configured to post to.
 */
#define BLIP_ACCEPTS (DESK_SET_API_URL | DESK_SET_HOOK_URL | DESK_SET_PRIVATE | \
	DESK_SET_TOKEN)

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

#define BLIP_MAX_TEXT 4096

/* The ticket a case is on: external.ticket_id, else the user_custom_id. */
static const char *
ticket_of(jv m)
{
	const char *t = desk_jstr(desk_jget(m, "external"), "ticket_id");

	return t && *t ? t : desk_jstr(m, "user_custom_id");
}

/*
 * POST {api_url}/messages: the attendant's LIME message to the ticket
 * (REFERENCES §3), text/plain, so the seed's markdown becomes plain text;
 * a long text in parts, each its own envelope id; attachments as links.
 */
/* A request of the body env (borrowed) to api + path, with the key. */
static jv
blip_req(const struct desk_outbound *o, jv api, const char *path, jv env)
{
	char *t = desk_json_text(env);
	char *url = desk_xmalloc(strlen(jv_string_value(api)) + strlen(path) + 1);

	sprintf(url, "%s%s", jv_string_value(api), path);
	jv r = desk_out_req("POST", url, t, strlen(t));
	r = desk_out_hdr(r, "content-type", "application/json");
	if (o->sec->token) {
		char *k = desk_xmalloc(strlen(o->sec->token) + 8);
		sprintf(k, "Key %s", o->sec->token);
		r = desk_out_hdr(r, "authorization", k);
		desk_wipe(k, strlen(k));
		free(k);
	}
	free(t);
	free(url);
	return r;
}

/*
 * A case's state as a command to the Blip Desk extension (REFERENCES §3):
 * set /tickets/change-status, Open with the agent on assignment,
 * ClosedAttendant when the case is closed (the ticket is final then).
 */
static int
blip_command(const struct desk_outbound *o, jv api, const char *ticket,
    jv *reqs, struct desk_err *e)
{
	const char *cmd = desk_jstr(o->msg, "command");
	jv res = desk_jset_str(jv_object(), "id", ticket);

	if (cmd && !strcmp(cmd, "assign")) {
		jv a = desk_jget(o->msg, "agent");
		res = desk_jset_str(res, "status", "Open");
		res = desk_jset(res, "agentIdentity", jv_get_kind(a) == JV_KIND_STRING ?
		    jv_copy(a) : jv_get_kind(a) == JV_KIND_NUMBER ?
		    jv_string_fmt("%.0f", jv_number_value(a)) : jv_null());
	} else if (cmd && !strcmp(cmd, "close"))
		res = desk_jset_str(res, "status", "ClosedAttendant");
	else {
		jv_free(res);
		return desk_err_set(e, DESK_EX_DATA, "command", "not a command Blip "
		    "takes: %s", cmd ? cmd : "(none)");
	}
	jv env = jv_object();
	env = desk_jset_str(env, "id", o->webhook_id);
	env = desk_jset_str(env, "to", "postmaster@desk.msging.net");
	env = desk_jset_str(env, "method", "set");
	env = desk_jset_str(env, "uri", "/tickets/change-status");
	env = desk_jset_str(env, "type", "application/vnd.iris.ticket+json");
	env = desk_jset(env, "resource", res);
	*reqs = jv_array_append(*reqs, blip_req(o, api, "/commands", env));
	jv_free(env);
	return 0;
}

static int
blip_outbound(const struct desk_outbound *o, jv *reqs, struct desk_err *e)
{
	jv api = desk_out_api(o->ch, NULL, e);
	const char *ticket = ticket_of(o->msg);

	if (!jv_is_valid(api))
		return -1;
	if (!ticket || !*ticket) {
		jv_free(api);
		return desk_err_set(e, DESK_EX_DATA, "external.ticket_id", "no Blip "
		    "ticket to send to");
	}
	const char *type = desk_jstr(o->msg, "type");
	if (type && !strcmp(type, "case.command")) {
		int r = blip_command(o, api, ticket, reqs, e);
		jv_free(api);
		return r;
	}
	struct desk_buf b = DESK_BUF_INIT;
	const char *text = desk_jstr(o->msg, "content");
	if (text)
		desk_buf_adds(&b, text);
	jv att = desk_jget(o->msg, "attachments");
	if (jv_get_kind(att) == JV_KIND_ARRAY)
		jv_array_foreach(att, i, a) {
			const char *u = desk_jstr(a, "url");
			if (u) {
				if (b.len)
					desk_buf_addc(&b, '\n');
				desk_buf_adds(&b, u);
			}
			jv_free(a);
		}
	jv plain = desk_out_plain(b.p ? desk_buf_str(&b) : "");
	desk_buf_free(&b);
	jv parts = desk_out_split(o->ch, jv_string_value(plain), BLIP_MAX_TEXT);
	char *to = desk_xmalloc(strlen(ticket) + 40);
	sprintf(to, "%s@desk.msging.net/Webhook", ticket);
	int n = jv_array_length(jv_copy(parts));
	jv_array_foreach(parts, i, p) {
		jv env = jv_object();
		env = desk_jset(env, "id", n == 1 ? jv_string(o->webhook_id) :
		    jv_string_fmt("%s.%d", o->webhook_id, i + 1));
		env = desk_jset_str(env, "to", to);
		env = desk_jset_str(env, "type", "text/plain");
		env = desk_jset(env, "content", p);
		*reqs = jv_array_append(*reqs, blip_req(o, api, "/messages", env));
		jv_free(env);
	}
	jv_free(parts);
	jv_free(plain);
	jv_free(api);
	free(to);
	return 0;
}

/* ---- activation ---- */

/*
 * The API URL is set and answers: a LIME ping command, POST
 * {api_url}/commands {"id","to":"postmaster@msging.net","method":"get",
 * "uri":"/ping"}, which changes nothing.
 */
static void
blip_activate(const struct desk_activation *a, struct desk_fails *f)
{
	const char *api = desk_jstr(a->ch, "api_url");
	struct desk_buf url = DESK_BUF_INIT, auth = DESK_BUF_INIT, b = DESK_BUF_INIT;
	struct desk_http x = { 0 };
	struct desk_err e;

	if (!api) {
		desk_fail(f, DESK_EX_CONFIG, "api_url", "no --api-url (the bot's "
		    "HTTP API, https://BOT.http.msging.net)");
		return;
	}
	size_t n = strlen(api);
	while (n && api[n - 1] == '/')
		n--;
	desk_buf_add(&url, api, n);
	desk_buf_adds(&url, "/commands");
	struct desk_hdr h[2] = { { "Content-Type", "application/json" } };
	size_t nh = 1;
	if (a->sec->token) {
		desk_buf_addf(&auth, "Key %s", a->sec->token);
		h[nh++] = (struct desk_hdr){ "Authorization", desk_buf_str(&auth) };
	}
	jv cmd = jv_object();
	cmd = desk_jset(cmd, "id", jv_string_fmt("desk-activate-%s", desk_jstr(a->ch, "name")));
	cmd = desk_jset_str(cmd, "to", "postmaster@msging.net");
	cmd = desk_jset_str(cmd, "method", "get");
	cmd = desk_jset_str(cmd, "uri", "/ping");
	desk_json_dump(&b, cmd);
	jv_free(cmd);
	struct desk_http_req r = { .method = "POST", .url = desk_buf_str(&url),
		.hdr = h, .nhdr = nh, .body = desk_buf_str(&b), .len = b.len,
		.allow_private = jv_get_kind(desk_jget(a->ch, "allow_private")) == JV_KIND_TRUE };
	if (desk_http_run(&x, &r, &e) < 0) {
		if (x.status == 401 || x.status == 403)
			desk_fail(f, DESK_EX_CONFIG, "token", "Blip refused the key (%ld)",
			    x.status);
		else
			desk_fail(f, e.code, "api_url", "%s", e.msg);
	} else {
		jv v = desk_json_parse_all(x.body.p, x.body.len);
		const char *st = desk_jstr(v, "status");
		if (st && strcmp(st, "success"))
			desk_fail(f, DESK_EX_CONFIG, "api_url", "Blip answered the ping "
			    "with status %s", st);
		jv_free(v);
	}
	desk_http_free(&x);
	desk_wipe(auth.p, auth.len);
	desk_buf_free(&auth);
	desk_buf_free(&url);
	desk_buf_free(&b);
}

const struct desk_connector desk_connector_blip = {
	.name = "blip",
	.title = "a Blip bot",
	.accepts = BLIP_ACCEPTS,
	.activate = blip_activate,
	.outbound = blip_outbound,
	.auth = blip_auth,
	.inbound = blip_inbound,
};
