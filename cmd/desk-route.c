/*
 * desk-route: the rules (desk-rules(5)) over new and updated cases'
 * messages, and over cases from cron (tick); checks and lists the rules.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"

static const char *rules_file;      /* -r, or NULL for STORE/rules.json */
static int mode = DESK_ROUTE_APPLY;

#define RULES_MAX (4u << 20)

static void
diag(int rule, const char *name, const char *field, const char *msg, void *ctx)
{
	const char *file = ctx;

	if (rule)
		desk_warn("%s: rule %d (%s): %s: %s", file, rule, name ? name : "no name",
		    field, msg);
	else
		desk_warn("%s: %s%s%s", file, field, *field ? ": " : "", msg);
}

static char *
read_file(const char *path, size_t *n)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	struct desk_buf b = DESK_BUF_INIT;
	char chunk[65536];
	ssize_t r;

	if (fd < 0)
		desk_die_errno(DESK_EX_CONFIG, "%s", path);
	desk_input_taken();      /* a pipe's rules are not there to read again */
	while ((r = read(fd, chunk, sizeof chunk)) != 0) {
		if (r < 0)
			desk_die_errno(DESK_EX_IOERR, "%s", path);
		if (b.len + (size_t)r > RULES_MAX)
			desk_die(DESK_EX_CONFIG, "%s: larger than %u bytes", path, RULES_MAX);
		desk_buf_add(&b, chunk, (size_t)r);
	}
	if (fd)
		close(fd);
	*n = b.len;
	return desk_buf_str(&b);
}

/* The rules, checked (dies 78 naming every problem); jq too with flags. */
static struct desk_rules *
load(int flags)
{
	const char *name = rules_file;
	char *text;
	size_t n;

	if (name)
		text = read_file(name, &n);
	else {
		struct desk_store *st = desk_open(0);
		name = "rules.json";
		if (!(text = desk_store_get(st, "rules.json", &n)))
			desk_die(DESK_EX_CONFIG, "%s/rules.json: %s (or name a file "
			    "with -r)", desk_store_root(st), strerror(errno));
		desk_store_close(st);
	}
	struct desk_rules *r = desk_rules_parse(text, n, flags, diag, (void *)name);
	free(text);
	if (!r)
		exit(DESK_EX_CONFIG);
	return r;
}

/* -r FILE, --dry-run and --explain, as the filter and tick take them;
 * the filter's --progress. */
static int table;     /* list --table */

static void
options(int argc, char **argv, int modes)
{
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		if (desk_progress_opt(c))
			continue;
		if (c == DESK_OPT_TABLE) {
			table = 1;
			desk_out_view(&desk_view_rules);
		} else if (c == 'r')
			rules_file = optarg;
		else if (!modes)
			desk_usage_die("%s: for the filter and tick only", argv[optind - 1]);
		else if (mode != DESK_ROUTE_APPLY)
			desk_usage_die("--dry-run and --explain: one at most");
		else
			mode = c == 'n' ? DESK_ROUTE_DRY : DESK_ROUTE_EXPLAIN;
	}
}

/* ---- the filter ---- */

static void
on_message(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;
	jv replies;

	jv add = desk_rules_message(ctx, desk_loop_store(l), ev, mode, &replies, &e);
	if (!jv_is_valid(add)) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
		jv_free(replies);
		return;
	}
	desk_emit_merged(l, ev, add);
	jv_array_foreach(replies, i, r)
		desk_emit(l, r);
	jv_free(replies);
}

/* ---- subcommands ---- */

static int
cmd_check(int argc, char **argv)
{
	options(argc, argv, 0);
	if (optind != argc)
		desk_usage_die("%s: takes no operands", argv[optind]);
	struct desk_rules *r = load(DESK_RULES_JQ);
	printf("%s: %zu rules, no problems\n", rules_file ? rules_file :
	    "rules.json", r->n);
	desk_rules_free(r);
	return DESK_EX_OK;
}

static void
list_lines(struct desk_buf *b, jv a, const char *what)
{
	jv_array_foreach(a, i, s) {
		desk_buf_addf(b, "    %-5s %s\n", what, jv_string_value(s));
		jv_free(s);
	}
}

