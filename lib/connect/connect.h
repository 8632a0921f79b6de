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

/* ---- sign.c: Standard Webhooks signatures, and tokens ---- */

/* How far webhook-timestamp may be from now, either way (seconds). */
#define DESK_SIG_TOLERANCE 300
/*
 * Appends the webhook-signature value for (id, ts, body[0..len)) under key
 * ("v1,..." for a whsec_ secret, "v1a,..." for a whsk_ key) to out: 0, or
 * -1 with e (78: key is not a signing key; the reason never shows it).
 */
int desk_sig_sign(const char *key, const char *id, int64_t ts,
    const char *body, size_t len, struct desk_buf *out, struct desk_err *e);
/*
 * Verifies a request's webhook-id, webhook-timestamp and webhook-signature
 * (any NULL: missing) over body against key (whsec_: v1; whpk_ or whsk_:
 * v1a): the timestamp within DESK_SIG_TOLERANCE of now, any one signature
 * of the space-separated list valid. 0, or -1 with e (77 and the header at
 * fault; 78 when key is not a key).
 */
int desk_sig_verify(const char *key, const char *id, const char *ts,
    const char *sigs, const char *body, size_t len, int64_t now,
    struct desk_err *e);
/* desk_sig_verify on the headers and body of in, against in->now. */
int desk_sig_verify_in(const char *key, const struct desk_http_in *in,
    struct desk_err *e);
/*
 * A new key of kind "whsec" (32 random bytes) or "whsk" (an Ed25519 key
 * pair; its whpk_ public key appended to public unless NULL), appended to
 * secret: wipe it (desk_wipe) after use. 0, or -1 with e (64: bad kind).
 */
int desk_sig_keygen(const char *kind, struct desk_buf *secret,
    struct desk_buf *public, struct desk_err *e);
/* given[0..n) is want, compared in constant time (lengths too): 1 or 0. */
int desk_token_eq(const char *given, size_t n, const char *want);
/*
 * The request's header (lower case) carries token, bare or after "Bearer "
 * or "Key ": 0, or -1 with e (77: missing, wrong, or no token configured).
 */
int desk_auth_token(const char *token, const struct desk_http_in *in,
    const char *header, struct desk_err *e);

/* ---- norm.c: what the inbound normalisers share ---- */

/*
 * Readers of one field key of o (borrowed) whose path in the body is
 * pre + key ("case." "user_email"): 0 with *out owned (invalid when
 * absent or null), or -1 with e (65, the path, what is wrong).
 */
int desk_in_str(jv o, const char *pre, const char *key, int required, jv *out,
    struct desk_err *e);
#define DESK_IN_REQUIRED 1
#define DESK_IN_NUMBER 2      /* a whole number is taken as its decimal string */
/* An id from outside: a non-empty string (or, with DESK_IN_NUMBER, a number). */
int desk_in_id(jv o, const char *pre, const char *key, int flags, jv *out,
    struct desk_err *e);
/* A value of kind, borrowed (not owned, unlike the others), or invalid. */
int desk_in_kind(jv o, const char *pre, const char *key, jv_kind kind, jv *out,
    struct desk_err *e);
/* One attachment a (borrowed) in desk's shape {url, file_name, mime_type, file_size}. */
int desk_in_attachment(jv a, const char *pre, jv *out, struct desk_err *e);
/* An array of attachments under key, each as desk_in_attachment. */
int desk_in_attachments(jv o, const char *pre, const char *key, jv *out,
    struct desk_err *e);
/* The request body as one JSON value (owned): 0, or -1 with e (65, "body"). */
int desk_in_json(const struct desk_http_in *in, jv *body, struct desk_err *e);
/* -1 with e: 65, the field pre + key, the reason. */
int desk_in_fail(struct desk_err *e, const char *pre, const char *key,
    const char *fmt, ...) DESK_PRINTF(4, 5);
/* A new event of channel ch (borrowed): type (NULL: a message), channel. */
jv desk_in_event(jv ch, const char *type);
/* ev with key set to v (both consumed) when v is valid; else ev as it is. */
jv desk_in_set(jv ev, const char *key, jv v);

/* ---- receive.c: a request, authenticated and normalised ---- */

/*
 * What serve and recv do with one request to channel ch (borrowed, as
 * desk_channel_get gives it): its connector's auth with sec (when sec is
 * NULL, no authentication: the caller vouches for the body, as recv does
 * for a replay), then its normaliser, then the size checks desk-case will
 * make. On success 0 and the events appended to *events (a jv array,
 * consumed and replaced), what was skipped counted in *skips. -1 with e:
 * 77 (auth), 65 (the body, its field), 78 (no such connector).
 */
int desk_receive(jv ch, const struct desk_secrets *sec,
    const struct desk_http_in *in, jv *events, struct desk_skips *skips,
    struct desk_err *e);

extern const struct desk_connector desk_connector_custom;
extern const struct desk_connector desk_connector_chat2desk;
extern const struct desk_connector desk_connector_blip;

#endif
