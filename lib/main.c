/*
 * main.c: what every tool's main does: its name, then its command tree
 * (lib/base/opt.c), or the completions of a command line, with the values
 * only the store knows.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "loop.h"
#include "domain/domain.h"

/* The store, when there is one: completing creates nothing. */
static struct desk_store *
store_if_any(void)
{
	struct stat sb;

	if (stat(desk_store_dir(), &sb) < 0 || !S_ISDIR(sb.st_mode))
		return NULL;
	return desk_open(0);
}

static void
add_case(jv c, void *ctx)
{
	char id[32];
	const char *subject = desk_jstr(c, "subject");
	int64_t v = 0;

	(void)ctx;
	(void)desk_jint(c, "case_id", &v);
	snprintf(id, sizeof id, "%" PRId64, v);
	char desc[160];
	snprintf(desc, sizeof desc, "%s%s%.120s", desk_jstr(c, "status") ?
	    desk_jstr(c, "status") : "", subject ? ": " : "", subject ? subject : "");
	desk_complete_add(id, desc);
	jv_free(c);
}

static void (*more_values)(const char *tag, const char *cur);

/* The values of a tag: channels, the most recent cases, the tool's own. */
static void
values(const char *tag, const char *cur)
{
	struct desk_store *st;

	if (strcmp(tag, DESK_V_CHANNEL) && strcmp(tag, DESK_V_CASE)) {
		if (more_values)
			more_values(tag, cur);
		return;
	}
	if (!(st = store_if_any()))
		return;
	if (!strcmp(tag, DESK_V_CHANNEL)) {
		jv all = desk_channel_list(st);
		jv_array_foreach(all, i, ch) {
			desk_complete_add(desk_jstr(ch, "name"), desk_jstr(ch, "connector"));
			jv_free(ch);
		}
		jv_free(all);
	} else if (!strcmp(tag, DESK_V_CASE)) {
		/* The 50 most recently active: a lookup per case, not the log. */
		struct desk_case_query q = { .limit = 50 };
		struct desk_err e;
		uint64_t n;
		(void)desk_case_list(st, &q, add_case, NULL, &n, &e);
	}
	desk_store_close(st);
}

int
desk_main(int argc, char **argv, const struct desk_command *root,
    void (*more)(const char *tag, const char *cur))
{
	desk_setprog(argv[0]);
	desk_again_arm(argv);
	more_values = more;
	if (argc > 1 && !strcmp(argv[1], "__complete"))
		return desk_complete(root, argc - 2, argv + 2, values);
	return desk_run(root, argc, argv);
}
