/*
 * chat2desk.c: the chat2desk connector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/http.h"

/* ---- settings (channel add, set) ---- */

/*
 * Chat2Desk's API (REFERENCES §2), the token its Authorization header;
 * hook_url is where Chat2Desk is asked to post the inbox hook; the operator
 * whose chats the channel takes, and whether service messages count.
 */
#define C2D_ACCEPTS (DESK_SET_API_URL | DESK_SET_HOOK_URL | DESK_SET_OPERATOR | \
	DESK_SET_SERVICE | DESK_SET_PRIVATE | DESK_SET_TOKEN)

/* ---- inbound: authentication and the normaliser ---- */

/* ---- outbound ---- */

#define C2D_API "https://api.chat2desk.com/v1"
#define C2D_MAX_TEXT 4000

/* An id of Chat2Desk's: a JSON number when it is one (its API's type). */
static jv
c2d_id(jv v)
{
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
	size_t n = s ? strlen(s) : 0;

	if (!jv_is_valid(v) || jv_get_kind(v) == JV_KIND_NULL)
		return jv_null();
	if (!s)
		return jv_copy(v);
	if (n < 1 || n > 15 || strspn(s, "0123456789") != n)
		return jv_copy(v);
	return jv_number((double)strtoll(s, NULL, 10));
}

/* external's key, else the event's fallback key (borrowed), or invalid. */
static jv
ext_or(jv m, const char *key, const char *fallback)
{
	jv v = desk_jget(desk_jget(m, "external"), key);

	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL)
		return v;
	return fallback ? desk_jget(m, fallback) : jv_invalid();
}

/* A case closed: PUT {api_url}/dialogs/{dialog_id} {"state":"closed"}. */
static int
c2d_command(const struct desk_outbound *o, jv api, jv *reqs, struct desk_err *e)
{
	const char *cmd = desk_jstr(o->msg, "command");
	const char *dialog = desk_jstr(desk_jget(o->msg, "external"), "dialog_id");

	if (!cmd || strcmp(cmd, "close"))
		return 0;           /* nothing else is mirrored: delivered as is */
	if (!dialog || !*dialog || strspn(dialog, "0123456789") != strlen(dialog))
		return desk_err_set(e, DESK_EX_DATA, "external.dialog_id", "no "
		    "Chat2Desk dialog_id to close");
	char *url = desk_xmalloc(strlen(jv_string_value(api)) + strlen(dialog) + 16);
	sprintf(url, "%s/dialogs/%s", jv_string_value(api), dialog);
	static const char body[] = "{\"state\":\"closed\"}";
	jv r = desk_out_req("PUT", url, body, sizeof body - 1);
	r = desk_out_hdr(r, "content-type", "application/json");
	r = desk_out_hdr(r, "authorization", o->sec->token);
	*reqs = jv_array_append(*reqs, r);
	free(url);
	return 0;
}

/*
 * POST {api_url}/messages as the operator (REFERENCES §2): the text in
 * parts of at most C2D_MAX_TEXT characters, the seed's markdown as it is
 * (the widget shows it), then each attachment as a message of its own.
 */
