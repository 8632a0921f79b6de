/*
 * custom.c: the custom connector.
 */
#include <stdio.h>
#include <stdlib.h>
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

/*
 * With a Standard Webhooks secret (channel secret) only signed requests
 * pass; else with a token, the Authorization header must carry it; with
 * neither the channel is open, as a channel being tried out is (serve
 * says so when it starts).
 */
static int
custom_auth(jv ch, const struct desk_secrets *sec,
    const struct desk_http_in *in, struct desk_err *e)
{
	(void)ch;
	if (sec->secret)
		return desk_sig_verify_in(sec->secret, in, e);
	if (sec->token)
		return desk_auth_token(sec->token, in, "authorization", e);
	return 0;
}

enum { F_ID, F_STR, F_OBJ, F_EXT, F_ATT };

/*
 * The fields a message takes from outside, by desk's name and the help
 * desk API's. Nothing else is copied: desk's own fields (user_id, case_id,
 * trigger, user_identified...) are for the tools to add, never a sender.
 */
static const struct {
	const char *name, *api;
	int kind;
} fields[] = {
	{ "user_custom_id", NULL, F_ID },
	{ "content", NULL, F_STR },
	{ "subject", NULL, F_STR },
	{ "email", "user_email", F_STR },
	{ "phone", "user_phone", F_STR },
	{ "name", "user_full_name", F_STR },
	{ "company", "company_name", F_STR },
	{ "fields", "custom_fields", F_OBJ },
	{ "external", NULL, F_EXT },
	{ "attachments", NULL, F_ATT },
};

static int
external_ok(jv x, const char *pre, struct desk_err *e)
{
	char p[64];
	int r = 0;

	jv_object_foreach(x, k, v) {
		if (!r && jv_get_kind(v) != JV_KIND_STRING) {
			snprintf(p, sizeof p, "%.30sexternal.", pre);
			r = desk_in_fail(e, p, jv_string_value(k), "must be a string");
		}
		jv_free(k);
		jv_free(v);
	}
	return r;
}

static int
read_field(jv o, const char *pre, const char *key, int kind, jv *v,
    struct desk_err *e)
{
	switch (kind) {
	case F_ID:
		return desk_in_id(o, pre, key, 0, v, e);
	case F_STR:
		return desk_in_str(o, pre, key, 0, v, e);
	case F_ATT:
		return desk_in_attachments(o, pre, key, v, e);
	default:
		if (desk_in_kind(o, pre, key, JV_KIND_OBJECT, v, e) < 0)
			return -1;
		*v = jv_copy(*v);
		if (jv_is_valid(*v) && kind == F_EXT && external_ok(*v, pre, e) < 0) {
			jv_free(*v);
			return -1;
		}
		return 0;
	}
}

/* The fields of o (borrowed) onto ev (consumed); invalid with e. */
static jv
copy_fields(jv ev, jv o, const char *pre, struct desk_err *e)
{
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
		jv a, b = jv_invalid();
		if (read_field(o, pre, fields[i].name, fields[i].kind, &a, e) < 0 ||
		    (fields[i].api && read_field(o, pre, fields[i].api,
		    fields[i].kind, &b, e) < 0)) {
			jv_free(a);
			jv_free(ev);
			return jv_invalid();
		}
		if (jv_is_valid(a) && jv_is_valid(b)) {
			int same = jv_equal(jv_copy(a), jv_copy(b));
			jv_free(b);
			b = jv_invalid();
			if (!same) {
				jv_free(a);
				jv_free(ev);
				desk_in_fail(e, pre, fields[i].api, "differs from %s",
				    fields[i].name);
				return jv_invalid();
			}
		}
		ev = desk_in_set(ev, fields[i].name, jv_is_valid(a) ? a : b);
	}
	return ev;
}

/* The one event of o (borrowed), an element of the body when n >= 0. */
static int
custom_one(jv ch, const struct desk_http_in *in, jv o, int n, jv *events,
    struct desk_err *e)
{
	char pre[48] = "";
	const char *chname = desk_jstr(ch, "name");
	jv c = desk_jget(o, "case"), v;
	int api = jv_is_valid(c);

