/*
 * chat2desk.c: the chat2desk connector.
 */
#include <stdlib.h>
#include <string.h>

#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

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

const struct desk_connector desk_connector_chat2desk = {
	.name = "chat2desk",
	.outbound = c2d_outbound,
	.answer = c2d_answer,
};
