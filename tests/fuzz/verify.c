/*
 * libFuzzer target: the Standard Webhooks verifier (lib/connect/sign.c).
 * The input is "TIMESTAMP\nSIGNATURES\nBODY": headers an attacker
 * controls, verified against a v1 secret and a v1a key. Checks: no crash;
 * a refusal is 77 (or 78 for a key) with a reason; nothing passes but a
 * signature made with the key; and what desk_sig_sign makes for the same
 * id, timestamp and body always verifies, under either key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char hkey[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/* RFC 8032's first key pair. */
static const char skey[] = "whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=";
static const char pkey[] = "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
#define NOW 1800000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *p = malloc(size + 1);
	memcpy(p, data, size);
	p[size] = '\0';
	char *ts = p, *sigs = strchr(ts, '\n'), *body = NULL;
	if (sigs) {
		*sigs++ = '\0';
		body = strchr(sigs, '\n');
		if (body)
			*body++ = '\0';
	}
	if (!sigs)
		sigs = "";
	if (!body)
		body = "";
	size_t blen = size - (size_t)(body - p);
	if (body < p || body > p + size)
		blen = 0;
	struct desk_err e = { 0 };
	const char *keys[] = { hkey, pkey };

	for (int k = 0; k < 2; k++) {
		int r = desk_sig_verify(keys[k], "msg_fz", ts, sigs, body, blen, NOW, &e);
		if (r < 0 && ((e.code != DESK_EX_NOPERM && e.code != DESK_EX_CONFIG) ||
		    !e.msg[0]))
			abort();
		/* A pass needs the key: the fuzzer cannot forge HMAC or Ed25519. */
		if (r == 0 && !strstr(sigs, k ? "v1a," : "v1,"))
			abort();
	}
	/* Round trip: our own signature over this body verifies. */
	struct desk_buf s = DESK_BUF_INIT;
	if (desk_sig_sign(hkey, "msg_fz", NOW, body, blen, &s, &e) < 0)
		abort();
	desk_buf_addc(&s, ' ');
	if (desk_sig_sign(skey, "msg_fz", NOW, body, blen, &s, &e) < 0)
		abort();
	desk_buf_str(&s);
	if (desk_sig_verify(hkey, "msg_fz", "1800000000", s.p, body, blen, NOW, &e) < 0 ||
	    desk_sig_verify(pkey, "msg_fz", "1800000000", s.p, body, blen, NOW, &e) < 0)
		abort();
	desk_buf_free(&s);
	free(p);
	return 0;
}
