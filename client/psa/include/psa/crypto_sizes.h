/*
 * The buffer size macros of the PSA Certified Crypto API 1.1, with maxima
 * for what Tessera's providers support: RSA up to 4096 bits, elliptic curves
 * up to 571 bits, hashes up to SHA-512. Programs include psa/crypto.h.
 */
#ifndef PSA_CRYPTO_SIZES_H
#define PSA_CRYPTO_SIZES_H

#include "psa/crypto_values.h"

#endif
