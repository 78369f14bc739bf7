/*
 * Keys made on a PKCS#11 token by others (Parsec's PKCS#11 provider, an
 * HSM administrator): what the token holds under a CKA_ID or a label, for
 * tessera-migrate to record such a key for a tenant. Reads the token only.
 */
#ifndef TESSERA_PROVIDERS_PKCS11_ADOPT_H
#define TESSERA_PROVIDERS_PKCS11_ADOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

/* The longest CKA_ID taken. */
#define PKCS11_ADOPT_ID_MAX 64

struct pkcs11_found {
	uint8_t id[PKCS11_ADOPT_ID_MAX]; /* the objects' CKA_ID */
	size_t id_len;
	uint16_t psa_type; /* 0x7001 RSA pair, 0x4001 RSA public, 0x7112 / 0x4112 ECC
	                    * SECP-R1 pair / public, 0x2400 AES, 0x1100 HMAC */
	uint32_t bits;
	bool has_private, has_public, has_secret;
	/* From CKA_SIGN, CKA_VERIFY, CKA_ENCRYPT, CKA_DECRYPT, CKA_DERIVE, and
	 * CKA_EXTRACTABLE without CKA_SENSITIVE. */
	bool sign, verify, encrypt, decrypt, derive, exportable;
};

/*
 * Look the key up on the token of a Pkcs11 provider instance (ctx from its
 * init): by CKA_ID when id_len > 0, else by CKA_LABEL. The key's objects
 * are the private and public key, or the one secret key, with that
 * CKA_ID. TS_OK and *ret; TS_E_PSA_DOES_NOT_EXIST when nothing matches;
 * TS_E_PSA_INVALID_ARGUMENT when the match is ambiguous (two keys with the
 * label, two objects of a class with the CKA_ID) or the objects are no key
 * Tessera serves; other statuses from the token. why says what was found.
 */
enum ts_err pkcs11_inspect(void *ctx, const uint8_t *id, size_t id_len, const char *label,
                           struct pkcs11_found *ret, char *why, size_t whylen);

#endif
