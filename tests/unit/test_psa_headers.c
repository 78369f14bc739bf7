/*
 * libtessera-psa's headers against the PSA Certified Crypto API 1.1's
 * numbers: values, predicates, size macros, the attribute rules and the
 * initializers, and a strict C99 build of all of them (psa_headers_c99.c).
 * The PSA <-> protobuf mapping is tested in test_psa_pbmap.c.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "psa/crypto.h"
#include "psa_headers_c99.h"

/* ---- The strict C99 build ---- */

Test(psa_headers, c99_probe_compiled_and_expands_every_macro)
{
	/* Built with -std=c99 -pedantic -Werror: reaching here means it compiled. */
	size_t v = psa_headers_c99_probe();

	cr_assert_gt(v, 1000);
	cr_assert_eq(v, psa_headers_c99_probe());
}

/* ---- Values ---- */

struct value {
	const char *name;
	uint32_t got, want;
};
#define V(expr, want)                                     \
	{                                                 \
#expr, (uint32_t)(expr), (uint32_t)(want) \
	}

static const struct value values[] = {
        V(PSA_CRYPTO_API_VERSION_MAJOR, 1),
        V(PSA_CRYPTO_API_VERSION_MINOR, 1),
        /* key types */
        V(PSA_KEY_TYPE_NONE, 0x0000),
        V(PSA_KEY_TYPE_RAW_DATA, 0x1001),
        V(PSA_KEY_TYPE_HMAC, 0x1100),
        V(PSA_KEY_TYPE_DERIVE, 0x1200),
        V(PSA_KEY_TYPE_PASSWORD, 0x1203),
        V(PSA_KEY_TYPE_PASSWORD_HASH, 0x1205),
        V(PSA_KEY_TYPE_PEPPER, 0x1206),
        V(PSA_KEY_TYPE_AES, 0x2400),
        V(PSA_KEY_TYPE_ARIA, 0x2406),
        V(PSA_KEY_TYPE_DES, 0x2301),
        V(PSA_KEY_TYPE_CAMELLIA, 0x2403),
        V(PSA_KEY_TYPE_SM4, 0x2405),
        V(PSA_KEY_TYPE_ARC4, 0x2002),
        V(PSA_KEY_TYPE_CHACHA20, 0x2004),
        V(PSA_KEY_TYPE_RSA_KEY_PAIR, 0x7001),
        V(PSA_KEY_TYPE_RSA_PUBLIC_KEY, 0x4001),
        V(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 0x7112),
        V(PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1), 0x4112),
        V(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY), 0x7141),
        V(PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919), 0x7203),
        V(PSA_KEY_TYPE_DH_PUBLIC_KEY(PSA_DH_FAMILY_RFC7919), 0x4203),
        V(PSA_ECC_FAMILY_SECP_K1, 0x17),
        V(PSA_ECC_FAMILY_SECP_R1, 0x12),
        V(PSA_ECC_FAMILY_SECP_R2, 0x1b),
        V(PSA_ECC_FAMILY_SECT_K1, 0x27),
        V(PSA_ECC_FAMILY_SECT_R1, 0x22),
        V(PSA_ECC_FAMILY_SECT_R2, 0x2b),
        V(PSA_ECC_FAMILY_BRAINPOOL_P_R1, 0x30),
        V(PSA_ECC_FAMILY_FRP, 0x33),
        V(PSA_ECC_FAMILY_MONTGOMERY, 0x41),
        V(PSA_ECC_FAMILY_TWISTED_EDWARDS, 0x42),
        V(PSA_DH_FAMILY_RFC7919, 0x03),
        /* hashes */
        V(PSA_ALG_MD2, 0x02000001),
        V(PSA_ALG_MD4, 0x02000002),
        V(PSA_ALG_MD5, 0x02000003),
        V(PSA_ALG_RIPEMD160, 0x02000004),
        V(PSA_ALG_SHA_1, 0x02000005),
        V(PSA_ALG_SHA_224, 0x02000008),
        V(PSA_ALG_SHA_256, 0x02000009),
        V(PSA_ALG_SHA_384, 0x0200000a),
        V(PSA_ALG_SHA_512, 0x0200000b),
        V(PSA_ALG_SHA_512_224, 0x0200000c),
        V(PSA_ALG_SHA_512_256, 0x0200000d),
        V(PSA_ALG_SHA3_224, 0x02000010),
        V(PSA_ALG_SHA3_256, 0x02000011),
        V(PSA_ALG_SHA3_384, 0x02000012),
        V(PSA_ALG_SHA3_512, 0x02000013),
        V(PSA_ALG_SM3, 0x02000014),
        V(PSA_ALG_SHAKE256_512, 0x02000015),
        V(PSA_ALG_ANY_HASH, 0x020000ff),
        /* MACs */
        V(PSA_ALG_HMAC(PSA_ALG_SHA_256), 0x03800009),
        V(PSA_ALG_CBC_MAC, 0x03c00100),
        V(PSA_ALG_CMAC, 0x03c00200),
        V(PSA_ALG_TRUNCATED_MAC(PSA_ALG_HMAC(PSA_ALG_SHA_256), 16), 0x03900009),
        V(PSA_ALG_AT_LEAST_THIS_LENGTH_MAC(PSA_ALG_HMAC(PSA_ALG_SHA_256), 16), 0x03908009),
        V(PSA_ALG_FULL_LENGTH_MAC(PSA_ALG_TRUNCATED_MAC(PSA_ALG_CMAC, 4)), 0x03c00200),
        /* ciphers */
        V(PSA_ALG_STREAM_CIPHER, 0x04800100),
        V(PSA_ALG_CTR, 0x04c01000),
        V(PSA_ALG_CFB, 0x04c01100),
        V(PSA_ALG_OFB, 0x04c01200),
        V(PSA_ALG_XTS, 0x0440ff00),
        V(PSA_ALG_ECB_NO_PADDING, 0x04404400),
        V(PSA_ALG_CBC_NO_PADDING, 0x04404000),
        V(PSA_ALG_CBC_PKCS7, 0x04404100),
        /* AEAD */
        V(PSA_ALG_CCM, 0x05500100),
        V(PSA_ALG_GCM, 0x05500200),
        V(PSA_ALG_CHACHA20_POLY1305, 0x05100500),
        V(PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8), 0x05480100),
        V(PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, 16), 0x05500200),
        V(PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_CCM, 8), 0x05488100),
        V(PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, 4)),
          0x05500200),
        V(PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(
                  PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_CHACHA20_POLY1305, 12)),
          0x05100500),
        V(PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(PSA_ALG_SHA_256), PSA_ALG_NONE),
        /* signatures */
        V(PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256), 0x06000209),
        V(PSA_ALG_RSA_PKCS1V15_SIGN_RAW, 0x06000200),
        V(PSA_ALG_RSA_PSS(PSA_ALG_SHA_256), 0x06000309),
        V(PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256), 0x06001309),
        V(PSA_ALG_ECDSA(PSA_ALG_SHA_256), 0x06000609),
        V(PSA_ALG_ECDSA(PSA_ALG_ANY_HASH), 0x060006ff),
        V(PSA_ALG_ECDSA_ANY, 0x06000600),
        V(PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_384), 0x0600070a),
        V(PSA_ALG_PURE_EDDSA, 0x06000800),
        V(PSA_ALG_ED25519PH, 0x0600090b),
        V(PSA_ALG_ED448PH, 0x06000915),
        /* asymmetric encryption */
        V(PSA_ALG_RSA_PKCS1V15_CRYPT, 0x07000200),
        V(PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256), 0x07000309),
        /* key derivation and agreement */
        V(PSA_ALG_HKDF(PSA_ALG_SHA_256), 0x08000109),
        V(PSA_ALG_TLS12_PRF(PSA_ALG_SHA_256), 0x08000209),
        V(PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_384), 0x0800030a),
        V(PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256), 0x08000409),
        V(PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_256), 0x08000509),
        V(PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256), 0x08800109),
        V(PSA_ALG_PBKDF2_AES_CMAC_PRF_128, 0x08800200),
        V(PSA_ALG_FFDH, 0x09010000),
        V(PSA_ALG_ECDH, 0x09020000),
        V(PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256)), 0x09020109),
        V(PSA_ALG_KEY_AGREEMENT_GET_BASE(0x09020109), PSA_ALG_ECDH),
        V(PSA_ALG_KEY_AGREEMENT_GET_KDF(0x09020109), 0x08000109),
        /* extraction */
        V(PSA_ALG_GET_HASH(PSA_ALG_ECDSA(PSA_ALG_SHA_384)), PSA_ALG_SHA_384),
        V(PSA_ALG_GET_HASH(PSA_ALG_HMAC(PSA_ALG_SHA_1)), PSA_ALG_SHA_1),
        V(PSA_ALG_GET_HASH(PSA_ALG_RSA_PKCS1V15_SIGN_RAW), PSA_ALG_NONE),
        V(PSA_ALG_GET_HASH(PSA_ALG_CMAC), PSA_ALG_NONE),
        V(PSA_ALG_SIGN_GET_HASH(PSA_ALG_RSA_PSS(PSA_ALG_SHA_512)), PSA_ALG_SHA_512),
        V(PSA_ALG_SIGN_GET_HASH(PSA_ALG_ECDSA_ANY), PSA_ALG_NONE),
        V(PSA_ALG_SIGN_GET_HASH(PSA_ALG_HMAC(PSA_ALG_SHA_256)), 0),
        V(PSA_KEY_TYPE_ECC_GET_FAMILY(0x7112), PSA_ECC_FAMILY_SECP_R1),
        V(PSA_KEY_TYPE_DH_GET_FAMILY(0x4203), PSA_DH_FAMILY_RFC7919),
        V(PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(PSA_KEY_TYPE_RSA_KEY_PAIR), 0x4001),
        V(PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(0x7112), 0x4112),
        V(PSA_KEY_TYPE_KEY_PAIR_OF_PUBLIC_KEY(0x4203), 0x7203),
        /* lifetimes */
        V(PSA_KEY_LIFETIME_VOLATILE, 0),
        V(PSA_KEY_LIFETIME_PERSISTENT, 1),
        V(PSA_KEY_PERSISTENCE_VOLATILE, 0x00),
        V(PSA_KEY_PERSISTENCE_DEFAULT, 0x01),
        V(PSA_KEY_PERSISTENCE_READ_ONLY, 0xff),
        V(PSA_KEY_LOCATION_LOCAL_STORAGE, 0),
        V(PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT, 1),
        V(PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(PSA_KEY_PERSISTENCE_DEFAULT, 1), 0x101),
        V(PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(PSA_KEY_PERSISTENCE_READ_ONLY, 0x800001),
          0x800001ff),
        V(PSA_KEY_LIFETIME_GET_PERSISTENCE(0x800001ff), 0xff),
        V(PSA_KEY_LIFETIME_GET_LOCATION(0x800001ff), 0x800001),
        /* key ids */
        V(PSA_KEY_ID_NULL, 0),
        V(PSA_KEY_ID_USER_MIN, 0x00000001),
        V(PSA_KEY_ID_USER_MAX, 0x3fffffff),
        V(PSA_KEY_ID_VENDOR_MIN, 0x40000000),
        V(PSA_KEY_ID_VENDOR_MAX, 0x7fffffff),
        /* usage */
        V(PSA_KEY_USAGE_EXPORT, 0x0001),
        V(PSA_KEY_USAGE_COPY, 0x0002),
        V(PSA_KEY_USAGE_CACHE, 0x0004),
        V(PSA_KEY_USAGE_ENCRYPT, 0x0100),
        V(PSA_KEY_USAGE_DECRYPT, 0x0200),
        V(PSA_KEY_USAGE_SIGN_MESSAGE, 0x0400),
        V(PSA_KEY_USAGE_VERIFY_MESSAGE, 0x0800),
        V(PSA_KEY_USAGE_SIGN_HASH, 0x1000),
        V(PSA_KEY_USAGE_VERIFY_HASH, 0x2000),
        V(PSA_KEY_USAGE_DERIVE, 0x4000),
        V(PSA_KEY_USAGE_VERIFY_DERIVATION, 0x8000),
        /* derivation steps: distinct and non-zero (checked below); these are ours */
        V(PSA_KEY_DERIVATION_INPUT_SECRET, 0x0101),
        V(PSA_KEY_DERIVATION_INPUT_SALT, 0x0202),
        V(PSA_KEY_DERIVATION_INPUT_COST, 0x0205),
};

