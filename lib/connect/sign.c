/*
 * sign.c: Standard Webhooks signatures (REFERENCES §4), both ways: inbound
 * requests of custom channels are verified here, outbound deliveries are
 * signed here.
 *
 * The signed bytes are "{webhook-id}.{webhook-timestamp}.{raw body}", the
 * timestamp exactly as the header wrote it. "v1," is HMAC-SHA256 under a
 * "whsec_<base64>" secret; "v1a," is Ed25519, signed with a "whsk_" key
 * and checked with its "whpk_" public key (or the whsk_ key, which holds
 * it). The signature header is a space-separated list, so a sender can
 * rotate keys: any one valid signature passes. Every key is decoded into
 * memory that is wiped before return, and signatures are compared with
 * sodium_memcmp, whose time does not depend on where bytes differ.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "connect/connect.h"

#define KEY_MAX 128            /* decoded bytes of a whsec_ secret */
#define SIGS_MAX 16            /* signatures looked at in one header */

enum { K_HMAC, K_SIGN, K_VERIFY };

struct sigkey {
	int kind;
	size_t len;
	unsigned char k[KEY_MAX];  /* HMAC key, Ed25519 secret or public key */
};

static int
init(struct desk_err *e)
{
	if (sodium_init() < 0)
		return desk_err_set(e, DESK_EX_SOFTWARE, NULL, "libsodium: "
		    "cannot initialise");
	return 0;
}

/* Decodes base64 (padded or not) into out[0..max): its length, or -1. */
static long
unbase64(const char *s, size_t n, unsigned char *out, size_t max)
{
	size_t len;

	if (sodium_base642bin(out, max, s, n, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) == 0 ||
	    sodium_base642bin(out, max, s, n, NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0)
		return (long)len;
	return -1;
}

/* The key text s as a key; the reason is about its form, never its bytes. */
static int
key_parse(const char *s, struct sigkey *k, struct desk_err *e)
{
	unsigned char buf[crypto_sign_SECRETKEYBYTES];
	long n;

	memset(k, 0, sizeof *k);
	if (!s)
		return desk_err_set(e, DESK_EX_CONFIG, "secret", "no key");
	if (!strncmp(s, "whsec_", 6)) {
		n = unbase64(s + 6, strlen(s + 6), k->k, sizeof k->k);
		if (n < 1)
			return desk_err_set(e, DESK_EX_CONFIG, "secret", "a whsec_ "
			    "secret must be base64 of 1 to %d bytes", KEY_MAX);
		k->kind = K_HMAC;
		k->len = (size_t)n;
		return 0;
	}
	if (!strncmp(s, "whsk_", 5)) {
		/* A 32-byte seed, or libsodium's 64-byte seed and public key. */
		n = unbase64(s + 5, strlen(s + 5), buf, sizeof buf);
		if (n == crypto_sign_SEEDBYTES) {
			unsigned char pk[crypto_sign_PUBLICKEYBYTES];
			crypto_sign_seed_keypair(pk, k->k, buf);
			n = crypto_sign_SECRETKEYBYTES;
		} else if (n == crypto_sign_SECRETKEYBYTES)
			memcpy(k->k, buf, sizeof buf);
		sodium_memzero(buf, sizeof buf);
		if (n != crypto_sign_SECRETKEYBYTES) {
			sodium_memzero(k, sizeof *k);
			return desk_err_set(e, DESK_EX_CONFIG, "secret", "a whsk_ key "
			    "must be base64 of a 32-byte seed or a 64-byte Ed25519 key");
		}
		k->kind = K_SIGN;
		k->len = crypto_sign_SECRETKEYBYTES;
		return 0;
	}
	if (!strncmp(s, "whpk_", 5)) {
		n = unbase64(s + 5, strlen(s + 5), k->k, sizeof k->k);
		if (n != crypto_sign_PUBLICKEYBYTES) {
			sodium_memzero(k, sizeof *k);
			return desk_err_set(e, DESK_EX_CONFIG, "secret", "a whpk_ key "
			    "must be base64 of a 32-byte Ed25519 public key");
		}
		k->kind = K_VERIFY;
		k->len = (size_t)n;
		return 0;
	}
	return desk_err_set(e, DESK_EX_CONFIG, "secret", "not a whsec_, whsk_ "
	    "or whpk_ key");
}

static void
hmac(const struct sigkey *k, const char *id, const char *ts, const char *body,
    size_t len, unsigned char mac[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state s;

	crypto_auth_hmacsha256_init(&s, k->k, k->len);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)id, strlen(id));
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)ts, strlen(ts));
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)".", 1);
	crypto_auth_hmacsha256_update(&s, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&s, mac);
	sodium_memzero(&s, sizeof s);
}

