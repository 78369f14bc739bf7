/*
 * Compiled as strict C99 (-std=c99 -pedantic -Werror, see meson.build): a
 * program written against the specification must build with our headers
 * in any conforming compiler. Every macro of the headers is expanded here
 * at least once, in integer constant expressions where the specification
 * allows them as array sizes, so a macro that is not C99 breaks the build.
 * A wrong value breaks it too (CHECK: a negative array size).
 */
#include "psa/crypto.h"

#include "psa_headers_c99.h"

#define CHECK(name, cond) typedef char check_##name[(cond) ? 1 : -1]

/* A few numbers of the specification, checked at compile time. */
CHECK(sha256, PSA_ALG_SHA_256 == 0x02000009);
CHECK(p256_pair, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1) == 0x7112);
CHECK(ecdsa_sha256, PSA_ALG_ECDSA(PSA_ALG_SHA_256) == 0x06000609);
CHECK(sign_p256, PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
                                      PSA_ALG_ECDSA(PSA_ALG_SHA_256)) == 64);
CHECK(version, PSA_CRYPTO_API_VERSION_MAJOR == 1 && PSA_CRYPTO_API_VERSION_MINOR == 1);

#define P256  PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1)
#define P256P PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1)
#define DHK   PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919)
#define DHP   PSA_KEY_TYPE_DH_PUBLIC_KEY(PSA_DH_FAMILY_RFC7919)
#define GCM8  PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, 8)

/* Buffers sized by the size macros, as applications declare them. */
static uint8_t buf_hash[PSA_HASH_LENGTH(PSA_ALG_SHA_512) + PSA_HASH_MAX_SIZE +
                        PSA_HASH_BLOCK_LENGTH(PSA_ALG_SHA3_256) + PSA_HMAC_MAX_HASH_BLOCK_SIZE];
static uint8_t buf_suspend[PSA_HASH_SUSPEND_OUTPUT_SIZE(PSA_ALG_SHA_256) +
                           PSA_HASH_SUSPEND_OUTPUT_MAX_SIZE +
                           PSA_HASH_SUSPEND_ALGORITHM_FIELD_LENGTH +
                           PSA_HASH_SUSPEND_INPUT_LENGTH_FIELD_LENGTH(PSA_ALG_SHA_512) +
                           PSA_HASH_SUSPEND_HASH_STATE_FIELD_LENGTH(PSA_ALG_MD5)];
static uint8_t buf_mac[PSA_MAC_LENGTH(PSA_KEY_TYPE_HMAC, 256, PSA_ALG_HMAC(PSA_ALG_SHA_256)) +
                       PSA_MAC_MAX_SIZE + PSA_BLOCK_CIPHER_BLOCK_LENGTH(PSA_KEY_TYPE_AES) +
                       PSA_BLOCK_CIPHER_BLOCK_MAX_SIZE];
static uint8_t
        buf_cipher[PSA_CIPHER_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7, 20) +
                   PSA_CIPHER_ENCRYPT_OUTPUT_MAX_SIZE(20) +
                   PSA_CIPHER_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CTR, 20) +
                   PSA_CIPHER_DECRYPT_OUTPUT_MAX_SIZE(20) +
                   PSA_CIPHER_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_NO_PADDING, 20) +
                   PSA_CIPHER_UPDATE_OUTPUT_MAX_SIZE(20) +
                   PSA_CIPHER_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CBC_PKCS7) +
                   PSA_CIPHER_FINISH_OUTPUT_MAX_SIZE +
                   PSA_CIPHER_IV_LENGTH(PSA_KEY_TYPE_AES, PSA_ALG_CTR) + PSA_CIPHER_IV_MAX_SIZE];
