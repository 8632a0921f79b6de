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

/*
 * The channel's token in the Authorization header, bare as Chat2Desk's own
 * API takes it (or after "Bearer "). The hook carries nothing else that a
 * third party could not know, and the seed says nothing of a token in the
 * hook's URL, so the header is the one place looked at.
 */
static int
c2d_auth(jv ch, const struct desk_secrets *sec, const struct desk_http_in *in,
    struct desk_err *e)
{
	(void)ch;
	return desk_auth_token(sec->token, in, "authorization", e);
}

/* The service message that says an operator closed the dialog (seed). */
static const char dialog_closed[] = "c2d: dialog closed";

/* Our own replies and Chat2Desk's, echoed back to the hook. */
static int
is_echo(const char *kind)
{
	return !strcmp(kind, "to_client") || !strcmp(kind, "autoreply") ||
	    !strcmp(kind, "system");
}

/* Adds key of o (an id: string or number) to the object x as a string. */
static int
ext_id(jv *x, jv o, const char *pre, const char *key, const char *as,
    struct desk_err *e)
{
	jv v;

	if (desk_in_id(o, pre, key, DESK_IN_NUMBER, &v, e) < 0)
		return -1;
	*x = desk_in_set(*x, as ? as : key, v);
	return 0;
}

/*
 * Whether the chat is this channel's (seed): with an operator id set, only
 * chats assigned to that operator; without one, only the general queue
 * (no operator: null, absent or 0).
 */
static int
ours(jv ch, jv op)
{
	jv want = desk_jget(ch, "operator_id");
	char buf[24];
	const char *w = NULL;

	if (jv_get_kind(want) == JV_KIND_NUMBER) {
		snprintf(buf, sizeof buf, "%.0f", jv_number_value(want));
		w = buf;
	} else if (jv_get_kind(want) == JV_KIND_STRING && *jv_string_value(want))
		w = jv_string_value(want);
	int queue = !jv_is_valid(op) || !strcmp(jv_string_value(op), "0");
	if (!w)
		return queue;
	return !queue && !strcmp(jv_string_value(op), w);
}

/*
 * A phone to link the user by: the client's real number. Chat2Desk writes
 * messengers' users as "[tg] 807892" in client.phone, which is no phone,
 * so that is only kept with the conversation's ids.
 */
static int
client_phone(jv client, jv *phone, jv *x, struct desk_err *e)
{
	jv p, cp;

	*phone = jv_invalid();
	if (desk_in_str(client, "client.", "phone", 0, &p, e) < 0)
		return -1;
	if (desk_in_str(client, "client.", "client_phone", 0, &cp, e) < 0) {
		jv_free(p);
		return -1;
	}
	if (jv_is_valid(cp) && *jv_string_value(cp)) {
		*phone = cp;
		cp = jv_invalid();
	}
	if (jv_is_valid(p) && *jv_string_value(p)) {
		if (jv_string_value(p)[0] == '[') {
			*x = desk_jset(*x, "client_phone", p);
			p = jv_invalid();
		} else if (!jv_is_valid(*phone)) {
			*phone = p;
			p = jv_invalid();
		}
	}
	jv_free(p);
	jv_free(cp);
	return 0;
}

