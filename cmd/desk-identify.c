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

static const char usage_text[] =
    "desk-identify [-s DIR] [--progress | --no-progress] [FILE...]\n"
    "       desk-identify code (--email E | --phone P | --channel C --user-custom-id U)\n"
    "                      [--name N] [--company C] [--field K=V]... [--ttl SECONDS]\n"
    "       desk-identify code [FILE...]\n"
    "       desk-identify verify --channel C --user-custom-id U CODE\n"
    "       desk-identify user show [--table] USER\n"
    "       desk-identify user update USER [--email E] [--phone P] [--name N]\n"
    "                      [--company C] [--field K=V | --field K:=JSON]...\n"
    "       desk-identify user link USER OTHER\n"
    "       desk-identify user unlink USER OTHER\n"
    "Common options: -s, --store DIR; -h, --help; -V, --version.\n";

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
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "email", required_argument, NULL, 'e' },
		{ "phone", required_argument, NULL, 'p' },
		{ "channel", required_argument, NULL, 'c' },
		{ "user-custom-id", required_argument, NULL, 'u' },
		{ "name", required_argument, NULL, 'n' },
		{ "company", required_argument, NULL, 'C' },
		{ "field", required_argument, NULL, 'f' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 } };
	jv b = jv_object(), fields = jv_object();
	uint64_t ttl = DESK_CODE_TTL;
	const char *err;
	int c, given = 0;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "e:p:c:u:n:C:f:t:", lo)) != -1) {
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
		desk_usage(DESK_EX_USAGE);
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
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "channel", required_argument, NULL, 'c' },
		{ "user-custom-id", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 } };
	const char *ch = NULL, *ucid = NULL;
	int c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "c:u:", lo)) != -1) {
		if (c == 'c')
			ch = optarg;
		else
			ucid = optarg;
	}
	if (!ch || !ucid || !*ucid || optind != argc - 1)
		desk_usage(DESK_EX_USAGE);
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
	char **arg = desk_view_operands(argc, argv, 1, &desk_view_users);
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
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "email", required_argument, NULL, 'e' },
		{ "phone", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "company", required_argument, NULL, 'C' },
		{ "field", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 } };
	jv changes = jv_object(), fields = jv_object();
	const char *err;
	int c, nf = 0;
	struct desk_buf norm = DESK_BUF_INIT;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "e:p:n:C:f:", lo)) != -1) {
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
	if (optind != argc - 1 || (!nf && !jv_object_length(jv_copy(changes))))
		desk_usage(DESK_EX_USAGE);
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
cmd_user(int argc, char **argv)
{
	static const struct desk_cmd cmds[] = { { "show", user_show },
		{ "update", user_update }, { "link", user_link_cmd },
		{ "unlink", user_unlink_cmd } };
	int status;

	optind = 1;
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	if (argc > 1)
		desk_warn("user %s: unknown command", argv[1]);
	desk_usage(DESK_EX_USAGE);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS, DESK_PROGRESS_OPTIONS,
		{ NULL, 0, NULL, 0 } };
	static const struct desk_cmd cmds[] = { { "code", cmd_code },
		{ "verify", cmd_verify }, { "user", cmd_user } };
	int status, c;

	desk_setprog(argv[0]);
	desk_usage_text = usage_text;
	while ((c = desk_getopt(argc, argv, "+" DESK_OPTS, lo)) != -1)
		if (!desk_progress_opt(c))
			desk_usage(DESK_EX_USAGE);
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	return desk_filter(argv + optind, desk_dispatch, (void *)&filter);
}
