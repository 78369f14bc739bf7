/*
 * The buffer size macros of the PSA Certified Crypto API 1.1. A size macro
 * given a combination Tessera does not support returns 0 or a bound that is
 * still large enough; the _MAX_SIZE forms cover everything Tessera's
 * providers accept: RSA up to 4096 bits, elliptic curves up to 571 bits
 * (sect571), finite-field Diffie-Hellman up to 8192 bits (ffdhe8192),
 * block ciphers with 16-byte blocks, hashes up to SHA-512 (and SHA3-512).
 * Programs include psa/crypto.h, not this file.
 */
#ifndef PSA_CRYPTO_SIZES_H
#define PSA_CRYPTO_SIZES_H

#include "psa/crypto_values.h"

/* ---- Helpers (also in Mbed TLS, used by programs written for it) ---- */
#define PSA_BITS_TO_BYTES(bits)  ((size_t)(((size_t)(bits) + 7u) / 8u))
#define PSA_BYTES_TO_BITS(bytes) ((size_t)(bytes)*8u)
/* length rounded up to a multiple of block (block > 0). */
#define PSA_ROUND_UP_TO_MULTIPLE(block, length) \
	((((size_t)(length) + (size_t)(block)-1u) / (size_t)(block)) * (size_t)(block))

/* The largest keys Tessera serves, for the _MAX_SIZE macros below. */
#define PSA_VENDOR_RSA_MAX_KEY_BITS   4096u
#define PSA_VENDOR_ECC_MAX_CURVE_BITS 571u
#define PSA_VENDOR_FFDH_MAX_KEY_BITS  8192u

/* ---- Hashes ---- */

/* The digest length of a hash, or of the hash inside an HMAC; 0 if unknown. */
#define PSA_HASH_LENGTH(alg)                                            \
	((size_t)(PSA_ALG_GET_HASH(alg) == PSA_ALG_MD2            ? 16u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_MD4          ? 16u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_MD5          ? 16u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_RIPEMD160    ? 20u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_1        ? 20u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_224      ? 28u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_256      ? 32u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_384      ? 48u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512      ? 64u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512_224  ? 28u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512_256  ? 32u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_224     ? 28u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_256     ? 32u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_384     ? 48u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_512     ? 64u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SM3          ? 32u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHAKE256_512 ? 64u \
	                                                          : 0u))
#define PSA_HASH_MAX_SIZE 64u

/* The input block size of a hash (what HMAC pads its key to); 0 if unknown. */
#define PSA_HASH_BLOCK_LENGTH(alg)                                       \
	((size_t)(PSA_ALG_GET_HASH(alg) == PSA_ALG_MD2            ? 16u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_MD4          ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_MD5          ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_RIPEMD160    ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_1        ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_224      ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_256      ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_384      ? 128u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512      ? 128u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512_224  ? 128u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA_512_256  ? 128u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_224     ? 144u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_256     ? 136u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_384     ? 104u \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHA3_512     ? 72u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SM3          ? 64u  \
	          : PSA_ALG_GET_HASH(alg) == PSA_ALG_SHAKE256_512 ? 136u \
	                                                          : 0u))
#define PSA_HMAC_MAX_HASH_BLOCK_SIZE 144u

/*
 * The hash suspend state format (psa_hash_suspend() itself is not supported
 * over the socket, but the format's sizes are the specification's).
 */
#define PSA_HASH_SUSPEND_ALGORITHM_FIELD_LENGTH ((size_t)4)
#define PSA_HASH_SUSPEND_INPUT_LENGTH_FIELD_LENGTH(alg)                                           \
	((size_t)((alg) == PSA_ALG_MD2 ? 1u                                                       \
	          : (alg) == PSA_ALG_MD4 || (alg) == PSA_ALG_MD5 || (alg) == PSA_ALG_RIPEMD160 || \
	                          (alg) == PSA_ALG_SHA_1 || (alg) == PSA_ALG_SHA_224 ||           \
	                          (alg) == PSA_ALG_SHA_256                                        \
	                  ? 8u                                                                    \
	          : (alg) == PSA_ALG_SHA_384 || (alg) == PSA_ALG_SHA_512 ||                       \
	                          (alg) == PSA_ALG_SHA_512_224 || (alg) == PSA_ALG_SHA_512_256    \
	                  ? 16u                                                                   \
	                  : 0u))