Test(psa_headers, values_are_the_specifications)
{
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		cr_expect_eq(values[i].got, values[i].want, "%s = 0x%08x, want 0x%08x",
		             values[i].name, values[i].got, values[i].want);
}

Test(psa_headers, types_have_the_specified_widths)
{
	cr_assert_eq(sizeof(psa_key_type_t), 2);
	cr_assert_eq(sizeof(psa_ecc_family_t), 1);
	cr_assert_eq(sizeof(psa_dh_family_t), 1);
	cr_assert_eq(sizeof(psa_algorithm_t), 4);
	cr_assert_eq(sizeof(psa_key_lifetime_t), 4);
	cr_assert_eq(sizeof(psa_key_persistence_t), 1);
	cr_assert_eq(sizeof(psa_key_location_t), 4);
	cr_assert_eq(sizeof(psa_key_id_t), 4);
	cr_assert_eq(sizeof(psa_key_usage_t), 4);
	cr_assert_eq(sizeof(psa_key_derivation_step_t), 2);
	cr_assert_eq(sizeof(psa_status_t), 4);
	cr_assert_eq((psa_status_t)-1 < 0, 1);
}

Test(psa_headers, derivation_steps_are_distinct)
{
	const psa_key_derivation_step_t s[] = {
	        PSA_KEY_DERIVATION_INPUT_SECRET,       PSA_KEY_DERIVATION_INPUT_PASSWORD,
	        PSA_KEY_DERIVATION_INPUT_OTHER_SECRET, PSA_KEY_DERIVATION_INPUT_LABEL,
	        PSA_KEY_DERIVATION_INPUT_SALT,         PSA_KEY_DERIVATION_INPUT_INFO,
	        PSA_KEY_DERIVATION_INPUT_SEED,         PSA_KEY_DERIVATION_INPUT_COST,
	        PSA_KEY_DERIVATION_INPUT_CONTEXT,
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		cr_assert_neq(s[i], 0);
		for (size_t j = 0; j < i; j++)
			cr_assert_neq(s[i], s[j]);
	}
}