	if (n >= 0)
		snprintf(pre, sizeof pre, "[%d].", n);
	if (jv_get_kind(o) != JV_KIND_OBJECT)
		return desk_in_fail(e, pre, NULL, "must be an object: a case "
		    "{\"case\":{...}} or a desk event");
	if (api) {
		/* The API's create-case body: its channel is the help desk's id. */
		if (jv_get_kind(c) != JV_KIND_OBJECT)
			return desk_in_fail(e, pre, "case", "must be an object");
		strncat(pre, "case.", sizeof pre - strlen(pre) - 1);
		o = c;
	}

	const char *kind = "message";
	if (!api) {
		if (desk_in_str(o, pre, "type", 0, &v, e) < 0)
			return -1;
		if (jv_is_valid(v)) {
			int ok = !strcmp(jv_string_value(v), "message") ||
			    !strcmp(jv_string_value(v), "status");
			kind = !strcmp(jv_string_value(v), "status") ? "status" :
			    "message";
			jv_free(v);
			if (!ok)
				return desk_in_fail(e, pre, "type", "must be message or "
				    "status");
		}
		/* A request to one channel makes events of that channel only. */
		static const char *const chk[] = { "channel", "user_custom_channel" };
		for (int i = 0; i < 2; i++) {
			if (desk_in_str(o, pre, chk[i], 0, &v, e) < 0)
				return -1;
			int other = jv_is_valid(v) && strcmp(jv_string_value(v), chname);
			jv_free(v);
			if (other)
				return desk_in_fail(e, pre, chk[i], "names another "
				    "channel than %s, where it was sent", chname);
		}
	}

	jv ev = desk_in_event(ch, strcmp(kind, "message") ? kind : NULL);
	if (desk_in_id(o, pre, "id", 0, &v, e) < 0) {
		jv_free(ev);
		return -1;
	}
	if (!jv_is_valid(v)) {
		/* Else the delivery's id: the same on every retry. */
		const char *wid = desk_http_hdr(in, "webhook-id");
		if (wid && *wid)
			v = n < 0 ? jv_string(wid) : jv_string_fmt("%s.%d", wid, n);
	}
	ev = desk_in_set(ev, "id", v);
	ev = copy_fields(ev, o, pre, e);
	if (!jv_is_valid(ev))
		return -1;
	if (!desk_jhas(ev, "user_custom_id")) {
		jv_free(ev);
		return desk_in_fail(e, pre, "user_custom_id", "missing");
	}
	if (!strcmp(kind, "status")) {
		enum desk_status st;
		if (desk_in_str(o, pre, "status", 0, &v, e) < 0) {
			jv_free(ev);
			return -1;
		}
		if (jv_is_valid(v) && !desk_status_parse(jv_string_value(v), &st)) {
			jv_free(v);
			jv_free(ev);
			return desk_in_fail(e, pre, "status", "must be open, pending "
			    "or closed");
		}
		ev = desk_in_set(ev, "status", v);
		*events = jv_array_append(*events, ev);
		return 0;
	}
	if (!desk_jhas(ev, "content")) {
		/* The API's HTML body, when it is all there is. */
		if (desk_in_str(o, pre, "content_html", 0, &v, e) < 0) {
			jv_free(ev);
			return -1;
		}
		ev = desk_in_set(ev, "content", v);
	}
	const char *text = desk_jstr(ev, "content");
	jv att = desk_jget(ev, "attachments");
	if ((!text || !*text) && (!jv_is_valid(att) ||
	    !jv_array_length(jv_copy(att)))) {
		jv_free(ev);
		return desk_in_fail(e, pre, "content", "%s, and no attachments",
		    text ? "empty" : "missing");
	}
	*events = jv_array_append(*events, ev);
	return 0;
}

/* A case body, a desk event, or an array of either. */
static int
custom_inbound(jv ch, const struct desk_http_in *in, jv *events,
    struct desk_skips *skips, struct desk_err *e)
{
	jv body;
	int r = 0;

	(void)skips;
	if (desk_in_json(in, &body, e) < 0)
		return -1;
	if (jv_get_kind(body) == JV_KIND_ARRAY) {
		jv_array_foreach(body, i, o) {
			if (!r)
				r = custom_one(ch, in, o, i, events, e);
			jv_free(o);
		}
	} else
		r = custom_one(ch, in, body, -1, events, e);
	jv_free(body);
	return r;
}

