/*
 * chat2desk.c: the chat2desk connector.
 */
#include <stdio.h>
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
};