/* Files: attachments[] ({link|url, name, size} or a URL) and photo, pdf... */
static int
c2d_files(jv o, jv *out, struct desk_err *e)
{
	/* The single-file fields of the inbox hook (Chat2Desk's API docs). */
	static const char *const single[] = { "photo", "video", "audio", "pdf" };
	jv list = jv_array(), a, v;
	char pre[40];
	int r = 0;

	*out = jv_invalid();
	if (desk_in_kind(o, NULL, "attachments", JV_KIND_ARRAY, &a, e) < 0) {
		jv_free(list);
		return -1;
	}
	if (jv_is_valid(a))
		jv_array_foreach(a, i, x) {
			snprintf(pre, sizeof pre, "attachments[%d].", i);
			if (r < 0) {
				jv_free(x);
				continue;
			}
			jv y = jv_object();
			if (jv_get_kind(x) == JV_KIND_STRING && jv_string_length_bytes(
			    jv_copy(x)) > 0)
				y = desk_jset(y, "url", jv_copy(x));
			else if (jv_get_kind(x) != JV_KIND_OBJECT)
				r = desk_in_fail(e, pre, NULL, "must be an object or a URL");
			else {
				/* Chat2Desk's names, then desk's. */
				jv u = jv_object();
				jv link = desk_jget(x, "link");
				u = desk_jset(u, "url", jv_copy(jv_is_valid(link) ? link :
				    desk_jget(x, "url")));
				jv nm = desk_jget(x, "name");
				if (jv_is_valid(nm) || desk_jhas(x, "file_name"))
					u = desk_jset(u, "file_name", jv_copy(jv_is_valid(nm) ?
					    nm : desk_jget(x, "file_name")));
				if (desk_jhas(x, "mime_type"))
					u = desk_jset(u, "mime_type",
					    jv_copy(desk_jget(x, "mime_type")));
				jv sz = desk_jget(x, "size");
				if (jv_is_valid(sz) || desk_jhas(x, "file_size"))
					u = desk_jset(u, "file_size", jv_copy(jv_is_valid(sz) ?
					    sz : desk_jget(x, "file_size")));
				jv_free(y);
				r = desk_in_attachment(u, pre, &y, e);
				jv_free(u);
			}
			if (r == 0)
				list = jv_array_append(list, y);
			else
				jv_free(y);
			jv_free(x);
		}
	for (size_t i = 0; r == 0 && i < sizeof single / sizeof *single; i++) {
		if (desk_in_str(o, NULL, single[i], 0, &v, e) < 0)
			r = -1;
		else if (jv_is_valid(v) && jv_string_length_bytes(jv_copy(v)) > 0)
			list = jv_array_append(list, desk_jset(jv_object(), "url", v));
		else
			jv_free(v);
	}
	if (r < 0) {
		jv_free(list);
		return -1;
	}
	if (jv_array_length(jv_copy(list)) > 0)
		*out = list;
	else
		jv_free(list);
	return 0;
}

/* The conversation's ids, kept for replies (desk-events(7) external). */
static int
c2d_external(jv o, jv op, jv *x, jv *ucid, struct desk_err *e)
{
	static const char *const ids[] = { "dialog_id", "request_id",
		"channel_id" };
	jv t;

	*x = jv_object();
	*ucid = jv_invalid();
	if (desk_in_id(o, NULL, "client_id", DESK_IN_REQUIRED | DESK_IN_NUMBER,
	    ucid, e) < 0)
		return -1;
	*x = desk_jset(*x, "client_id", jv_copy(*ucid));
	for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
		if (ext_id(x, o, NULL, ids[i], NULL, e) < 0)
			return -1;
	*x = desk_in_set(*x, "operator_id", jv_copy(op));
	if (desk_in_str(o, NULL, "transport", 0, &t, e) < 0)
		return -1;
	*x = desk_in_set(*x, "transport", t);
	*x = desk_jset(*x, "chat_id", jv_string_fmt("%s|chat2desk",
	    jv_string_value(*ucid)));
	return 0;
}

/* An inbox hook: one message, one status, or nothing (skipped). */
static int
c2d_inbound(jv ch, const struct desk_http_in *in, jv *events,
    struct desk_skips *skips, struct desk_err *e)
{
	jv o, v, x = jv_invalid(), ucid = jv_invalid(), text = jv_invalid(),
	    id = jv_invalid(), op = jv_invalid(), client, ev = jv_invalid();
	int r = -1;

