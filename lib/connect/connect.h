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

/* What an outbound formatter is handed (all borrowed). */
struct desk_outbound {
	jv ch;                          /* the channel */
	const struct desk_secrets *sec; /* its secrets */
	jv msg;                         /* the message.out event */
	const char *webhook_id;         /* the same on every attempt */
	int64_t now;                    /* this attempt's time */
};

/*
 * The settings a channel file may hold beyond name, connector, type and
 * active, each a key of channels/NAME.json (or a secret) and an option of
 * channel add and set. A connector says which it accepts.
 */
enum {
	DESK_SET_URL = 1 << 0,        /* url: where replies are POSTed */
	DESK_SET_API_URL = 1 << 1,    /* api_url: the platform's API */
	DESK_SET_HOOK_URL = 1 << 2,   /* hook_url: our serve endpoint, registered */
	DESK_SET_OPERATOR = 1 << 3,   /* operator_id: digits, kept as a string */
	DESK_SET_SERVICE = 1 << 4,    /* service_messages: bool */
	DESK_SET_PRIVATE = 1 << 5,    /* allow_private: bool, the SSRF rule off */
	DESK_SET_TOKEN = 1 << 6,      /* secrets/NAME.token */
	DESK_SET_SECRET = 1 << 7,     /* secrets/NAME.secret (whsec_) */
	DESK_SET_SIGNKEY = 1 << 8,    /* secrets/NAME.signkey (whsk_) */
};
/* One setting: its bit, its key in the channel file, its option. */
struct desk_setting {
	unsigned bit;
	const char *key;              /* NULL for a secret */
	const char *option;
};
/* Every setting, ending with a zero bit. */
extern const struct desk_setting desk_settings[];

/* The checks of an activation that failed, each with its reason. */
#define DESK_MAX_FAILS 8
struct desk_fails {
	int n;
	struct desk_err e[DESK_MAX_FAILS];   /* e.field names the check */
};
/* Adds a failed check (check: static storage); returns -1. */
int desk_fail(struct desk_fails *f, int code, const char *check,
    const char *fmt, ...) DESK_PRINTF(4, 5);
/* The exit status of f: 0 when empty, 69 when one was unreachable, else 78. */
int desk_fails_status(const struct desk_fails *f);

/* What an activation check is handed (all borrowed). */
struct desk_activation {
	jv ch;                          /* the channel as it would be saved */
	const struct desk_secrets *sec; /* its secrets as they would be */
};

