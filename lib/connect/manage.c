/*
 * manage.c: channels added, changed, activated and deactivated, as the
 * seeds' Create / Create & Activate / Apply / Save & Activate / Deactivate
 * buttons do, with the checks of every connector in one place and each
 * connector's own (its network checks) in its file.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "connect/connect.h"

const struct desk_setting desk_settings[] = {
	{ DESK_SET_URL, "url", "--url" },
	{ DESK_SET_API_URL, "api_url", "--api-url" },
	{ DESK_SET_HOOK_URL, "hook_url", "--hook-url" },
	{ DESK_SET_OPERATOR, "operator_id", "--operator-id" },
	{ DESK_SET_SERVICE, "service_messages", "--service-messages" },
	{ DESK_SET_PRIVATE, "allow_private", "--allow-private" },
	{ DESK_SET_TOKEN, NULL, "--token-file" },
	{ DESK_SET_SECRET, NULL, "--secret-file" },
	{ DESK_SET_SIGNKEY, NULL, "channel keygen" },
	{ 0, NULL, NULL }
};

/* The setting bit of a secret kind (DESK_SECRET_*). */
#define SECRET_BIT(k) ((unsigned)DESK_SET_TOKEN << (k))

int
desk_fail(struct desk_fails *f, int code, const char *check, const char *fmt, ...)
{
	va_list ap;

	if (f->n == DESK_MAX_FAILS)
		return -1;
	va_start(ap, fmt);
	desk_err_vset(&f->e[f->n++], code, check, fmt, ap);
	va_end(ap);
	return -1;
}

int
desk_fails_status(const struct desk_fails *f)
{
	int st = f->n ? DESK_EX_CONFIG : DESK_EX_OK;

	for (int i = 0; i < f->n; i++)
		if (f->e[i].code == DESK_EX_UNAVAILABLE)
			st = DESK_EX_UNAVAILABLE;
	return st;
}

/* A setting is there when it is not null. */
static jv
setting(jv ch, const char *key)
{
	jv v = desk_jget(ch, key);
	return jv_is_valid(v) && jv_get_kind(v) != JV_KIND_NULL ? v : jv_invalid();
}

static int
http_url(const char *s)
{
	return (!strncmp(s, "http://", 7) && s[7]) || (!strncmp(s, "https://", 8) && s[8]);
}

static int
digits(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n <= 19 && !s[n];
}

int
desk_channel_check(jv ch, struct desk_err *e)
{
	const char *cn = desk_jstr(ch, "connector"), *t = desk_jstr(ch, "type");
	const struct desk_connector *c = cn ? desk_connector(cn) : NULL;
	char names[128];

	if (!c)
		return desk_err_set(e, DESK_EX_CONFIG, "connector", "--connector: "
		    "must be %s: %s", desk_connector_names(names, sizeof names),
		    cn ? cn : "(none)");
	if (t && strcmp(t, "async") && strcmp(t, "sync"))
		return desk_err_set(e, DESK_EX_CONFIG, "type", "--type: must be "
		    "async or sync: %s", t);
	for (const struct desk_setting *s = desk_settings; s->bit; s++) {
		if (!s->key)
			continue;
		jv v = setting(ch, s->key);
		if (!jv_is_valid(v))
			continue;
		if (!(c->accepts & s->bit))
			return desk_err_set(e, DESK_EX_CONFIG, s->key, "%s: not a "
			    "setting of a %s channel", s->option, c->name);
		jv_kind k = jv_get_kind(v);
		int bool = s->bit & (DESK_SET_SERVICE | DESK_SET_PRIVATE);
		if (bool ? k != JV_KIND_TRUE && k != JV_KIND_FALSE : k != JV_KIND_STRING)
			return desk_err_set(e, DESK_EX_CONFIG, s->key, "%s: must be %s",
			    s->option, bool ? "true or false" : "a string");
		const char *str = bool ? "" : jv_string_value(v);
		if ((s->bit & (DESK_SET_URL | DESK_SET_API_URL | DESK_SET_HOOK_URL)) &&
		    !http_url(str))
			return desk_err_set(e, DESK_EX_CONFIG, s->key, "%s: not an "
			    "http(s) URL: %s", s->option, str);
		if (s->bit == DESK_SET_OPERATOR && !digits(str))
			return desk_err_set(e, DESK_EX_CONFIG, s->key, "%s: not an "
			    "operator id (digits): %s", s->option, str);
	}
	return c->check ? c->check(ch, e) : 0;
}