/* The signed bytes, for Ed25519, which needs them in one piece. */
static void
signed_bytes(struct desk_buf *m, const char *id, const char *ts,
    const char *body, size_t len)
{
	desk_buf_adds(m, id);
	desk_buf_addc(m, '.');
	desk_buf_adds(m, ts);
	desk_buf_addc(m, '.');
	desk_buf_add(m, body, len);
}

static void
add_base64(struct desk_buf *out, const unsigned char *p, size_t n)
{
	size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

	desk_buf_reserve(out, b64);
	sodium_bin2base64(out->p + out->len, b64, p, n,
	    sodium_base64_VARIANT_ORIGINAL);
	out->len += b64 - 1;
}

int
desk_sig_sign(const char *key, const char *id, int64_t ts, const char *body,
    size_t len, struct desk_buf *out, struct desk_err *e)
{
	struct sigkey k;
	char tsbuf[24];

	if (init(e) < 0 || key_parse(key, &k, e) < 0)
		return -1;
	snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
	if (k.kind == K_HMAC) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		hmac(&k, id, tsbuf, body, len, mac);
		desk_buf_adds(out, "v1,");
		add_base64(out, mac, sizeof mac);
	} else if (k.kind == K_SIGN) {
		unsigned char sig[crypto_sign_BYTES];
		struct desk_buf m = DESK_BUF_INIT;
		signed_bytes(&m, id, tsbuf, body, len);
		crypto_sign_detached(sig, NULL, (const unsigned char *)m.p, m.len,
		    k.k);
		desk_buf_free(&m);
		desk_buf_adds(out, "v1a,");
		add_base64(out, sig, sizeof sig);
	} else {
		sodium_memzero(&k, sizeof k);
		return desk_err_set(e, DESK_EX_CONFIG, "secret", "a whpk_ key only "
		    "verifies: signing needs the whsk_ key");
	}
	sodium_memzero(&k, sizeof k);
	return 0;
}

/* A webhook-timestamp: decimal Unix seconds, nothing else. */
static int
ts_parse(const char *s, int64_t *t)
{
	uint64_t v;

	if (!desk_parse_u64(s, 0, (uint64_t)INT64_MAX / 2, &v))
		return 0;
	*t = (int64_t)v;
	return 1;
}

/* One "vN,base64" of the list s..end matches: 1, else 0. */
static int
sig_matches(const struct sigkey *k, const char *s, size_t n,
    const unsigned char *mac, const struct desk_buf *m)
{
	unsigned char sig[crypto_sign_BYTES + 8];
	long len;

	if (k->kind == K_HMAC && n > 3 && !memcmp(s, "v1,", 3)) {
		len = unbase64(s + 3, n - 3, sig, sizeof sig);
		return len == crypto_auth_hmacsha256_BYTES &&
		    sodium_memcmp(sig, mac, crypto_auth_hmacsha256_BYTES) == 0;
	}
	if (k->kind != K_HMAC && n > 4 && !memcmp(s, "v1a,", 4)) {
		const unsigned char *pk = k->kind == K_SIGN ?
		    k->k + crypto_sign_SEEDBYTES : k->k;
		len = unbase64(s + 4, n - 4, sig, sizeof sig);
		return len == crypto_sign_BYTES &&
		    crypto_sign_verify_detached(sig, (const unsigned char *)m->p,
		    m->len, pk) == 0;
	}
	return 0;
}

int
desk_sig_verify(const char *key, const char *id, const char *ts,
    const char *sigs, const char *body, size_t len, int64_t now,
    struct desk_err *e)
{
	struct sigkey k;
	int64_t t;
	int found = 0, looked = 0;

