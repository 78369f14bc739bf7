/*
 * Our decoded PSA attributes and algorithms (wire/psa.h, numbered after the
 * Parsec protobuf contracts) to and from the raw PSA Crypto encodings the
 * Trusted Services crypto service takes (psa/crypto_values.h numbering).
 */
#ifndef TESSERA_PROVIDERS_TS_PSA_H
#define TESSERA_PROVIDERS_TS_PSA_H

#include "providers/trusted_services/ts-codec.h"
#include "wire/psa.h"

/* PSA encodings the provider and its tests name. */
#define TSP_KEY_TYPE_RSA_PAIR   0x7001u
#define TSP_KEY_TYPE_RSA_PUBLIC 0x4001u
#define TSP_KEY_TYPE_ECC_PAIR   0x7100u /* | family */
#define TSP_KEY_TYPE_ECC_PUBLIC 0x4100u /* | family */
#define TSP_ECC_SECP_R1         0x12u
#define TSP_ALG_ANY_HASH        0x020000ffu

/* Each is TS_OK, or TS_E_PSA_NOT_SUPPORTED for a value PSA (or this
 * mapping) has no encoding of. */
enum ts_err tsp_key_type(const struct psa_attrs *a, uint32_t *ret);
enum ts_err tsp_alg(const struct psa_alg *alg, uint32_t *ret);
uint32_t tsp_usage(uint32_t usage);
/* The attribute block of a persistent key with this ID. */
enum ts_err tsp_attrs(const struct psa_attrs *a, uint32_t id, struct tsc_attrs *ret);

/* The reverse, for the asymmetric keys and algorithms the test endpoint
 * serves: TS_OK or TS_E_PSA_NOT_SUPPORTED. */
enum ts_err tsp_attrs_back(const struct tsc_attrs *t, struct psa_attrs *ret);
enum ts_err tsp_alg_back(uint32_t alg, struct psa_alg *ret);

#endif
