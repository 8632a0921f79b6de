/*
 * custom.c: the custom connector.
 */
#include <stdio.h>
#include <string.h>

#include "connect/http.h"

/* ---- settings (channel add, set) ---- */

/*
 * Replies go to url; the platform (the company's own app) posts to
 * hook_url, signing with the secret or sending the token.
 */
#define CUSTOM_ACCEPTS (DESK_SET_URL | DESK_SET_HOOK_URL | DESK_SET_PRIVATE | \
	DESK_SET_TOKEN | DESK_SET_SECRET | DESK_SET_SIGNKEY)

/* ---- inbound: authentication and the normaliser ---- */

/* ---- outbound ---- */

/* ---- activation ---- */

/*
 * The webhook URL, when there is one, is http(s) and its host's addresses
 * pass the SSRF rule; nothing is sent to it (there is no API to ask).
 */
static void
custom_activate(const struct desk_activation *a, struct desk_fails *f)
{
	const char *url = desk_jstr(a->ch, "url");
	struct desk_err e;

	if (url && desk_http_url_check(url, jv_get_kind(desk_jget(a->ch,
	    "allow_private")) == JV_KIND_TRUE, &e) < 0)
		desk_fail(f, e.code, "webhook_url", "%s", e.msg);
}

const struct desk_connector desk_connector_custom = {
	.name = "custom",
	.title = "the company's own app or site",
	.accepts = CUSTOM_ACCEPTS,
	.activate = custom_activate,
};