/* ---- Predicates ---- */

Test(psa_headers, algorithm_predicates)
{
	const psa_algorithm_t hmac = PSA_ALG_HMAC(PSA_ALG_SHA_256);

	cr_assert(PSA_ALG_IS_HASH(PSA_ALG_SHA_256));
	cr_assert_not(PSA_ALG_IS_HASH(hmac));
	cr_assert(PSA_ALG_IS_MAC(hmac));
	cr_assert(PSA_ALG_IS_HMAC(hmac));
	cr_assert_not(PSA_ALG_IS_HMAC(PSA_ALG_CMAC));
	cr_assert(PSA_ALG_IS_BLOCK_CIPHER_MAC(PSA_ALG_CMAC));
	cr_assert(PSA_ALG_IS_BLOCK_CIPHER_MAC(PSA_ALG_CBC_MAC));
	cr_assert_not(PSA_ALG_IS_BLOCK_CIPHER_MAC(hmac));
	cr_assert(PSA_ALG_IS_CIPHER(PSA_ALG_CBC_PKCS7));
	cr_assert_not(PSA_ALG_IS_CIPHER(PSA_ALG_GCM));
	cr_assert(PSA_ALG_IS_STREAM_CIPHER(PSA_ALG_CTR));
	cr_assert(PSA_ALG_IS_STREAM_CIPHER(PSA_ALG_STREAM_CIPHER));
	cr_assert_not(PSA_ALG_IS_STREAM_CIPHER(PSA_ALG_CBC_NO_PADDING));
	cr_assert(PSA_ALG_IS_AEAD(PSA_ALG_GCM));
	cr_assert(PSA_ALG_IS_AEAD(PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 4)));
	cr_assert(PSA_ALG_IS_AEAD_ON_BLOCK_CIPHER(PSA_ALG_CCM));
	cr_assert_not(PSA_ALG_IS_AEAD_ON_BLOCK_CIPHER(PSA_ALG_CHACHA20_POLY1305));
	cr_assert(PSA_ALG_IS_SIGN(PSA_ALG_ECDSA_ANY));
	cr_assert_not(PSA_ALG_IS_SIGN(PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RSA_OAEP(PSA_ALG_RSA_OAEP(PSA_ALG_SHA_1)));
	cr_assert_not(PSA_ALG_IS_RSA_OAEP(PSA_ALG_RSA_PKCS1V15_CRYPT));
	cr_assert(PSA_ALG_IS_RSA_PKCS1V15_SIGN(PSA_ALG_RSA_PKCS1V15_SIGN_RAW));
	cr_assert(PSA_ALG_IS_RSA_PKCS1V15_SIGN(PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RSA_PSS(PSA_ALG_RSA_PSS(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RSA_PSS(PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RSA_PSS_STANDARD_SALT(PSA_ALG_RSA_PSS(PSA_ALG_SHA_256)));
	cr_assert_not(PSA_ALG_IS_RSA_PSS_STANDARD_SALT(PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RSA_PSS_ANY_SALT(PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_ECDSA(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_ECDSA(PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_ECDSA(PSA_ALG_ECDSA_ANY));
	cr_assert_not(PSA_ALG_IS_ECDSA(PSA_ALG_RSA_PSS(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_DETERMINISTIC_ECDSA(PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256)));
	cr_assert_not(PSA_ALG_IS_DETERMINISTIC_ECDSA(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_RANDOMIZED_ECDSA(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_HASH_EDDSA(PSA_ALG_ED25519PH));
	cr_assert_not(PSA_ALG_IS_HASH_EDDSA(PSA_ALG_PURE_EDDSA));
	cr_assert(PSA_ALG_IS_HASH_AND_SIGN(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert_not(PSA_ALG_IS_HASH_AND_SIGN(PSA_ALG_PURE_EDDSA));
	cr_assert(PSA_ALG_IS_SIGN_HASH(PSA_ALG_RSA_PKCS1V15_SIGN_RAW));
	cr_assert_not(PSA_ALG_IS_SIGN_HASH(PSA_ALG_PURE_EDDSA)); /* messages only */
	cr_assert(PSA_ALG_IS_SIGN_HASH(PSA_ALG_ED25519PH));
	cr_assert(PSA_ALG_IS_SIGN_MESSAGE(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert_not(PSA_ALG_IS_SIGN_MESSAGE(PSA_ALG_ECDSA_ANY));
	cr_assert_not(PSA_ALG_IS_SIGN_MESSAGE(PSA_ALG_RSA_PKCS1V15_SIGN_RAW));
	cr_assert(PSA_ALG_IS_KEY_DERIVATION(PSA_ALG_HKDF(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_HKDF(PSA_ALG_HKDF(PSA_ALG_SHA_1)));
	cr_assert_not(PSA_ALG_IS_HKDF(PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_1)));
	cr_assert(PSA_ALG_IS_HKDF_EXTRACT(PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_1)));
	cr_assert(PSA_ALG_IS_HKDF_EXPAND(PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_1)));
	cr_assert(PSA_ALG_IS_TLS12_PRF(PSA_ALG_TLS12_PRF(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_TLS12_PSK_TO_MS(PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_PBKDF2_HMAC(PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_KEY_DERIVATION_STRETCHING(PSA_ALG_PBKDF2_AES_CMAC_PRF_128));
	cr_assert_not(PSA_ALG_IS_KEY_DERIVATION_STRETCHING(PSA_ALG_HKDF(PSA_ALG_SHA_256)));
	cr_assert(PSA_ALG_IS_KEY_AGREEMENT(PSA_ALG_ECDH));
	cr_assert(PSA_ALG_IS_RAW_KEY_AGREEMENT(PSA_ALG_ECDH));
	cr_assert_not(PSA_ALG_IS_RAW_KEY_AGREEMENT(
	        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256))));
	cr_assert(PSA_ALG_IS_ECDH(
	        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256))));
	cr_assert(PSA_ALG_IS_FFDH(PSA_ALG_FFDH));
	cr_assert_not(PSA_ALG_IS_FFDH(PSA_ALG_ECDH));
	cr_assert(PSA_ALG_IS_WILDCARD(PSA_ALG_ECDSA(PSA_ALG_ANY_HASH)));
	cr_assert(PSA_ALG_IS_WILDCARD(PSA_ALG_AT_LEAST_THIS_LENGTH_MAC(PSA_ALG_CMAC, 8)));
	cr_assert(PSA_ALG_IS_WILDCARD(PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_GCM, 8)));
	cr_assert_not(PSA_ALG_IS_WILDCARD(PSA_ALG_ECDSA(PSA_ALG_SHA_256)));
	cr_assert_not(PSA_ALG_IS_WILDCARD(PSA_ALG_TRUNCATED_MAC(PSA_ALG_CMAC, 8)));
}

Test(psa_headers, key_type_predicates)
{
	const psa_key_type_t p256 = PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1);
	const psa_key_type_t p256pub = PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1);
	const psa_key_type_t dh = PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919);

	cr_assert(PSA_KEY_TYPE_IS_UNSTRUCTURED(PSA_KEY_TYPE_AES));
	cr_assert(PSA_KEY_TYPE_IS_UNSTRUCTURED(PSA_KEY_TYPE_HMAC));
	cr_assert_not(PSA_KEY_TYPE_IS_UNSTRUCTURED(PSA_KEY_TYPE_RSA_KEY_PAIR));
	cr_assert(PSA_KEY_TYPE_IS_ASYMMETRIC(p256pub));
	cr_assert_not(PSA_KEY_TYPE_IS_ASYMMETRIC(PSA_KEY_TYPE_CHACHA20));
	cr_assert(PSA_KEY_TYPE_IS_KEY_PAIR(p256));
	cr_assert_not(PSA_KEY_TYPE_IS_KEY_PAIR(p256pub));
	cr_assert(PSA_KEY_TYPE_IS_PUBLIC_KEY(PSA_KEY_TYPE_RSA_PUBLIC_KEY));
	cr_assert_not(PSA_KEY_TYPE_IS_PUBLIC_KEY(PSA_KEY_TYPE_RSA_KEY_PAIR));
	cr_assert(PSA_KEY_TYPE_IS_RSA(PSA_KEY_TYPE_RSA_KEY_PAIR));
	cr_assert(PSA_KEY_TYPE_IS_RSA(PSA_KEY_TYPE_RSA_PUBLIC_KEY));
	cr_assert_not(PSA_KEY_TYPE_IS_RSA(p256));
	cr_assert(PSA_KEY_TYPE_IS_ECC(p256));
	cr_assert(PSA_KEY_TYPE_IS_ECC(p256pub));
	cr_assert_not(PSA_KEY_TYPE_IS_ECC(dh));
	cr_assert(PSA_KEY_TYPE_IS_ECC_KEY_PAIR(p256));
	cr_assert_not(PSA_KEY_TYPE_IS_ECC_KEY_PAIR(p256pub));
	cr_assert(PSA_KEY_TYPE_IS_ECC_PUBLIC_KEY(p256pub));
	cr_assert(PSA_KEY_TYPE_IS_DH(dh));
	cr_assert(PSA_KEY_TYPE_IS_DH_KEY_PAIR(dh));
	cr_assert(PSA_KEY_TYPE_IS_DH_PUBLIC_KEY(PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(dh)));
	cr_assert_not(PSA_KEY_TYPE_IS_DH(p256));
	cr_assert(PSA_KEY_LIFETIME_IS_VOLATILE(PSA_KEY_LIFETIME_VOLATILE));
	cr_assert_not(PSA_KEY_LIFETIME_IS_VOLATILE(PSA_KEY_LIFETIME_PERSISTENT));
	cr_assert(PSA_KEY_LIFETIME_IS_VOLATILE(
	        PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(PSA_KEY_PERSISTENCE_VOLATILE, 1)));
}

/* ---- Sizes ---- */

#define P256 PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)

Test(psa_headers, hash_and_mac_sizes)
{
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA_1), 20);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA_224), 28);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA_256), 32);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA_384), 48);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA_512), 64);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_SHA3_256), 32);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_HMAC(PSA_ALG_SHA_384)), 48);
	cr_assert_eq(PSA_HASH_LENGTH(PSA_ALG_CMAC), 0);
	cr_assert_eq(PSA_HASH_MAX_SIZE, 64);
	cr_assert_eq(PSA_HASH_BLOCK_LENGTH(PSA_ALG_SHA_256), 64);
	cr_assert_eq(PSA_HASH_BLOCK_LENGTH(PSA_ALG_SHA_512), 128);
	cr_assert_eq(PSA_HASH_BLOCK_LENGTH(PSA_ALG_SHA3_256), 136);
	cr_assert_eq(PSA_HASH_SUSPEND_OUTPUT_SIZE(PSA_ALG_SHA_256), 4 + 8 + 32 + 64 - 1);
	cr_assert_eq(PSA_MAC_LENGTH(PSA_KEY_TYPE_HMAC, 256, PSA_ALG_HMAC(PSA_ALG_SHA_256)), 32);
	cr_assert_eq(PSA_MAC_LENGTH(PSA_KEY_TYPE_HMAC, 256,
	                            PSA_ALG_TRUNCATED_MAC(PSA_ALG_HMAC(PSA_ALG_SHA_256), 10)),
	             10);
	cr_assert_eq(PSA_MAC_LENGTH(PSA_KEY_TYPE_AES, 128, PSA_ALG_CMAC), 16);
	cr_assert_eq(PSA_MAC_LENGTH(PSA_KEY_TYPE_AES, 128, PSA_ALG_SHA_256), 0);
	cr_assert_geq(PSA_MAC_MAX_SIZE, 64);
	cr_assert_eq(PSA_BLOCK_CIPHER_BLOCK_LENGTH(PSA_KEY_TYPE_AES), 16);
	cr_assert_eq(PSA_BLOCK_CIPHER_BLOCK_LENGTH(PSA_KEY_TYPE_DES), 8);
	cr_assert_eq(PSA_BLOCK_CIPHER_BLOCK_LENGTH(PSA_KEY_TYPE_CHACHA20), 1);
	cr_assert_eq(PSA_BLOCK_CIPHER_BLOCK_LENGTH(PSA_KEY_TYPE_RSA_KEY_PAIR), 0);
	cr_assert_eq(PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE, 16);
}

