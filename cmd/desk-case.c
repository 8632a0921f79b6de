/*
 * desk-case: puts each inbound message into the right case; lists, shows,
 * changes and merges cases; checks and compacts the store.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

/* ---- the filter ---- */

/* What desk_message_receive gives back, set on the event. */
static jv
enrich(jv ev, const struct desk_received *r)
{
	for (size_t i = 0; i < DESK_NADDED; i++)
		if (jv_is_valid(r->v[i]))
			ev = desk_jset(ev, desk_added_keys[i], jv_copy(r->v[i]));
	return ev;
}

/*
 * What enrich would print, from the event's own bytes: only for an event
 * printed as it came (as read: no API names, no code masked) that has none
 * of the fields it adds, which enrich would replace where they stand.
 */
static int
emit_enriched(struct desk_loop *l, const struct desk_received *r)
{
	for (size_t i = 0; i < DESK_NADDED; i++)
		if (jv_is_valid(r->v[i]) && r->had & 1u << i)
			return 0;
	if (!desk_emit_begin(l))
		return 0;
	for (size_t i = 0; i < DESK_NADDED; i++)
		if (jv_is_valid(r->v[i]))
			desk_emit_member(l, desk_added_keys[i], r->v[i]);
	desk_emit_end(l);
	return 1;
}

static void
on_message(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;

	(void)ctx;
	if (desk_jhas(ev, "message_id")) {
		desk_emit(l, ev);    /* stored by an earlier desk-case */
		return;
	}
	/* The help desk API's names (and its create-case body) are ours too. */
	jv read = jv_copy(ev);
	jv named = desk_filter_names(l, ev, "case");
	int as_read = jv_identical(jv_copy(named), read);
	if (!jv_is_valid(named))
		return;
	/*
	 * An identification code is a secret wherever it is put: masked in
	 * every free-text field, but for the content, which desk-identify
	 * must still read (the store keeps the content masked).
	 */
	jv masked = desk_filter_mask(l, jv_copy(named));
	if (jv_identical(jv_copy(masked), jv_copy(named))) {
		jv_free(masked);    /* the common case: no code anywhere */
		ev = named;
	} else {
		jv text = desk_jget(named, "content");
		ev = jv_is_valid(text) ? desk_jset(masked, "content", jv_copy(text)) :
		    masked;
		jv_free(named);
		as_read = 0;
	}
	struct desk_received r;
	if (desk_message_receive(desk_loop_store(l), ev, &r, &e) < 0) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
		return;
	}
	if (as_read && emit_enriched(l, &r))
		jv_free(ev);
	else
		desk_emit(l, enrich(ev, &r));
	desk_received_free(&r);
}

static void
on_status(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;

	(void)ctx;
	jv r = desk_case_status(desk_loop_store(l), ev, &e);
	if (!jv_is_valid(r)) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
		return;
	}
	desk_emit(l, jv_object_merge(ev, r));
}

static const struct desk_on on[] = { { "message", on_message },
	{ "status", on_status } };
static const struct desk_dispatch filter = { on, sizeof on / sizeof *on, NULL,
	NULL };

/* ---- subcommands ---- */

/* Splits a comma list into a NULL-terminated array; split_free frees it. */
static char **
split(const char *s)
{
	char **v = desk_xcalloc(1, sizeof *v);
	size_t n = 0;

	while (*s) {
		size_t len = strcspn(s, ",");
		if (len) {
			v = desk_xrealloc(v, (n + 2) * sizeof *v);
			v[n] = desk_xmalloc(len + 1);
			memcpy(v[n], s, len);
			v[n++][len] = '\0';
		}
		s += len + (s[len] == ',');
	}
	v[n] = NULL;
	return v;
}

static void
split_free(char **v)
{
	for (char **s = v; s && *s; s++)
		free(*s);
	free(v);
}

static void
print_case(jv c, void *ctx)
{
	(void)ctx;
	desk_out(c);
}

