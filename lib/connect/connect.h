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
};

/* Every connector, NULL-terminated, in the order channel add lists them. */
extern const struct desk_connector *const desk_connectors[];
/* The connector named name, or NULL. */
const struct desk_connector *desk_connector(const char *name);

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