Test(psa_headers, cipher_sizes)
{
	/* CBC-PKCS7: IV + input padded up, a whole extra block when already aligned. */
	cr_assert_eq(PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7, 16), 48);
	cr_assert_eq(PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7, 15), 32);
	cr_assert_eq(PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CTR, 5), 21);
	cr_assert_eq(PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_ECB_NO_PADDING, 32),
	             32);
	cr_assert_eq(PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 32), 0);
	cr_assert_geq(PSA_CIPHER_ENCRYPT_OUTPUT_MAX_SIZE(16), 48);
	cr_assert_geq(PSA_CIPHER_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7, 48), 32);
	cr_assert_leq(PSA_CIPHER_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7, 48), 48);
	cr_assert_geq(PSA_CIPHER_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CTR, 21), 5);
	cr_assert_geq(PSA_CIPHER_DECRYPT_OUTPUT_MAX_SIZE(48), 32);
	cr_assert_eq(PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7), 16);
	cr_assert_eq(PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_AES, PSA_ALG_CTR), 16);
	cr_assert_eq(PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_AES, PSA_ALG_ECB_NO_PADDING), 0);
	cr_assert_eq(PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_DES, PSA_ALG_CBC_NO_PADDING), 8);
	cr_assert_eq(PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_CHACHA20, PSA_ALG_STREAM_CIPHER), 12);
	cr_assert_eq(PSA_CIPHER_IV_MAX_SIZE, 16);
	/* An update may release a held-back block: input rounded up, for block modes only. */
	cr_assert_eq(PSA_CIPHER_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_NO_PADDING, 17),
	             32);
	cr_assert_eq(PSA_CIPHER_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CTR, 17), 17);
	cr_assert_geq(PSA_CIPHER_UPDATE_OUTPUT_MAX_SIZE(17), 32);
	cr_assert_eq(PSA_CIPHER_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7), 16);
	cr_assert_eq(PSA_CIPHER_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CTR), 0);
	cr_assert_eq(PSA_CIPHER_FINISH_OUTPUT_MAX_SIZE, 16);
}

