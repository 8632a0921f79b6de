/*
 * connect.h: the connectors (lib/README): what one platform's webhooks and
 * API look like. One file per connector (custom.c, chat2desk.c, blip.c), one
 * line each in table.c; a fourth connector is one new file and one line.
 *
 * A connector knows the wire format of its platform and nothing of the
 * store's records: it is handed the channel's configuration (a jv object,
 * borrowed, as desk_channel_get returns it) and its secrets, and returns
 * events, requests or verdicts. The inbound normaliser is a pure function,
 * so desk-webhook recv, serve and the tests share one code path.
 */
#ifndef DESK_CONNECT_CONNECT_H
#define DESK_CONNECT_CONNECT_H

#include "domain/domain.h"

/* One header of an HTTP request or answer; the name in lower case. */
struct desk_hdr {
	const char *name;
	const char *value;
};

/* A request as it arrived (serve) or was read (recv): all borrowed. */
struct desk_http_in {
	const char *body;
	size_t len;
	const struct desk_hdr *hdr;
	size_t nhdr;
	int64_t now;            /* Unix seconds: for signature freshness */
};

/* The value of header name (lower case) in in, or NULL. */
const char *desk_http_hdr(const struct desk_http_in *in, const char *name);

/* What an inbound normaliser skipped on purpose, by reason. */
struct desk_skips {
	unsigned long echo;      /* our own replies echoed back */
	unsigned long operator;  /* a chat of another operator (chat2desk) */
	unsigned long other;     /* events the connector does not ingest */
};

struct desk_connector {
	const char *name;
	/*
	 * Checks a channel's settings without the network (channel add, set):
	 * 0, or -1 with e (78 and the option at fault).
	 */
	int (*check)(jv ch, struct desk_err *e);
	/*
	 * Authenticates a request before its body is parsed: 0, or -1 with e
	 * (77 and the reason: what failed, never the secret).
	 */
	int (*auth)(jv ch, const struct desk_secrets *sec,
	    const struct desk_http_in *in, struct desk_err *e);
	/*
	 * The events a request body stands for, appended to *events (a jv
	 * array): 0, or -1 with e (65, the field at fault) for a body it cannot
	 * use. What it skips on purpose it counts in *skips. Pure: no store,
	 * no clock but in->now, no network.
	 */
	int (*inbound)(jv ch, const struct desk_http_in *in, jv *events,
	    struct desk_skips *skips, struct desk_err *e);
};

/* Every connector, NULL-terminated, in the order channel add lists them. */
extern const struct desk_connector *const desk_connectors[];
/* The connector named name, or NULL. */
const struct desk_connector *desk_connector(const char *name);

extern const struct desk_connector desk_connector_custom;
extern const struct desk_connector desk_connector_chat2desk;
extern const struct desk_connector desk_connector_blip;

#endif