static int
c2d_outbound(const struct desk_outbound *o, jv *reqs, struct desk_err *e)
{
	jv api = desk_out_api(o->ch, C2D_API, e);

	if (!jv_is_valid(api))
		return -1;
	if (!o->sec->token) {
		jv_free(api);
		return desk_err_set(e, DESK_EX_CONFIG, "token", "channel %s has no "
		    "Chat2Desk token", desk_jstr(o->ch, "name"));
	}
	const char *type = desk_jstr(o->msg, "type");
	if (type && !strcmp(type, "case.command")) {
		int r = c2d_command(o, api, reqs, e);
		jv_free(api);
		return r;
	}
	jv client = ext_or(o->msg, "client_id", "user_custom_id");
	if (!jv_is_valid(client) || jv_get_kind(client) == JV_KIND_NULL) {
		jv_free(api);
		return desk_err_set(e, DESK_EX_DATA, "user_custom_id", "no Chat2Desk "
		    "client_id to send to");
	}
	jv base = jv_object();
	base = desk_jset(base, "client_id", c2d_id(client));
	base = desk_jset_str(base, "type", "to_client");
	jv op = desk_jget(o->ch, "operator_id");
	if (jv_is_valid(op) && jv_get_kind(op) != JV_KIND_NULL)
		base = desk_jset(base, "operator_id", c2d_id(op));
	static const char *const opt[] = { "channel_id", "transport" };
	for (int i = 0; i < 2; i++) {
		jv v = ext_or(o->msg, opt[i], NULL);
		if (jv_is_valid(v))
			base = desk_jset(base, opt[i], i ? jv_copy(v) : c2d_id(v));
	}
	char *url = desk_xmalloc(strlen(jv_string_value(api)) + 16);
	strcpy(url, jv_string_value(api));
	strcat(url, "/messages");
	const char *text = desk_jstr(o->msg, "content");
	jv parts = text && *text ? desk_out_split(o->ch, text, C2D_MAX_TEXT) :
	    jv_array();
	jv bodies = jv_array();
	jv_array_foreach(parts, i, p)
		bodies = jv_array_append(bodies, desk_jset(jv_copy(base), "text", p));
	jv att = desk_jget(o->msg, "attachments");
	if (jv_get_kind(att) == JV_KIND_ARRAY)
		jv_array_foreach(att, i, a) {
			jv b = desk_jset_str(jv_copy(base), "text", "");
			b = desk_jset(b, "attachment", jv_copy(desk_jget(a, "url")));
			bodies = jv_array_append(bodies, b);
			jv_free(a);
		}
	jv_array_foreach(bodies, i, b) {
		char *t = desk_json_text(b);
		jv r = desk_out_req("POST", url, t, strlen(t));
		r = desk_out_hdr(r, "content-type", "application/json");
		r = desk_out_hdr(r, "authorization", o->sec->token);
		*reqs = jv_array_append(*reqs, r);
		free(t);
		jv_free(b);
	}
	jv_free(bodies);
	jv_free(parts);
	jv_free(base);
	jv_free(api);
	free(url);
	return 0;
}

/* {"status":"error"} is a failure even with HTTP 200 (REFERENCES §2). */
static int
c2d_answer(jv ch, const char *body, size_t len, jv *remote, struct desk_err *e)
{
	jv a = desk_json_parse_all(body, len);
	const char *st = desk_jstr(a, "status");
	int r = 0;

	(void)ch;
	if (st && !strcmp(st, "error")) {
		const char *msg = desk_jstr(a, "message");
		r = desk_err_set(e, DESK_EX_DATA, "status", "Chat2Desk answered "
		    "status error: %.200s", msg ? msg : "(no message)");
	} else {
		jv id = desk_jget(desk_jget(a, "data"), "message_id");
		if (jv_get_kind(id) == JV_KIND_NUMBER)
			*remote = jv_string_fmt("%.0f", jv_number_value(id));
		else if (jv_get_kind(id) == JV_KIND_STRING)
			*remote = jv_copy(id);
	}
	jv_free(a);
	return r;
}

/* ---- activation ---- */

/*
 * The seed's conditions (the token unique is the generic check, by
 * unique_token): the API answers the token (GET {api_url}/companies/api_info,
 * which needs nothing but the token and changes nothing), then, only when
 * everything else passed, the webhook registered: there already
 * (c2d_registered), or POST {api_url}/webhooks {"url": hook_url, "name":
 * "desk NAME", "events": ["inbox"]}.
 */
static int
c2d_request(const struct desk_activation *a, const char *method,
    const char *path, jv body, struct desk_http *x, struct desk_err *e)
{
	struct desk_buf url = DESK_BUF_INIT, b = DESK_BUF_INIT;
	const char *api = desk_jstr(a->ch, "api_url");
	size_t n = strlen(api);
	struct desk_hdr h[2] = { { "Authorization", a->sec->token },
		{ "Content-Type", "application/json" } };

	while (n && api[n - 1] == '/')
		n--;
	desk_buf_add(&url, api, n);
	desk_buf_adds(&url, path);
	if (jv_is_valid(body))
		desk_json_dump(&b, body);
	struct desk_http_req r = { .method = method, .url = desk_buf_str(&url),
		.hdr = h, .nhdr = jv_is_valid(body) ? 2 : 1,
		.body = jv_is_valid(body) ? desk_buf_str(&b) : NULL, .len = b.len,
		.allow_private = jv_get_kind(desk_jget(a->ch, "allow_private")) == JV_KIND_TRUE };
	int rc = desk_http_run(x, &r, e);
	desk_buf_free(&url);
	desk_buf_free(&b);
	jv_free(body);
	return rc;
}

