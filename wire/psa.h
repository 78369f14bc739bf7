/*
 * PSA key attributes and algorithms in a compact form the core checks policy
 * on, decoded from the protobuf contracts with Parsec's rules: a missing
 * required sub-message, an unset oneof, or an enum value that is NONE or
 * unknown is InvalidEncoding.
 *
 * Numbering: key types and algorithm classes use the field numbers of the
 * KeyType and Algorithm oneofs; hashes, ciphers, AEADs and raw key agreements
 * use their protobuf enum values.
 */
#ifndef TESSERA_WIRE_PSA_H
#define TESSERA_WIRE_PSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"
#include "psa_key_attributes.pb-c.h"

enum psa_key_type {
	PSA_KT_RAW_DATA = 1,
	PSA_KT_HMAC = 2,
	PSA_KT_DERIVE = 3,
	PSA_KT_AES = 4,
	PSA_KT_DES = 5,
	PSA_KT_CAMELLIA = 6,
	PSA_KT_ARC4 = 7,
	PSA_KT_CHACHA20 = 8,
	PSA_KT_RSA_PUBLIC = 9,
	PSA_KT_RSA_PAIR = 10,
	PSA_KT_ECC_PAIR = 11,
	PSA_KT_ECC_PUBLIC = 12,
	PSA_KT_DH_PAIR = 13,
	PSA_KT_DH_PUBLIC = 14,
};

enum psa_ecc_family {
	PSA_ECC_SECP_K1 = 1,
	PSA_ECC_SECP_R1 = 2,
	PSA_ECC_SECP_R2 = 3,
	PSA_ECC_SECT_K1 = 4,
	PSA_ECC_SECT_R1 = 5,
	PSA_ECC_SECT_R2 = 6,
	PSA_ECC_BRAINPOOL_P_R1 = 7,
	PSA_ECC_FRP = 8,
	PSA_ECC_MONTGOMERY = 9,
};

enum psa_alg_class {
	PSA_AC_NONE = 1,
	PSA_AC_HASH = 2,
	PSA_AC_MAC = 3,
	PSA_AC_CIPHER = 4,
	PSA_AC_AEAD = 5,
	PSA_AC_SIGN = 6,
	PSA_AC_ASYM_ENC = 7,
	PSA_AC_KEY_AGREEMENT = 8,
	PSA_AC_KDF = 9,
};

/* Signature schemes (the AsymmetricSignature oneof numbers). */
enum psa_sign_kind {
	PSA_SIGN_RSA_PKCS1V15 = 1,
	PSA_SIGN_RSA_PKCS1V15_RAW = 2,
	PSA_SIGN_RSA_PSS = 3,
	PSA_SIGN_ECDSA = 4,
	PSA_SIGN_ECDSA_ANY = 5,
	PSA_SIGN_DETERMINISTIC_ECDSA = 6,
};

enum psa_mac_kind { PSA_MAC_HMAC = 1, PSA_MAC_CBC_MAC = 2, PSA_MAC_CMAC = 3 };
enum psa_asym_enc_kind { PSA_ENC_RSA_PKCS1V15 = 1, PSA_ENC_RSA_OAEP = 2 };
enum psa_aead_kind { PSA_AEAD_CCM = 1, PSA_AEAD_GCM = 2, PSA_AEAD_CHACHA20_POLY1305 = 3 };
enum psa_ka_kind { PSA_KA_FFDH = 1, PSA_KA_ECDH = 2 };

/* Hash values: psa_algorithm.Algorithm.Hash (1 MD2 .. 15 SHA3_512). */
#define PSA_HASH_SHA_256 7
#define PSA_HASH_MAX     15

#define PSA_USAGE_EXPORT         (1u << 0)
#define PSA_USAGE_COPY           (1u << 1)
#define PSA_USAGE_CACHE          (1u << 2)
#define PSA_USAGE_ENCRYPT        (1u << 3)
#define PSA_USAGE_DECRYPT        (1u << 4)
#define PSA_USAGE_SIGN_MESSAGE   (1u << 5)
#define PSA_USAGE_VERIFY_MESSAGE (1u << 6)
#define PSA_USAGE_SIGN_HASH      (1u << 7)
#define PSA_USAGE_VERIFY_HASH    (1u << 8)
#define PSA_USAGE_DERIVE         (1u << 9)

struct psa_alg {
	uint8_t cls;  /* enum psa_alg_class */
	uint8_t kind; /* within the class: sign/mac/enc/aead/ka kind, cipher or hash value */
	uint8_t hash; /* bound hash; 0 with hash_any for a "sign with any hash" policy */
	bool hash_any;
	uint8_t kdf; /* key agreement followed by a KDF: its kind (1..3), else 0 */
	uint8_t kdf_hash;
	uint32_t length; /* truncated MAC length or shortened AEAD tag; 0 = full */
};

struct psa_attrs {
	uint8_t type;   /* enum psa_key_type */
	uint8_t family; /* ECC family, or DH family (0 = RFC 7919) */
	uint32_t bits;
	uint32_t usage; /* PSA_USAGE_* */
	struct psa_alg alg;
};

/* KeyAttributes → attrs. TS_OK or TS_E_INVALID_ENCODING. */
enum ts_err psa_attrs_from_pb(const PsaKeyAttributes__KeyAttributes *pb, struct psa_attrs *ret);

/* Algorithms of the operation messages. TS_OK or TS_E_INVALID_ENCODING. */
enum ts_err psa_alg_from_pb(const PsaAlgorithm__Algorithm *pb, struct psa_alg *ret);
enum ts_err psa_sign_alg_from_pb(const PsaAlgorithm__Algorithm__AsymmetricSignature *pb,
                                 struct psa_alg *ret);
enum ts_err psa_enc_alg_from_pb(const PsaAlgorithm__Algorithm__AsymmetricEncryption *pb,
                                struct psa_alg *ret);
enum ts_err psa_aead_alg_from_pb(const PsaAlgorithm__Algorithm__Aead *pb, struct psa_alg *ret);
enum ts_err psa_mac_alg_from_pb(const PsaAlgorithm__Algorithm__Mac *pb, struct psa_alg *ret);
enum ts_err psa_cipher_alg_from_enum(int value, struct psa_alg *ret);
enum ts_err psa_ka_alg_from_enum(int value, struct psa_alg *ret);

/* Packed KeyAttributes (as stored) → attrs. TS_OK, TS_E_INVALID_ENCODING or
 * TS_E_DESERIALIZING_BODY_FAILED. */
enum ts_err psa_attrs_unpack(const uint8_t *buf, size_t len, struct psa_attrs *ret);

/* Digest size of a hash value in bytes; 0 for an unknown value. */
size_t psa_hash_size(unsigned hash);

/* Whether PSA allows that tag length for the AEAD (enum psa_aead_kind):
 * GCM 4, 8 and 12 to 16 bytes, CCM 4 to 16 even, ChaCha20-Poly1305 16. */
bool psa_aead_tag_length_valid(unsigned aead, size_t tag_len);

#endif