#define PSA_HASH_SUSPEND_HASH_STATE_FIELD_LENGTH(alg)                                          \
	((size_t)((alg) == PSA_ALG_MD2                                   ? 64u                 \
	          : (alg) == PSA_ALG_MD4 || (alg) == PSA_ALG_MD5         ? 16u                 \
	          : (alg) == PSA_ALG_RIPEMD160 || (alg) == PSA_ALG_SHA_1 ? 20u                 \
	          : (alg) == PSA_ALG_SHA_224 || (alg) == PSA_ALG_SHA_256 ? 32u                 \
	          : (alg) == PSA_ALG_SHA_384 || (alg) == PSA_ALG_SHA_512 ||                    \
	                          (alg) == PSA_ALG_SHA_512_224 || (alg) == PSA_ALG_SHA_512_256 \
	                  ? 64u                                                                \
	                  : 0u))
#define PSA_HASH_SUSPEND_OUTPUT_SIZE(alg)                  \
	(PSA_HASH_SUSPEND_ALGORITHM_FIELD_LENGTH +         \
	 PSA_HASH_SUSPEND_INPUT_LENGTH_FIELD_LENGTH(alg) + \
	 PSA_HASH_SUSPEND_HASH_STATE_FIELD_LENGTH(alg) + PSA_HASH_BLOCK_LENGTH(alg) - 1u)
/* SHA-384/512: 4 + 16 + 64 + 128 - 1. */
#define PSA_HASH_SUSPEND_OUTPUT_MAX_SIZE ((size_t)211)

/* ---- Block ciphers ---- */

/*
 * The block size of a symmetric cipher key type: bits 8-10 of the type hold
 * its log2 (1 for a stream cipher); 0 for a key type that is not a cipher.
 */
#define PSA_BLOCK_CIPHER_BLOCK_LENGTH(type) \
	((size_t)(((type)&0x7000u) == 0x2000u ? 1u << (((type) >> 8) & 7u) : 0u))
#define PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE 16u

/* ---- MACs ---- */

/* The MAC length of a (possibly truncated) MAC on a key; 0 if unknown. */
#define PSA_MAC_LENGTH(key_type, key_bits, alg)                                                \
	((size_t)(!PSA_ALG_IS_MAC(alg) ? 0u                                                    \
	          : ((alg) >> TPSA_ALG_LENGTH_SHIFT_) & TPSA_ALG_LENGTH_MASK_                  \
	                  ? ((alg) >> TPSA_ALG_LENGTH_SHIFT_) & TPSA_ALG_LENGTH_MASK_          \
	          : PSA_ALG_IS_HMAC(alg)             ? PSA_HASH_LENGTH(alg)                    \
	          : PSA_ALG_IS_BLOCK_CIPHER_MAC(alg) ? PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) \
	                                             : 0u))
#define PSA_MAC_MAX_SIZE PSA_HASH_MAX_SIZE

/* ---- Unauthenticated ciphers ---- */

/* The IV the mode takes (0: none, e.g. ECB); ChaCha20 takes a 12-byte nonce. */
#define PSA_CIPHER_IV_LENGTH(key_type, alg)                                                       \
	((size_t)(PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) > 1u &&                                 \
	                          ((alg) == PSA_ALG_CTR || (alg) == PSA_ALG_CFB ||                \
	                           (alg) == PSA_ALG_OFB || (alg) == PSA_ALG_XTS ||                \
	                           (alg) == PSA_ALG_CBC_NO_PADDING || (alg) == PSA_ALG_CBC_PKCS7) \
	                  ? PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type)                               \
	          : (key_type) == PSA_KEY_TYPE_CHACHA20 && (alg) == PSA_ALG_STREAM_CIPHER ? 12u   \
	                                                                                  : 0u))
#define PSA_CIPHER_IV_MAX_SIZE 16u

/* One-shot encryption writes IV || ciphertext, padded to whole blocks for PKCS#7. */
#define PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(key_type, alg, input_length)                             \
	((size_t)(!PSA_ALG_IS_CIPHER(alg) || PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) == 0u ? 0u \
	          : (alg) == PSA_ALG_CBC_PKCS7                                                  \
	                  ? PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type),   \
	                                             (size_t)(input_length) + 1u) +             \
	                            PSA_CIPHER_IV_LENGTH(key_type, alg)                         \
	                  : (size_t)(input_length) + PSA_CIPHER_IV_LENGTH(key_type, alg)))
#define PSA_CIPHER_ENCRYPT_OUTPUT_MAX_SIZE(input_length)                                          \
	(PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE, (size_t)(input_length) + 1u) + \
	 PSA_CIPHER_IV_MAX_SIZE)

/* Decryption never yields more than its input (which includes the IV). */
#define PSA_CIPHER_DECRYPT_OUTPUT_SIZE(key_type, alg, input_length)                       \
	((size_t)(PSA_ALG_IS_CIPHER(alg) && PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) != 0u \
	                  ? (size_t)(input_length)                                        \
	                  : 0u))
