/*
 * webhook-send.c: desk-webhook send, outbox and dead: delivery of the
 * outbox (lib/send.c) and what it left.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

static long
count_arg(const char *s, const char *what, long max)
{
	uint64_t v;

	if (!desk_parse_u64(s, 1, (uint64_t)max, &v))
		desk_die(DESK_EX_USAGE, "%s: must be a whole number from 1 to %ld: %s",
		    what, max, s);
	return (long)v;
}

int
webhook_send(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "drain", no_argument, NULL, 'd' },
		{ "per-host", required_argument, NULL, 'p' },
		{ "in-flight", required_argument, NULL, 'n' },
		DESK_PROGRESS_OPTIONS,
		{ NULL, 0, NULL, 0 } };
	struct desk_send_opts o = { 0, DESK_SEND_PER_HOST, DESK_SEND_IN_FLIGHT, NULL };
	int c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "dp:n:", lo)) != -1) {
		switch (c) {
		case 'd':
			o.drain = 1;
			break;
		case 'p':
			o.per_host = count_arg(optarg, "--per-host", 1024);
			break;
		case 'n':
			o.in_flight = count_arg(optarg, "--in-flight", 65536);
			break;
		default:
			if (!desk_progress_opt(c))
				desk_usage(DESK_EX_USAGE);
		}
	}
	if (o.drain && optind != argc)
		desk_die(DESK_EX_USAGE, "send --drain reads no input");
	o.files = argv + optind;
	return desk_send(&o);
}

/* Prints the entries of the outbox that which selects; 1 when none. */
static int
print_entries(int which)
{
	struct desk_store *st = desk_open(0);
	int n = desk_out_all(desk_outbox(st, which));

	desk_store_close(st);
	return n ? DESK_EX_OK : DESK_EX_NO;
}

int
webhook_outbox(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "all", no_argument, NULL, 'a' }, DESK_TABLE_OPTION,
		{ NULL, 0, NULL, 0 } };
	int all = 0, c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "a", lo)) != -1) {
		if (c == DESK_OPT_TABLE)
			desk_out_view(&desk_view_outbox);
		else if (c != 'a')
			desk_usage(DESK_EX_USAGE);
		else
			all = 1;
	}
	if (optind != argc)
		desk_usage(DESK_EX_USAGE);
	return print_entries(all ? DESK_OUTBOX_ALL : DESK_OUTBOX_QUEUED);
}

static int
dead_list(int argc, char **argv)
{
	desk_view_operands(argc, argv, 0, &desk_view_outbox);
	return print_entries(DESK_OUTBOX_DEAD);
}

/* dead retry ID... | --all: queued again, from the first attempt. */
static int
dead_retry(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "all", no_argument, NULL, 'a' }, { NULL, 0, NULL, 0 } };
	struct desk_err e;
	int all = 0, c, status = DESK_EX_OK;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "a", lo)) != -1) {
		if (c != 'a')
			desk_usage(DESK_EX_USAGE);
		all = 1;
	}
	if (all == (optind < argc))
		desk_die(DESK_EX_USAGE, "dead retry: give outbox ids or --all");
	struct desk_store *st = desk_open(0);
	jv ids = jv_array();
	if (all) {
		jv dead = desk_outbox(st, DESK_OUTBOX_DEAD);
		jv_array_foreach(dead, i, v) {
			ids = jv_array_append(ids, jv_copy(desk_jget(v, "out_id")));
			jv_free(v);
		}
		jv_free(dead);
	} else
		for (int i = optind; i < argc; i++)
			ids = jv_array_append(ids, jv_number((double)desk_id_arg(argv[i],
			    "outbox")));
	int64_t now = desk_now();
	jv_array_foreach(ids, i, v) {
		uint64_t oid = (uint64_t)jv_number_value(v);
		jv_free(v);
		if (desk_dead_retry(st, oid, now, &e) < 0) {
			desk_warn("dead retry %llu: %s", (unsigned long long)oid, e.msg);
			status = e.code;
		} else
			printf("%llu\n", (unsigned long long)oid);
	}
	jv_free(ids);
	desk_store_commit(st);
	desk_store_close(st);
	if (fflush(stdout) != 0 || ferror(stdout))
		desk_die_errno(DESK_EX_IOERR, "stdout");
	return status;
}

int
webhook_dead(int argc, char **argv)
{
	static const struct desk_cmd cmds[] = { { "list", dead_list },
		{ "retry", dead_retry } };
	int status;

	optind = 1;
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	if (argc > 1)
		desk_warn("dead %s: unknown command", argv[1]);
	desk_usage(DESK_EX_USAGE);
}
