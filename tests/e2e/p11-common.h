/*
 * What the PKCS#11 e2e suites share: a SoftHSM2 token of the test's own,
 * and OpenSSL checks of what comes off it.
 */
#ifndef TESSERA_TESTS_E2E_P11_COMMON_H
#define TESSERA_TESTS_E2E_P11_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/evp.h>

#define P11T_LABEL "Tessera Tests"
#define P11T_PIN   "123456"

/* The installed libsofthsm2.so (the test fails when there is none). */
const char *p11t_softhsm_module(void);
/* Write text to path with mode (asserted). */
void p11t_write_file(const char *path, const char *text, mode_t mode);
/* A temporary directory (its name in hsm) with a private SoftHSM
 * configuration (SOFTHSM2_CONF set to it), one token labelled P11T_LABEL
 * with user PIN P11T_PIN, and hsm/pin holding the PIN (0600). */
void p11t_make_token(char hsm[64]);
/* An EC public key of curve from an uncompressed point. */
EVP_PKEY *p11t_ec_public(const char *curve, const uint8_t *pt, size_t len);
/* OpenSSL's verdict on an ECDSA signature in PSA's r || s form. */
int p11t_verify_ecdsa(EVP_PKEY *pk, const uint8_t *h, size_t hlen, const uint8_t *sig, size_t len);

#endif
