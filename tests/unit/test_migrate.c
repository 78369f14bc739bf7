/*
 * tessera-migrate's conversion of PSA's numeric attributes (as Mbed TLS
 * stores them) into Tessera's: every algorithm class and key type family,
 * decoded back with the core's own protobuf reader.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "migrate/psamap.h"
#include "wire/psa.h"

static struct psa_attrs conv(uint16_t type, uint16_t bits, uint32_t usage, uint32_t alg)
{
	struct mig_psa_attrs m = {
	        .lifetime = 1, .type = type, .bits = bits, .usage = usage, .alg = alg};
	struct psa_attrs a;
	uint8_t *pb = NULL;
	size_t len = 0;
	char why[128] = "";

	cr_assert_eq(mig_psa_to_pb(&m, bits, &pb, &len, why, sizeof(why)), 0,
	             "type 0x%04x alg 0x%08x: %s", type, alg, why);
	cr_assert_eq(psa_attrs_unpack(pb, len, &a), TS_OK, "type 0x%04x alg 0x%08x decodes", type,
	             alg);
	free(pb);
	return a;
}

static void refused(uint16_t type, uint32_t alg, const char *needle)
{
	struct mig_psa_attrs m = {.lifetime = 1, .type = type, .bits = 256, .alg = alg};
	uint8_t *pb = NULL;
	size_t len = 0;
	char why[128] = "";

	cr_assert_eq(mig_psa_to_pb(&m, 256, &pb, &len, why, sizeof(why)), -1,
	             "type 0x%04x alg 0x%08x is refused", type, alg);
	cr_assert_not_null(strstr(why, needle), "'%s' in '%s'", needle, why);
	cr_assert_null(pb);
}

Test(migrate, key_types_and_families)
{
	struct psa_attrs a = conv(0x7112, 256, 0, 0);

	cr_assert_eq(a.type, PSA_KT_ECC_PAIR);
	cr_assert_eq(a.family, PSA_ECC_SECP_R1);
	cr_assert_eq(a.bits, 256);
	cr_assert_eq(a.alg.cls, PSA_AC_NONE);
	a = conv(0x4141, 255, 0, 0);
	cr_assert_eq(a.type, PSA_KT_ECC_PUBLIC);
	cr_assert_eq(a.family, PSA_ECC_MONTGOMERY);
	a = conv(0x7117, 256, 0, 0);
	cr_assert_eq(a.family, PSA_ECC_SECP_K1);
	a = conv(0x7130, 256, 0, 0);
	cr_assert_eq(a.family, PSA_ECC_BRAINPOOL_P_R1);
	a = conv(0x7127, 233, 0, 0);
	cr_assert_eq(a.family, PSA_ECC_SECT_K1);
	a = conv(0x7122, 233, 0, 0);
	cr_assert_eq(a.family, PSA_ECC_SECT_R1);
	cr_assert_eq(conv(0x7203, 2048, 0, 0).type, PSA_KT_DH_PAIR);
	cr_assert_eq(conv(0x4203, 2048, 0, 0).type, PSA_KT_DH_PUBLIC);
	cr_assert_eq(conv(0x7001, 2048, 0, 0).type, PSA_KT_RSA_PAIR);
	cr_assert_eq(conv(0x4001, 2048, 0, 0).type, PSA_KT_RSA_PUBLIC);
	cr_assert_eq(conv(0x2400, 128, 0, 0).type, PSA_KT_AES);
	cr_assert_eq(conv(0x2403, 128, 0, 0).type, PSA_KT_CAMELLIA);
	cr_assert_eq(conv(0x2004, 256, 0, 0).type, PSA_KT_CHACHA20);
	cr_assert_eq(conv(0x1100, 256, 0, 0).type, PSA_KT_HMAC);
	cr_assert_eq(conv(0x1200, 256, 0, 0).type, PSA_KT_DERIVE);
	cr_assert_eq(conv(0x1001, 64, 0, 0).type, PSA_KT_RAW_DATA);
	refused(0x7142, 0, "ECC family 0x42"); /* Twisted Edwards */
	refused(0x7205, 0, "DH family 0x05");
	refused(0x2406, 0, "key type 0x2406"); /* ARIA */
}

Test(migrate, usage_flags)
{
	struct psa_attrs a = conv(0x7112, 256, 0x3f07, 0);

	cr_assert_eq(a.usage, PSA_USAGE_EXPORT | PSA_USAGE_COPY | PSA_USAGE_CACHE |
	                              PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT |
	                              PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_VERIFY_MESSAGE |
	                              PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH);
	cr_assert_eq(conv(0x1200, 256, 0x4000, 0).usage, PSA_USAGE_DERIVE);
	cr_assert_eq(conv(0x1200, 256, 0x8000, 0).usage, 0, "VERIFY_DERIVATION has no form");
}