Test(psa_headers, aead_sizes)
{
	const psa_algorithm_t ccm8 = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8);

	cr_assert_eq(PSA_AEAD_TAG_LENGTH(PSA_KEY_TYPE_AES, 128, PSA_ALG_GCM), 16);
	cr_assert_eq(PSA_AEAD_TAG_LENGTH(PSA_KEY_TYPE_AES, 128, ccm8), 8);
	cr_assert_eq(PSA_AEAD_TAG_LENGTH(PSA_KEY_TYPE_CHACHA20, 256, PSA_ALG_CHACHA20_POLY1305),
	             16);
	cr_assert_eq(PSA_AEAD_TAG_MAX_SIZE, 16);
	cr_assert_eq(PSA_AEAD_NONCE_LENGTH(PSA_KEY_TYPE_AES, PSA_ALG_GCM), 12);
	cr_assert_eq(PSA_AEAD_NONCE_LENGTH(PSA_KEY_TYPE_AES, ccm8), 13);
	cr_assert_eq(PSA_AEAD_NONCE_LENGTH(PSA_KEY_TYPE_CHACHA20, PSA_ALG_CHACHA20_POLY1305), 12);
	cr_assert_eq(PSA_AEAD_NONCE_LENGTH(PSA_KEY_TYPE_DES, PSA_ALG_GCM), 0);
	cr_assert_eq(PSA_AEAD_NONCE_MAX_SIZE, 13);
	cr_assert_eq(PSA_AEAD_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 100), 116);
	cr_assert_eq(PSA_AEAD_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, ccm8, 100), 108);
	cr_assert_eq(PSA_AEAD_ENCRYPT_OUTPUT_MAX_SIZE(100), 116);
	cr_assert_eq(PSA_AEAD_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 116), 100);
	cr_assert_eq(PSA_AEAD_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, ccm8, 108), 100);
	cr_assert_eq(PSA_AEAD_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 10), 0);
	cr_assert_geq(PSA_AEAD_DECRYPT_OUTPUT_MAX_SIZE(116), 100);
	cr_assert_eq(PSA_AEAD_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 17), 32);
	cr_assert_eq(
	        PSA_AEAD_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_CHACHA20, PSA_ALG_CHACHA20_POLY1305, 17),
	        17);
	cr_assert_geq(PSA_AEAD_UPDATE_OUTPUT_MAX_SIZE(17), 32);
	cr_assert_eq(PSA_AEAD_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CCM), 16);
	cr_assert_eq(PSA_AEAD_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_CHACHA20, PSA_ALG_CHACHA20_POLY1305),
	             0);
	cr_assert_eq(PSA_AEAD_VERIFY_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM), 16);
	cr_assert_geq(PSA_AEAD_FINISH_OUTPUT_MAX_SIZE, 16);
	cr_assert_geq(PSA_AEAD_VERIFY_OUTPUT_MAX_SIZE, 16);
}

