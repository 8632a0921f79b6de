/*
 * keys.c: Standard Webhooks keys (REFERENCES §4): the whsec_ secret of
 * v1 (HMAC-SHA256) signatures and the whsk_/whpk_ pair of v1a (Ed25519).
 */
#include <string.h>

#include <sodium.h>

#include "connect/connect.h"

#define B64 sodium_base64_VARIANT_ORIGINAL

void
desk_whsec_new(char out[DESK_WHSEC_LEN])
{
	unsigned char k[32];

	randombytes_buf(k, sizeof k);
	memcpy(out, "whsec_", 6);
	sodium_bin2base64(out + 6, DESK_WHSEC_LEN - 6, k, sizeof k, B64);
	sodium_memzero(k, sizeof k);
}

int
desk_whsec_ok(const char *s)
{
	unsigned char k[64];
	size_t n;

	if (strncmp(s, "whsec_", 6))
		return 0;
	int r = sodium_base642bin(k, sizeof k, s + 6, strlen(s + 6), NULL, &n,
	    NULL, B64);
	sodium_memzero(k, sizeof k);
	return r == 0 && n >= 24 && n <= 64;
}

void
desk_whsk_new(char sk[DESK_WHSK_LEN], char pk[DESK_WHPK_LEN])
{
	unsigned char s[crypto_sign_SECRETKEYBYTES], p[crypto_sign_PUBLICKEYBYTES];

	crypto_sign_keypair(p, s);
	memcpy(sk, "whsk_", 5);
	sodium_bin2base64(sk + 5, DESK_WHSK_LEN - 5, s, sizeof s, B64);
	memcpy(pk, "whpk_", 5);
	sodium_bin2base64(pk + 5, DESK_WHPK_LEN - 5, p, sizeof p, B64);
	sodium_memzero(s, sizeof s);
}
