/*
 * desk-reply: adds agent, API and rule replies to cases and queues them for
 * delivery; adds messages on behalf of a user.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "desk.h"

/* ---- the filter ---- */

static void
on_reply(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_store *st = desk_loop_store(l);
	struct desk_err e;

	(void)ctx;
	/* Printed from the stored record: message.out is not built first. */
	if (desk_reply_print(st, ev, desk_now(), desk_emit_buf(l), &e) < 0)
		desk_reject_err(l, ev, &e);
	else
		desk_buf_addc(desk_emit_buf(l), '\n');
	jv_free(ev);
}

static const struct desk_on on[] = { { "reply", on_reply } };
static const struct desk_dispatch filter = { on, 1, NULL, NULL };

/* ---- the command ---- */

/* TEXT from standard input, without its trailing newlines. */
static jv
read_text(void)
{
	struct desk_buf b = DESK_BUF_INIT;
	char chunk[65536];
	ssize_t r;

	desk_input_taken();
	while ((r = read(0, chunk, sizeof chunk)) != 0) {
		if (r < 0)
			desk_die_errno(DESK_EX_IOERR, "stdin");
		desk_buf_add(&b, chunk, (size_t)r);
	}
	while (b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r'))
		b.len--;
	jv s = desk_jstring(b.p ? b.p : "", b.len);
	desk_buf_free(&b);
	return s;
}

/* The text as a JSON string, refusing bytes that are not UTF-8. */
static jv
text_arg(const char *s)
{
	struct desk_buf q = DESK_BUF_INIT;

	desk_json_dump_str(&q, s, strlen(s));
	jv v = desk_json_parse_all(q.p, q.len);
	desk_buf_free(&q);
	if (!jv_is_valid(v))
		desk_die(DESK_EX_DATA, "TEXT: invalid UTF-8");
	return v;
}

static int
as_user(uint64_t uid, const char *channel, jv text)
{
	struct desk_store *st = desk_open(0);
	jv ch = desk_channel_get(st, channel);

	if (!jv_is_valid(ch))
		desk_die(DESK_EX_CONFIG, "%s: unknown channel", channel);
	jv_free(ch);
	desk_store_lock(st);
	jv u = desk_user_get(st, uid);
	if (!jv_is_valid(u))
		desk_die(DESK_EX_NO, "user %llu: no such user", (unsigned long long)uid);
	int64_t now = desk_now();
	jv m = desk_jset(jv_object(), "content", desk_code_mask_jv(text));
	m = desk_jset_int(m, "b_from_api", 1);
	jv stored = desk_user_message(st, uid, channel, NULL, jv_invalid(), m, now);
	desk_store_commit(st);
	/* Written like desk-case writes an inbound message, for the next filter. */
	jv ev = desk_jset_str(jv_object(), "channel", channel);
	jv ucid = jv_null();
	jv ids = desk_jget(u, "custom_ids");
	if (jv_get_kind(ids) == JV_KIND_ARRAY)
		jv_array_foreach(ids, i, p) {
			const char *pc = desk_jstr(p, "channel");
			if (jv_get_kind(ucid) == JV_KIND_NULL && pc && !strcmp(pc, channel))
				ucid = jv_copy(desk_jget(p, "user_custom_id"));
			jv_free(p);
		}
	ev = desk_jset(ev, "user_custom_id", ucid);
	static const char *const keys[] = { "content", "b_from_api", "user_id",
		"case_id", "message_id", "trigger", "case_status" };
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
		ev = desk_jset(ev, keys[i], jv_copy(desk_jget(stored, keys[i])));
	desk_out(ev);
	desk_out_flush();
	jv_free(stored);
	jv_free(u);
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
reply(jv r)
{
	struct desk_err e;

	/* Checked before the store is opened: a bad TEXT creates none. */
	if (desk_reply_check(r, &e) < 0)
		desk_die(e.field && !strcmp(e.field, "content") ? DESK_EX_USAGE :
		    e.code, "%s: %s", e.field, e.msg);
	struct desk_store *st = desk_open(0);
	jv out = desk_reply_add(st, r, desk_now(), &e);
	if (!jv_is_valid(out))
		desk_die(e.code, "%s", e.msg);
	desk_store_commit(st);
	desk_out(out);
	desk_out_flush();
	jv_free(r);
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
cmd_outbox(int all)
{
	struct desk_store *st = desk_open(0);
	int n = desk_out_all(desk_outbox(st, all ? DESK_OUTBOX_ALL : DESK_OUTBOX_QUEUED));
	desk_store_close(st);
	return n ? DESK_EX_OK : DESK_EX_NO;
}

static int
is_number(const char *s)
{
	uint64_t v;

	return desk_parse_u64(s, 1, (uint64_t)1 << 53, &v);
}

/* An agent's id: a number when it looks like one, else the string. */
static jv
staff_value(const char *s)
{
	return is_number(s) ? jv_number((double)desk_id_arg(s, "staff")) : jv_string(s);
}

struct opts {
	const char *kase, *staff, *user, *channel;
	int api, reopen, asuser, replyopts;
	jv attach;
};

static void
parse(int argc, char **argv, struct opts *o)
{
	int c;

	o->attach = jv_array();
	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'c': o->kase = optarg; o->replyopts = 1; break;
		case 'S': o->staff = optarg; o->replyopts = 1; break;
		case 'a': o->api = 1; o->replyopts = 1; break;
		case 'r': o->reopen = 1; o->replyopts = 1; break;
		case 'A': {
			const char *base = strrchr(optarg, '/');
			jv a = desk_jset_str(jv_object(), "url", optarg);
			if (base && base[1])
				a = desk_jset_str(a, "file_name", base + 1);
			o->attach = jv_array_append(o->attach, a);
			o->replyopts = 1;
			break;
		}
		case 'U': o->asuser = 1; break;
		case 'u': o->user = optarg; break;
		case 'C': o->channel = optarg; break;
		default: desk_progress_opt(c); break;
		}
	}
}

/* desk-reply --as-user: TEXT as the user's message. */
static int
cmd_as_user(struct opts *o, int nargs, char **args)
{
	if (!o->user || !o->channel)
		desk_usage_die("--as-user: --user and --channel are required");
	if (o->replyopts)
		desk_usage_die("--as-user: --case, --staff, --api, --attach and "
		    "--reopen are for replies");
	if (nargs > 1)
		desk_usage_die("--as-user: one TEXT at most, got %d operands", nargs);
	uint64_t uid = desk_id_arg(o->user, "user");
	jv_free(o->attach);
	jv text = nargs ? text_arg(args[0]) : read_text();
	if (!jv_string_length_bytes(jv_copy(text)))
		desk_die(DESK_EX_USAGE, "nothing to send: the text is empty");
	if ((size_t)jv_string_length_bytes(jv_copy(text)) > DESK_MAX_CONTENT)
		desk_die(DESK_EX_DATA, "TEXT: longer than %u bytes", DESK_MAX_CONTENT);
	return as_user(uid, o->channel, text);
}

/* desk-reply CASE TEXT, or --case CASE: the reply the options make. */
static int
cmd_reply(struct opts *o, int nargs, char **args)
{
	if (nargs > 1)
		desk_usage_die("--case: one TEXT at most, got %d operands", nargs);
	uint64_t cid = desk_id_arg(o->kase, "case");
	jv text = nargs ? text_arg(args[0]) : read_text();
	jv r = desk_jset_str(jv_object(), "type", "reply");
	r = desk_jset_int(r, "case_id", (int64_t)cid);
	r = desk_jset(r, "content", text);
	if (jv_array_length(jv_copy(o->attach)))
		r = desk_jset(r, "attachments", o->attach);
	else
		jv_free(o->attach);
	r = desk_jset_str(r, "via", o->api ? "api" : "agent");
	if (o->staff)
		r = desk_jset(r, "staff_id", staff_value(o->staff));
	if (o->reopen)
		r = desk_jset(r, "reopen", jv_true());
	return reply(r);
}

static int
cmd_reply_main(int argc, char **argv)
{
	struct opts o = { 0 };
	int status;

	parse(argc, argv, &o);
	int nargs = argc - optind;
	char **args = argv + optind;

	if (!o.replyopts && !o.asuser && !o.user && !o.channel &&
	    desk_subcommand(argc, argv, &status)) {
		jv_free(o.attach);
		return status;
	}
	if (o.asuser)
		return cmd_as_user(&o, nargs, args);
	if (o.user || o.channel)
		desk_usage_die("--user and --channel are for --as-user");
	if (!o.kase && nargs == 2 && is_number(args[0])) {
		o.kase = args[0];
		args++;
		nargs--;
	}
	if (!o.kase) {
		if (o.replyopts)
			desk_usage_die("--staff, --api, --attach and --reopen need "
			    "--case CASE");
		jv_free(o.attach);
		return desk_filter(args, desk_dispatch, (void *)&filter);
	}
	return cmd_reply(&o, nargs, args);
}

static int
cmd_outbox_main(int argc, char **argv)
{
	return cmd_outbox(desk_outbox_opts(argc, argv));
}

/* ---- the commands and their options ---- */

static const struct desk_opt reply_opts[] = {
	{ 'c', "case", "CASE", "reply to this case", DESK_V_CASE, 0 },
	{ 'S', "staff", "ID", "the agent who replies (a number or a name)", NULL, 0 },
	{ 'a', "api", NULL, "the reply comes through the API, not from an agent",
	    NULL, 0 },
	{ 'A', "attach", "URL", "attach the file at URL (repeatable)", NULL, 0 },
	{ 'r', "reopen", NULL, "reopen the case if it is closed", NULL, 0 },
	{ 'U', "as-user", NULL, "add TEXT as the user's message instead", NULL, 0 },
	{ 'u', "user", "USER", "with --as-user: the user", NULL, 0 },
	{ 'C', "channel", "NAME", "with --as-user: the channel", DESK_V_CHANNEL, 0 },
	DESK_PROGRESS_OPTIONS,
	DESK_OPT_END
};

static const struct desk_opt outbox_opts[] = {
	{ 'L', "all", NULL, "every entry, delivered and dead too", NULL, 0 },
	DESK_TABLE_OPTION,
	DESK_OPT_END
};

static const struct desk_command cmds[] = {
	{ "outbox", cmd_outbox_main, "[--all] [--table]", "List the replies waiting for "
	    "delivery.\nAs message.out events; exit 1 when there are none.",
	    outbox_opts, NULL, DESK_ENV_READ, NULL, 0 },
	DESK_CMD_END
};

static const struct desk_command tool = { "desk-reply", cmd_reply_main,
	"[-s DIR] [--progress | --no-progress] [FILE...]\nCASE TEXT\n--case CASE [--staff ID] [--api] "
	"[--attach URL]... [--reopen]\n [TEXT]\n--as-user --user USER "
	"--channel NAME [TEXT]",
	"Add replies to cases and queue them for delivery (message.out): "
	"from the\nreply events of FILE or stdin, or one from the operands "
	"and options. TEXT is\nread from stdin when it is not given.",
	reply_opts, cmds, DESK_ENV_WRITE " DESK_REPLY_LIMITS", DESK_V_FILE, 0 };

int
main(int argc, char **argv)
{
	return desk_main(argc, argv, &tool, NULL);
}
