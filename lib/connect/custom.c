/*
 * custom.c: the custom connector.
 */
#include "connect/connect.h"

/* ---- settings (channel add, set) ---- */

/* ---- inbound: authentication and the normaliser ---- */

/* ---- outbound ---- */

/* ---- activation ---- */

const struct desk_connector desk_connector_custom = {
	.name = "custom",
};