static int
cmd_list(int argc, char **argv)
{
	struct desk_buf b = DESK_BUF_INIT;

	options(argc, argv, 0);
	if (optind != argc)
		desk_usage_die("%s: takes no operands", argv[optind]);
	struct desk_rules *r = load(0);
	jv t = desk_rules_table(r);
	if (table) {
		jv_array_foreach(t, i, row)
			desk_out(jv_object_set(row, jv_string("n"), jv_number(i + 1)));
		desk_out_flush();
		jv_free(t);
		desk_rules_free(r);
		return DESK_EX_OK;
	}
	jv_array_foreach(t, i, row) {
		desk_buf_addf(&b, "%d. %s  [%s]\n", i + 1, desk_jstr(row, "name"),
		    desk_jstr(row, "on"));
		list_lines(&b, desk_jget(row, "all"), "all");
		list_lines(&b, desk_jget(row, "any"), "any");
		list_lines(&b, desk_jget(row, "actions"), "then");
		if (jv_get_kind(desk_jget(row, "stop")) == JV_KIND_TRUE)
			desk_buf_adds(&b, "    stop\n");
		jv_free(row);
	}
	jv_free(t);
	desk_buf_write(&b, 1, "stdout");
	desk_buf_free(&b);
	desk_rules_free(r);
	return DESK_EX_OK;
}

static void
collect(jv ev, void *ctx)
{
	jv *all = ctx;

	*all = jv_array_append(*all, ev);
}

static int
cmd_tick(int argc, char **argv)
{
	struct desk_err e;
	jv all = jv_array();

	options(argc, argv, 1);
	if (optind != argc)
		desk_usage_die("%s: takes no operands", argv[optind]);
	struct desk_rules *r = load(0);
	struct desk_store *st = desk_open(0);
	long n = desk_rules_tick(r, st, mode, collect, &all, &e);
	if (n < 0) {
		desk_warn("case %s: %s", e.field ? e.field : "?", e.msg);
		desk_store_close(st);
		return e.code;
	}
	/* Written only once what they say is durable. */
	desk_store_commit(st);
	jv_array_foreach(all, i, ev)
		desk_out(ev);
	desk_out_flush();
	jv_free(all);
	desk_store_close(st);
	desk_rules_free(r);
	return DESK_EX_OK;
}

static int
cmd_filter(int argc, char **argv)
{
	int status;

	options(argc, argv, 1);
	if (desk_subcommand(argc, argv, &status))
		return status;
	struct desk_rules *r = load(0);
	struct desk_on on[] = { { "message", on_message } };
	struct desk_dispatch filter = { on, 1, NULL, r };
	status = desk_filter(argv + optind, desk_dispatch, &filter);
	desk_rules_free(r);
	return status;
}

/* ---- the commands and their options ---- */

#define RULES_OPT { 'r', "rules", "FILE", "the rules (else STORE/rules.json)", \
	DESK_V_FILE, DESK_OPT_SHORT }

static const struct desk_opt rules_opts[] = { RULES_OPT,
	DESK_OPT_END };

static const struct desk_opt list_opts[] = { RULES_OPT, DESK_TABLE_OPTION,
	DESK_OPT_END };

#define MODE_OPTS \
	{ 'n', "dry-run", NULL, "say what the rules would do, change nothing", \
	    NULL, 0 }, \
	{ 'x', "explain", NULL, "say why each rule did or did not match, change " \
	    "nothing", NULL, 0 }

static const struct desk_opt run_opts[] = { RULES_OPT, MODE_OPTS,
	DESK_OPT_END };

static const struct desk_opt filter_opts[] = { RULES_OPT, MODE_OPTS,
	DESK_PROGRESS_OPTIONS, DESK_OPT_END };

static const struct desk_command cmds[] = {
	{ "check", cmd_check, "[-r FILE]", "Check the rules.\njq expressions "
	    "compiled too; exit 78 naming every problem.", rules_opts, NULL,
	    "DESK_STORE", NULL, 0 },
	{ "list", cmd_list, "[-r FILE] [--table]", "Print the rules, in order, for a "
	    "person.", list_opts, NULL, "DESK_STORE", NULL, 0 },
	{ "tick", cmd_tick, "[-r FILE] [--dry-run | --explain]", "Run the time "
	    "rules over the cases.\nFrom cron; prints the events of what they did.", run_opts,
	    NULL, DESK_ENV_WRITE " DESK_REPLY_LIMITS", NULL, 0 },
	DESK_CMD_END
};

static const struct desk_command tool = { "desk-route", cmd_filter,
	"[-s DIR] [-r FILE] [--dry-run | --explain]\n"
	" [--progress | --no-progress] [FILE...]",
	"Run the rules (desk-rules(5)) over each message event of a new or "
	"updated\ncase: set status, assign, label, set fields, reply. The "
	"rules are\nSTORE/rules.json unless -r names a file.",
	filter_opts, cmds, DESK_ENV_WRITE " DESK_REPLY_LIMITS", DESK_V_FILE,
	DESK_CMD_INORDER };

int
main(int argc, char **argv)
{
	return desk_main(argc, argv, &tool, NULL);
}
