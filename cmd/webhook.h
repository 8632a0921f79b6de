/*
 * webhook.h: desk-webhook's subcommands, one file each (cmd/webhook-*.c),
 * dispatched by cmd/desk-webhook.c.
 */
#ifndef DESK_CMD_WEBHOOK_H
#define DESK_CMD_WEBHOOK_H

#include "desk.h"

extern const struct desk_command webhook_channel_cmds[];  /* webhook-channel.c */
extern const struct desk_command webhook_dead_cmds[];     /* webhook-send.c */
int webhook_send(int argc, char **argv);      /* webhook-send.c */
int webhook_outbox(int argc, char **argv);    /* webhook-send.c */
int webhook_sign(int argc, char **argv);      /* webhook-sign.c */
int webhook_verify(int argc, char **argv);    /* webhook-sign.c */
int webhook_recv(int argc, char **argv);      /* webhook-recv.c */
int webhook_serve(int argc, char **argv);     /* webhook-serve.c */

/* Each command's options, next to the code that reads them. */
extern const struct desk_opt webhook_send_opts[], webhook_outbox_opts[],
    webhook_sign_opts[], webhook_verify_opts[], webhook_recv_opts[],
    webhook_serve_opts[];

#endif
