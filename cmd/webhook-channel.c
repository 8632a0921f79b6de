/*
 * webhook-channel.c: desk-webhook channel, the channel registry: the
 * options and the output; what a change means and the activation checks
 * are lib/connect's (manage.c and each connector's file).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "webhook.h"

static const char *
name_arg(const char *s)
{
	if (!desk_channel_name_ok(s))
		desk_die(DESK_EX_USAGE, "%s: not a channel name (1-64 of A-Z a-z "
		    "0-9 . _ -, not starting with . or -)", s);
	return s;
}

/*
 * The first line of a secret file ("-": stdin), malloc'd; never from the
 * command line, where ps and the shell's history would show it.
 */
static char *
secret_file(const char *path, const char *opt)
{
	enum { MAX = 4096 };
	char *buf = desk_xmalloc(MAX + 1);
	size_t n = 0;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;

	if (fd < 0)
		desk_die_errno(DESK_EX_USAGE, "%s: %s", opt, path);
	desk_input_taken();
	for (ssize_t r; n < MAX + 1 && (r = read(fd, buf + n, MAX + 1 - n)) != 0;) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			desk_die_errno(DESK_EX_USAGE, "%s: %s", opt, path);
		n += (size_t)r;
	}
	if (fd > 0)
		close(fd);
	char *nl = memchr(buf, '\n', n);
	size_t len = nl ? (size_t)(nl - buf) : n;
	if (len && buf[len - 1] == '\r')
		len--;
	int bad = len == 0 || len > MAX || memchr(buf, '\0', len);
	sodium_memzero(buf + len, MAX + 1 - len);
	if (bad) {
		sodium_memzero(buf, MAX + 1);
		desk_die(DESK_EX_USAGE, "%s: %s: not one line of 1 to %d bytes of text",
		    opt, path, MAX);
	}
	return buf;
}

static void
secrets_free(struct desk_channel_edit *ed)
{
	for (int k = 0; k < DESK_NSECRETS; k++)
		if (ed->secret[k]) {
			sodium_memzero((char *)ed->secret[k], strlen(ed->secret[k]));
			free((char *)ed->secret[k]);
		}
}

static void
url_arg(jv *set, const char *key, const char *opt, const char *v)
{
	if (*v && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
		desk_die(DESK_EX_USAGE, "%s: not an http(s) URL: %s", opt, v);
	*set = desk_jset_str(*set, key, *v ? v : NULL);
}

enum { O_API = 256, O_TOKEN, O_SECRET, O_OPERATOR, O_SERVICE, O_NO_SERVICE,
	O_HOOK, O_PRIVATE, O_NO_PRIVATE, O_ACTIVATE, O_INACTIVE };

/* The options of add (create) and set: ed filled, ed->settings owned. */
static void
edit_options(int argc, char **argv, struct desk_channel_edit *ed)
{
	char names[128];
	jv set = jv_object();
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'c':
			if (!ed->create)
				desk_die(DESK_EX_USAGE, "--connector: a channel keeps its "
				    "connector (rm and add it again)");
			if (!desk_connector(optarg))
				desk_die(DESK_EX_USAGE, "--connector: must be %s: %s",
				    desk_connector_names(names, sizeof names), optarg);
			ed->connector = optarg;
			break;
		case 't':
			if (strcmp(optarg, "async") && strcmp(optarg, "sync"))
				desk_die(DESK_EX_USAGE, "--type: must be async or sync: %s",
				    optarg);
			set = desk_jset_str(set, "type", optarg);
			break;
		case 'u': url_arg(&set, "url", "--url", optarg); break;
		case O_API: url_arg(&set, "api_url", "--api-url", optarg); break;
		case O_HOOK: url_arg(&set, "hook_url", "--hook-url", optarg); break;
		case O_OPERATOR: {
			uint64_t id;
			if (*optarg && !desk_parse_u64(optarg, 0, INT64_MAX, &id))
				desk_die(DESK_EX_USAGE, "--operator-id: not an operator "
				    "id: %s", optarg);
			set = desk_jset_str(set, "operator_id", *optarg ? optarg : NULL);
			break;
		}
		case O_SERVICE: case O_NO_SERVICE:
			set = desk_jset(set, "service_messages", jv_bool(c == O_SERVICE));
			break;
		case O_PRIVATE: case O_NO_PRIVATE:
			set = desk_jset(set, "allow_private", jv_bool(c == O_PRIVATE));
			break;
		case O_TOKEN: case O_SECRET: {
			int k = c == O_TOKEN ? DESK_SECRET_TOKEN : DESK_SECRET_SECRET;
			if (ed->secret[k])
				desk_die(DESK_EX_USAGE, "%s: given twice", argv[optind - 1]);
			ed->secret[k] = secret_file(optarg, c == O_TOKEN ?
			    "--token-file" : "--secret-file");
			break;
		}
		case O_ACTIVATE: ed->activate = 1; break;
		case O_INACTIVE: break;          /* what add does anyway */
		}
	}
	if (optind != argc - 1)
		desk_usage_die("channel %s: expected one NAME, got %d operands",
		    ed->create ? "add" : "set", argc - optind);
	ed->name = name_arg(argv[optind]);
	ed->settings = set;
}

