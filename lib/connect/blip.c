/*
 * blip.c: the blip connector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

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
	char *url = desk_xmalloc(strlen(jv_string_value(api)) + 16);
	sprintf(url, "%s/messages", jv_string_value(api));
	int n = jv_array_length(jv_copy(parts));
	jv_array_foreach(parts, i, p) {
		jv env = jv_object();
		env = desk_jset(env, "id", n == 1 ? jv_string(o->webhook_id) :
		    jv_string_fmt("%s.%d", o->webhook_id, i + 1));
		env = desk_jset_str(env, "to", to);
		env = desk_jset_str(env, "type", "text/plain");
		env = desk_jset(env, "content", p);
		char *t = desk_json_text(env);
		jv r = desk_out_req("POST", url, t, strlen(t));
		r = desk_out_hdr(r, "content-type", "application/json");
		if (o->sec->token) {
			char *k = desk_xmalloc(strlen(o->sec->token) + 8);
			sprintf(k, "Key %s", o->sec->token);
			r = desk_out_hdr(r, "authorization", k);
			desk_wipe(k, strlen(k));
			free(k);
		}
		*reqs = jv_array_append(*reqs, r);
		free(t);
		jv_free(env);
	}
	jv_free(parts);
	jv_free(plain);
	jv_free(api);
	free(to);
	free(url);
	return 0;
}

/* ---- activation ---- */

const struct desk_connector desk_connector_blip = {
	.name = "blip",
	.outbound = blip_outbound,
};