static uint8_t buf_aead[PSA_AEAD_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM, 20) +
                        PSA_AEAD_ENCRYPT_OUTPUT_MAX_SIZE(20) +
                        PSA_AEAD_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_AES, GCM8, 40) +
                        PSA_AEAD_DECRYPT_OUTPUT_MAX_SIZE(40) +
                        PSA_AEAD_UPDATE_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_CCM, 20) +
                        PSA_AEAD_UPDATE_OUTPUT_MAX_SIZE(20) +
                        PSA_AEAD_FINISH_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM) +
                        PSA_AEAD_FINISH_OUTPUT_MAX_SIZE +
                        PSA_AEAD_VERIFY_OUTPUT_SIZE(PSA_KEY_TYPE_AES, PSA_ALG_GCM) +
                        PSA_AEAD_VERIFY_OUTPUT_MAX_SIZE +
                        PSA_AEAD_TAG_LENGTH(PSA_KEY_TYPE_AES, 128, GCM8) + PSA_AEAD_TAG_MAX_SIZE +
                        PSA_AEAD_NONCE_LENGTH(PSA_KEY_TYPE_CHACHA20, PSA_ALG_CHACHA20_POLY1305) +
                        PSA_AEAD_NONCE_MAX_SIZE];
static uint8_t buf_asym[PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                             PSA_ALG_RSA_PSS(PSA_ALG_SHA_256)) +
                        PSA_SIGNATURE_MAX_SIZE + PSA_ECDSA_SIGNATURE_SIZE(384) +
                        PSA_ASYMMETRIC_ENCRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_PUBLIC_KEY, 2048,
                                                           PSA_ALG_RSA_PKCS1V15_CRYPT) +
                        PSA_ASYMMETRIC_ENCRYPT_OUTPUT_MAX_SIZE +
                        PSA_ASYMMETRIC_DECRYPT_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048,
                                                           PSA_ALG_RSA_OAEP(PSA_ALG_SHA_256)) +
                        PSA_ASYMMETRIC_DECRYPT_OUTPUT_MAX_SIZE];
static uint8_t buf_export
        [PSA_EXPORT_KEY_OUTPUT_SIZE(PSA_KEY_TYPE_RSA_KEY_PAIR, 2048) +
         PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(P256, 256) + PSA_EXPORT_KEY_PAIR_MAX_SIZE +
         PSA_EXPORT_PUBLIC_KEY_MAX_SIZE + PSA_KEY_EXPORT_RSA_PUBLIC_KEY_MAX_SIZE(2048) +
         PSA_KEY_EXPORT_RSA_KEY_PAIR_MAX_SIZE(2048) + PSA_KEY_EXPORT_ECC_PUBLIC_KEY_MAX_SIZE(256) +
         PSA_KEY_EXPORT_ECC_KEY_PAIR_MAX_SIZE(256) + PSA_KEY_EXPORT_FFDH_KEY_PAIR_MAX_SIZE(2048) +
         PSA_KEY_EXPORT_FFDH_PUBLIC_KEY_MAX_SIZE(2048) +
         PSA_RAW_KEY_AGREEMENT_OUTPUT_SIZE(P256, 256) + PSA_RAW_KEY_AGREEMENT_OUTPUT_MAX_SIZE +
         PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE + PSA_BITS_TO_BYTES(PSA_VENDOR_RSA_MAX_KEY_BITS) +
         PSA_BYTES_TO_BITS(1) + PSA_ROUND_UP_TO_MULTIPLE(16, 1) +
         PSA_BITS_TO_BYTES(PSA_VENDOR_ECC_MAX_CURVE_BITS) +
         PSA_BITS_TO_BYTES(PSA_VENDOR_FFDH_MAX_KEY_BITS)];