	if (!id || !*id)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-id", "missing");
	if (!ts || !*ts)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-timestamp", "missing");
	if (!sigs || !*sigs)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-signature", "missing");
	if (!ts_parse(ts, &t))
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-timestamp",
		    "not Unix seconds");
	/* Both ways: a clock far ahead signs requests that would keep. */
	if (t < now - DESK_SIG_TOLERANCE)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-timestamp",
		    "too old: %lld s before now (at most %d)", (long long)(now - t),
		    DESK_SIG_TOLERANCE);
	if (t > now + DESK_SIG_TOLERANCE)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-timestamp",
		    "in the future: %lld s after now (at most %d)",
		    (long long)(t - now), DESK_SIG_TOLERANCE);
	if (init(e) < 0)
		return -1;
	if (key_parse(key, &k, e) < 0)
		return -1;

	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	struct desk_buf m = DESK_BUF_INIT;
	if (k.kind == K_HMAC)
		hmac(&k, id, ts, body, len, mac);
	else
		signed_bytes(&m, id, ts, body, len);
	/* Every listed signature is looked at, found or not: no early out. */
	for (const char *p = sigs; *p && looked < SIGS_MAX;) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n) {
			found |= sig_matches(&k, p, n, mac, &m);
			looked++;
		}
		p += n;
	}
	sodium_memzero(mac, sizeof mac);
	sodium_memzero(&k, sizeof k);
	desk_buf_free(&m);
	if (!found)
		return desk_err_set(e, DESK_EX_NOPERM, "webhook-signature",
		    "no valid signature (%d looked at)", looked);
	return 0;
}

int
desk_sig_verify_in(const char *key, const struct desk_http_in *in,
    struct desk_err *e)
{
	return desk_sig_verify(key, desk_http_hdr(in, "webhook-id"),
	    desk_http_hdr(in, "webhook-timestamp"),
	    desk_http_hdr(in, "webhook-signature"), in->body, in->len, in->now, e);
}

int
desk_sig_keygen(const char *kind, struct desk_buf *secret,
    struct desk_buf *public, struct desk_err *e)
{
	if (init(e) < 0)
		return -1;
	if (!strcmp(kind, "whsec")) {
		unsigned char k[32];
		randombytes_buf(k, sizeof k);
		desk_buf_adds(secret, "whsec_");
		add_base64(secret, k, sizeof k);
		sodium_memzero(k, sizeof k);
		return 0;
	}
	if (!strcmp(kind, "whsk")) {
		unsigned char pk[crypto_sign_PUBLICKEYBYTES],
		    sk[crypto_sign_SECRETKEYBYTES];
		crypto_sign_keypair(pk, sk);
		desk_buf_adds(secret, "whsk_");
		add_base64(secret, sk, sizeof sk);
		sodium_memzero(sk, sizeof sk);
		if (public) {
			desk_buf_adds(public, "whpk_");
			add_base64(public, pk, sizeof pk);
		}
		return 0;
	}
	return desk_err_set(e, DESK_EX_USAGE, "kind", "must be whsec or whsk");
}

/*
 * Tokens are compared as BLAKE2b hashes of equal length, so neither the
 * bytes nor the length of the configured token shows in the time taken.
 */
int
desk_token_eq(const char *given, size_t n, const char *want)
{
	unsigned char a[32], b[32];
	int r;

	if (sodium_init() < 0)
		return 0;
	crypto_generichash(a, sizeof a, (const unsigned char *)given, n, NULL, 0);
	crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want),
	    NULL, 0);
	r = sodium_memcmp(a, b, sizeof a) == 0;
	sodium_memzero(a, sizeof a);
	sodium_memzero(b, sizeof b);
	return r;
}

int
desk_auth_token(const char *token, const struct desk_http_in *in,
    const char *header, struct desk_err *e)
{
	const char *got = desk_http_hdr(in, header);
	size_t n;

	if (!token)
		return desk_err_set(e, DESK_EX_NOPERM, header, "the channel has no "
		    "token configured (desk-webhook channel set --token-file)");
	if (!got || !*got)
		return desk_err_set(e, DESK_EX_NOPERM, header, "missing");
	/*
	 * The bare token (Chat2Desk's own API), or after a scheme: "Bearer
	 * TOKEN", "Key TOKEN" (Blip). Both compared, so a token that happens
	 * to begin with a scheme's word still matches itself.
	 */
	n = strlen(got);
	int ok = desk_token_eq(got, n, token);
	size_t skip = !strncasecmp(got, "Bearer ", 7) ? 7 :
	    !strncasecmp(got, "Key ", 4) ? 4 : 0;
	if (skip)
		ok |= desk_token_eq(got + skip, n - skip, token);
	if (!ok)
		return desk_err_set(e, DESK_EX_NOPERM, header, "wrong token");
	return 0;
}