/* Runs ed: prints the channel saved and each failed check; the status. */
static int
edit(struct desk_channel_edit *ed)
{
	struct desk_store *st = desk_open(ed->create ? DESK_ST_CREATE : 0);
	struct desk_fails f;
	struct desk_err e;
	jv saved;

	int rc = desk_channel_edit(st, ed, &saved, &f, &e);
	secrets_free(ed);
	jv_free(ed->settings);
	if (rc < 0)
		desk_die(e.code, "%s", e.msg);
	if (jv_is_valid(saved)) {
		desk_out(desk_channel_view(st, saved));
		desk_out_flush();
	}
	for (int i = 0; i < f.n; i++)
		desk_warn("channel %s: %s: %s", ed->name, f.e[i].field, f.e[i].msg);
	desk_store_close(st);
	return rc;
}

static int
channel_add(int argc, char **argv)
{
	struct desk_channel_edit ed = { .create = 1 };

	edit_options(argc, argv, &ed);
	return edit(&ed);
}

static int
channel_set(int argc, char **argv)
{
	struct desk_channel_edit ed = { 0 };

	edit_options(argc, argv, &ed);
	return edit(&ed);
}

static int
channel_switch(int argc, char **argv, int on)
{
	struct desk_channel_edit ed = { .activate = on, .deactivate = !on,
		.settings = jv_invalid() };

	ed.name = name_arg(desk_operands(argc, argv, 1)[0]);
	return edit(&ed);
}

static int
channel_activate(int argc, char **argv)
{
	return channel_switch(argc, argv, 1);
}

static int
channel_deactivate(int argc, char **argv)
{
	return channel_switch(argc, argv, 0);
}

static int
channel_list(int argc, char **argv)
{
	desk_view_operands(argc, argv, 0, &desk_view_channels);
	struct desk_store *st = desk_open(0);
	jv all = desk_channel_list(st);
	int n = jv_array_length(jv_copy(all));
	jv_array_foreach(all, i, ch)
		desk_out(desk_channel_view(st, ch));
	desk_out_flush();
	jv_free(all);
	desk_store_close(st);
	return n ? DESK_EX_OK : DESK_EX_NO;
}

/* The channel named by the one operand, which must exist. */
static jv
operand_channel(int argc, char **argv, struct desk_store **st, int lock)
{
	const char *name = name_arg(desk_view_operands(argc, argv, 1,
	    &desk_view_channels)[0]);

	*st = desk_open(0);
	if (lock)
		desk_store_lock(*st);
	jv ch = desk_channel_get(*st, name);
	if (!jv_is_valid(ch))
		desk_die(DESK_EX_CONFIG, "channel %s: unknown channel", name);
	return ch;
}