/* ---- outbound ---- */

/* ",key:" in the body being written ("key:" first). */
static void
body_key(struct desk_buf *b, const char *key)
{
	if (b->p[b->len - 1] != '{')
		desk_buf_addc(b, ',');
	desk_json_dump_str(b, key, strlen(key));
	desk_buf_addc(b, ':');
}

/*
 * The help desk API's webhook (REFERENCES §1, seed 000): POSTed to the
 * channel's url, signed after Standard Webhooks (§4) with the channel's
 * whsec_ secret (v1) and, when it has one, its whsk_ signing key (v1a).
 */
static int
custom_outbound(const struct desk_outbound *o, jv *reqs, struct desk_err *e)
{
	static const char *const keys[] = { "message_id", "case_id", "staff_id",
		"user_id" };
	const char *url = desk_jstr(o->ch, "url");
	jv m = o->msg;

	const char *type = desk_jstr(m, "type");
	if (type && strcmp(type, "message.out"))
		return 0;    /* a case's state: the app reads the case itself */
	if (!url || !*url)
		return desk_err_set(e, DESK_EX_CONFIG, "url", "channel %s has no url "
		    "to deliver to", desk_jstr(o->ch, "name"));
	/* Written straight out, not built as a tree and then printed. */
	struct desk_buf b = DESK_BUF_INIT;
	desk_buf_adds(&b, "{\"type\":\"message_new\",\"object\":{");
	for (int i = 0; i < 4; i++) {
		jv v = desk_jget(m, keys[i]);
		body_key(&b, keys[i]);
		if (jv_is_valid(v))
			desk_json_dump(&b, v);
		else
			desk_buf_addc(&b, '0');
	}
	body_key(&b, "custom_user_id");
	desk_json_dump(&b, desk_jget(m, "user_custom_id"));    /* or null */
	jv c = desk_jget(m, "content");
	body_key(&b, "content");
	if (jv_is_valid(c))
		desk_json_dump(&b, c);
	else
		desk_buf_adds(&b, "\"\"");
	jv a = desk_jget(m, "attachments");
	body_key(&b, "attachments");
	if (jv_is_valid(a))
		desk_json_dump(&b, a);
	else
		desk_buf_adds(&b, "[]");
	static const char *const flags[] = { "sent_via_rule", "b_from_api" };
	for (int i = 0; i < 2; i++) {
		int64_t f = 0;
		desk_jint(m, flags[i], &f);
		body_key(&b, flags[i]);
		desk_buf_addc(&b, f ? '1' : '0');
	}
	body_key(&b, "created_at");
	desk_json_dump(&b, desk_jget(m, "created_at"));    /* or null */
	desk_buf_adds(&b, "}}");
	size_t len = b.len;
	char *text = desk_buf_str(&b);
	char ts[24];
	snprintf(ts, sizeof ts, "%lld", (long long)o->now);
	jv r = desk_out_req("POST", url, text, len);
	r = desk_out_hdr(r, "content-type", "application/json");
	r = desk_out_hdr(r, "webhook-id", o->webhook_id);
	r = desk_out_hdr(r, "webhook-timestamp", ts);
	struct desk_buf sig = DESK_BUF_INIT;
	const char *keyv[] = { o->sec->secret, o->sec->signkey };
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++) {
		if (!keyv[i])
			continue;
		if (sig.len)
			desk_buf_addc(&sig, ' ');
		rc = desk_sig_sign(keyv[i], o->webhook_id, o->now, text, len, &sig, e);
	}
	if (rc == 0 && sig.len)
		r = desk_out_hdr(r, "webhook-signature", desk_buf_str(&sig));
	else if (rc == 0 && o->sec->token) {
		desk_buf_adds(&sig, "Bearer ");
		desk_buf_adds(&sig, o->sec->token);
		r = desk_out_hdr(r, "authorization", desk_buf_str(&sig));
	}
	desk_wipe(sig.p, sig.len);
	desk_buf_free(&sig);
	free(text);
	if (rc < 0) {
		jv_free(r);
		return -1;
	}
	*reqs = jv_array_append(*reqs, r);
	return 0;
}

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
	.auth = custom_auth,
	.inbound = custom_inbound,
	.outbound = custom_outbound,
};