/* Chat2Desk's own reason in a {"status":"error","message":...} answer. */
static const char *
c2d_reason(const struct desk_http *x, char *why, size_t n)
{
	jv v = desk_json_parse_all(x->body.p ? x->body.p : "", x->body.len);
	const char *m = desk_jstr(v, "message");

	snprintf(why, n, "%s%.120s", m ? ": " : "", m ? m : "");
	jv_free(v);
	return why;
}

/*
 * 1 when Chat2Desk has a webhook to hook already (GET {api_url}/webhooks),
 * so that activating again, or Apply, adds no second one: an account holds
 * at most five. When the list cannot be had, 0: registering will tell.
 */
static int
c2d_registered(const struct desk_activation *a, const char *hook)
{
	struct desk_http x = { 0 };
	struct desk_err e;
	int found = 0;

	if (c2d_request(a, "GET", "/webhooks", jv_invalid(), &x, &e) == 0) {
		jv v = desk_json_parse_all(x.body.p, x.body.len);
		jv list = jv_copy(desk_jget(v, "data"));
		if (jv_get_kind(list) == JV_KIND_ARRAY)
			jv_array_foreach(list, i, w) {
				const char *u = desk_jstr(w, "url");
				found |= u && !strcmp(u, hook);
				jv_free(w);
			}
		jv_free(list);
		jv_free(v);
	}
	desk_http_free(&x);
	return found;
}

static void
c2d_activate(const struct desk_activation *a, struct desk_fails *f)
{
	struct desk_http x = { 0 };
	struct desk_err e;
	char why[160];

	if (!desk_jstr(a->ch, "hook_url"))
		desk_fail(f, DESK_EX_CONFIG, "webhook", "no --hook-url (the address "
		    "of this channel's serve endpoint, which Chat2Desk posts to)");
	if (!a->sec->token)
		return;         /* the token check said so */
	if (c2d_request(a, "GET", "/companies/api_info", jv_invalid(), &x, &e) < 0) {
		if (x.status == 401 || x.status == 403)
			desk_fail(f, DESK_EX_CONFIG, "token", "Chat2Desk refused the "
			    "token (%ld%s)", x.status, c2d_reason(&x, why, sizeof why));
		else
			desk_fail(f, e.code, "api_url", "%s", e.msg);
	}
	desk_http_free(&x);
	if (f->n)
		return;         /* registering a webhook is for a channel that will be active */
	const char *name = desk_jstr(a->ch, "name"), *hook = desk_jstr(a->ch, "hook_url");
	if (c2d_registered(a, hook))
		return;
	jv body = jv_object();
	body = desk_jset_str(body, "url", hook);
	body = desk_jset(body, "name", jv_string_fmt("desk %s", name));
	body = desk_jset(body, "events", JV_ARRAY(jv_string("inbox")));
	if (c2d_request(a, "POST", "/webhooks", body, &x, &e) < 0)
		desk_fail(f, e.code, "webhook", "%s%s", e.msg, c2d_reason(&x, why, sizeof why));
	else {
		jv v = desk_json_parse_all(x.body.p, x.body.len);
		const char *st = desk_jstr(v, "status");
		if (st && strcmp(st, "success"))
			desk_fail(f, DESK_EX_CONFIG, "webhook", "Chat2Desk did not "
			    "register the webhook (status %s%s)", st, c2d_reason(&x, why, sizeof why));
		jv_free(v);
	}
	desk_http_free(&x);
}

const struct desk_connector desk_connector_chat2desk = {
	.name = "chat2desk",
	.title = "a Chat2Desk account",
	.accepts = C2D_ACCEPTS,
	.api_url = "https://api.chat2desk.com/v1",
	.unique_token = 1,
	.activate = c2d_activate,
	.outbound = c2d_outbound,
	.answer = c2d_answer,
};
