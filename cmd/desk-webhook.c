/*
 * desk-webhook: the channels and the wire. The command tree is here; each
 * subcommand is a file of its own (cmd/webhook-*.c, declared in
 * webhook.h) with its options' table.
 */
#include <stdio.h>
#include <string.h>

#include "webhook.h"

static const struct desk_command cmds[] = {
	{ "channel", NULL, "add | set | list | show | rm | activate ...\n"
	    " deactivate | secret | keygen | connectors ...",
	    "Manage the channels messages arrive on and replies go out by.",
	    NULL, webhook_channel_cmds, DESK_ENV_WRITE, NULL, 0 },
	{ "send", webhook_send, "[--drain] [--per-host N] [--in-flight N] [FILE...]",
	    "Deliver the outbox.\nThe message.out events read (or, with --drain, "
	    "what is due), signed, retried\non a schedule, in order per case; a "
	    "delivery event per attempt.", webhook_send_opts, NULL,
	    DESK_ENV_WRITE, DESK_V_FILE, 0 },
	{ "outbox", webhook_outbox, "[--all]", "List the outbox.\nThe entries "
	    "waiting for delivery; exit 1 when there are none.",
	    webhook_outbox_opts, NULL, DESK_ENV_READ, NULL, 0 },
	{ "dead", NULL, "list | retry ...", "The dead entries.\nReplies that "
	    "will not be retried.", NULL, webhook_dead_cmds, DESK_ENV_WRITE,
	    NULL, 0 },
	{ "sign", webhook_sign, "--secret-file FILE --id ID [--timestamp T] < BODY",
	    "Sign BODY as desk signs its deliveries.\nStandard Webhooks; "
	    "prints the three headers.", webhook_sign_opts, NULL, "DESK_NOW", NULL, 0 },
	{ "verify", webhook_verify, "--secret-file FILE (--headers FILE |\n"
	    " --id ID --timestamp T --signature SIG) < BODY",
	    "Verify a signed BODY, as a receiver would.\nExit 77 when it fails.",
	    webhook_verify_opts, NULL, "DESK_NOW", NULL, 0 },
	{ "recv", webhook_recv, "--channel NAME [--lines]\n"
	    " [--header 'NAME: VALUE']... [FILE...]\n--channel NAME --cgi",
	    "Turn a channel's raw webhook bodies into events.\nOn the code path "
	    "serve runs for each request: for replays, CGI and tests.",
	    webhook_recv_opts, NULL, DESK_ENV_WRITE, DESK_V_FILE, 0 },
	{ "serve", webhook_serve, "--listen ADDR:PORT [--port-file F]\n"
	    " [--max-body BYTES] [--max-connections N]\n"
	    " [--timeout SECONDS] [--emit-buffer BYTES]",
	    "Receive the channels' webhooks over HTTP.\nEach request is stored "
	    "before it is answered, its events written to stdout\nexactly once "
	    "(serve | desk-case).", webhook_serve_opts, NULL, DESK_ENV_WRITE,
	    NULL, 0 },
	DESK_CMD_END
};

static const struct desk_command tool = { "desk-webhook", NULL,
	"COMMAND [OPTION...]",
	"The channels and the wire: channels and their secrets; webhooks "
	"received (serve,\nrecv); replies delivered (send), the outbox and "
	"the dead letters; signatures.",
	NULL, cmds, DESK_ENV_WRITE, NULL, DESK_CMD_INORDER };

/* The connectors, from their table, for completion. */
static void
connectors(const char *tag, const char *cur)
{
	(void)cur;
	if (!strcmp(tag, DESK_V_CONNECTOR))
		for (size_t i = 0; desk_connectors[i]; i++)
			desk_complete_add(desk_connectors[i]->name,
			    desk_connectors[i]->title);
}

int
main(int argc, char **argv)
{
	return desk_main(argc, argv, &tool, connectors);
}