static int
cmd_list(int argc, char **argv)
{
	struct desk_case_query q = { .limit = UINT64_MAX };
	char **channels = NULL, **list;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'u':
			q.by_user = 1;
			list = split(optarg);
			for (char **s = list; *s; s++)
				desk_ids_add(&q.users, desk_id_arg(*s, "user"));
			split_free(list);
			break;
		case 'c':
			split_free(channels);
			channels = split(optarg);
			break;
		case 'x':
			q.ucid = optarg;
			break;
		case 't':
			list = split(optarg);
			for (char **s = list; *s; s++) {
				enum desk_status st;
				if (!desk_status_parse(*s, &st))
					desk_die(DESK_EX_USAGE, "--status: %s: must be open, "
					    "pending or closed", *s);
				q.statuses |= 1 << st;
			}
			split_free(list);
			break;
		case 'a':
			q.active = 1;
			break;
		case 'A':
			/*
			 * The API's show_active_chats=true: chats in progress are
			 * listed with the rest, which desk always does.
			 */
			break;
		case 'm':
			q.merged = 1;
			break;
		case 'n':
			if (!desk_parse_u64(optarg, 0, UINT64_MAX, &q.limit))
				desk_die(DESK_EX_USAGE, "--limit: not a number: %s", optarg);
			break;
		case DESK_OPT_TABLE:
			desk_out_view(&desk_view_cases);
			break;
		}
	}
	if (optind != argc)
		desk_usage_die("list: %s: takes no operands", argv[optind]);

	struct desk_store *st = desk_open(0);
	struct desk_err e;
	q.channels = channels;
	uint64_t printed;
	if (desk_case_list(st, &q, print_case, NULL, &printed, &e) < 0)
		desk_die(e.code, "--%s: %s", e.field, e.msg);
	desk_out_flush();
	free(q.users.v);
	split_free(channels);
	desk_store_close(st);
	return printed ? DESK_EX_OK : DESK_EX_NO;
}

/* show --thread: the case as a conversation, for people. */
static void
print_thread(struct desk_store *st, jv c, jv msgs)
{
	struct desk_buf b = DESK_BUF_INIT;

	desk_view_thread(&b, st, c, msgs, desk_colour(1));
	desk_buf_write(&b, 1, "stdout");
	desk_buf_free(&b);
}

/* show --table: the case's row, then its messages' rows. */
static void
print_table(struct desk_store *st, jv c, jv msgs)
{
	desk_out_view(&desk_view_cases);
	desk_out(c);
	desk_out_flush();
	desk_out_view(&desk_view_messages);
	if (desk_write_all(1, "\n", 1) < 0)
		desk_die_errno(DESK_EX_IOERR, "stdout");
	jv_array_foreach(msgs, i, m)
		desk_out(desk_view_message(st, m));
	jv_free(msgs);
	desk_out_flush();
}

static int
cmd_show(int argc, char **argv)
{
	int c, view = 0;

	while ((c = desk_getopt(argc, argv)) != -1) {
		if (view && view != c)
			desk_usage_die("--table and --thread: one view at a time");
		view = c;
	}
	if (optind != argc - 1)
		desk_usage_die("show: expected 1 operand, got %d", argc - optind);
	uint64_t id = desk_id_arg(argv[optind], "case");
	struct desk_store *st = desk_open(0);
	jv k = desk_case_get(st, id);
	if (!jv_is_valid(k))
		desk_die(DESK_EX_NO, "case %llu: no such case", (unsigned long long)id);
	jv msgs = desk_case_messages(st, id);
	if (view == 'T') {
		print_thread(st, k, msgs);
		jv_free(k);
		jv_free(msgs);
	} else if (view == DESK_OPT_TABLE)
		print_table(st, k, msgs);
	else {
		desk_out(desk_jset(k, "messages", msgs));
		desk_out_flush();
	}
	desk_store_close(st);
	return DESK_EX_OK;
}

/* A refusal of desk_case_set, named by the option that caused it. */
static _Noreturn void
die_opt(const struct desk_err *e)
{
	if (!e->field || !strcmp(e->field, "case_id"))
		desk_die(e->code, "%s", e->msg);
	desk_die(e->code, "--%s: %s", strcmp(e->field, "fields") ? e->field :
	    "field", e->msg);
}