Test(migrate, signature_algorithms)
{
	struct psa_attrs a = conv(0x7112, 256, 0, 0x06000609);

	cr_assert_eq(a.alg.cls, PSA_AC_SIGN);
	cr_assert_eq(a.alg.kind, PSA_SIGN_ECDSA);
	cr_assert_eq(a.alg.hash, PSA_HASH_SHA_256);
	a = conv(0x7112, 256, 0, 0x060006ff);
	cr_assert_eq(a.alg.kind, PSA_SIGN_ECDSA);
	cr_assert(a.alg.hash_any);
	cr_assert_eq(conv(0x7112, 256, 0, 0x06000600).alg.kind, PSA_SIGN_ECDSA_ANY);
	a = conv(0x7112, 256, 0, 0x0600070a);
	cr_assert_eq(a.alg.kind, PSA_SIGN_DETERMINISTIC_ECDSA);
	cr_assert_eq(a.alg.hash, 8); /* SHA-384 */
	cr_assert_eq(conv(0x7001, 2048, 0, 0x06000200).alg.kind, PSA_SIGN_RSA_PKCS1V15_RAW);
	a = conv(0x7001, 2048, 0, 0x06000209);
	cr_assert_eq(a.alg.kind, PSA_SIGN_RSA_PKCS1V15);
	cr_assert_eq(a.alg.hash, PSA_HASH_SHA_256);
	a = conv(0x7001, 2048, 0, 0x0600030b);
	cr_assert_eq(a.alg.kind, PSA_SIGN_RSA_PSS);
	cr_assert_eq(a.alg.hash, 9); /* SHA-512 */
	a = conv(0x7001, 2048, 0, 0x06000305);
	cr_assert_eq(a.alg.hash, 5); /* SHA-1 */
	a = conv(0x7001, 2048, 0, 0x06000213);
	cr_assert_eq(a.alg.hash, 15);              /* SHA3-512 */
	refused(0x7001, 0x06001309, "0x06001309"); /* PSS with any salt */
	refused(0x7142, 0x06000800, "");           /* EdDSA (and its curve) */
	refused(0x7112, 0x06000800, "0x06000800");
	refused(0x7112, 0x06000614, "unknown hash");
}

Test(migrate, encryption_mac_cipher_aead)
{
	struct psa_attrs a = conv(0x7001, 2048, 0, 0x07000200);

	cr_assert_eq(a.alg.cls, PSA_AC_ASYM_ENC);
	cr_assert_eq(a.alg.kind, PSA_ENC_RSA_PKCS1V15);
	a = conv(0x7001, 2048, 0, 0x07000309);
	cr_assert_eq(a.alg.kind, PSA_ENC_RSA_OAEP);
	cr_assert_eq(a.alg.hash, PSA_HASH_SHA_256);
	a = conv(0x1100, 256, 0, 0x03800009);
	cr_assert_eq(a.alg.cls, PSA_AC_MAC);
	cr_assert_eq(a.alg.kind, PSA_MAC_HMAC);
	cr_assert_eq(a.alg.hash, PSA_HASH_SHA_256);
	cr_assert_eq(a.alg.length, 0);
	a = conv(0x1100, 256, 0, 0x03900009); /* truncated to 16 bytes */
	cr_assert_eq(a.alg.kind, PSA_MAC_HMAC);
	cr_assert_eq(a.alg.length, 16);
	cr_assert_eq(conv(0x2400, 128, 0, 0x03c00200).alg.kind, PSA_MAC_CMAC);
	cr_assert_eq(conv(0x2400, 128, 0, 0x03c00100).alg.kind, PSA_MAC_CBC_MAC);
	refused(0x1100, 0x03908009, "at-least-this-length");
	a = conv(0x2400, 128, 0, 0x04c01000);
	cr_assert_eq(a.alg.cls, PSA_AC_CIPHER);
	cr_assert_eq(a.alg.kind, 2);                                /* CTR */
	cr_assert_eq(conv(0x2400, 128, 0, 0x04404100).alg.kind, 8); /* CBC_PKCS7 */
	cr_assert_eq(conv(0x2400, 128, 0, 0x04404400).alg.kind, 6); /* ECB_NO_PADDING */
	a = conv(0x2400, 128, 0, 0x05500200);
	cr_assert_eq(a.alg.cls, PSA_AC_AEAD);
	cr_assert_eq(a.alg.kind, PSA_AEAD_GCM);
	cr_assert_eq(a.alg.length, 0, "the default tag");
	a = conv(0x2400, 128, 0, 0x05480100); /* CCM with an 8-byte tag */
	cr_assert_eq(a.alg.kind, PSA_AEAD_CCM);
	cr_assert_eq(a.alg.length, 8);
	cr_assert_eq(conv(0x2004, 256, 0, 0x05100500).alg.kind, PSA_AEAD_CHACHA20_POLY1305);
	refused(0x2400, 0x04c01300, "0x04c01300"); /* CCM* without tag */
}

Test(migrate, key_agreement_derivation_hash_none)
{
	struct psa_attrs a = conv(0x7112, 256, 0, 0x09020000);

	cr_assert_eq(a.alg.cls, PSA_AC_KEY_AGREEMENT);
	cr_assert_eq(a.alg.kind, PSA_KA_ECDH);
	cr_assert_eq(a.alg.kdf, 0);
	a = conv(0x7112, 256, 0, 0x09020109); /* ECDH then HKDF-SHA-256 */
	cr_assert_eq(a.alg.kind, PSA_KA_ECDH);
	cr_assert_eq(a.alg.kdf, 1);
	cr_assert_eq(a.alg.kdf_hash, PSA_HASH_SHA_256);
	cr_assert_eq(conv(0x7203, 2048, 0, 0x09010000).alg.kind, PSA_KA_FFDH);
	a = conv(0x1200, 256, 0, 0x0800020a); /* TLS 1.2 PRF SHA-384 */
	cr_assert_eq(a.alg.cls, PSA_AC_KDF);
	cr_assert_eq(a.alg.kind, 2);
	cr_assert_eq(a.alg.hash, 8);
	a = conv(0x1001, 64, 0, 0x02000009);
	cr_assert_eq(a.alg.cls, PSA_AC_HASH);
	cr_assert_eq(a.alg.kind, PSA_HASH_SHA_256);
	cr_assert_eq(conv(0x1001, 64, 0, 0).alg.cls, PSA_AC_NONE);
	refused(0x1200, 0x08800109, "0x08800109"); /* PBKDF2 */
	refused(0x1001, 0x80000001, "vendor");
	refused(0x1001, 0x02000015, "0x02000015"); /* SHAKE256-512 */
}
