/*
 * blip.c: the blip connector.
 */
#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

/* ---- inbound: authentication and the normaliser ---- */

/* ---- outbound ---- */

/* ---- activation ---- */

const struct desk_connector desk_connector_blip = {
	.name = "blip",
};
