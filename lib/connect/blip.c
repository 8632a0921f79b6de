/*
 * blip.c: the blip connector.
 */
#include <stdio.h>
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
};
