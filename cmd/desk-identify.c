/*
 * desk-identify: issues identification codes, recognises them in chat
 * messages and links the messenger user to the customer's account; shows,
 * updates and links users.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

/* ---- the filter ---- */

static void
on_request(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;

	(void)ctx;
	if (!jv_is_valid(ev = desk_filter_names(l, ev, "user")))
		return;
	jv a = desk_code_request(desk_loop_store(l), ev, &e);
	if (!jv_is_valid(a)) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
		return;
	}
	jv out = desk_jset_str(jv_object(), "type", "ident.code");
	if (desk_jhas(ev, "id"))
		out = desk_jset(out, "id", jv_copy(desk_jget(ev, "id")));
	desk_emit(l, jv_object_merge(out, a));
	jv_free(ev);
}

static void
on_update(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;

	(void)ctx;
	if (!jv_is_valid(ev = desk_filter_names(l, ev, "user")))
		return;
	ev = desk_filter_mask(l, ev);
	jv r = desk_user_update_event(desk_loop_store(l), ev, &e);
	if (!jv_is_valid(r)) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
		return;
	}
	desk_emit(l, jv_object_merge(ev, r));
}

static void
on_message(struct desk_loop *l, jv ev, void *ctx)
{
	struct desk_err e;
	const char *content;
	char tok[DESK_CODE_LEN + 1];
	size_t n, off;

	(void)ctx;
	int shaped = desk_jstrn(ev, "content", &content, &n) &&
	    desk_code_find(content, n, &off);
	if (shaped) {
		memcpy(tok, content + off, DESK_CODE_LEN);
		tok[DESK_CODE_LEN] = '\0';
	}
	/* Whatever happens next, no code travels further in clear. */
	ev = desk_filter_mask(l, ev);
	if (!desk_jhas(ev, "user_id")) {
		desk_emit(l, ev);     /* not stored by desk-case: not ours */
		goto out;
	}
	jv a = desk_code_identify(desk_loop_store(l), ev, shaped ? tok : NULL, &e);
	if (!jv_is_valid(a)) {
		desk_reject_err(l, ev, &e);
		jv_free(ev);
	} else
		desk_emit(l, jv_object_merge(ev, a));
out:
	desk_wipe(tok, sizeof tok);
}

static const struct desk_on on[] = { { "ident.request", on_request },
	{ "user.update", on_update }, { "message", on_message } };
static const struct desk_dispatch filter = { on, sizeof on / sizeof *on, NULL,
	NULL };

/* desk-identify code reads ident.request events only. */
static void
not_request(struct desk_loop *l, jv ev, void *ctx)
{
	(void)ctx;
	desk_reject(l, ev, "type", "desk-identify code reads ident.request "
	    "events only");
	jv_free(ev);
}

static const struct desk_dispatch codes_only = { on, 1, not_request, NULL };

/* ---- subcommands ---- */

static int
cmd_code(int argc, char **argv)
{
	jv b = jv_object(), fields = jv_object();
	uint64_t ttl = DESK_CODE_TTL;
	const char *err;
	int c, given = 0;

	while ((c = desk_getopt(argc, argv)) != -1) {
		given = 1;
		switch (c) {
		case 'e': b = desk_jset_str(b, "email", optarg); break;
		case 'p': b = desk_jset_str(b, "phone", optarg); break;
		case 'c': b = desk_jset_str(b, "channel", optarg); break;
		case 'u': b = desk_jset_str(b, "user_custom_id", optarg); break;
		case 'n': b = desk_jset_str(b, "name", optarg); break;
		case 'C': b = desk_jset_str(b, "company", optarg); break;
		case 'f':
			if (desk_field_arg(optarg, &fields, &err) < 0)
				desk_die(DESK_EX_USAGE, "--field: %s: %s", optarg, err);
			break;
		case 't':
			if (!desk_parse_u64(optarg, 1, 86400, &ttl))
				desk_die(DESK_EX_USAGE, "--ttl: seconds from 1 to 86400: %s",
				    optarg);
			break;
		}
	}
	if (!given) {
		jv_free(b);
		jv_free(fields);
		return desk_filter(argv + optind, desk_dispatch,
		    (void *)&codes_only);
	}
	if (optind != argc)
		desk_usage_die("code: %s: the options make one request, no FILE",
		    argv[optind]);
	if (jv_object_length(jv_copy(fields)))
		b = desk_jset(b, "fields", fields);
	else
		jv_free(fields);
	b = desk_code_mask_event(b);
	struct desk_store *st = desk_open(DESK_ST_CREATE);
	struct desk_err e;
	jv a = desk_code_bind(st, b, (int64_t)ttl, &e);
	jv_free(b);
	if (!jv_is_valid(a)) {
		desk_warn("%s: %s", e.field, e.msg);
		desk_store_close(st);
		return e.code;
	}
	desk_store_commit(st);
	desk_out(a);
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
cmd_verify(int argc, char **argv)
{
	const char *ch = NULL, *ucid = NULL;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
		if (c == 'c')
			ch = optarg;
		else
			ucid = optarg;
	}
	if (!ch || !ucid || !*ucid)
		desk_usage_die("verify: --channel and --user-custom-id are required");
	if (optind != argc - 1)
		desk_usage_die("verify: expected one CODE, got %d operands", argc - optind);
	struct desk_store *st = desk_open(DESK_ST_CREATE);
	jv chj = desk_channel_get(st, ch);
	if (!jv_is_valid(chj))
		desk_die(DESK_EX_CONFIG, "%s: unknown channel", ch);
	jv_free(chj);
	int ok;
	desk_store_lock(st);
	jv a = desk_code_verify(st, ch, ucid, argv[optind], desk_now(), &ok);
	desk_store_commit(st);
	desk_out(a);
	desk_out_flush();
	desk_store_close(st);
	return ok ? DESK_EX_OK : DESK_EX_NO;
}

