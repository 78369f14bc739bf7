/*
 * libFuzzer target for the JwtSvid authenticator: the auth bytes of a
 * request and the JWT bundle files it reads.
 *   first byte % 3 == 0: the rest is a token, against a bundle of one P-256
 *                        key ("k") and one RSA key ("r") for example.org;
 *   first byte % 3 == 1: the rest is a bundle file's text (JWKS or bundle
 *                        set), parsed for example.org;
 *   first byte % 3 == 2: the rest is "header\npayload", signed here with
 *                        the P-256 key, so that the claims and SPIFFE ID
 *                        checks after a good signature are reached too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/svid-priv.h"
#include "tests/common/svid-mint.h"

static struct auth_set *set;
static EVP_PKEY *ec;
static char dir[] = "/tmp/ts-fuzz-svid-XXXXXX";
static char path[64];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

static void init(void)
{
	EVP_PKEY *rsa = mint_key("RSA2048");
	const struct auth_svid_bundle b = {"example.org", path};
	struct auth_settings s = {
	        .svid = {.audience = "tessera", .skew_s = 30, .bundles = &b, .n_bundles = 1}};

	ec = mint_key("P-256");
	if (ec == NULL || rsa == NULL || mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/b.jwks", dir);
	atexit(cleanup);
	if (mint_bundle(path, (EVP_PKEY *[]){ec, rsa}, (const char *[]){"k", "r"}, 2) != 0 ||
	    auth_set_new(&set) != TS_OK || auth_set_add(set, 4, &s) != TS_OK)
		abort();
	EVP_PKEY_free(rsa);
}

static void authenticate(const char *tok, size_t len)
{
	struct auth_identity id = {0};

	if (auth_set_authenticate(set, 4, (const uint8_t *)tok, len, NULL, &id) == TS_OK)
		auth_identity_clear(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *nl, *tok;
	struct svid_keys *keys = NULL;
	char err[256];

	if (set == NULL)
		init();
	if (size == 0)
		return 0;
	if (data[0] % 3 == 0) {
		authenticate((const char *)data + 1, size - 1);
		return 0;
	}
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	if (data[0] % 3 == 1) {
		if (svid_keys_parse(text, size - 1, "example.org", &keys, err, sizeof(err)) ==
		    TS_OK)
			svid_keys_free(keys);
	} else if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		tok = mint_jws(ec, "ES256", text, nl + 1, NULL);
		if (tok != NULL)
			authenticate(tok, strlen(tok));
		free(tok);
	}
	free(text);
	return 0;
}
