/* opt.c: the options, usage and store location that every tool shares. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static const char *store_opt;
static char *store_dir;

/* ---- the command tree ---- */

static const struct desk_command *cur;
static char path[256];

/* The options every command takes, after its own. */
static const struct desk_opt common[] = {
	{ 's', "store", "DIR", "the store (else $DESK_STORE, ~/.local/share/desk)",
	    DESK_V_DIR, DESK_OPT_SHORT },
	{ 'h', "help", NULL, "print this help and exit", NULL, DESK_OPT_SHORT },
	{ 'V', "version", NULL, "print the version and exit", NULL, DESK_OPT_SHORT },
	DESK_OPT_END
};

const struct desk_command *
desk_command_cur(void)
{
	return cur;
}

const char *
desk_command_path(void)
{
	return path;
}

static void
enter(const struct desk_command *c)
{
	size_t len = strlen(path);

	if (!cur || len == 0)
		snprintf(path, sizeof path, "%s", c->name);
	else
		snprintf(path + len, sizeof path - len, " %s", c->name);
	cur = c;
}

static const struct desk_command *
find_sub(const struct desk_command *c, const char *name)
{
	for (const struct desk_command *s = c->subs; s && s->name; s++)
		if (!strcmp(s->name, name))
			return s;
	return NULL;
}

static const struct desk_opt *
find_long(const struct desk_command *c, const char *name, size_t len)
{
	for (int pass = 0; pass < 2; pass++)
		for (const struct desk_opt *o = pass ? common : c->opts; o && o->key; o++)
			if (strlen(o->name) == len && !strncmp(o->name, name, len))
				return o;
	return NULL;
}

static const struct desk_opt *
find_short(const struct desk_command *c, int ch)
{
	for (int pass = 0; pass < 2; pass++)
		for (const struct desk_opt *o = pass ? common : c->opts; o && o->key; o++)
			if ((o->flags & DESK_OPT_SHORT) && o->key == ch)
				return o;
	return NULL;
}

/* The path without the tool's name, then ": ", for messages: "channel add: ". */
static const char *
where(void)
{
	static char w[sizeof path + 2];
	const char *sp = strchr(path, ' ');

	snprintf(w, sizeof w, "%s%s", sp ? sp + 1 : "", sp ? ": " : "");
	return w;
}

const char *
desk_usage_hint(void)
{
	static char hint[sizeof path + 32];

	snprintf(hint, sizeof hint, "Try '%s --help'.", *path ? path : desk_prog);
	return hint;
}

void
desk_usage_die(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	desk_die(DESK_EX_USAGE, "%s", msg);
}

/* ---- help ---- */

static void DESK_PRINTF(2, 3)
out(struct desk_buf *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	desk_buf_add(b, line, n < 0 ? 0 : (size_t)n < sizeof line ? (size_t)n :
	    sizeof line - 1);
}

static void
synopsis(struct desk_buf *b, const struct desk_command *c)
{
	const char *s = c->synopsis ? c->synopsis : "";
	int first = 1;

	do {
		size_t len = strcspn(s, "\n");
		/* Under the first operand, or at most 28 columns in. */
		int indent = (int)strlen(path) + 7 < 27 ? (int)strlen(path) + 7 : 27;
		if (len && s[0] == ' ')
			out(b, "%*s%.*s\n", indent, "", (int)len, s);
		else
			out(b, "%s %s%s%.*s\n", first ? "usage:" : "      ", path,
			    len ? " " : "", (int)len, s);
		first = 0;
		s += len + (s[len] == '\n');
	} while (*s);
}

/* The subcommands of c, their own subcommands by their path from c. */
static void
commands(struct desk_buf *b, const struct desk_command *c, const char *prefix)
{
	for (const struct desk_command *s = c->subs; s && s->name; s++) {
		char name[128];
		snprintf(name, sizeof name, "%s%s%s", prefix, *prefix ? " " : "", s->name);
		if (s->fn || !s->subs) {
			const char *a = s->about ? s->about : "";
			out(b, "  %-20s %.*s\n", name, (int)strcspn(a, "\n"), a);
		}
		commands(b, s, name);
	}
}

