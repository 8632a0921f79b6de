/* opt.c: the options, usage and store location that every tool shares. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

const char *desk_usage_text = "";
static const char *store_opt;
static char *store_dir;

void
desk_usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f, "usage: %s", desk_usage_text);
	if (fflush(f) != 0 || ferror(f))
		exit(DESK_EX_IOERR);
	exit(code);
}

static void
version(void)
{
	if (printf("%s (desk) %s\n", desk_prog, DESK_VERSION) < 0 ||
	    fflush(stdout) != 0)
		desk_die_errno(DESK_EX_IOERR, "stdout");
	exit(DESK_EX_OK);
}

int
desk_getopt(int argc, char **argv, const char *opts, const struct option *lo)
{
	char buf[128];    /* getopt_long reads opts only within this call */
	int c;

	/* A leading ':' makes getopt tell a missing argument from an unknown option. */
	if (opts[0] != ':' && !(opts[0] == '+' && opts[1] == ':')) {
		int plus = opts[0] == '+';
		snprintf(buf, sizeof buf, "%s:%s", plus ? "+" : "", opts + plus);
		opts = buf;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, opts, lo, NULL)) != -1) {
		switch (c) {
		case 's':
			desk_set_store_dir(optarg);
			break;
		case 'h':
			desk_usage(DESK_EX_OK);
		case 'V':
			version();
			break;
		case '?':
		case ':':
			if (c == ':')
				desk_warn("%s: missing argument", argv[optind - 1]);
			else if (optopt && optopt < 256 && argv[optind - 1][1] != '-')
				desk_warn("-%c: unknown option", optopt);
			else
				desk_warn("%s: unknown option", argv[optind - 1]);
			desk_usage(DESK_EX_USAGE);
		default:
			return c;
		}
	}
	return -1;
}

void
desk_set_store_dir(const char *dir)
{
	if (!*dir)
		desk_die(DESK_EX_USAGE, "--store: empty directory name");
	store_opt = dir;
}

const char *
desk_store_dir(void)
{
	const char *s;

	if (store_dir)
		return store_dir;
	if (store_opt)
		return store_dir = desk_xstrdup(store_opt);
	if ((s = desk_env()->store) && !*s)
		desk_die(DESK_EX_CONFIG, "DESK_STORE: empty (name a directory, or "
		    "unset it for the default store)");
	if (s)
		return store_dir = desk_xstrdup(s);
	struct desk_buf b = DESK_BUF_INIT;
	if ((s = getenv("XDG_DATA_HOME")) && *s == '/')
		desk_buf_addf(&b, "%s/desk", s);
	else if ((s = getenv("HOME")) && *s)
		desk_buf_addf(&b, "%s/.local/share/desk", s);
	else
		desk_die(DESK_EX_CONFIG, "no store: use -s DIR or set DESK_STORE");
	return store_dir = desk_buf_str(&b);
}

int
desk_field_arg(const char *arg, jv *fields, const char **err)
{
	const char *eq = strchr(arg, '=');
	jv v;

	if (!eq || eq == arg || (eq == arg + 1 && arg[0] == ':')) {
		*err = "expected KEY=VALUE or KEY:=JSON";
		return -1;
	}
	size_t klen = (size_t)(eq - arg);
	if (eq[-1] == ':') {
		klen--;
		v = desk_json_parse_all(eq + 1, strlen(eq + 1));
		if (!jv_is_valid(v)) {
			jv_free(v);
			*err = "the value after := is not JSON";
			return -1;
		}
	} else
		v = jv_string(eq + 1);
	*fields = jv_object_set(*fields, jv_string_sized(arg, (int)klen), v);
	return 0;
}

uint64_t
desk_id_arg(const char *s, const char *what)
{
	uint64_t id;

	if (!s || !desk_parse_u64(s, 1, (uint64_t)1 << 53, &id))
		desk_die(DESK_EX_USAGE, "%s: not a %s id", s ? s : "(none)", what);
	return id;
}

int
desk_subcommand(int argc, char **argv, const struct desk_cmd *cmds, size_t n,
    int *status)
{
	if (optind >= argc)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(argv[optind], cmds[i].name)) {
			int first = optind;
			optind = 0;    /* glibc: start over, in the default mode */
			*status = cmds[i].fn(argc - first, argv + first);
			return 1;
		}
	return 0;
}

jv
desk_fields_args(char *const *args, size_t n)
{
	jv fields = jv_object();
	const char *err;

	for (size_t i = 0; i < n; i++)
		if (desk_field_arg(args[i], &fields, &err) < 0) {
			jv_free(fields);
			desk_die(DESK_EX_USAGE, "--field: %s: %s", args[i], err);
		}
	return fields;
}

char **
desk_operands(int argc, char **argv, int n)
{
	static const struct option lo[] = { DESK_LONGOPTS, { NULL, 0, NULL, 0 } };

	if (desk_getopt(argc, argv, DESK_OPTS, lo) != -1 || optind != argc - n)
		desk_usage(DESK_EX_USAGE);
	return argv + optind;
}

char **
desk_view_operands(int argc, char **argv, int n, const struct desk_view *v)
{
	static const struct option lo[] = { DESK_LONGOPTS, DESK_TABLE_OPTION,
		{ NULL, 0, NULL, 0 } };
	int c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS, lo)) != -1)
		if (c != DESK_OPT_TABLE || !desk_out_view(v))
			desk_usage(DESK_EX_USAGE);
	if (optind != argc - n)
		desk_usage(DESK_EX_USAGE);
	return argv + optind;
}