#define PSA_CIPHER_DECRYPT_OUTPUT_MAX_SIZE(input_length) ((size_t)(input_length))

/*
 * A multipart update may release a block held back from the previous call:
 * block modes output at most the input rounded up to a whole block.
 */
#define PSA_CIPHER_UPDATE_OUTPUT_SIZE(key_type, alg, input_length)                              \
	((size_t)(!PSA_ALG_IS_CIPHER(alg) || PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) == 0u ? 0u \
	          : (alg) == PSA_ALG_CBC_PKCS7 || (alg) == PSA_ALG_CBC_NO_PADDING ||            \
	                          (alg) == PSA_ALG_ECB_NO_PADDING                               \
	                  ? PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type),   \
	                                             input_length)                              \
	                  : (size_t)(input_length)))
#define PSA_CIPHER_UPDATE_OUTPUT_MAX_SIZE(input_length) \
	PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE, input_length)

/* Only PKCS#7 padding has output left at finish: one block. */
#define PSA_CIPHER_FINISH_OUTPUT_SIZE(key_type, alg)                   \
	((size_t)(PSA_ALG_IS_CIPHER(alg) && (alg) == PSA_ALG_CBC_PKCS7 \
	                  ? PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type)    \
	                  : 0u))
#define PSA_CIPHER_FINISH_OUTPUT_MAX_SIZE PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE

/* ---- AEAD ---- */

/* The default nonce: 13 bytes for CCM, 12 for GCM and ChaCha20-Poly1305; 0 if unsupported. */
#define PSA_AEAD_NONCE_LENGTH(key_type, alg)                                                  \
	((size_t)(PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type) == 16u                              \
	                  ? (PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg) == PSA_ALG_CCM   ? 13u \
	                     : PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg) == PSA_ALG_GCM ? 12u \
	                                                                                : 0u) \
	          : (key_type) == PSA_KEY_TYPE_CHACHA20 &&                                    \
	                          PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(alg) ==                \
	                                  PSA_ALG_CHACHA20_POLY1305                           \
	                  ? 12u                                                               \
	                  : 0u))
#define PSA_AEAD_NONCE_MAX_SIZE 13u

/* The tag length the algorithm encodes (bits 16-21), for a supported key type. */
#define PSA_AEAD_TAG_LENGTH(key_type, key_bits, alg)                                  \
	((size_t)(PSA_AEAD_NONCE_LENGTH(key_type, alg) != 0u                          \
	                  ? ((alg) >> TPSA_ALG_LENGTH_SHIFT_) & TPSA_ALG_LENGTH_MASK_ \
	                  : 0u))
#define PSA_AEAD_TAG_MAX_SIZE 16u

/* One-shot: ciphertext || tag. */
#define PSA_AEAD_ENCRYPT_OUTPUT_SIZE(key_type, alg, plaintext_length)                          \
	((size_t)(PSA_AEAD_NONCE_LENGTH(key_type, alg) != 0u                                   \
	                  ? (size_t)(plaintext_length) + PSA_AEAD_TAG_LENGTH(key_type, 0, alg) \
	                  : 0u))
#define PSA_AEAD_ENCRYPT_OUTPUT_MAX_SIZE(plaintext_length) \
	((size_t)(plaintext_length) + PSA_AEAD_TAG_MAX_SIZE)

#define PSA_AEAD_DECRYPT_OUTPUT_SIZE(key_type, alg, ciphertext_length)                        \
	((size_t)(PSA_AEAD_NONCE_LENGTH(key_type, alg) != 0u &&                               \
	                          (size_t)(ciphertext_length) >                               \
	                                  PSA_AEAD_TAG_LENGTH(key_type, 0, alg)               \
	                  ? (size_t)(ciphertext_length)-PSA_AEAD_TAG_LENGTH(key_type, 0, alg) \
	                  : 0u))
#define PSA_AEAD_DECRYPT_OUTPUT_MAX_SIZE(ciphertext_length) ((size_t)(ciphertext_length))

/* AEAD on a block cipher may hold back up to one partial block per update. */
#define PSA_AEAD_UPDATE_OUTPUT_SIZE(key_type, alg, input_length)                              \
	((size_t)(PSA_AEAD_NONCE_LENGTH(key_type, alg) == 0u ? 0u                             \
	          : PSA_ALG_IS_AEAD_ON_BLOCK_CIPHER(alg)                                      \
	                  ? PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type), \
	                                             input_length)                            \
	                  : (size_t)(input_length)))
