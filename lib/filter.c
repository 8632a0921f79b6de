/*
 * filter.c: a desk filter, the loop over desk's store: opened with desk's
 * schema, created by the first record, and identification codes (secrets)
 * masked in what is quarantined.
 */
#include <unistd.h>

#include "loop.h"
#include "domain/domain.h"

struct desk_store *
desk_open(int flags)
{
	struct desk_store *st = desk_store_open(desk_store_dir(), flags,
	    &desk_store_schema);

	desk_store_on_error(st, desk_die_err);
	desk_store_on_again(st, desk_again);
	return st;
}

struct filter {
	desk_handler h;
	void *ctx;
};

static void
filter_one(struct desk_loop *l, jv ev, void *ctx)
{
	struct filter *f = ctx;

	desk_store_create(desk_loop_store(l));
	f->h(l, ev, f->ctx);
}

/*
 * The store is created by the first record, handled or quarantined: a
 * mistyped command, a missing input file or empty input leaves none behind.
 */
int
desk_filter(char **files, desk_handler h, void *ctx)
{
	struct filter f = { h, ctx };
	struct desk_store *st = desk_open(DESK_ST_LAZY);
	int r = desk_loop_run(st, files, filter_one, desk_code_mask, &f);

	desk_store_close(st);
	return r;
}

int
desk_filter_main(int argc, char **argv, desk_handler h, void *ctx)
{
	int c, status;

	while ((c = desk_getopt(argc, argv)) != -1)
		desk_progress_opt(c);    /* the only options such a filter has */
	if (desk_subcommand(argc, argv, &status))
		return status;
	return desk_filter(argv + optind, h, ctx);
}

jv
desk_filter_mask(struct desk_loop *l, jv ev)
{
	const char *p;
	size_t n;

	desk_loop_record(l, &p, &n);
	return desk_code_may_hide(p, n) ? desk_code_mask_event(ev) : ev;
}

jv
desk_filter_names(struct desk_loop *l, jv ev, const char *wrapper)
{
	const char *field, *p;
	char path[DESK_API_PATH];
	size_t n;

	/* ev is the record handled: its bytes tell most often (none of them). */
	desk_loop_record(l, &p, &n);
	if (desk_api_names_in(p, n, wrapper) == 0)
		return ev;
	jv a = desk_api_aliases(jv_copy(ev), wrapper, &field, path, sizeof path);

	if (!jv_is_valid(a)) {
		desk_reject_invalid(l, ev, field, a);
		a = jv_invalid();
	}
	jv_free(ev);
	return a;
}

int
desk_outbox_opts(int argc, char **argv)
{
	int all = 0, c;

	while ((c = desk_getopt(argc, argv)) != -1)
		if (c == DESK_OPT_TABLE)
			desk_out_view(&desk_view_outbox);
		else
			all = 1;
	if (optind != argc)
		desk_usage_die("outbox: %s: takes no operands", argv[optind]);
	return all;
}