/* left, then text wrapped at 80 columns in a column of its own. */
static void
item(struct desk_buf *b, const char *left, const char *text)
{
	enum { COL = 27, WIDTH = 80 };
	int n = (int)strlen(left);

	out(b, "  %s", left);
	if (n + 2 > COL - 1)
		out(b, "\n%*s", COL, "");
	else
		out(b, "%*s", COL - 2 - n, "");
	for (const char *t = text; *t;) {
		int len = (int)strlen(t);
		if (len > WIDTH - COL) {
			len = WIDTH - COL;
			while (len > 0 && t[len] != ' ')
				len--;
			if (len == 0)
				len = (int)strcspn(t, " ");
		}
		out(b, "%.*s\n", len, t);
		t += len;
		t += strspn(t, " ");
		if (*t)
			out(b, "%*s", COL, "");
	}
	if (!*text)
		out(b, "\n");
}

static void
option(struct desk_buf *b, const struct desk_opt *o)
{
	char left[96];

	if (o->flags & DESK_OPT_SHORT)
		snprintf(left, sizeof left, "-%c, --%s%s%s", o->key, o->name,
		    o->arg ? " " : "", o->arg ? o->arg : "");
	else
		snprintf(left, sizeof left, "    --%s%s%s", o->name,
		    o->arg ? " " : "", o->arg ? o->arg : "");
	item(b, left, o->help ? o->help : "");
}

static void
environment(struct desk_buf *b, const char *env)
{
	const char *s = env ? env : "";

	out(b, "\nEnvironment:\n");
	while (*s) {
		size_t len = strcspn(s, " ");
		char name[64];
		snprintf(name, sizeof name, "%.*s", (int)len, s);
		const char *h = desk_env_help(name);
		if (len)
			item(b, name, h ? h : "(undocumented)");
		s += len + (s[len] == ' ');
	}
}

void
desk_help(void)
{
	struct desk_buf b = DESK_BUF_INIT;
	const struct desk_command *c = cur;

	synopsis(&b, c);
	if (c->about)
		out(&b, "\n%s\n", c->about);
	if (c->subs) {
		out(&b, "\nCommands:\n");
		commands(&b, c, "");
		out(&b, "  %-20s %s\n", "help [COMMAND]", "The help of a command, "
		    "as COMMAND --help.");
	}
	out(&b, "\nOptions:\n");
	for (const struct desk_opt *o = c->opts; o && o->key; o++)
		option(&b, o);
	for (const struct desk_opt *o = common; o->key; o++)
		option(&b, o);
	environment(&b, c->env && *c->env ? c->env : "DESK_STORE");
	out(&b, "\nSee %s(1) and desk(7).\n", desk_prog);
	desk_buf_write(&b, 1, "stdout");
	desk_buf_free(&b);
	exit(DESK_EX_OK);
}

static void
version(void)
{
	if (printf("%s (desk) %s\n", desk_prog, DESK_VERSION) < 0 ||
	    fflush(stdout) != 0)
		desk_die_errno(DESK_EX_IOERR, "stdout");
	exit(DESK_EX_OK);
}

/* ---- the options ---- */

enum { MAXOPT = 64 };