#define PSA_AEAD_UPDATE_OUTPUT_MAX_SIZE(input_length) \
	PSA_ROUND_UP_TO_MULTIPLE(PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE, input_length)

/* What finish (ciphertext part) and verify (plaintext) may still release. */
#define PSA_AEAD_FINISH_OUTPUT_SIZE(key_type, alg)                     \
	((size_t)(PSA_AEAD_NONCE_LENGTH(key_type, alg) != 0u &&        \
	                          PSA_ALG_IS_AEAD_ON_BLOCK_CIPHER(alg) \
	                  ? PSA_BLOCK_CIPHER_BLOCK_LENGTH(key_type)    \
	                  : 0u))
#define PSA_AEAD_FINISH_OUTPUT_MAX_SIZE            PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE
#define PSA_AEAD_VERIFY_OUTPUT_SIZE(key_type, alg) PSA_AEAD_FINISH_OUTPUT_SIZE(key_type, alg)
#define PSA_AEAD_VERIFY_OUTPUT_MAX_SIZE            PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE

/* ---- Asymmetric signature and encryption ---- */

/* ECDSA and EdDSA signatures are r || s, each the size of the curve order. */
#define PSA_ECDSA_SIGNATURE_SIZE(curve_bits) ((size_t)(2u * PSA_BITS_TO_BYTES(curve_bits)))

#define PSA_SIGN_OUTPUT_SIZE(key_type, key_bits, alg)                                  \
	((size_t)(PSA_KEY_TYPE_IS_RSA(key_type)   ? PSA_BITS_TO_BYTES(key_bits)        \
	          : PSA_KEY_TYPE_IS_ECC(key_type) ? PSA_ECDSA_SIGNATURE_SIZE(key_bits) \
	                                          : 0u))
#define PSA_SIGNATURE_MAX_SIZE                                                   \
	(PSA_BITS_TO_BYTES(PSA_VENDOR_RSA_MAX_KEY_BITS) >                        \
	                 PSA_ECDSA_SIGNATURE_SIZE(PSA_VENDOR_ECC_MAX_CURVE_BITS) \
	         ? PSA_BITS_TO_BYTES(PSA_VENDOR_RSA_MAX_KEY_BITS)                \
	         : PSA_ECDSA_SIGNATURE_SIZE(PSA_VENDOR_ECC_MAX_CURVE_BITS))

/* RSA ciphertexts are the modulus size; plaintexts are never longer. */
#define PSA_ASYMMETRIC_ENCRYPT_OUTPUT_SIZE(key_type, key_bits, alg) \
	((size_t)(PSA_KEY_TYPE_IS_RSA(key_type) ? PSA_BITS_TO_BYTES(key_bits) : 0u))
#define PSA_ASYMMETRIC_ENCRYPT_OUTPUT_MAX_SIZE PSA_BITS_TO_BYTES(PSA_VENDOR_RSA_MAX_KEY_BITS)
#define PSA_ASYMMETRIC_DECRYPT_OUTPUT_SIZE(key_type, key_bits, alg) \
	((size_t)(PSA_KEY_TYPE_IS_RSA(key_type) ? PSA_BITS_TO_BYTES(key_bits) : 0u))
#define PSA_ASYMMETRIC_DECRYPT_OUTPUT_MAX_SIZE PSA_BITS_TO_BYTES(PSA_VENDOR_RSA_MAX_KEY_BITS)

/* ---- Key export ---- */

/*
 * DER bounds of the export formats. An INTEGER of n bits takes at most tag
 * (1) + length (up to 3) + a leading zero + n/8 bytes; a SEQUENCE header at
 * most 4 bytes; the public exponent at most 7 (a 32-bit INTEGER).
 */
#define TPSA_DER_INTEGER_MAX_SIZE_(bits) ((size_t)(bits) / 8u + 5u)
/* RSAPublicKey ::= SEQUENCE { n, e } */
#define PSA_KEY_EXPORT_RSA_PUBLIC_KEY_MAX_SIZE(key_bits) \
	(4u + TPSA_DER_INTEGER_MAX_SIZE_(key_bits) + 7u)
/* RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qinv } */
#define PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(key_bits)              \
	(4u + 3u + 2u * TPSA_DER_INTEGER_MAX_SIZE_(key_bits) + 7u + \
	 5u * TPSA_DER_INTEGER_MAX_SIZE_((size_t)(key_bits) / 2u + 1u))
