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
	struct desk_send_opts o = { 0, DESK_SEND_PER_HOST, DESK_SEND_IN_FLIGHT, NULL };
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
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
			desk_progress_opt(c);
			break;
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
	return print_entries(desk_outbox_opts(argc, argv) ? DESK_OUTBOX_ALL :
	    DESK_OUTBOX_QUEUED);
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
	struct desk_err e;
	int all = 0, c, status = DESK_EX_OK;

	while ((c = desk_getopt(argc, argv)) != -1) {
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

const struct desk_opt webhook_send_opts[] = {
	{ 'd', "drain", NULL, "deliver what is due from the outbox, then exit "
	    "(cron); no input", NULL, 0 },
	{ 'p', "per-host", "N", "connections per host at most (1 to 1024)",
	    NULL, 0 },
	{ 'n', "in-flight", "N", "deliveries in flight at most (1 to 65536)",
	    NULL, 0 },
	DESK_PROGRESS_OPTIONS,
	DESK_OPT_END
};

const struct desk_opt webhook_outbox_opts[] = {
	{ 'a', "all", NULL, "every entry, delivered and dead too", NULL, 0 },
	DESK_TABLE_OPTION,
	DESK_OPT_END
};

static const struct desk_opt retry_opts[] = {
	{ 'a', "all", NULL, "every dead entry", NULL, 0 },
	DESK_OPT_END
};

const struct desk_command webhook_dead_cmds[] = {
	{ "list", dead_list, "[--table]", "List the dead entries.\nReplies that "
	    "will not be retried; exit 1 when there are none.", desk_view_opts, NULL,
	    DESK_ENV_READ, NULL, 0 },
	{ "retry", dead_retry, "ID... | --all", "Queue dead entries again.\nFrom "
	    "the first attempt; prints each id.", retry_opts, NULL,
	    DESK_ENV_WRITE, NULL, 0 },
	DESK_CMD_END
};