static int
user_show(int argc, char **argv)
{
	char **arg = desk_operands(argc, argv, 1);
	uint64_t id = desk_id_arg(arg[0], "user");
	struct desk_store *st = desk_open(0);
	jv u = desk_user_get(st, id);
	if (!jv_is_valid(u))
		desk_die(DESK_EX_NO, "user %llu: no such user", (unsigned long long)id);
	desk_out(desk_code_user_view(st, id, u));
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
user_update(int argc, char **argv)
{
	jv changes = jv_object(), fields = jv_object();
	const char *err;
	int c, nf = 0;
	struct desk_buf norm = DESK_BUF_INIT;

	while ((c = desk_getopt(argc, argv)) != -1) {
		switch (c) {
		case 'e':
			if (!desk_email_norm(optarg, &norm))
				desk_die(DESK_EX_USAGE, "--email: not an email address: %s", optarg);
			changes = desk_jset_str(changes, "email", optarg);
			break;
		case 'p':
			if (!desk_phone_norm(optarg, &norm))
				desk_die(DESK_EX_USAGE, "--phone: not a phone number: %s", optarg);
			changes = desk_jset_str(changes, "phone", optarg);
			break;
		case 'n': changes = desk_jset_str(changes, "name", optarg); break;
		case 'C': changes = desk_jset_str(changes, "company", optarg); break;
		case 'f':
			if (desk_field_arg(optarg, &fields, &err) < 0)
				desk_die(DESK_EX_USAGE, "--field: %s: %s", optarg, err);
			nf++;
			break;
		}
	}
	desk_buf_free(&norm);
	if (optind != argc - 1)
		desk_usage_die("user update: expected one USER, got %d operands",
		    argc - optind);
	if (!nf && !jv_object_length(jv_copy(changes)))
		desk_usage_die("user update: nothing to change (--email, --phone, "
		    "--name, --company or --field)");
	changes = desk_code_mask_event(desk_jset(changes, "fields", fields));
	uint64_t id = desk_id_arg(argv[optind], "user");
	struct desk_store *st = desk_open(0);
	desk_store_lock(st);
	jv report;
	jv u = desk_user_update(st, id, changes, desk_now(), &report);
	if (!jv_is_valid(u)) {
		jv msg = jv_invalid_get_msg(u);
		if (jv_get_kind(msg) == JV_KIND_STRING)
			desk_die(DESK_EX_DATA, "user %llu: %s", (unsigned long long)id,
			    jv_string_value(msg));
		desk_die(DESK_EX_NO, "user %llu: no such user", (unsigned long long)id);
	}
	desk_store_commit(st);
	desk_out(jv_object_merge(desk_code_user_view(st, id, u), report));
	desk_out_flush();
	jv_free(changes);
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
user_link(int argc, char **argv, int link)
{
	struct desk_err why;
	char **arg = desk_operands(argc, argv, 2);
	uint64_t a = desk_id_arg(arg[0], "user"), b = desk_id_arg(arg[1], "user");
	struct desk_store *st = desk_open(0);
	desk_store_lock(st);
	int64_t now = desk_now();
	if ((link ? desk_user_link(st, a, b, now, &why) :
	    desk_user_unlink(st, a, b, now, &why)) < 0)
		desk_die(DESK_EX_NO, "cannot %s users %llu and %llu: %s",
		    link ? "link" : "unlink", (unsigned long long)a,
		    (unsigned long long)b, why.msg);
	desk_store_commit(st);
	desk_out(desk_code_user_view(st, a, desk_user_get(st, a)));
	desk_out_flush();
	desk_store_close(st);
	return DESK_EX_OK;
}

static int
user_link_cmd(int argc, char **argv)
{
	return user_link(argc, argv, 1);
}

static int
user_unlink_cmd(int argc, char **argv)
{
	return user_link(argc, argv, 0);
}

static int
cmd_filter(int argc, char **argv)
{
	int status;
	char **files = desk_files_or_subcommand(argc, argv, &status);

	return files ? desk_filter(files, desk_dispatch, (void *)&filter) : status;
}

/* ---- the commands and their options ---- */

static const struct desk_opt code_opts[] = {
	{ 'e', "email", "E", "bind the code to this email", NULL, 0 },
	{ 'p', "phone", "P", "bind the code to this phone number", NULL, 0 },
	{ 'c', "channel", "C", "bind the code to a messenger user: the channel",
	    DESK_V_CHANNEL, 0 },
	{ 'u', "user-custom-id", "U", "and the user's user_custom_id on it",
	    NULL, 0 },
	{ 'n', "name", "N", "the customer's name, set when the code is used",
	    NULL, 0 },
	{ 'C', "company", "C", "the customer's company, set likewise", NULL, 0 },
	DESK_OPT_FIELD('f', "a custom field of the user, set likewise"),
	{ 't', "ttl", "SECONDS", "how long the code is valid (1 to 86400; 600)",
	    NULL, 0 },
	DESK_OPT_END
};

static const struct desk_opt verify_opts[] = {
	{ 'c', "channel", "C", "the channel the code was presented on",
	    DESK_V_CHANNEL, 0 },
	{ 'u', "user-custom-id", "U", "the messenger user who presented it", NULL, 0 },
	DESK_OPT_END
};

static const struct desk_opt update_opts[] = {
	{ 'e', "email", "E", "link this email to the user", NULL, 0 },
	{ 'p', "phone", "P", "link this phone number to the user", NULL, 0 },
	{ 'n', "name", "N", "the user's name", NULL, 0 },
	{ 'C', "company", "C", "the user's company", NULL, 0 },
	DESK_OPT_FIELD('f', "a custom field"),
	DESK_OPT_END
};

static const struct desk_command user_cmds[] = {
	{ "show", user_show, "USER", "Show a user.\nContacts, custom ids, linked "
	    "users, identification; exit 1 when there is no\nsuch user.", NULL,
	    NULL, DESK_ENV_READ, NULL, 0 },
	{ "update", user_update, "USER [--email E] [--phone P]\n"
	    " [--name N] [--company C]\n [--field K=V | --field K:=JSON]...",
	    "Change a user: contacts, name, company, fields.\nPrints the user "
	    "as it is now.",
	    update_opts, NULL, DESK_ENV_WRITE, NULL, 0 },
	{ "link", user_link_cmd, "USER OTHER", "Link two users as one customer.\n"
	    "Prints the user.", NULL, NULL, DESK_ENV_WRITE, NULL, 0 },
	{ "unlink", user_unlink_cmd, "USER OTHER", "Undo a link of two users.\n"
	    "Prints the user.", NULL, NULL, DESK_ENV_WRITE, NULL, 0 },
	DESK_CMD_END
};

static const struct desk_command cmds[] = {
	{ "code", cmd_code, "(--email E | --phone P |\n"
	    " --channel C --user-custom-id U)\n"
	    " [--name N] [--company C] [--field K=V]...\n [--ttl SECONDS]\n"
	    "[FILE...]",
	    "Issue identification codes.\nOne bound to an email, a phone or a "
	    "messenger user; without options, one per\nident.request event "
	    "read.",
	    code_opts, NULL, DESK_ENV_WRITE " DESK_IDENT_LIMITS", DESK_V_FILE, 0 },
	{ "verify", cmd_verify, "--channel C --user-custom-id U CODE",
	    "Present CODE as the messenger user would.\nPrints the outcome; "
	    "exit 1 when the code is not accepted.", verify_opts, NULL,
	    DESK_ENV_WRITE " DESK_IDENT_LIMITS", NULL, 0 },
	{ "user", NULL, "show | update | link | unlink ...",
	    "Show, update and link users.", NULL, user_cmds, DESK_ENV_WRITE, NULL, 0 },
	DESK_CMD_END
};

static const struct desk_command tool = { "desk-identify", cmd_filter,
	"[-s DIR] [FILE...]",
	"Recognise identification codes in chat messages and link the "
	"messenger user\nto the customer's account; take ident.request and "
	"user.update events; pass\nthe rest through.",
	NULL, cmds, DESK_ENV_WRITE " DESK_IDENT_LIMITS", DESK_V_FILE,
	DESK_CMD_INORDER };

int
main(int argc, char **argv)
{
	return desk_main(argc, argv, &tool, NULL);
}