Test(psa_headers, asymmetric_and_export_sizes)
{
	cr_assert_eq(PSA_SIGN_OUTPUT_SIZE(P256, 256, PSA_ALG_ECDSA(PSA_ALG_SHA_256)), 64);
	cr_assert_eq(PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 521,
	                                  PSA_ALG_ECDSA(PSA_ALG_SHA_512)),
	             132);
	cr_assert_eq(PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048,
	                                  PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256)),
	             256);
	cr_assert_eq(PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_AES, 128, PSA_ALG_CMAC), 0);
	cr_assert_eq(PSA_SIGNATURE_MAX_SIZE, 512);     /* RSA-4096 */
	cr_assert_geq(PSA_SIGNATURE_MAX_SIZE, 2 * 72); /* ECDSA on sect571 */
	cr_assert_eq(PSA_ASYMMETRIC_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_PUBLIC_KEY, 2048,
	                                                PSA_ALG_RSA_PKCS1V15_CRYPT),
	             256);
	cr_assert_geq(PSA_ASYMMETRIC_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048,
	                                                 PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256)),
	              256 - 2 * 32 - 2);
	cr_assert_eq(PSA_ASYMMETRIC_ENCRYPT_OUTPUT_MAX_SIZE, 512);
	cr_assert_geq(PSA_ASYMMETRIC_DECRYPT_OUTPUT_MAX_SIZE, 512 - 11);
	/* An RSA-2048 public key in DER is 270 bytes (n with a leading zero, e = 65537). */
	cr_assert_geq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048), 270);
	cr_assert_leq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048), 280);
	cr_assert_eq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_PUBLIC_KEY, 2048),
	             PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048));
	/* An uncompressed P-256 point: 04 || x || y. */
	cr_assert_eq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(P256, 256), 65);
	cr_assert_eq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(
	                     PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1), 384),
	             97);
	cr_assert_eq(PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_AES, 128), 0);
	cr_assert_eq(PSA_EXPORT_KEY_OUTPUT_SIZE(P256, 256), 32);
	cr_assert_eq(PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_AES, 256), 32);
	cr_assert_eq(PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_HMAC, 200), 25);
	/* An RSA-2048 private key in DER is about 1190 bytes. */
	cr_assert_geq(PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048), 1194);
	cr_assert_geq(PSA_EXPORT_KEY_PAIR_MAX_SIZE,
	              PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 4096));
	cr_assert_geq(
	        PSA_EXPORT_KEY_PAIR_MAX_SIZE,
	        PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECT_K1), 571));
	cr_assert_geq(PSA_EXPORT_PUBLIC_KEY_MAX_SIZE,
	              PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 4096));
	cr_assert_geq(PSA_EXPORT_PUBLIC_KEY_MAX_SIZE,
	              PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(
	                      PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECT_K1), 571));
	cr_assert_geq(PSA_EXPORT_PUBLIC_KEY_MAX_SIZE,
	              PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(
	                      PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919), 8192));
	cr_assert_eq(PSA_RAW_KEY_AGREEMENT_OUTPUT_SIZE(P256, 256), 32);
	cr_assert_eq(PSA_RAW_KEY_AGREEMENT_OUTPUT_SIZE(
	                     PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_MONTGOMERY), 255),
	             32);
	cr_assert_eq(PSA_RAW_KEY_AGREEMENT_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048), 0);
	cr_assert_geq(PSA_RAW_KEY_AGREEMENT_OUTPUT_MAX_SIZE, 1024);
	cr_assert_eq(PSA_KEY_DERIVATION_UNLIMITED_CAPACITY, SIZE_MAX);
	cr_assert_geq(PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE, 64);
	cr_assert_eq(PSA_BITS_TO_BYTES(521), 66);
}