/* The token present and active on no other channel of the connector. */
static void
token_checks(struct desk_store *st, jv ch, const struct desk_connector *c,
    const struct desk_secrets *sec, struct desk_fails *f)
{
	if (!c->unique_token)
		return;
	if (!sec->token) {
		desk_fail(f, DESK_EX_CONFIG, "token", "no token (--token-file)");
		return;
	}
	const char *name = desk_jstr(ch, "name");
	size_t n = strlen(sec->token);
	jv all = desk_channel_list(st);
	jv_array_foreach(all, i, o) {
		const char *on = desk_jstr(o, "name"), *oc = desk_jstr(o, "connector");
		struct desk_secrets os;
		struct desk_err e;
		if (on && oc && strcmp(on, name) && !strcmp(oc, c->name) &&
		    jv_get_kind(desk_jget(o, "active")) == JV_KIND_TRUE &&
		    desk_secrets_load(st, on, &os, &e) == 0) {
			if (os.token && strlen(os.token) == n &&
			    !sodium_memcmp(os.token, sec->token, n))
				desk_fail(f, DESK_EX_CONFIG, "token", "the token of "
				    "active %s channel %s (a token serves one channel)",
				    c->name, on);
			desk_secrets_wipe(&os);
		}
		jv_free(o);
	}
	jv_free(all);
}

void
desk_channel_checks(struct desk_store *st, jv ch, const struct desk_secrets *sec,
    struct desk_fails *f)
{
	struct desk_err e;

	if (desk_channel_check(ch, &e) < 0) {
		desk_fail(f, e.code, "settings", "%s", e.msg);
		return;
	}
	const struct desk_connector *c = desk_connector(desk_jstr(ch, "connector"));
	token_checks(st, ch, c, sec, f);
	if (c->activate) {
		struct desk_activation a = { ch, sec };
		c->activate(&a, f);
	}
}

/* A new channel of ed, its keys in the order of desk_settings. */
static jv
fresh(const struct desk_channel_edit *ed, const char *now)
{
	const char *cn = ed->connector ? ed->connector : "custom";
	const struct desk_connector *c = desk_connector(cn);
	jv set = ed->settings;
	jv ch = jv_object();

	ch = desk_jset_str(ch, "name", ed->name);
	ch = desk_jset_str(ch, "connector", cn);
	ch = desk_jset_str(ch, "type", desk_jstr(set, "type") ? desk_jstr(set, "type") : "async");
	for (const struct desk_setting *s = desk_settings; s->bit; s++) {
		jv v = s->key ? setting(set, s->key) : jv_invalid();
		if (jv_is_valid(v))
			ch = desk_jset(ch, s->key, jv_copy(v));
		else if (s->bit == DESK_SET_API_URL && c && c->api_url)
			ch = desk_jset_str(ch, s->key, c->api_url);
	}
	ch = desk_jset(ch, "active", jv_false());
	ch = desk_jset_str(ch, "created_at", now);
	return ch;
}

static void
secrets_dup(struct desk_secrets *s, const struct desk_channel_edit *ed)
{
	char **f[DESK_NSECRETS] = { &s->token, &s->secret, &s->signkey };

	for (int k = 0; k < DESK_NSECRETS; k++)
		if (ed->secret[k]) {
			if (*f[k]) {
				sodium_memzero(*f[k], strlen(*f[k]));
				free(*f[k]);
			}
			*f[k] = desk_xstrdup(ed->secret[k]);
		}
}

static int
is_active(jv ch)
{
	return jv_is_valid(ch) && jv_get_kind(desk_jget(ch, "active")) == JV_KIND_TRUE;
}

/* Writes ch and the secrets ed changes, under the lock: 0, or -1 with e (74). */
static int
write_channel(struct desk_store *st, const struct desk_channel_edit *ed, jv ch,
    struct desk_err *e)
{
	for (int k = 0; k < DESK_NSECRETS; k++)
		if (ed->secret[k] && desk_secret_put(st, ed->name, k, ed->secret[k],
		    strlen(ed->secret[k])) < 0)
			return desk_err_set(e, DESK_EX_IOERR, "channel", "%s/secrets/%s: %s",
			    desk_store_root(st), ed->name, strerror(errno));
	if (desk_channel_put(st, ch) < 0)
		return desk_err_set(e, DESK_EX_IOERR, "channel", "%s/channels/%s.json: %s",
		    desk_store_root(st), ed->name, strerror(errno));
	return 0;
}

/* The channel as it was, checked against what ed expects of it. */
static jv
current(struct desk_store *st, const struct desk_channel_edit *ed, struct desk_err *e)
{
	jv old = desk_channel_get(st, ed->name);

	if (ed->create && jv_is_valid(old)) {
		jv_free(old);
		desk_err_set(e, DESK_EX_DATA, "name", "channel %s already exists "
		    "(desk-webhook channel rm %s first)", ed->name, ed->name);
		return jv_invalid();
	}
	if (!ed->create && !jv_is_valid(old)) {
		desk_err_set(e, DESK_EX_CONFIG, "name", "channel %s: unknown channel",
		    ed->name);
		return jv_invalid();
	}
	return ed->create ? jv_object() : old;
}

