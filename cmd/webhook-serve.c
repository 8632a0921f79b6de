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
	/* A body is stored escaped in a record of at most 16 MiB: 2 MiB fits. */
	struct desk_serve_opts o = { NULL, NULL, MIB, 256, 30, 64 * MIB };
	struct desk_err e;
	int c;

	while ((c = desk_getopt(argc, argv)) != -1) {
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
	if (!o.listen)
		desk_usage_die("serve: --listen ADDR:PORT is required");
	if (optind != argc)
		desk_usage_die("serve: %s: takes no operands", argv[optind]);
	/* serve opens the store itself: it outlives the store's errors. */
	if (desk_serve(desk_store_dir(), &o, &e) < 0)
		desk_die(e.code, "serve: %s%s%s", e.field ? e.field : "",
		    e.field ? ": " : "", e.msg);
	return DESK_EX_OK;
}

const struct desk_opt webhook_serve_opts[] = {
	{ 'l', "listen", "ADDR:PORT", "where to listen (port 0: any free one)",
	    NULL, 0 },
	{ 'P', "port-file", "FILE", "write the port listened on to FILE",
	    DESK_V_FILE, 0 },
	{ 'b', "max-body", "BYTES", "the longest request body taken (1 MiB, "
	    "at most 2 MiB)", NULL, 0 },
	{ 'c', "max-connections", "N", "connections at once (256)", NULL, 0 },
	{ 't', "timeout", "SECONDS", "idle seconds before a connection is cut "
	    "(30)", NULL, 0 },
	{ 'e', "emit-buffer", "BYTES", "bytes of events held for a slow stdout "
	    "(64 MiB)", NULL, 0 },
	DESK_OPT_END
};