/* An uncompressed point 04 || x || y (Montgomery keys are shorter: x only). */
#define PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(key_bits)  (2u * PSA_BITS_TO_BYTES(key_bits) + 1u)
#define PSA_KEY_EXPORT_ECC_KEY_PAIR_MAX_SIZE(key_bits)    PSA_BITS_TO_BYTES(key_bits)
#define PSA_KEY_EXPORT_FFDH_KEY_PAIR_MAX_SIZE(key_bits)   PSA_BITS_TO_BYTES(key_bits)
#define PSA_KEY_EXPORT_FFDH_PUBLIC_KEY_MAX_SIZE(key_bits) PSA_BITS_TO_BYTES(key_bits)

#define PSA_EXPORT_KEY_OUTPUT_SIZE(key_type, key_bits)                                 \
	((size_t)(PSA_KEY_TYPE_IS_UNSTRUCTURED(key_type) ? PSA_BITS_TO_BYTES(key_bits) \
	          : (key_type) == PSA_KEY_TYPE_RSA_KEY_PAIR                            \
	                  ? PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(key_bits)             \
	          : (key_type) == PSA_KEY_TYPE_RSA_PUBLIC_KEY                          \
	                  ? PSA_KEY_EXPORT_RSA_PUBLIC_KEY_MAX_SIZE(key_bits)           \
	          : PSA_KEY_TYPE_IS_ECC_KEY_PAIR(key_type)                             \
	                  ? PSA_KEY_EXPORT_ECC_KEY_PAIR_MAX_SIZE(key_bits)             \
	          : PSA_KEY_TYPE_IS_ECC_PUBLIC_KEY(key_type)                           \
	                  ? PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(key_bits)           \
	          : PSA_KEY_TYPE_IS_DH(key_type) ? PSA_BITS_TO_BYTES(key_bits)         \
	                                         : 0u))

#define PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(key_type, key_bits)                                      \
	((size_t)(PSA_KEY_TYPE_IS_RSA(key_type) ? PSA_KEY_EXPORT_RSA_PUBLIC_KEY_MAX_SIZE(key_bits) \
	          : PSA_KEY_TYPE_IS_ECC(key_type)                                                  \
	                  ? PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(key_bits)                       \
	          : PSA_KEY_TYPE_IS_DH(key_type)                                                   \
	                  ? PSA_KEY_EXPORT_FFDH_PUBLIC_KEY_MAX_SIZE(key_bits)                      \
	                  : 0u))

#define TPSA_MAX_(a, b) ((a) > (b) ? (a) : (b))
#define PSA_EXPORT_KEY_PAIR_MAX_SIZE                                                             \
	TPSA_MAX_(PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(PSA_VENDOR_RSA_MAX_KEY_BITS),             \
	          TPSA_MAX_(PSA_KEY_EXPORT_ECC_KEY_PAIR_MAX_SIZE(PSA_VENDOR_ECC_MAX_CURVE_BITS), \
	                    PSA_KEY_EXPORT_FFDH_KEY_PAIR_MAX_SIZE(PSA_VENDOR_FFDH_MAX_KEY_BITS)))
#define PSA_EXPORT_PUBLIC_KEY_MAX_SIZE                                                           \
	TPSA_MAX_(                                                                               \
	        PSA_KEY_EXPORT_RSA_PUBLIC_KEY_MAX_SIZE(PSA_VENDOR_RSA_MAX_KEY_BITS),             \
	        TPSA_MAX_(PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(PSA_VENDOR_ECC_MAX_CURVE_BITS), \
	                  PSA_KEY_EXPORT_FFDH_PUBLIC_KEY_MAX_SIZE(PSA_VENDOR_FFDH_MAX_KEY_BITS)))

/* ---- Key agreement and derivation ---- */

/* The shared secret: the x coordinate (ECDH) or the group element (FFDH). */
#define PSA_RAW_KEY_AGREEMENT_OUTPUT_SIZE(key_type, key_bits)                                     \
	((size_t)(PSA_KEY_TYPE_IS_ECC_KEY_PAIR(key_type) || PSA_KEY_TYPE_IS_DH_KEY_PAIR(key_type) \
	                  ? PSA_BITS_TO_BYTES(key_bits)                                           \
	                  : 0u))
#define PSA_RAW_KEY_AGREEMENT_OUTPUT_MAX_SIZE                       \
	TPSA_MAX_(PSA_BITS_TO_BYTES(PSA_VENDOR_ECC_MAX_CURVE_BITS), \
	          PSA_BITS_TO_BYTES(PSA_VENDOR_FFDH_MAX_KEY_BITS))

/* A derivation whose capacity is not limited by the algorithm. */
#define PSA_KEY_DERIVATION_UNLIMITED_CAPACITY ((size_t)-1)
/* The longest pre-shared key the TLS 1.2 PSK-to-MS derivation accepts. */
#define PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE 128u

#endif