int
desk_channel_edit(struct desk_store *st, const struct desk_channel_edit *ed,
    jv *saved, struct desk_fails *f, struct desk_err *e)
{
	struct desk_secrets sec = { 0 };
	char now[32];
	int rc = -1;

	*saved = jv_invalid();
	f->n = 0;
	desk_time_fmt(desk_now(), now);
	jv old = current(st, ed, e);
	if (!jv_is_valid(old))
		return -1;
	int was_active = is_active(old);
	jv ch = ed->create ? fresh(ed, now) : jv_copy(old);
	jv set = ed->settings;
	if (jv_is_valid(set))
		jv_object_foreach(set, k, v)
			ch = jv_get_kind(v) == JV_KIND_NULL ?
			    (jv_free(v), jv_object_delete(ch, k)) : jv_object_set(ch, k, v);
	ch = desk_jset_str(ch, "updated_at", now);
	if (desk_channel_check(ch, e) < 0)
		goto out;
	const struct desk_connector *c = desk_connector(desk_jstr(ch, "connector"));
	for (const struct desk_setting *s = desk_settings; s->bit; s++)
		for (int k = 0; k < DESK_NSECRETS; k++)
			if (s->bit == SECRET_BIT(k) && ed->secret[k] && !(c->accepts & s->bit)) {
				desk_err_set(e, DESK_EX_CONFIG, "channel", "%s: not a "
				    "setting of a %s channel", s->option, c->name);
				goto out;
			}
	const char *whsec = ed->secret[DESK_SECRET_SECRET];
	if (whsec && !desk_whsec_ok(whsec)) {
		desk_err_set(e, DESK_EX_CONFIG, "secret", "--secret-file: not a "
		    "Standard Webhooks secret (whsec_ and the base64 of 24 to 64 bytes)");
		goto out;
	}
	if (!ed->create && desk_secrets_load(st, ed->name, &sec, e) < 0)
		goto out;
	secrets_dup(&sec, ed);
	int want = !ed->deactivate && (ed->activate || was_active);
	/* The network checks, outside the lock: a slow platform never holds it. */
	if (want)
		desk_channel_checks(st, ch, &sec, f);
	if (want && f->n && was_active) {
		rc = desk_fails_status(f);      /* an active channel: nothing applied */
		goto out;
	}
	desk_store_lock(st);
	jv now_ch = current(st, ed, e);
	if (!jv_is_valid(now_ch)) {
		desk_store_commit(st);
		goto out;
	}
	jv_free(now_ch);
	/* Another channel may have taken the token while the checks ran. */
	if (want && !f->n) {
		token_checks(st, ch, c, &sec, f);
		if (f->n && was_active) {
			desk_store_commit(st);
			rc = desk_fails_status(f);
			goto out;
		}
	}
	ch = desk_jset(ch, "active", jv_bool(want && !f->n));
	if (write_channel(st, ed, ch, e) < 0) {
		desk_store_commit(st);
		goto out;
	}
	desk_store_commit(st);
	*saved = jv_copy(ch);
	rc = desk_fails_status(f);
out:
	desk_secrets_wipe(&sec);
	jv_free(old);
	jv_free(ch);
	return rc;
}

static int
secret_set(struct desk_store *st, const char *name, int kind)
{
	static const char *const ext[] = { "token", "secret", "signkey" };
	char rel[128];
	struct stat sb;

	snprintf(rel, sizeof rel, "secrets/%s.%s", name, ext[kind]);
	return desk_store_stat(st, rel, &sb) == 0;
}

jv
desk_channel_view(struct desk_store *st, jv ch)
{
	static const char *const kinds[] = { "token", "secret", "signkey" };
	const char *name = desk_jstr(ch, "name");
	jv url = setting(ch, "url");

	jv out = jv_object();
	out = desk_jset(out, "channel_id", jv_copy(desk_jget(ch, "name")));
	out = desk_jset(out, "title", jv_copy(desk_jget(ch, "name")));
	out = desk_jset(out, "channel_type", jv_copy(desk_jget(ch, "type")));
	out = desk_jset(out, "webhook_url", jv_is_valid(url) ? jv_copy(url) : jv_null());
	out = desk_jset(out, "active", jv_bool(is_active(ch)));
	jv_object_foreach(ch, k, v)
		out = jv_object_set(out, k, v);
	out = desk_jset(out, "active", jv_bool(is_active(ch)));
	for (int k = 0; k < DESK_NSECRETS; k++)
		out = desk_jset(out, kinds[k], jv_bool(name && secret_set(st, name, k)));
	jv_free(ch);
	return out;
}

int
desk_channel_remove(struct desk_store *st, const char *name)
{
	if (desk_channel_rm(st, name) < 0)
		return -1;
	for (int k = 0; k < DESK_NSECRETS; k++)
		if (desk_secret_put(st, name, k, NULL, 0) < 0)
			return -1;
	return 0;
}
