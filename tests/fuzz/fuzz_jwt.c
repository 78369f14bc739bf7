/*
 * libFuzzer target for the JWT path of tesserad: the Jwt authenticator's
 * verification (strict base64url, JSON, header, claims, libjwt signature
 * check) against a real trust store.
 *   first byte even: the rest is a token, as sent in the auth bytes;
 *   first byte odd:  the rest is "header\npayload", signed here with the
 *                    current intermediate, so that the claims checks after a
 *                    good signature are reached too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth/auth.h"
#include "identity/identity.h"

static struct trust_store *ts;
static struct pki_cert *root, *inter;

static void init(void)
{
	const struct auth_peer peer = {.valid = true, .uid = 1};
	const uint8_t *der;
	size_t len;

	if (trust_store_new(1, (gid_t)-1, &ts) != TS_OK || pki_root_new("fuzz", &root) != TS_OK ||
	    pki_intermediate_new(root, "fuzz", 3600, &inter) != TS_OK)
		abort();
	der = pki_cert_der(root, &len);
	if (trust_store_share(ts, &peer, der, len, true) != TS_OK)
		abort();
	der = pki_cert_der(inter, &len);
	if (trust_store_share(ts, &peer, der, len, false) != TS_OK)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct jws_policy pol = {
	        .issuer = "tessera-idp", .audience = "tesserad", .skew_s = 30, .need_sub = true};
	json_t *claims = NULL;
	uint64_t gen;
	char *tok = NULL;

	if (ts == NULL)
		init();
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		if (jws_verify(ts, (const char *)data + 1, size - 1, &pol, 1700000000, &claims,
		               &gen) == TS_OK)
			json_decref(claims);
		return 0;
	}
	{
		const uint8_t *nl = memchr(data + 1, '\n', size - 1);
		size_t hl, pl;

		if (nl == NULL)
			return 0;
		char hdr[1024];
		const char *at;

		hl = (size_t)(nl - (data + 1));
		pl = size - 2 - hl;
		if (hl + 64 >= sizeof(hdr))
			return 0;
		memcpy(hdr, data + 1, hl);
		hdr[hl] = '\0';
		/* "@kid@" stands for the current kid, which a fuzzer cannot guess. */
		at = memmem(hdr, hl, "@kid@", 5);
		if (at != NULL) {
			size_t off = (size_t)(at - hdr);

			memmove(hdr + off + 64, hdr + off + 5, hl - off - 5 + 1);
			memcpy(hdr + off, pki_cert_kid(inter), 64);
			hl += 59;
		}
		if (pki_sign_raw(inter, hdr, hl, (const char *)nl + 1, pl, &tok) != TS_OK)
			return 0;
	}
	if (jws_verify(ts, tok, strlen(tok), &pol, 1700000000, &claims, &gen) == TS_OK)
		json_decref(claims);
	free(tok);
	return 0;
}