/* Every value and predicate, in one table of constant expressions. */
static const uint32_t values[] = {
        PSA_KEY_TYPE_NONE,
        PSA_KEY_TYPE_RAW_DATA,
        PSA_KEY_TYPE_HMAC,
        PSA_KEY_TYPE_DERIVE,
        PSA_KEY_TYPE_PASSWORD,
        PSA_KEY_TYPE_PASSWORD_HASH,
        PSA_KEY_TYPE_PEPPER,
        PSA_KEY_TYPE_AES,
        PSA_KEY_TYPE_ARIA,
        PSA_KEY_TYPE_DES,
        PSA_KEY_TYPE_CAMELLIA,
        PSA_KEY_TYPE_SM4,
        PSA_KEY_TYPE_ARC4,
        PSA_KEY_TYPE_CHACHA20,
        PSA_KEY_TYPE_RSA_KEY_PAIR,
        PSA_KEY_TYPE_RSA_PUBLIC_KEY,
        PSA_ECC_FAMILY_SECP_K1,
        PSA_ECC_FAMILY_SECP_R2,
        PSA_ECC_FAMILY_SECT_K1,
        PSA_ECC_FAMILY_SECT_R1,
        PSA_ECC_FAMILY_SECT_R2,
        PSA_ECC_FAMILY_BRAINPOOL_P_R1,
        PSA_ECC_FAMILY_FRP,
        PSA_ECC_FAMILY_MONTGOMERY,
        PSA_ECC_FAMILY_TWISTED_EDWARDS,
        P256P,
        DHK,
        DHP,
        PSA_KEY_TYPE_KEY_PAIR_OF_PUBLIC_KEY(P256P),
        PSA_KEY_TYPE_PUBLIC_KEY_OF_KEY_PAIR(P256),
        PSA_KEY_TYPE_IS_UNSTRUCTURED(PSA_KEY_TYPE_AES),
        PSA_KEY_TYPE_IS_ASYMMETRIC(P256),
        PSA_KEY_TYPE_IS_PUBLIC_KEY(P256P),
        PSA_KEY_TYPE_IS_KEY_PAIR(P256),
        PSA_KEY_TYPE_IS_RSA(PSA_KEY_TYPE_RSA_KEY_PAIR),
        PSA_KEY_TYPE_IS_ECC(P256),
        PSA_KEY_TYPE_IS_ECC_KEY_PAIR(P256),
        PSA_KEY_TYPE_IS_ECC_PUBLIC_KEY(P256P),
        PSA_KEY_TYPE_IS_DH(DHK),
        PSA_KEY_TYPE_IS_DH_KEY_PAIR(DHK),
        PSA_KEY_TYPE_IS_DH_PUBLIC_KEY(DHP),
        PSA_KEY_TYPE_ECC_GET_FAMILY(P256),
        PSA_KEY_TYPE_DH_GET_FAMILY(DHK),
        PSA_ALG_NONE,
        PSA_ALG_IS_HASH(PSA_ALG_MD2),
        PSA_ALG_IS_MAC(PSA_ALG_CMAC),
        PSA_ALG_IS_CIPHER(PSA_ALG_CTR),
        PSA_ALG_IS_AEAD(PSA_ALG_CCM),
        PSA_ALG_IS_SIGN(PSA_ALG_ECDSA_ANY),
        PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(PSA_ALG_RSA_PKCS1V15_CRYPT),
        PSA_ALG_IS_KEY_DERIVATION(PSA_ALG_HKDF(PSA_ALG_SHA_256)),
        PSA_ALG_IS_KEY_AGREEMENT(PSA_ALG_ECDH),
        PSA_ALG_MD4,
        PSA_ALG_MD5,
        PSA_ALG_RIPEMD160,
        PSA_ALG_SHA_1,
        PSA_ALG_SHA_224,
        PSA_ALG_SHA_384,
        PSA_ALG_SHA_512_224,
        PSA_ALG_SHA_512_256,
        PSA_ALG_SHA3_224,
        PSA_ALG_SHA3_384,
        PSA_ALG_SHA3_512,
        PSA_ALG_SM3,
        PSA_ALG_SHAKE256_512,
        PSA_ALG_ANY_HASH,
        PSA_ALG_GET_HASH(PSA_ALG_HMAC(PSA_ALG_SHA_256)),
        PSA_ALG_CBC_MAC,
        PSA_ALG_IS_HMAC(PSA_ALG_HMAC(PSA_ALG_SHA_1)),
        PSA_ALG_IS_BLOCK_CIPHER_MAC(PSA_ALG_CMAC),
        PSA_ALG_TRUNCATED_MAC(PSA_ALG_CMAC, 8),
        PSA_ALG_FULL_LENGTH_MAC(PSA_ALG_CMAC),
        PSA_ALG_AT_LEAST_THIS_LENGTH_MAC(PSA_ALG_CMAC, 8),
        PSA_ALG_STREAM_CIPHER,
        PSA_ALG_CFB,
        PSA_ALG_OFB,
        PSA_ALG_XTS,
        PSA_ALG_ECB_NO_PADDING,
        PSA_ALG_IS_STREAM_CIPHER(PSA_ALG_CTR),
        PSA_ALG_IS_AEAD_ON_BLOCK_CIPHER(PSA_ALG_GCM),
        PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_GCM, 8),
        PSA_ALG_AEAD_WITH_DEFAULT_LENGTH_TAG(GCM8),
        PSA_ALG_TLS12_PRF(PSA_ALG_SHA_256),
        PSA_ALG_TLS12_PSK_TO_MS(PSA_ALG_SHA_256),
        PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256),
        PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_256),
        PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256),
        PSA_ALG_PBKDF2_AES_CMAC_PRF_128,
        PSA_ALG_IS_HKDF(0),
        PSA_ALG_IS_TLS12_PRF(0),
        PSA_ALG_IS_TLS12_PSK_TO_MS(0),
        PSA_ALG_IS_HKDF_EXTRACT(0),
        PSA_ALG_IS_HKDF_EXPAND(0),
        PSA_ALG_IS_PBKDF2_HMAC(0),
        PSA_ALG_IS_KEY_DERIVATION_STRETCHING(0),
        PSA_KEY_DERIVATION_INPUT_SECRET,
        PSA_KEY_DERIVATION_INPUT_PASSWORD,
        PSA_KEY_DERIVATION_INPUT_OTHER_SECRET,
        PSA_KEY_DERIVATION_INPUT_LABEL,
        PSA_KEY_DERIVATION_INPUT_SALT,
        PSA_KEY_DERIVATION_INPUT_INFO,
        PSA_KEY_DERIVATION_INPUT_SEED,
        PSA_KEY_DERIVATION_INPUT_COST,
        PSA_KEY_DERIVATION_INPUT_CONTEXT,
        PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_SHA_256),
        PSA_ALG_RSA_PKCS1V15_SIGN_RAW,
        PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256),
        PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_256),
        PSA_ALG_PURE_EDDSA,
        PSA_ALG_ED25519PH,
        PSA_ALG_ED448PH,
        PSA_ALG_IS_RSA_PKCS1V15_SIGN(0),
        PSA_ALG_IS_RSA_PSS(0),
        PSA_ALG_IS_RSA_PSS_ANY_SALT(0),
        PSA_ALG_IS_RSA_PSS_STANDARD_SALT(0),
        PSA_ALG_IS_ECDSA(0),
        PSA_ALG_IS_RANDOMIZED_ECDSA(0),
        PSA_ALG_IS_DETERMINISTIC_ECDSA(0),
        PSA_ALG_IS_HASH_EDDSA(0),
        PSA_ALG_IS_HASH_AND_SIGN(0),
        PSA_ALG_IS_SIGN_HASH(0),
        PSA_ALG_IS_SIGN_MESSAGE(0),
        PSA_ALG_SIGN_GET_HASH(PSA_ALG_ECDSA(PSA_ALG_SHA_256)),
        PSA_ALG_IS_RSA_OAEP(0),
        PSA_ALG_FFDH,
        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, 0),
        PSA_ALG_KEY_AGREEMENT_GET_BASE(0),
        PSA_ALG_KEY_AGREEMENT_GET_KDF(0),
        PSA_ALG_IS_RAW_KEY_AGREEMENT(0),
        PSA_ALG_IS_FFDH(0),
        PSA_ALG_IS_ECDH(0),
        PSA_ALG_IS_WILDCARD(0),
        PSA_KEY_LIFETIME_VOLATILE,
        PSA_KEY_LIFETIME_PERSISTENT,
        PSA_KEY_PERSISTENCE_VOLATILE,
        PSA_KEY_PERSISTENCE_DEFAULT,
        PSA_KEY_PERSISTENCE_READ_ONLY,
        PSA_KEY_LOCATION_LOCAL_STORAGE,
        PSA_KEY_LOCATION_PRIMARY_SECURE_ELEMENT,
        PSA_KEY_LIFETIME_GET_PERSISTENCE(0),
        PSA_KEY_LIFETIME_GET_LOCATION(0),
        PSA_KEY_LIFETIME_IS_VOLATILE(0),
        PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(1, 1),
        PSA_KEY_ID_NULL,
        PSA_KEY_ID_USER_MIN,
        PSA_KEY_ID_USER_MAX,
        PSA_KEY_ID_VENDOR_MIN,
        PSA_KEY_ID_VENDOR_MAX,
        PSA_KEY_USAGE_EXPORT,
        PSA_KEY_USAGE_COPY,
        PSA_KEY_USAGE_CACHE,
        PSA_KEY_USAGE_ENCRYPT,
        PSA_KEY_USAGE_DECRYPT,
        PSA_KEY_USAGE_SIGN_MESSAGE,
        PSA_KEY_USAGE_VERIFY_MESSAGE,
        PSA_KEY_USAGE_SIGN_HASH,
        PSA_KEY_USAGE_VERIFY_HASH,
        PSA_KEY_USAGE_DERIVE,
        PSA_KEY_USAGE_VERIFY_DERIVATION,
        (uint32_t)PSA_ERROR_INVALID_ARGUMENT,
};

