/*
 * webhook.h: desk-webhook's subcommands, one file each (cmd/webhook-*.c),
 * dispatched by cmd/desk-webhook.c.
 */
#ifndef DESK_CMD_WEBHOOK_H
#define DESK_CMD_WEBHOOK_H

#include "desk.h"

int webhook_channel(int argc, char **argv);   /* webhook-channel.c */
int webhook_send(int argc, char **argv);      /* webhook-send.c */
int webhook_outbox(int argc, char **argv);    /* webhook-send.c */
int webhook_dead(int argc, char **argv);      /* webhook-send.c */
int webhook_sign(int argc, char **argv);      /* webhook-sign.c */
int webhook_verify(int argc, char **argv);    /* webhook-sign.c */
int webhook_recv(int argc, char **argv);      /* webhook-recv.c */
int webhook_serve(int argc, char **argv);     /* webhook-serve.c */

#endif
