/*
 * desk-webhook: the channels and the wire. main dispatches to one file per
 * subcommand (cmd/webhook-*.c, declared in webhook.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

static const char usage_text[] =
    "desk-webhook channel add NAME [--connector custom|chat2desk|blip]\n"
    "                      [--type async|sync] [--url URL] [--inactive]\n"
    "       desk-webhook channel list\n"
    "       desk-webhook channel show NAME\n"
    "       desk-webhook channel rm NAME\n"
    "       desk-webhook recv --channel NAME [--lines] [--header 'NAME: VALUE']...\n"
    "                      [FILE...]\n"
    "       desk-webhook recv --channel NAME --cgi\n"
    "       desk-webhook serve --listen ADDR:PORT [--port-file F]\n"
    "                      [--max-body BYTES] [--max-connections N]\n"
    "                      [--timeout SECONDS] [--emit-buffer BYTES]\n"
    "Common options: -s, --store DIR; -h, --help; -V, --version.\n";

int
main(int argc, char **argv)
{
	static const struct option lo[] = { DESK_LONGOPTS, { NULL, 0, NULL, 0 } };

	static const struct desk_cmd cmds[] = {
		{ "channel", webhook_channel },
		{ "recv", webhook_recv },
		{ "serve", webhook_serve },
	};
	int status;

	desk_setprog(argv[0]);
	desk_usage_text = usage_text;
	if (desk_getopt(argc, argv, "+" DESK_OPTS, lo) != -1 || optind >= argc)
		desk_usage(DESK_EX_USAGE);
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	desk_warn("%s: unknown command", argv[optind]);
	desk_usage(DESK_EX_USAGE);
}
