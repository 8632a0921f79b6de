/*
 * webhook-channel.c: desk-webhook channel, the channel registry.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

static const char *
name_arg(const char *s)
{
	if (!desk_channel_name_ok(s))
		desk_die(DESK_EX_USAGE, "%s: not a channel name (1-64 of A-Z a-z "
		    "0-9 . _ -, not starting with . or -)", s);
	return s;
}

static int
one_of(const char *s, const char *a, const char *b, const char *c)
{
	return !strcmp(s, a) || !strcmp(s, b) || (c && !strcmp(s, c));
}

static int
channel_add(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "connector", required_argument, NULL, 'c' },
		{ "type", required_argument, NULL, 't' },
		{ "url", required_argument, NULL, 'u' },
		{ "inactive", no_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 } };
	const char *connector = "custom", *type = "async", *url = NULL;
	int active = 1, c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "c:t:u:i", lo)) != -1) {
		switch (c) {
		case 'c':
			if (!one_of(optarg, "custom", "chat2desk", "blip"))
				desk_die(DESK_EX_USAGE, "--connector: must be custom, "
				    "chat2desk or blip: %s", optarg);
			connector = optarg;
			break;
		case 't':
			if (!one_of(optarg, "async", "sync", NULL))
				desk_die(DESK_EX_USAGE, "--type: must be async or sync: %s",
				    optarg);
			type = optarg;
			break;
		case 'u':
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				desk_die(DESK_EX_USAGE, "--url: not an http(s) URL: %s", optarg);
			url = optarg;
			break;
		case 'i':
			active = 0;
			break;
		}
	}
	if (optind != argc - 1)
		desk_usage(DESK_EX_USAGE);
	const char *name = name_arg(argv[optind]);
	struct desk_store *st = desk_open(DESK_ST_CREATE);
	desk_store_lock(st);
	jv old = desk_channel_get(st, name);
	if (jv_is_valid(old))
		desk_die(DESK_EX_DATA, "channel %s already exists (desk-webhook "
		    "channel rm %s first)", name, name);
	char now[32];
	desk_time_fmt(desk_now(), now);
	jv ch = jv_object();
	ch = desk_jset_str(ch, "name", name);
	ch = desk_jset_str(ch, "connector", connector);
	ch = desk_jset_str(ch, "type", type);
	ch = desk_jset_str(ch, "url", url);
	ch = desk_jset(ch, "active", jv_bool(active));
	ch = desk_jset_str(ch, "created_at", now);
	ch = desk_jset_str(ch, "updated_at", now);
	if (desk_channel_put(st, ch) < 0)
		desk_die_errno(DESK_EX_IOERR, "%s/channels/%s.json",
		    desk_store_root(st), name);
	desk_store_commit(st);
	desk_out(ch);
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
channel_list(int argc, char **argv)
{
	desk_operands(argc, argv, 0);
	struct desk_store *st = desk_open(0);
	jv all = desk_channel_list(st);
	int n = jv_array_length(jv_copy(all));
	jv_array_foreach(all, i, ch)
		desk_out(ch);
	desk_out_flush();
	jv_free(all);
	desk_store_close(st);
	return n ? DESK_EX_OK : DESK_EX_NO;
}

static int
channel_show_rm(int argc, char **argv, int rm)
{
	char **arg = desk_operands(argc, argv, 1);
	const char *name = name_arg(arg[0]);
	struct desk_store *st = desk_open(0);
	if (rm)
		desk_store_lock(st);
	jv ch = desk_channel_get(st, name);
	if (!jv_is_valid(ch))
		desk_die(DESK_EX_CONFIG, "channel %s: unknown channel", name);
	if (rm) {
		if (desk_channel_rm(st, name) < 0)
			desk_die_errno(DESK_EX_IOERR, "%s/channels/%s.json",
			    desk_store_root(st), name);
		desk_store_commit(st);
		jv_free(ch);
	} else {
		desk_out(ch);
		desk_out_flush();
	}
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
channel_show(int argc, char **argv)
{
	return channel_show_rm(argc, argv, 0);
}

static int
channel_rm(int argc, char **argv)
{
	return channel_show_rm(argc, argv, 1);
}

int
webhook_channel(int argc, char **argv)
{
	static const struct desk_cmd cmds[] = { { "add", channel_add },
		{ "list", channel_list }, { "show", channel_show }, { "rm", channel_rm } };
	int status;

	optind = 1;
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	if (argc > 1)
		desk_warn("channel %s: unknown command", argv[1]);
	desk_usage(DESK_EX_USAGE);
}