/* ---- Attribute objects and initializers ---- */

Test(psa_headers, key_attributes_init_and_accessors)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	psa_key_attributes_t b = psa_key_attributes_init();

	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_VOLATILE);
	cr_assert_eq(psa_get_key_id(&a), PSA_KEY_ID_NULL);
	cr_assert_eq(psa_get_key_type(&b), PSA_KEY_TYPE_NONE);
	cr_assert_eq(psa_get_key_bits(&b), 0);
	cr_assert_eq(psa_get_key_usage_flags(&b), 0);
	cr_assert_eq(psa_get_key_algorithm(&b), PSA_ALG_NONE);

	psa_set_key_type(&a, PSA_KEY_TYPE_RSA_KEY_PAIR);
	psa_set_key_bits(&a, 3072);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	psa_set_key_algorithm(&a, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
	cr_assert_eq(psa_get_key_type(&a), PSA_KEY_TYPE_RSA_KEY_PAIR);
	cr_assert_eq(psa_get_key_bits(&a), 3072);
	cr_assert_eq(psa_get_key_usage_flags(&a), PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	cr_assert_eq(psa_get_key_algorithm(&a), PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));

	psa_reset_key_attributes(&a);
	cr_assert_eq(psa_get_key_type(&a), PSA_KEY_TYPE_NONE);
	cr_assert_eq(psa_get_key_bits(&a), 0);
	cr_assert_eq(psa_get_key_usage_flags(&a), 0);
}

