/*
 * chat2desk.c: the chat2desk connector.
 */
#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

/* ---- inbound: authentication and the normaliser ---- */

/* ---- outbound ---- */

/* ---- activation ---- */

const struct desk_connector desk_connector_chat2desk = {
	.name = "chat2desk",
};
