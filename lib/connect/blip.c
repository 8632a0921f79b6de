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
};
