/*
 * What the Trusted Services end-to-end tests share: the daemon and client of
 * the running test, the test endpoint's store, and the OpenSSL checks.
 */
#ifndef TESSERA_TESTS_E2E_TS_E2E_H
#define TESSERA_TESTS_E2E_TS_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "client/tessera.h"
#include "harness.h"

#define TESSERAD   TESSERA_BUILD_DIR "/daemon/tesserad"
#define FAKE_LIBTS TESSERA_BUILD_DIR "/tests/tsfake/libtsfake-libts.so"
#define FAKE_TEE   TESSERA_BUILD_DIR "/tests/tsfake/libtsfake-tee.so"
#define TS         4 /* the provider's wire ID */
#define SW         1

#define CONFIG_HEAD                                                                           \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"Direct\"}],"

extern struct td d;
extern struct tessera_client *c;
extern char store_dir[64];
extern char store[128]; /* the test endpoint's key file */
extern const struct tessera_key_spec p256;

/* A client of d as the Direct application app. */
struct tessera_client *client_as(const char *app);
/* Daemons started from now on get the emulated /dev/tee0 (libtsfake-tee.so
 * preloaded; under ASan, the preload order allowed). */
void ts_preload_tee(void);
/* A fresh store directory, named to the endpoint in TSFAKE_STORE. */
void make_store(void);
void remove_store(void);
/* Close c, stop d (the test fails if it did not stop cleanly), remove the store. */
void ts_teardown(void);

void sha(const EVP_MD *md, const void *msg, size_t len, uint8_t *out, size_t *ret_len);
EVP_PKEY *ec_public(const char *curve, const uint8_t *point, size_t len);
/* OpenSSL's verdict on a raw r || s signature of h. */
int openssl_ecdsa_ok(EVP_PKEY *pk, const uint8_t *h, size_t hlen, const uint8_t *rs, size_t rslen);
EVP_PKEY *exported_ec(struct tessera_client *cl, const char *name, const char *curve);
/* Generate an ECC key on the TS provider, sign, check with OpenSSL, verify, tamper. */
void ecdsa_round_trip(uint32_t bits, const char *alg, const EVP_MD *md, const char *curve);
void openssl_cipher(const char *name, int enc, const uint8_t *key, const uint8_t *iv,
                    const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len, uint8_t *out,
                    size_t *ret_len, uint8_t *tag);
void import_sym(const char *name, const char *type, const char *alg, const uint8_t *key,
                size_t len);
/* AEAD of len bytes on the TS provider against OpenSSL's cipher ossl, both ways. */
void aead_matches_openssl(const char *type, const char *alg, const char *ossl, size_t len);

/* AES-CCM (key_len 16, 24 or 32) by OpenSSL: encrypt writes out and tag; decrypt checks
 * tag and writes out, false when the tag does not match. */
bool openssl_ccm(int enc, const uint8_t *key, size_t key_len, const uint8_t *nonce,
                 size_t nonce_len, const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
                 uint8_t *out, uint8_t *tag, size_t tag_len);

/* How many PURGE_KEY calls the test endpoint served on the store ("<store>.purges"). */
unsigned fake_purges(void);

#endif