	if (desk_in_json(in, &o, e) < 0)
		return -1;
	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		desk_in_fail(e, NULL, "body", "must be an object: a Chat2Desk hook");
		goto out;
	}
	if (desk_in_str(o, NULL, "hook_type", 0, &v, e) < 0)
		goto out;
	int inbox = !jv_is_valid(v) || !strcmp(jv_string_value(v), "inbox");
	jv_free(v);
	if (!inbox) {
		/* outbox, outbox_status, dialog events: not messages from users. */
		skips->other++;
		r = 0;
		goto out;
	}
	if (desk_in_str(o, NULL, "type", 1, &v, e) < 0 ||
	    desk_in_str(o, NULL, "text", 0, &text, e) < 0 ||
	    desk_in_id(o, NULL, "operator_id", DESK_IN_NUMBER, &op, e) < 0 ||
	    desk_in_id(o, NULL, "message_id", DESK_IN_REQUIRED | DESK_IN_NUMBER,
	    &id, e) < 0 ||
	    c2d_external(o, op, &x, &ucid, e) < 0) {
		jv_free(v);
		goto out;
	}
	char kind[32];
	snprintf(kind, sizeof kind, "%s", jv_string_value(v));
	jv_free(v);

	int service = jv_is_valid(text) &&
	    !strcmp(jv_string_value(text), dialog_closed);
	if (!service && is_echo(kind)) {
		skips->echo++;
		r = 0;
		goto out;
	}
	if (!service && strcmp(kind, "from_client")) {
		skips->other++;
		r = 0;
		goto out;
	}
	if (!ours(ch, op)) {
		skips->operator++;
		r = 0;
		goto out;
	}
	if (service) {
		/* Closed in Chat2Desk: the case closes, when the channel wants it. */
		if (jv_get_kind(desk_jget(ch, "service_messages")) != JV_KIND_TRUE) {
			skips->other++;
			r = 0;
			goto out;
		}
		ev = desk_in_event(ch, "status");
		ev = desk_jset(ev, "id", jv_copy(id));
		ev = desk_jset(ev, "user_custom_id", jv_copy(ucid));
		ev = desk_jset_str(ev, "status", "closed");
		ev = desk_jset(ev, "external", x);
		x = jv_invalid();
		*events = jv_array_append(*events, ev);
		ev = jv_invalid();
		r = 0;
		goto out;
	}

	ev = desk_in_event(ch, NULL);
	ev = desk_jset(ev, "id", jv_copy(id));
	ev = desk_jset(ev, "user_custom_id", jv_copy(ucid));
	if (desk_in_kind(o, NULL, "client", JV_KIND_OBJECT, &client, e) < 0)
		goto out;
	if (jv_is_valid(client)) {
		jv phone, name;
		if (client_phone(client, &phone, &x, e) < 0)
			goto out;
		ev = desk_in_set(ev, "phone", phone);
		if (desk_in_str(client, "client.", "name", 0, &name, e) < 0)
			goto out;
		if (jv_is_valid(name) && !*jv_string_value(name)) {
			jv_free(name);
			name = jv_invalid();
		}
		ev = desk_in_set(ev, "name", name);
	}
	jv files;
	if (c2d_files(o, &files, e) < 0)
		goto out;
	if (jv_is_valid(text) && *jv_string_value(text)) {
		ev = desk_jset(ev, "content", text);
		text = jv_invalid();
	} else if (!jv_is_valid(files)) {
		desk_in_fail(e, NULL, "text", "%s, and no attachments",
		    jv_is_valid(text) ? "empty" : "missing");
		goto out;
	}
	ev = desk_in_set(ev, "attachments", files);
	ev = desk_jset(ev, "external", x);
	x = jv_invalid();
	*events = jv_array_append(*events, ev);
	ev = jv_invalid();
	r = 0;
out:
	jv_free(ev);
	jv_free(x);
	jv_free(ucid);
	jv_free(text);
	jv_free(id);
	jv_free(op);
	jv_free(o);
	return r;
}

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
	.auth = c2d_auth,
	.inbound = c2d_inbound,
};