static int
cmd_set(int argc, char **argv)
{
	const char *status = NULL, *assignee = NULL, *team = NULL, *subject = NULL;
	char **fieldargs = desk_xcalloc((size_t)argc, sizeof *fieldargs);
	size_t nfields = 0;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		enum desk_status s;
		switch (c) {
		case 't':
			if (!desk_status_parse(optarg, &s))
				desk_die(DESK_EX_USAGE, "--status: must be open, pending "
				    "or closed: %s", optarg);
			status = optarg;
			break;
		case 'a': assignee = optarg; break;
		case 'T': team = optarg; break;
		case 'S': subject = optarg; break;
		case 'f': fieldargs[nfields++] = optarg; break;
		}
	}
	if (optind != argc - 1)
		desk_usage_die("set: expected one CASE, got %d operands", argc - optind);
	if (!status && !assignee && !team && !subject && !nfields)
		desk_usage_die("set: nothing to change (--status, --assignee, --team, "
		    "--subject or --field)");
	uint64_t id = desk_id_arg(argv[optind], "case");
	/* Only now, with every option checked, the values are built. */
	jv fields = desk_fields_args(fieldargs, nfields);
	free(fieldargs);
	jv changes = jv_object();
	if (status)
		changes = desk_jset_str(changes, "status", status);
	/* An empty value clears the field. */
	static const char *const keys[] = { "assignee", "team", "subject" };
	const char *vals[] = { assignee, team, subject };
	for (int i = 0; i < 3; i++)
		if (vals[i])
			changes = desk_jset(changes, keys[i], *vals[i] ?
			    jv_string(vals[i]) : jv_null());
	/* Checked before the store is opened: a bad value creates none. */
	struct desk_err e;
	if (desk_err_sizes(changes, &e) < 0)
		die_opt(&e);
	struct desk_store *st = desk_open(0);
	desk_store_lock(st);
	if (desk_case_set(st, id, changes, nfields ? fields : jv_invalid(),
	    desk_now(), &e) < 0)
		die_opt(&e);
	jv_free(changes);
	jv_free(fields);
	desk_store_commit(st);
	desk_out(desk_case_get(st, id));
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
cmd_merge(int argc, char **argv)
{
	char **arg = desk_operands(argc, argv, 2);
	uint64_t from = desk_id_arg(arg[0], "case"), into = desk_id_arg(arg[1], "case");
	struct desk_store *st = desk_open(0);
	struct desk_err e;
	desk_store_lock(st);
	uint64_t to = desk_case_merge(st, from, into, desk_now(), &e);
	if (!to)
		desk_die(e.code, "%s", e.msg);
	desk_store_commit(st);
	desk_out(desk_case_get(st, to));
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

/* backup DEST: a consistent copy of the store, fsck-clean, made live. */
static int
cmd_backup(int argc, char **argv)
{
	char **arg = desk_operands(argc, argv, 1);
	struct desk_store *st = desk_open(0);
	struct desk_backup b;
	struct desk_err e;

	if (desk_store_backup(st, arg[0], &b, &e) < 0)
		desk_die_err(&e);
	jv o = desk_jset_str(jv_object(), "backup", arg[0]);
	o = desk_jset_int(o, "segments", (int64_t)b.segments);
	o = desk_jset_int(o, "linked", (int64_t)b.linked);
	o = desk_jset_int(o, "copied", (int64_t)b.copied);
	o = desk_jset_int(o, "bytes", (int64_t)b.bytes);
	o = desk_jset_int(o, "log_seg", (int64_t)DESK_POS_SEG(b.log_end));
	o = desk_jset_int(o, "log_size", (int64_t)DESK_POS_OFF(b.log_end));
	desk_out(o);
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
cmd_fsck(int argc, char **argv)
{
	int repair = 0;

	while (desk_getopt(argc, argv) != -1)
		repair = 1;
	if (optind != argc)
		desk_usage_die("fsck: %s: takes no operands", argv[optind]);
	struct desk_store *st = desk_open(0);
	int r = desk_fsck(st, repair);
	desk_store_close(st);
	return r;
}

static int
cmd_compact(int argc, char **argv)
{
	struct desk_compact_stats cs;

	while (desk_getopt(argc, argv) != -1)
		;
	if (optind != argc)
		desk_usage_die("compact: %s: takes no operands", argv[optind]);
	struct desk_store *st = desk_open(0);
	desk_store_compact(st, &cs);     /* dies of a failure (desk_open) */
	jv sum = jv_object();
	sum = desk_jset_int(sum, "segments", (int64_t)cs.segments);
	sum = desk_jset_int(sum, "rewritten", (int64_t)cs.rewritten);
	sum = desk_jset_int(sum, "records", (int64_t)cs.records);
	sum = desk_jset_int(sum, "dropped", (int64_t)cs.dropped);
	sum = desk_jset_int(sum, "bytes_before", (int64_t)cs.bytes_before);
	sum = desk_jset_int(sum, "bytes_after", (int64_t)cs.bytes_after);
	sum = desk_jset_int(sum, "tail", (int64_t)cs.tail);
	sum = desk_jset(sum, "lock_seconds", jv_number(cs.lock_s));
	desk_out(sum);
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
cmd_filter(int argc, char **argv)
{
	return desk_filter_main(argc, argv, desk_dispatch, (void *)&filter);
}

/* ---- the commands and their options ---- */

static const struct desk_opt list_opts[] = {
	{ 'u', "user", "ID,...", "only the cases of these users", NULL, 0 },
	{ 'c', "channel", "NAME,...", "only the cases on these channels",
	    DESK_V_CHANNEL, 0 },
	{ 'x', "user-custom-id", "X", "only the cases of the user with this "
	    "user_custom_id", NULL, 0 },
	{ 't', "status", "S,...", "only cases with these statuses",
	    "open pending closed", 0 },
	{ 'A', "active-chats", NULL, "the API's show_active_chats: chats in "
	    "progress, always listed", NULL, 0 },
	{ 'a', "active-only", NULL, "only open or pending cases on sync channels",
	    NULL, 0 },
	{ 'm', "merged", NULL, "merged cases too", NULL, 0 },
	{ 'n', "limit", "N", "at most N cases", NULL, 0 },
	DESK_TABLE_OPTION,
	DESK_OPT_END
};

static const struct desk_opt show_opts[] = {
	DESK_TABLE_OPTION,
	{ 'T', "thread", NULL, "the case as a conversation: who, when, what",
	    NULL, 0 },
	DESK_OPT_END
};

static const struct desk_opt set_opts[] = {
	{ 't', "status", "S", "the new status", "open pending closed", 0 },
	{ 'a', "assignee", "A", "assign the case to A (empty: nobody)", NULL, 0 },
	{ 'T', "team", "T", "the case's team (empty: none)", NULL, 0 },
	{ 'S', "subject", "S", "the case's subject (empty: none)", NULL, 0 },
	DESK_OPT_FIELD('f', "a custom field"),
	DESK_OPT_END
};

static const struct desk_opt fsck_opts[] = {
	{ 'r', "repair", NULL, "rebuild the index from the log when it differs",
	    NULL, 0 },
	DESK_OPT_END
};

static const struct desk_command cmds[] = {
	{ "list", cmd_list, "[--user ID,...] [--channel NAME,...]\n"
	    " [--user-custom-id X] [--status S,...]\n"
	    " [--active-chats | --active-only] [--merged]\n [--limit N] [--table]",
	    "List cases, most recent activity first.\nOne JSON object a line; "
	    "exit 1 when none matches.", list_opts, NULL, DESK_ENV_READ, NULL, 0 },
	{ "show", cmd_show, "[--table | --thread] CASE", "Show a case and its "
	    "messages.\nOne JSON object; exit 1 when there is no such case.",
	    show_opts, NULL, DESK_ENV_READ, DESK_V_CASE, 0 },
	{ "set", cmd_set, "CASE [--status S] [--assignee A] [--team T]\n"
	    " [--subject S] [--field K=V | --field K:=JSON]...",
	    "Change a case: status, assignee, team, subject, fields.\nPrints "
	    "the case as it is now.", set_opts, NULL, DESK_ENV_WRITE, DESK_V_CASE, 0 },
	{ "merge", cmd_merge, "FROM INTO", "Merge case FROM into case INTO.\n"
	    "Prints the case merged into.", NULL, NULL, DESK_ENV_WRITE,
	    DESK_V_CASE, 0 },
	{ "fsck", cmd_fsck, "[--repair]", "Check the store.\nThe index against "
	    "the log, and what only the log shows; exit 1 when it\nfails "
	    "(--repair: when it still fails).",
	    fsck_opts, NULL, DESK_ENV_WRITE, NULL, 0 },
	{ "backup", cmd_backup, "DEST", "Copy the store, live, into DEST.\n"
	    "Under the writer lock, sealed log segments hard-linked where\n"
	    "they can be; DEST, a new directory, passes fsck. Prints what it copied.",
	    NULL, NULL, DESK_ENV_WRITE, DESK_V_DIR, 0 },
	{ "compact", cmd_compact, "", "Compact the store's log.\nDrop the "
	    "versions of users and cases that later ones supersede from the\n"
	    "sealed log segments, while other writers go on; prints a summary.",
	    NULL, NULL, DESK_ENV_WRITE, NULL, 0 },
	DESK_CMD_END
};

static const struct desk_opt filter_opts[] = {
	DESK_PROGRESS_OPTIONS,
	DESK_OPT_END
};

static const struct desk_command tool = { "desk-case", cmd_filter,
	"[-s DIR] [--progress | --no-progress] [FILE...]",
	"Put each inbound message (a message event) into the right case, "
	"creating its\nuser and case; pass every other event through.",
	filter_opts, cmds, DESK_ENV_WRITE, DESK_V_FILE, DESK_CMD_INORDER };

int
main(int argc, char **argv)
{
	return desk_main(argc, argv, &tool, NULL);
}
