/*
 * Unit tests for lib/connect/sign.c: the Standard Webhooks known-answer
 * vector (REFERENCES §4), then verification: good, bad, stale, future,
 * tampered body, rotated keys, Ed25519, and the token comparison.
 */
#include <stdlib.h>
#include <string.h>

#include "desk.h"
#include "tap.h"

static const char kat_key[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
static const char kat_id[] = "msg_p5jXN8AQM9LWM0D4loKWxJek";
static const char kat_body[] = "{\"test\": 2432232314}";
static const char kat_sig[] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
#define KAT_TS 1614265330

static int
verify(const char *key, const char *ts, const char *sigs, const char *body,
    int64_t now, struct desk_err *e)
{
	memset(e, 0, sizeof *e);
	return desk_sig_verify(key, kat_id, ts, sigs, body, strlen(body), now, e);
}

static int
field_is(const struct desk_err *e, int code, const char *field)
{
	return e->code == code && e->field && !strcmp(e->field, field) &&
	    e->msg[0];
}

int
main(void)
{
	struct desk_buf b = DESK_BUF_INIT;
	struct desk_err e;

	/* The known answer. */
	ok(desk_sig_sign(kat_key, kat_id, KAT_TS, kat_body, strlen(kat_body), &b,
	    &e) == 0, "sign the known-answer vector");
	is_str(desk_buf_str(&b), kat_sig, "its signature is the published one");
	ok(verify(kat_key, "1614265330", kat_sig, kat_body, KAT_TS, &e) == 0,
	    "the published signature verifies");
	ok(verify(kat_key, "1614265330", kat_sig, kat_body, KAT_TS + 300, &e) == 0,
	    "and still does 300 s later");
	ok(verify(kat_key, "1614265330", kat_sig, kat_body, KAT_TS - 300, &e) == 0,
	    "and 300 s earlier");

	/* Refusals, each with its header named and 77. */
	ok(verify(kat_key, "1614265330", kat_sig, kat_body, KAT_TS + 301, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-timestamp") &&
	    strstr(e.msg, "too old"), "301 s old: stale (%s)", e.msg);
	ok(verify(kat_key, "1614265330", kat_sig, kat_body, KAT_TS - 301, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-timestamp") &&
	    strstr(e.msg, "future"), "301 s ahead: future (%s)", e.msg);
	ok(verify(kat_key, "1614265330", kat_sig, "{\"test\": 2432232315}", KAT_TS,
	    &e) < 0 && field_is(&e, DESK_EX_NOPERM, "webhook-signature"),
	    "a tampered body fails (%s)", e.msg);
	ok(verify(kat_key, "1614265331", kat_sig, kat_body, KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-signature"),
	    "a tampered timestamp fails");
	memset(&e, 0, sizeof e);
	ok(desk_sig_verify(kat_key, "msg_other", "1614265330", kat_sig, kat_body,
	    strlen(kat_body), KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-signature"),
	    "a tampered webhook-id fails");
	ok(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", "1614265330", kat_sig,
	    kat_body, KAT_TS, &e) < 0, "another secret fails");
	ok(verify(kat_key, "1614265330",
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OF=", kat_body, KAT_TS,
	    &e) < 0, "a signature one bit off fails");
	ok(verify(kat_key, "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJE",
	    kat_body, KAT_TS, &e) < 0, "a truncated signature fails");
	ok(verify(kat_key, "1614265330",
	    "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", kat_body, KAT_TS,
	    &e) < 0, "the right bytes under an unknown version fail");
	ok(verify(kat_key, "1614265330", "not-a-signature ,,, v1,", kat_body,
	    KAT_TS, &e) < 0 && field_is(&e, DESK_EX_NOPERM, "webhook-signature"),
	    "garbage in the list fails, does not crash");
	ok(verify(kat_key, "16142653x0", kat_sig, kat_body, KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-timestamp"),
	    "a timestamp that is not a number fails");
	ok(verify(kat_key, NULL, kat_sig, kat_body, KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-timestamp"),
	    "no timestamp fails");
	ok(verify(kat_key, "1614265330", NULL, kat_body, KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-signature"), "no signature fails");
	memset(&e, 0, sizeof e);
	ok(desk_sig_verify(kat_key, NULL, "1614265330", kat_sig, kat_body,
	    strlen(kat_body), KAT_TS, &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "webhook-id"), "no webhook-id fails");
	ok(verify("secret", "1614265330", kat_sig, kat_body, KAT_TS, &e) < 0 &&
	    e.code == DESK_EX_CONFIG && !strstr(e.msg, "secret\""),
	    "a key without a known prefix is a configuration error (%s)", e.msg);
	ok(verify("whsec_!!!!", "1614265330", kat_sig, kat_body, KAT_TS, &e) < 0 &&
	    e.code == DESK_EX_CONFIG, "a whsec_ key that is not base64: 78");

	/* Rotation: the old key's and the new key's signatures, in any order. */
	struct desk_buf nk = DESK_BUF_INIT, two = DESK_BUF_INIT;
	ok(desk_sig_keygen("whsec", &nk, NULL, &e) == 0 &&
	    !strncmp(desk_buf_str(&nk), "whsec_", 6), "a new whsec_ secret");
	ok(desk_sig_sign(nk.p, kat_id, KAT_TS, kat_body, strlen(kat_body), &two,
	    &e) == 0, "signed under it");
	desk_buf_addc(&two, ' ');
	desk_buf_adds(&two, kat_sig);
	ok(verify(kat_key, "1614265330", desk_buf_str(&two), kat_body, KAT_TS,
	    &e) == 0, "new then old: the old key verifies");
	ok(verify(nk.p, "1614265330", two.p, kat_body, KAT_TS, &e) == 0,
	    "new then old: the new key verifies");
	two.len = 0;
	desk_buf_adds(&two, kat_sig);
	desk_buf_adds(&two, "  ");
	ok(desk_sig_sign(nk.p, kat_id, KAT_TS, kat_body, strlen(kat_body), &two,
	    &e) == 0 && verify(nk.p, "1614265330", desk_buf_str(&two), kat_body,
	    KAT_TS, &e) == 0, "old then new, two spaces apart: the new key verifies");
	ok(verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx", "1614265330", two.p,
	    kat_body, KAT_TS, &e) < 0, "a third key matches neither");

	/* Ed25519: v1a. */
	struct desk_buf sk = DESK_BUF_INIT, pk = DESK_BUF_INIT, s = DESK_BUF_INIT;
	ok(desk_sig_keygen("whsk", &sk, &pk, &e) == 0 &&
	    !strncmp(desk_buf_str(&sk), "whsk_", 5) &&
	    !strncmp(desk_buf_str(&pk), "whpk_", 5), "a whsk_/whpk_ key pair");
	ok(desk_sig_sign(sk.p, kat_id, KAT_TS, kat_body, strlen(kat_body), &s, &e)
	    == 0 && !strncmp(desk_buf_str(&s), "v1a,", 4), "signed with v1a");
	ok(verify(pk.p, "1614265330", s.p, kat_body, KAT_TS, &e) == 0,
	    "the public key verifies it");
	ok(verify(sk.p, "1614265330", s.p, kat_body, KAT_TS, &e) == 0,
	    "the secret key verifies it too");
	ok(verify(pk.p, "1614265330", s.p, "{\"test\": 1}", KAT_TS, &e) < 0,
	    "a tampered body fails v1a");
	ok(verify(pk.p, "1614265330", kat_sig, kat_body, KAT_TS, &e) < 0,
	    "a v1 signature does not pass an Ed25519 key");
	ok(verify(kat_key, "1614265330", s.p, kat_body, KAT_TS, &e) < 0,
	    "a v1a signature does not pass a whsec_ secret");
	s.len = 0;
	ok(desk_sig_sign(pk.p, kat_id, KAT_TS, kat_body, strlen(kat_body), &s, &e)
	    < 0 && e.code == DESK_EX_CONFIG, "a public key cannot sign");
	/* A 32-byte seed is a whsk_ key too: RFC 8032's first test key pair. */
	s.len = 0;
	ok(desk_sig_sign("whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=",
	    kat_id, KAT_TS, kat_body, strlen(kat_body), &s, &e) == 0,
	    "a 32-byte seed signs");
	ok(verify("whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "1614265330",
	    desk_buf_str(&s), kat_body, KAT_TS, &e) == 0,
	    "RFC 8032's public key of that seed verifies it");

	/* Tokens. */
	ok(desk_token_eq("abc", 3, "abc"), "equal tokens are equal");
	ok(!desk_token_eq("abc", 3, "abcd"), "a prefix is not the token");
	ok(!desk_token_eq("abd", 3, "abc"), "one byte off is not");
	ok(!desk_token_eq("", 0, "abc"), "empty is not");
	struct desk_hdr h[] = { { "authorization", "Bearer t0k" } };
	struct desk_http_in in = { "", 0, h, 1, 0 };
	ok(desk_auth_token("t0k", &in, "authorization", &e) == 0,
	    "Authorization: Bearer TOKEN passes");
	h[0].value = "t0k";
	ok(desk_auth_token("t0k", &in, "authorization", &e) == 0,
	    "the bare token passes");
	h[0].value = "Key t0k";
	ok(desk_auth_token("t0k", &in, "authorization", &e) == 0,
	    "Key TOKEN passes");
	h[0].value = "Bearer t0kk";
	ok(desk_auth_token("t0k", &in, "authorization", &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "authorization") && !strstr(e.msg, "t0k"),
	    "a wrong token fails, and the reason does not show it (%s)", e.msg);
	in.nhdr = 0;
	ok(desk_auth_token("t0k", &in, "authorization", &e) < 0 &&
	    field_is(&e, DESK_EX_NOPERM, "authorization"), "no header fails");
	ok(desk_auth_token(NULL, &in, "authorization", &e) < 0 &&
	    e.code == DESK_EX_NOPERM, "no token configured fails");

	desk_buf_free(&b);
	desk_buf_free(&nk);
	desk_buf_free(&two);
	desk_buf_free(&sk);
	desk_buf_free(&pk);
	desk_buf_free(&s);
	return done_testing();
}