static int
channel_show(int argc, char **argv)
{
	struct desk_store *st;
	jv ch = operand_channel(argc, argv, &st, 0);

	desk_out(desk_channel_view(st, ch));
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
channel_rm(int argc, char **argv)
{
	struct desk_store *st;
	jv ch = operand_channel(argc, argv, &st, 1);
	const char *name = desk_jstr(ch, "name");

	if (desk_channel_remove(st, name) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s: channel %s", desk_store_root(st), name);
	desk_store_commit(st);
	jv_free(ch);
	desk_store_close(st);
	return DESK_EX_OK;
}

/*
 * channel secret and keygen: a new secret of the channel, stored 0600; what
 * the other side needs (the whsec_ secret itself, the whpk_ public key)
 * printed this once.
 */
static int
new_key(int argc, char **argv, int kind)
{
	struct desk_store *st;
	jv ch = operand_channel(argc, argv, &st, 1);
	const char *name = desk_jstr(ch, "name");
	const struct desk_connector *c = desk_connector(desk_jstr(ch, "connector"));
	unsigned bit = kind == DESK_SECRET_SECRET ? DESK_SET_SECRET : DESK_SET_SIGNKEY;
	char sk[DESK_WHSK_LEN], pk[DESK_WHPK_LEN];

	if (!c || !(c->accepts & bit))
		desk_die(DESK_EX_CONFIG, "channel %s: a %s channel has no %s", name,
		    c ? c->name : "(unknown)", kind == DESK_SECRET_SECRET ?
		    "Standard Webhooks secret" : "signing key");
	if (kind == DESK_SECRET_SECRET)
		desk_whsec_new(sk);
	else
		desk_whsk_new(sk, pk);
	if (desk_secret_put(st, name, kind, sk, strlen(sk)) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/secrets/%s", desk_store_root(st), name);
	desk_store_commit(st);
	jv out = desk_jset_str(jv_object(), "name", name);
	out = kind == DESK_SECRET_SECRET ? desk_jset_str(out, "secret", sk) :
	    desk_jset_str(out, "public_key", pk);
	sodium_memzero(sk, sizeof sk);
	desk_out(out);
	desk_out_flush();
	jv_free(ch);
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
channel_secret(int argc, char **argv)
{
	return new_key(argc, argv, DESK_SECRET_SECRET);
}

static int
channel_keygen(int argc, char **argv)
{
	return new_key(argc, argv, DESK_SECRET_SIGNKEY);
}

/* The connectors, from their table: for completions and scripts. */
static int
channel_connectors(int argc, char **argv)
{
	desk_operands(argc, argv, 0);
	for (size_t i = 0; desk_connectors[i]; i++) {
		const struct desk_connector *c = desk_connectors[i];
		jv opts = jv_array();
		for (const struct desk_setting *s = desk_settings; s->bit; s++)
			if (c->accepts & s->bit)
				opts = jv_array_append(opts, jv_string(s->option));
		jv o = desk_jset_str(jv_object(), "connector", c->name);
		o = desk_jset_str(o, "title", c->title);
		o = desk_jset(o, "settings", opts);
		o = desk_jset_str(o, "api_url", c->api_url);
		desk_out(o);
	}
	desk_out_flush();
	return DESK_EX_OK;
}

/* ---- the commands and their options ---- */

/* The settings, as add and set take them. */
#define SETTINGS \
	{ 't', "type", "TYPE", "async (cases like mail) or sync (chats)", \
	    "async sync", 0 }, \
	{ 'u', "url", "URL", "where replies are POSTed (custom)", NULL, 0 }, \
	{ O_API, "api-url", "URL", "the platform's API (chat2desk, blip)", NULL, 0 }, \
	{ O_HOOK, "hook-url", "URL", "the public address of this channel's serve " \
	    "endpoint", NULL, 0 }, \
	{ O_TOKEN, "token-file", "FILE", "the API token, the first line of FILE " \
	    "(-: stdin)", DESK_V_FILE, 0 }, \
	{ O_SECRET, "secret-file", "FILE", "the whsec_ secret, the first line of " \
	    "FILE (-: stdin)", DESK_V_FILE, 0 }, \
	{ O_OPERATOR, "operator-id", "N", "take only the chats of this operator " \
	    "(chat2desk; empty: all)", NULL, 0 }, \
	{ O_SERVICE, "service-messages", NULL, "service messages become " \
	    "messages too", NULL, 0 }, \
	{ O_NO_SERVICE, "no-service-messages", NULL, "service messages are " \
	    "skipped (the default)", NULL, 0 }, \
	{ O_PRIVATE, "allow-private", NULL, "replies may go to private " \
	    "addresses", NULL, 0 }, \
	{ O_NO_PRIVATE, "no-allow-private", NULL, "replies go to public " \
	    "addresses only (the default)", NULL, 0 }, \
	{ O_ACTIVATE, "activate", NULL, "activate the channel if every check " \
	    "passes", NULL, 0 }

static const struct desk_opt add_opts[] = {
	{ 'c', "connector", "NAME", "the connector (custom when not given)",
	    DESK_V_CONNECTOR, 0 },
	SETTINGS,
	{ O_INACTIVE, "inactive", NULL, "save the channel inactive (the default)",
	    NULL, 0 },
	DESK_OPT_END
};

static const struct desk_opt set_opts[] = { SETTINGS,
	DESK_OPT_END };

const struct desk_command webhook_channel_cmds[] = {
	{ "add", channel_add, "NAME [--connector NAME]\n"
	    " [--type async|sync] [--url URL] [--api-url URL]\n"
	    " [--hook-url URL] [--token-file F]\n [--secret-file F]"
	    " [--operator-id N]\n"
	    " [--service-messages] [--allow-private] [--activate]",
	    "Add a channel; print it.\nSaved inactive, unless --activate and "
	    "every check of its connector passes;\neach failed check is a line "
	    "on stderr (exit 69 or 78).", add_opts, NULL, DESK_ENV_WRITE, NULL, 0 },
	{ "set", channel_set, "NAME [the options of add but --connector]",
	    "Change a channel's settings.\nAn active "
	    "channel takes only what passes its checks.", set_opts, NULL, DESK_ENV_WRITE, DESK_V_CHANNEL, 0 },
	{ "list", channel_list, "[--table]", "List the channels, by name.\nOne "
	    "JSON object a line; exit 1 when there are none.", desk_view_opts,
	    NULL, DESK_ENV_READ, NULL, 0 },
	{ "show", channel_show, "[--table] NAME", "Show a channel.\nWhether a "
	    "secret is set, never the secret.", desk_view_opts, NULL,
	    DESK_ENV_READ, DESK_V_CHANNEL, 0 },
	{ "rm", channel_rm, "NAME", "Remove a channel and its secrets.", NULL,
	    NULL, DESK_ENV_WRITE, DESK_V_CHANNEL, 0 },
	{ "activate", channel_activate, "NAME", "Activate a channel.\nIf every "
	    "check of its connector passes; each failure is a line on stderr.", NULL, NULL, DESK_ENV_WRITE,
	    DESK_V_CHANNEL, 0 },
	{ "deactivate", channel_deactivate, "NAME", "Deactivate a channel.\nserve "
	    "and send leave it alone.", NULL, NULL, DESK_ENV_WRITE,
	    DESK_V_CHANNEL, 0 },
	{ "secret", channel_secret, "NAME", "Make a channel's whsec_ secret.\n"
	    "A new Standard Webhooks secret, printed this once.", NULL, NULL,
	    DESK_ENV_WRITE, DESK_V_CHANNEL, 0 },
	{ "keygen", channel_keygen, "NAME", "Make a channel's signing key.\n"
	    "A new Ed25519 key; prints its whpk_ public key.", NULL, NULL,
	    DESK_ENV_WRITE, DESK_V_CHANNEL, 0 },
	{ "connectors", channel_connectors, "", "List the connectors.\nAnd the "
	    "settings each takes, from their table.", NULL, NULL, "", NULL, 0 },
	DESK_CMD_END
};
