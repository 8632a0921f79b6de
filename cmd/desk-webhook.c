/*
 * desk-webhook: the channels and the wire. main dispatches to one file per
 * subcommand (cmd/webhook-*.c, declared in webhook.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "webhook.h"

/* The %s: the connectors, from their table. */
static const char usage_fmt[] =
    "desk-webhook channel add NAME [--connector %s] [--type async|sync]\n"
    "           [--url URL] [--api-url URL] [--hook-url URL] [--token-file F]\n"
    "           [--secret-file F] [--operator-id N] [--service-messages]\n"
    "           [--allow-private] [--activate]\n"
    "       desk-webhook channel set NAME [the options of add but --connector]\n"
    "       desk-webhook channel activate | deactivate | show | rm NAME\n"
    "       desk-webhook channel secret | keygen NAME\n"
    "       desk-webhook channel list [--table] | connectors\n"
    "       desk-webhook send [--drain] [--per-host N] [--in-flight N]\n"
    "           [--progress | --no-progress] [FILE...]\n"
    "       desk-webhook outbox [--all] [--table]\n"
    "       desk-webhook dead list [--table]\n"
    "       desk-webhook dead retry ID... | --all\n"
    "       desk-webhook sign --secret-file FILE --id ID [--timestamp T] < BODY\n"
    "       desk-webhook verify --secret-file FILE (--headers FILE |\n"
    "                      --id ID --timestamp T --signature SIG) < BODY\n"
    "       desk-webhook recv --channel NAME [--lines] [--header 'NAME: VALUE']...\n"
    "           [FILE...]\n"
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
		{ "send", webhook_send },
		{ "outbox", webhook_outbox },
		{ "dead", webhook_dead },
		{ "sign", webhook_sign },
		{ "verify", webhook_verify },
		{ "recv", webhook_recv },
		{ "serve", webhook_serve },
	};
	char names[128], usage[sizeof usage_fmt + sizeof names];
	int status;

	desk_setprog(argv[0]);
	size_t len = 0;
	names[0] = '\0';
	for (size_t i = 0; desk_connectors[i] && len < sizeof names; i++)
		len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
		    i ? "|" : "", desk_connectors[i]->name);
	snprintf(usage, sizeof usage, usage_fmt, names);
	desk_usage_text = usage;
	if (desk_getopt(argc, argv, "+" DESK_OPTS, lo) != -1 || optind >= argc)
		desk_usage(DESK_EX_USAGE);
	if (desk_subcommand(argc, argv, cmds, sizeof cmds / sizeof *cmds, &status))
		return status;
	desk_warn("%s: unknown command", argv[optind]);
	desk_usage(DESK_EX_USAGE);
}