/* The initializers and the inline accessors, as a C99 program uses them. */
size_t psa_headers_c99_probe(void)
{
	psa_key_attributes_t attrs = PSA_KEY_ATTRIBUTES_INIT;
	psa_hash_operation_t hash = PSA_HASH_OPERATION_INIT;
	psa_mac_operation_t mac = PSA_MAC_OPERATION_INIT;
	psa_cipher_operation_t cipher = PSA_CIPHER_OPERATION_INIT;
	psa_aead_operation_t aead = PSA_AEAD_OPERATION_INIT;
	psa_key_derivation_operation_t kdf = PSA_KEY_DERIVATION_OPERATION_INIT;
	size_t total = 0;
	size_t i;

	hash = psa_hash_operation_init();
	mac = psa_mac_operation_init();
	cipher = psa_cipher_operation_init();
	aead = psa_aead_operation_init();
	kdf = psa_key_derivation_operation_init();
	attrs = psa_key_attributes_init();
	psa_set_key_type(&attrs, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&attrs, 128);
	psa_set_key_usage_flags(&attrs, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&attrs, PSA_ALG_GCM);
	psa_set_key_lifetime(&attrs, PSA_KEY_LIFETIME_VOLATILE);
	psa_set_key_id(&attrs, PSA_KEY_ID_USER_MIN);
	total += psa_get_key_type(&attrs) + psa_get_key_bits(&attrs) +
	         psa_get_key_usage_flags(&attrs) + psa_get_key_algorithm(&attrs) +
	         psa_get_key_lifetime(&attrs) + psa_get_key_id(&attrs);
	psa_reset_key_attributes(&attrs);
	total += psa_get_key_id(&attrs);

	total += sizeof(buf_hash) + sizeof(buf_suspend) + sizeof(buf_mac) + sizeof(buf_cipher) +
	         sizeof(buf_aead) + sizeof(buf_asym) + sizeof(buf_export);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		total += values[i] != 0;
	total += hash.op.handle + mac.op.handle + cipher.op.handle + aead.op.handle + kdf.op.handle;
	return total + (PSA_KEY_DERIVATION_UNLIMITED_CAPACITY == (size_t)-1);
}