struct desk_connector {
	const char *name;
	const char *title;            /* a few words, for channel connectors */
	unsigned accepts;             /* the DESK_SET_* it takes */
	const char *api_url;          /* the default api_url, or NULL */
	int unique_token;             /* a token active on one channel only */
	/*
	 * Checks a channel's settings without the network, after the generic
	 * check (settings the connector accepts, their shapes; channel add,
	 * set): 0, or -1 with e (78 and the option at fault). May be NULL.
	 */
	int (*check)(jv ch, struct desk_err *e);
	/*
	 * The connector's activation checks (the network ones: the address
	 * answers, the webhook is registered), after the generic ones (the
	 * settings, the token unique): each failure added to f (69 for
	 * unreachable, 78 for configuration). A check with a side effect
	 * (registering a webhook) runs only when f is still empty. May be NULL.
	 */
	void (*activate)(const struct desk_activation *a, struct desk_fails *f);
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
	/*
	 * The HTTP requests that deliver one outbox entry, appended to *reqs
	 * (a jv array; desk_out_req makes each) in the order they must go: 0,
	 * or -1 with e (78: the channel's settings; 65: this entry cannot go
	 * to the platform). Pure: no store, no clock but o->now, no network.
	 */
	int (*outbound)(const struct desk_outbound *o, jv *reqs,
	    struct desk_err *e);
	/*
	 * The verdict on a 2xx answer (body[0..len)) to one of those
	 * requests: 0, the platform's id of what it created in *remote when
	 * it gives one (else left invalid), or -1 with e when the answer says
	 * it failed anyway (65: dead at once; 75: retried). NULL: every 2xx is
	 * success.
	 */
	int (*answer)(jv ch, const char *body, size_t len, jv *remote,
	    struct desk_err *e);
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

/* ---- outbound.c: what the outbound formatters share ---- */

/* A request for *reqs: method, url, body (borrowed, copied), no headers yet. */
jv desk_out_req(const char *method, const char *url, const char *body, size_t len);
/* req (consumed) with header name: value added. */
jv desk_out_hdr(jv req, const char *name, const char *value);
/*
 * Where a connector's API is: the channel's api_url, else def (NULL: none),
 * with no trailing slash: owned string, or invalid with e (78, "api_url").
 */
jv desk_out_api(jv ch, const char *def, struct desk_err *e);
/*
 * text (borrowed) in parts of at most max characters (code points), cut
 * at the last space or newline before the limit when there is one: a jv
 * array of strings, in order; one part when it fits. A channel's
 * max_text setting, when it has one, is max instead.
 */
jv desk_out_split(jv ch, const char *text, size_t max);
/* The seed's markdown subset (*i*, _i_, __b__, [t](u)) as plain text: owned. */
jv desk_out_plain(const char *text);

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

/* The connectors' names for a message: "custom, chat2desk or blip". */
const char *desk_connector_names(char *buf, size_t n);

/* ---- manage.c: adding, changing and activating channels ---- */

/*
 * ch's settings (borrowed), as the connector takes them: only settings it
 * accepts, each of its shape (URLs http or https, operator_id digits,
 * bools), then the connector's own check. 0, or -1 with e (78, the option).
 */
int desk_channel_check(jv ch, struct desk_err *e);
/*
 * Every activation check of ch (borrowed) with its secrets sec: the
 * settings, the token present and unique among the active channels of
 * its connector (when the connector says so), then the connector's own.
 * The failures go to f; the store is only read.
 */
void desk_channel_checks(struct desk_store *st, jv ch,
    const struct desk_secrets *sec, struct desk_fails *f);

/* What channel add, set, activate and deactivate ask for. */
struct desk_channel_edit {
	const char *name;
	const char *connector;   /* add: the connector; else NULL */
	jv settings;             /* borrowed: keys to set, null removing; or invalid */
	const char *secret[DESK_NSECRETS];   /* new secrets, or NULL: as they are */
	int create;              /* add: the channel must not exist */
	int activate;            /* try to activate it */
	int deactivate;
};
/*
 * Applies ed, as the seed's Create / Create & Activate / Apply / Save &
 * Activate do: a new or inactive channel is saved, then activated only when
 * every check passes (else it is saved inactive); an active channel that
 * would fail the checks with its new settings is left as it was. The
 * network checks run outside the store's lock; the local ones again under
 * it. Returns the exit status: 0, or that of f (69, 78) with the failed
 * checks in f; or -1 with e when nothing could be done (78 an unknown
 * channel or a bad setting, 65 a channel that exists, 74). *saved is the
 * channel as written (owned), or invalid when nothing was written.
 */
int desk_channel_edit(struct desk_store *st, const struct desk_channel_edit *ed,
    jv *saved, struct desk_fails *f, struct desk_err *e);
/*
 * ch (consumed) as channel list and show print it: with the help desk
 * API's custom channel fields (channel_id, title, channel_type,
 * webhook_url, active) and whether each secret is set ("token": true),
 * never a secret itself.
 */
jv desk_channel_view(struct desk_store *st, jv ch);
/* Removes the channel and its secrets: 0, or -1 with errno. */
int desk_channel_remove(struct desk_store *st, const char *name);

/* ---- keys.c: Standard Webhooks keys ---- */

/* A new whsec_ secret (32 random bytes, base64): out holds 64 bytes. */
#define DESK_WHSEC_LEN 64
void desk_whsec_new(char out[DESK_WHSEC_LEN]);
/* 1 when s is whsec_ and the base64 of 24 to 64 bytes. */
int desk_whsec_ok(const char *s);
/*
 * A new Ed25519 key pair for v1a signatures: sk "whsk_" and the base64 of
 * libsodium's 64-byte secret key (seed and public key), pk "whpk_" and the
 * base64 of the 32-byte public key.
 */
#define DESK_WHSK_LEN 96
#define DESK_WHPK_LEN 56
void desk_whsk_new(char sk[DESK_WHSK_LEN], char pk[DESK_WHPK_LEN]);

extern const struct desk_connector desk_connector_custom;
extern const struct desk_connector desk_connector_chat2desk;
extern const struct desk_connector desk_connector_blip;

#endif