Test(psa_headers, setting_an_id_makes_a_volatile_key_persistent)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	const psa_key_lifetime_t se =
	        PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(PSA_KEY_PERSISTENCE_READ_ONLY, 1);

	psa_set_key_id(&a, 42);
	cr_assert_eq(psa_get_key_id(&a), 42);
	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_PERSISTENT);

	/* A non-volatile lifetime stays as it is. */
	psa_set_key_lifetime(&a, se);
	psa_set_key_id(&a, 43);
	cr_assert_eq(psa_get_key_lifetime(&a), se);
	cr_assert_eq(psa_get_key_id(&a), 43);

	/* Back to volatile: the id goes, volatile keys get theirs at creation. */
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_VOLATILE);
	cr_assert_eq(psa_get_key_id(&a), PSA_KEY_ID_NULL);
	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_VOLATILE);

	psa_set_key_id(&a, 44);
	psa_reset_key_attributes(&a);
	cr_assert_eq(psa_get_key_id(&a), PSA_KEY_ID_NULL);
	cr_assert_eq(psa_get_key_lifetime(&a), PSA_KEY_LIFETIME_VOLATILE);
}

static int op_is_zero(const struct tessera_psa_op_s *op)
{
	return op->handle == 0 && op->state == 0 && op->provider == 0 && op->flags == 0 &&
	       op->generation == 0 && op->alg == 0 && op->ad_remaining == 0 &&
	       op->text_remaining == 0 && op->capacity_hint == 0;
}

Test(psa_headers, operation_initializers_are_inactive)
{
	psa_hash_operation_t h = PSA_HASH_OPERATION_INIT;
	psa_mac_operation_t m = PSA_MAC_OPERATION_INIT;
	psa_cipher_operation_t c = PSA_CIPHER_OPERATION_INIT;
	psa_aead_operation_t a = PSA_AEAD_OPERATION_INIT;
	psa_key_derivation_operation_t k = PSA_KEY_DERIVATION_OPERATION_INIT;

	cr_assert(op_is_zero(&h.op) && op_is_zero(&m.op) && op_is_zero(&c.op) &&
	          op_is_zero(&a.op) && op_is_zero(&k.op));
	memset(&h, 0xa5, sizeof(h));
	memset(&m, 0xa5, sizeof(m));
	memset(&c, 0xa5, sizeof(c));
	memset(&a, 0xa5, sizeof(a));
	memset(&k, 0xa5, sizeof(k));
	h = psa_hash_operation_init();
	m = psa_mac_operation_init();
	c = psa_cipher_operation_init();
	a = psa_aead_operation_init();
	k = psa_key_derivation_operation_init();
	cr_assert(op_is_zero(&h.op) && op_is_zero(&m.op) && op_is_zero(&c.op) &&
	          op_is_zero(&a.op) && op_is_zero(&k.op));
}
