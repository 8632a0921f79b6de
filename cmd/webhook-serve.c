/*
 * webhook-serve.c: desk-webhook serve, the HTTP receiver; the server
 * itself is lib/serve.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

#define MIB (1024u * 1024u)

static uint64_t
num_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	uint64_t v;

	if (!desk_parse_u64(s, min, max, &v))
		desk_die(DESK_EX_USAGE, "--%s: must be a number from %llu to %llu: "
		    "%s", opt, (unsigned long long)min, (unsigned long long)max, s);
	return v;
}

int
webhook_serve(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS,
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "max-connections", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ "emit-buffer", required_argument, NULL, 'e' },
		{ NULL, 0, NULL, 0 } };
	/* A body is stored escaped in a record of at most 16 MiB: 2 MiB fits. */
	struct desk_serve_opts o = { NULL, NULL, MIB, 256, 30, 64 * MIB };
	struct desk_err e;
	int c;

	while ((c = desk_getopt(argc, argv, DESK_OPTS "l:P:b:c:t:e:", lo)) != -1) {
		switch (c) {
		case 'l':
			o.listen = optarg;
			break;
		case 'P':
			o.port_file = optarg;
			break;
		case 'b':
			o.max_body = num_arg("max-body", optarg, 1, 2 * MIB);
			break;
		case 'c':
			o.max_conn = (unsigned)num_arg("max-connections", optarg, 1,
			    10000);
			break;
		case 't':
			o.timeout = (unsigned)num_arg("timeout", optarg, 1, 3600);
			break;
		case 'e':
			o.emit_buffer = num_arg("emit-buffer", optarg, 1, 1024 * MIB);
			break;
		}
	}
	if (!o.listen || optind != argc)
		desk_usage(DESK_EX_USAGE);
	/* serve opens the store itself: it outlives the store's errors. */
	if (desk_serve(desk_store_dir(), &o, &e) < 0)
		desk_die(e.code, "serve: %s%s%s", e.field ? e.field : "",
		    e.field ? ": " : "", e.msg);
	return DESK_EX_OK;
}