int
desk_getopt(int argc, char **argv)
{
	static struct option lo[MAXOPT + 1];
	static char opts[2 * MAXOPT + 3];
	static const struct desk_command *built;
	int c;

	/* Built once per command: getopt_long keeps no pointer past its call. */
	if (built != cur) {
		size_t n = 0, k = 0;
		opts[k++] = cur->flags & DESK_CMD_INORDER || !cur->fn ? '+' : ':';
		if (opts[0] == '+')
			opts[k++] = ':';    /* a missing argument told from an unknown option */
		for (int pass = 0; pass < 2; pass++)
			for (const struct desk_opt *o = pass ? common : cur->opts;
			    o && o->key && n < MAXOPT; o++) {
				lo[n++] = (struct option){ o->name, o->arg ?
				    required_argument : no_argument, NULL, o->key };
				if (o->flags & DESK_OPT_SHORT) {
					opts[k++] = (char)o->key;
					if (o->arg)
						opts[k++] = ':';
				}
			}
		lo[n] = (struct option){ NULL, 0, NULL, 0 };
		opts[k] = '\0';
		built = cur;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, opts, lo, NULL)) != -1) {
		switch (c) {
		case 's':
			desk_set_store_dir(optarg);
			break;
		case 'h':
			desk_help();
		case 'V':
			version();
			break;
		case ':':
			desk_usage_die("%s: missing argument", argv[optind - 1]);
		case '?':
			if (optopt && optopt < 256 && argv[optind - 1][1] != '-')
				desk_usage_die("-%c: unknown option", optopt);
			desk_usage_die("%s: unknown option", argv[optind - 1]);
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

/* A command that is only its subcommands: the common options, then one. */
static int
subcommands_only(int argc, char **argv)
{
	if (desk_getopt(argc, argv) != -1)
		desk_usage_die("%stakes no options of its own", where());
	return desk_subcommands(argc, argv);
}

/* help [COMMAND...]: the help of the command the words name. */
static _Noreturn void
help_cmd(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct desk_command *s = find_sub(cur, argv[i]);
		if (!s)
			desk_usage_die("help: %s: unknown command", argv[i]);
		enter(s);
	}
	desk_help();
}

static int
dispatch(const struct desk_command *s, int argc, char **argv)
{
	enter(s);
	optind = 0;    /* glibc: start over, in the command's own mode */
	return s->fn ? s->fn(argc, argv) : subcommands_only(argc, argv);
}

int
desk_subcommand(int argc, char **argv, int *status)
{
	const struct desk_command *s;

	if (optind >= argc || !cur->subs)
		return 0;
	if (!strcmp(argv[optind], "help"))
		help_cmd(argc - optind, argv + optind);
	if (!(s = find_sub(cur, argv[optind])))
		return 0;
	*status = dispatch(s, argc - optind, argv + optind);
	return 1;
}

int
desk_subcommands(int argc, char **argv)
{
	int status;

	if (desk_subcommand(argc, argv, &status))
		return status;
	if (optind >= argc)
		desk_usage_die("%sa command is required", where());
	desk_usage_die("%s%s: unknown command", where(), argv[optind]);
}

char **
desk_files_or_subcommand(int argc, char **argv, int *status)
{
	if (desk_getopt(argc, argv) != -1)
		desk_usage_die("%stakes no options of its own", where());
	return desk_subcommand(argc, argv, status) ? NULL : argv + optind;
}

/*
 * Leading -s DIR are taken first, so that a subcommand is found after
 * them whatever the root's own options are.
 */
int
desk_run(const struct desk_command *root, int argc, char **argv)
{
	int i = 1;

	cur = NULL;
	enter(root);
	while (i < argc - 1 && (!strcmp(argv[i], "-s") || !strcmp(argv[i], "--store")))
		desk_set_store_dir(argv[i + 1]), i += 2;
	if (i < argc && root->subs && (find_sub(root, argv[i]) ||
	    !strcmp(argv[i], "help"))) {
		int status;
		optind = i;
		if (desk_subcommand(argc, argv, &status))
			return status;
	}
	optind = 0;
	return root->fn ? root->fn(argc, argv) : subcommands_only(argc, argv);
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
	if (desk_getopt(argc, argv) != -1)
		desk_usage_die("%stakes no options of its own", where());
	if (optind != argc - n)
		desk_usage_die("%sexpected %d operand%s, got %d", where(), n,
		    n == 1 ? "" : "s", argc - optind);
	return argv + optind;
}

/* ---- completion ---- */

static const char *comp_cur = "";     /* the word being completed */
static size_t comp_skip;              /* of it, what a candidate need not repeat */
static const char *comp_prefix = "";  /* put before each candidate ("--status=") */

void
desk_complete_add(const char *word, const char *desc)
{
	const char *rest = comp_cur + comp_skip;

	if (strncmp(word, rest, strlen(rest)))
		return;
	printf("%s%.*s%s%s%s\n", comp_prefix, (int)comp_skip, comp_cur, word,
	    desc && *desc ? "\t" : "", desc ? desc : "");
}

/* Words ("a b c"), or a tag handed to values. */
static void
complete_values(const char *v, void (*values)(const char *, const char *))
{
	if (!v)
		return;
	if (v[0] == ':') {
		if (!strcmp(v, DESK_V_FILE) || !strcmp(v, DESK_V_DIR))
			printf("%s\n", v);
		else if (values)
			values(v, comp_cur + comp_skip);
		return;
	}
	while (*v) {
		size_t len = strcspn(v, " ");
		char w[128];
		snprintf(w, sizeof w, "%.*s", (int)len, v);
		if (len)
			desk_complete_add(w, NULL);
		v += len + (v[len] == ' ');
	}
}

static void
complete_option_value(const struct desk_opt *o, const char *word,
    void (*values)(const char *, const char *))
{
	comp_cur = word;
	/* A list, "S,...": the values after the last comma. */
	const char *comma = o->arg && strstr(o->arg, ",...") ? strrchr(word, ',') : NULL;
	comp_skip = comma ? (size_t)(comma + 1 - word) : 0;
	if (o->key == 's')
		printf(DESK_V_DIR "\n");
	else
		complete_values(o->values, values);
}

static void
complete_options(const struct desk_command *c, const char *word)
{
	char w[128];

	comp_cur = word;
	for (int pass = 0; pass < 2; pass++)
		for (const struct desk_opt *o = pass ? common : c->opts; o && o->key; o++) {
			snprintf(w, sizeof w, "--%s", o->name);
			desk_complete_add(w, o->help);
			if ((o->flags & DESK_OPT_SHORT) && word[0] == '-' && word[1] != '-') {
				snprintf(w, sizeof w, "-%c", o->key);
				desk_complete_add(w, o->help);
			}
		}
}

static void
complete_commands(const struct desk_command *c, const char *word)
{
	comp_cur = word;
	for (const struct desk_command *s = c->subs; s && s->name; s++) {
		const char *a = s->about ? s->about : "";
		char d[128];
		snprintf(d, sizeof d, "%.*s", (int)strcspn(a, "\n"), a);
		desk_complete_add(s->name, d);
	}
	desk_complete_add("help", "the help of a command");
}

int
desk_complete(const struct desk_command *root, int n, char **words,
    void (*values)(const char *tag, const char *cur))
{
	const struct desk_command *c = root;
	const struct desk_opt *want = NULL;   /* an option waiting for its value */
	int operands = 0, endopts = 0, help = 0;

	cur = NULL;
	enter(root);
	for (int i = 0; i < n - 1; i++) {
		const char *w = words[i];
		if (want) {
			if (want->key == 's' && *w)
				desk_set_store_dir(w);
			want = NULL;
		} else if (!endopts && !strcmp(w, "--"))
			endopts = 1;
		else if (!endopts && !strncmp(w, "--", 2)) {
			size_t len = strcspn(w + 2, "=");
			const struct desk_opt *o = find_long(c, w + 2, len);
			if (o && o->arg && !w[2 + len])
				want = o;
			else if (o && o->key == 's' && w[3 + len])
				desk_set_store_dir(w + 3 + len);
		} else if (!endopts && w[0] == '-' && w[1]) {
			for (const char *p = w + 1; *p; p++) {
				const struct desk_opt *o = find_short(c, *p);
				if (o && o->arg) {
					if (!p[1])
						want = o;
					else if (o->key == 's')
						desk_set_store_dir(p + 1);
					break;
				}
			}
		} else if (!operands && !help && c->subs && find_sub(c, w)) {
			c = find_sub(c, w);
			enter(c);
		} else if (!operands && !help && c->subs && !strcmp(w, "help"))
			help = 1;
		else
			operands++;
	}
	const char *w = n ? words[n - 1] : "";
	comp_skip = 0;
	comp_prefix = "";
	if (want)
		complete_option_value(want, w, values);
	else if (!endopts && !strncmp(w, "--", 2) && strchr(w, '=')) {
		size_t len = strcspn(w + 2, "=");
		const struct desk_opt *o = find_long(c, w + 2, len);
		if (o && o->arg) {
			static char pre[128];
			snprintf(pre, sizeof pre, "%.*s", (int)len + 3, w);
			comp_prefix = pre;
			complete_option_value(o, w + len + 3, values);
		}
	} else if (!endopts && w[0] == '-')
		complete_options(c, w);
	else if (help || (!operands && c->subs)) {
		complete_commands(c, w);
		if (!help && c->fn) {
			comp_cur = w;
			complete_values(c->operands, values);
		}
	} else {
		comp_cur = w;
		complete_values(c->operands, values);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		return DESK_EX_IOERR;
	return DESK_EX_OK;
}
