/*
 * The PSA <-> protobuf mapping of libtessera-psa (client/psa/pbmap*.c) in
 * both directions: every value the protobuf can express round-trips, also
 * through the daemon's own decoder (psa_pbmap_wire.c); the rest is
 * NOT_SUPPORTED or INVALID_ARGUMENT as the specification and psa-arch-tests
 * expect; malformed replies are COMMUNICATION_FAILURE.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "psa/crypto.h"
#include "client/psa/pbmap.h"

/* psa_pbmap_wire.c: the daemon's decoders on packed bytes. */
int daemon_decodes_alg(const uint8_t *buf, size_t len);
int daemon_decodes_attrs(const uint8_t *buf, size_t len);

static const psa_algorithm_t all_hashes[] = {
        PSA_ALG_MD2,      PSA_ALG_MD4,         PSA_ALG_MD5,         PSA_ALG_RIPEMD160,
        PSA_ALG_SHA_1,    PSA_ALG_SHA_224,     PSA_ALG_SHA_256,     PSA_ALG_SHA_384,
        PSA_ALG_SHA_512,  PSA_ALG_SHA_512_224, PSA_ALG_SHA_512_256, PSA_ALG_SHA3_224,
        PSA_ALG_SHA3_256, PSA_ALG_SHA3_384,    PSA_ALG_SHA3_512,
};
#define N_HASHES (sizeof(all_hashes) / sizeof(all_hashes[0]))

/* Everything with a fixed encoding the protobuf can express. */
static const psa_algorithm_t fixed_algs[] = {
        PSA_ALG_NONE,
        PSA_ALG_CBC_MAC,
        PSA_ALG_CMAC,
        PSA_ALG_TRUNCATED_MAC(PSA_ALG_CMAC, 8),
        PSA_ALG_TRUNCATED_MAC(PSA_ALG_CBC_MAC, 4),
        PSA_ALG_STREAM_CIPHER,
        PSA_ALG_CTR,
        PSA_ALG_CFB,
        PSA_ALG_OFB,
        PSA_ALG_XTS,
        PSA_ALG_ECB_NO_PADDING,
        PSA_ALG_CBC_NO_PADDING,
        PSA_ALG_CBC_PKCS7,
        PSA_ALG_CCM,
        PSA_ALG_GCM,
        PSA_ALG_CHACHA20_POLY1305,
        PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 4),
        PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8),
        PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, 12),
        PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CHACHA20_POLY1305, 12),
        PSA_ALG_RSA_PKCS1V15_SIGN_RAW,
        PSA_ALG_ECDSA_ANY,
        PSA_ALG_RSA_PKCS1V15_SIGN(PSA_ALG_ANY_HASH),
        PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH),
        PSA_ALG_ECDSA(PSA_ALG_ANY_HASH),
        PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_ANY_HASH),
        PSA_ALG_RSA_PKCS1V15_CRYPT,
        PSA_ALG_ECDH,
        PSA_ALG_FFDH,
};

/* The hash-parameterized algorithms, built on hash h. */
static size_t algs_on_hash(psa_algorithm_t h, psa_algorithm_t *out)
{
	size_t n = 0;

	out[n++] = h;
	out[n++] = PSA_ALG_HMAC(h);
	out[n++] = PSA_ALG_TRUNCATED_MAC(PSA_ALG_HMAC(h), 10);
	out[n++] = PSA_ALG_RSA_PKCS1V15_SIGN(h);
	out[n++] = PSA_ALG_RSA_PSS(h);
	out[n++] = PSA_ALG_ECDSA(h);
	out[n++] = PSA_ALG_DETERMINISTIC_ECDSA(h);
	out[n++] = PSA_ALG_RSA_OAEP(h);
	out[n++] = PSA_ALG_HKDF(h);
	out[n++] = PSA_ALG_TLS12_PRF(h);
	out[n++] = PSA_ALG_TLS12_PSK_TO_MS(h);
	out[n++] = PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(h));
	out[n++] = PSA_ALG_KEY_AGREEMENT(PSA_ALG_FFDH, PSA_ALG_TLS12_PRF(h));
	out[n++] = PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_TLS12_PSK_TO_MS(h));
	return n;
}

/* alg -> Algorithm -> bytes -> (the daemon decodes them) -> Algorithm -> alg. */
static void alg_round_trip(psa_algorithm_t alg)
{
	struct pbarena arena = PBARENA_INIT;
	PsaAlgorithm__Algorithm *pb = NULL, *back;
	psa_algorithm_t got = 0xdeadbeef;
	uint8_t buf[128];
	psa_status_t status;
	size_t n;

	status = tpsa_alg_to_pb(alg, &pb, &arena);
	cr_assert_eq(status, PSA_SUCCESS, "to_pb(0x%08x) = %d", alg, status);
	n = protobuf_c_message_get_packed_size(&pb->base);
	cr_assert_leq(n, sizeof(buf));
	cr_assert_eq(protobuf_c_message_pack(&pb->base, buf), n);
	cr_assert(daemon_decodes_alg(buf, n), "the daemon rejects the encoding of 0x%08x", alg);
	back = psa_algorithm__algorithm__unpack(NULL, n, buf);
	cr_assert_not_null(back);
	status = tpsa_alg_from_pb(back, &got);
	psa_algorithm__algorithm__free_unpacked(back, NULL);
	tpsa_pbarena_free(&arena);
	cr_assert_eq(status, PSA_SUCCESS, "from_pb(0x%08x) = %d", alg, status);
	cr_assert_eq(got, alg, "0x%08x came back as 0x%08x", alg, got);
}

Test(psa_pbmap, every_expressible_algorithm_round_trips_through_the_daemons_decoder)
{
	psa_algorithm_t on_hash[32];

	for (size_t i = 0; i < sizeof(fixed_algs) / sizeof(fixed_algs[0]); i++)
		alg_round_trip(fixed_algs[i]);
	for (size_t i = 0; i < N_HASHES; i++) {
		size_t n = algs_on_hash(all_hashes[i], on_hash);

		for (size_t j = 0; j < n; j++)
			alg_round_trip(on_hash[j]);
	}
}

Test(psa_pbmap, ecdsa_sha256_has_parsecs_bytes)
{
	/* Algorithm{asymmetric_signature(6){ecdsa(4){hash_alg(1){specific(2) = SHA_256 (7)}}}} */
	static const uint8_t want[] = {0x32, 0x06, 0x22, 0x04, 0x0a, 0x02, 0x10, 0x07};
	struct pbarena arena = PBARENA_INIT;
	PsaAlgorithm__Algorithm *pb = NULL;
	uint8_t buf[32];
	size_t n;

	cr_assert_eq(tpsa_alg_to_pb(PSA_ALG_ECDSA(PSA_ALG_SHA_256), &pb, &arena), PSA_SUCCESS);
	n = protobuf_c_message_pack(&pb->base, buf);
	tpsa_pbarena_free(&arena);
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(buf, want, sizeof(want));
}

Test(psa_pbmap, enums_use_parsecs_numbers)
{
	PsaAlgorithm__Algorithm__Hash h;
	PsaAlgorithm__Algorithm__Cipher c;
	PsaAlgorithm__Algorithm__KeyAgreement__Raw r;

	cr_assert_eq(tpsa_hash_to_pb(PSA_ALG_SHA_224, &h), PSA_SUCCESS);
	cr_assert_eq(h, 6);
	cr_assert_eq(tpsa_hash_to_pb(PSA_ALG_SHA_256, &h), PSA_SUCCESS);
	cr_assert_eq(h, 7);
	cr_assert_eq(tpsa_hash_to_pb(PSA_ALG_SHA3_512, &h), PSA_SUCCESS);
	cr_assert_eq(h, 15);
	cr_assert_eq(tpsa_cipher_to_pb(PSA_ALG_CTR, &c), PSA_SUCCESS);
	cr_assert_eq(c, 2);
	cr_assert_eq(tpsa_cipher_to_pb(PSA_ALG_CBC_PKCS7, &c), PSA_SUCCESS);
	cr_assert_eq(c, 8);
	cr_assert_eq(tpsa_raw_ka_to_pb(PSA_ALG_ECDH, &r), PSA_SUCCESS);
	cr_assert_eq(r, 2);
	cr_assert_eq(tpsa_raw_ka_to_pb(PSA_ALG_FFDH, &r), PSA_SUCCESS);
	cr_assert_eq(r, 1);
}

Test(psa_pbmap, family_converters_round_trip)
{
	struct pbarena arena = PBARENA_INIT;
	psa_algorithm_t on_hash[32], got;
	PsaAlgorithm__Algorithm__Hash h;
	PsaAlgorithm__Algorithm__Mac *mac;
	PsaAlgorithm__Algorithm__AsymmetricSignature *sig;
	PsaAlgorithm__Algorithm__AsymmetricEncryption *enc;
	PsaAlgorithm__Algorithm__KeyDerivation *kdf;
	PsaAlgorithm__Algorithm__KeyAgreement *ka;
	PsaAlgorithm__Algorithm__Aead *aead;
	PsaAlgorithm__Algorithm__Cipher c;
	PsaAlgorithm__Algorithm__KeyAgreement__Raw r;

	for (size_t i = 0; i < N_HASHES; i++) {
		size_t n = algs_on_hash(all_hashes[i], on_hash);

		for (size_t j = 0; j < n; j++) {
			psa_algorithm_t alg = on_hash[j];

			got = 0;
			if (PSA_ALG_IS_HASH(alg)) {
				cr_assert_eq(tpsa_hash_to_pb(alg, &h), PSA_SUCCESS);
				cr_assert_eq(tpsa_hash_from_pb(h, &got), PSA_SUCCESS);
			} else if (PSA_ALG_IS_MAC(alg)) {
				cr_assert_eq(tpsa_mac_to_pb(alg, &mac, &arena), PSA_SUCCESS);
				cr_assert_eq(tpsa_mac_from_pb(mac, &got), PSA_SUCCESS);
			} else if (PSA_ALG_IS_SIGN(alg)) {
				cr_assert_eq(tpsa_sign_to_pb(alg, &sig, &arena), PSA_SUCCESS);
				cr_assert_eq(tpsa_sign_from_pb(sig, &got), PSA_SUCCESS);
			} else if (PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(alg)) {
				cr_assert_eq(tpsa_asym_enc_to_pb(alg, &enc, &arena), PSA_SUCCESS);
				cr_assert_eq(tpsa_asym_enc_from_pb(enc, &got), PSA_SUCCESS);
			} else if (PSA_ALG_IS_KEY_DERIVATION(alg)) {
				cr_assert_eq(tpsa_kdf_to_pb(alg, &kdf, &arena), PSA_SUCCESS);
				cr_assert_eq(tpsa_kdf_from_pb(kdf, &got), PSA_SUCCESS);
			} else {
				cr_assert_eq(tpsa_ka_to_pb(alg, &ka, &arena), PSA_SUCCESS);
				cr_assert_eq(tpsa_ka_from_pb(ka, &got), PSA_SUCCESS);
			}
			cr_assert_eq(got, alg, "0x%08x came back as 0x%08x", alg, got);
		}
	}
	for (size_t i = 0; i < sizeof(fixed_algs) / sizeof(fixed_algs[0]); i++) {
		psa_algorithm_t alg = fixed_algs[i];

		got = 0;
		if (PSA_ALG_IS_CIPHER(alg)) {
			cr_assert_eq(tpsa_cipher_to_pb(alg, &c), PSA_SUCCESS);
			cr_assert_eq(tpsa_cipher_from_pb(c, &got), PSA_SUCCESS);
		} else if (PSA_ALG_IS_AEAD(alg)) {
			cr_assert_eq(tpsa_aead_to_pb(alg, &aead, &arena), PSA_SUCCESS);
			cr_assert_eq(tpsa_aead_from_pb(aead, &got), PSA_SUCCESS);
		} else if (PSA_ALG_IS_RAW_KEY_AGREEMENT(alg) && alg != PSA_ALG_NONE) {
			cr_assert_eq(tpsa_raw_ka_to_pb(alg, &r), PSA_SUCCESS);
			cr_assert_eq(tpsa_raw_ka_from_pb(r, &got), PSA_SUCCESS);
		} else {
			continue;
		}
		cr_assert_eq(got, alg, "0x%08x came back as 0x%08x", alg, got);
	}
	tpsa_pbarena_free(&arena);
}

/* Valid PSA algorithms the protobuf has no way to say. */
static const psa_algorithm_t inexpressible_algs[] = {
        PSA_ALG_SM3,
        PSA_ALG_SHAKE256_512,
        PSA_ALG_ANY_HASH,
        PSA_ALG_HMAC(PSA_ALG_SM3),
        PSA_ALG_HMAC(PSA_ALG_ANY_HASH),
        PSA_ALG_AT_LEAST_THIS_LENGTH_MAC(PSA_ALG_HMAC(PSA_ALG_SHA_256), 16),
        PSA_ALG_AT_LEAST_THIS_LENGTH_MAC(PSA_ALG_CMAC, 8),
        PSA_ALG_HMAC(PSA_ALG_SHA_256) | 0x80000000u, /* a vendor bit */
        0x03c00300,                                  /* an unassigned block-cipher MAC */
        0x04c01300,                                  /* an unassigned cipher mode */
        PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_GCM, 12),
        PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_GCM, 0),
        0x05500300, /* an unassigned AEAD */
        PSA_ALG_RSA_PSS_ANY_SALT(PSA_ALG_SHA_256),
        PSA_ALG_PURE_EDDSA,
        PSA_ALG_ED25519PH,
        PSA_ALG_ED448PH,
        PSA_ALG_ECDSA(PSA_ALG_SM3),
        PSA_ALG_RSA_PSS(PSA_ALG_NONE),
        PSA_ALG_RSA_OAEP(PSA_ALG_ANY_HASH),
        PSA_ALG_HKDF(PSA_ALG_ANY_HASH),
        PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256),
        PSA_ALG_HKDF_EXPAND(PSA_ALG_SHA_256),
        PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256),
        PSA_ALG_PBKDF2_AES_CMAC_PRF_128,
        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF_EXTRACT(PSA_ALG_SHA_256)),
        PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256)),
        0x09030000, /* an unassigned key agreement */
        0x0a000001, /* an unassigned category */
        0x00000001,
};

Test(psa_pbmap, inexpressible_algorithms_are_not_supported)
{
	for (size_t i = 0; i < sizeof(inexpressible_algs) / sizeof(inexpressible_algs[0]); i++) {
		struct pbarena arena = PBARENA_INIT;
		PsaAlgorithm__Algorithm *pb = (PsaAlgorithm__Algorithm *)&arena;
		psa_status_t status = tpsa_alg_to_pb(inexpressible_algs[i], &pb, &arena);

		tpsa_pbarena_free(&arena);
		cr_expect_eq(status, PSA_ERROR_NOT_SUPPORTED, "0x%08x: %d", inexpressible_algs[i],
		             status);
		cr_expect_eq(pb, (PsaAlgorithm__Algorithm *)&arena, "*ret changed on failure");
	}
}

Test(psa_pbmap, algorithms_of_another_family_are_invalid_arguments)
{
	struct pbarena arena = PBARENA_INIT;
	PsaAlgorithm__Algorithm__Hash h;
	PsaAlgorithm__Algorithm__Cipher c;
	PsaAlgorithm__Algorithm__KeyAgreement__Raw r;
	PsaAlgorithm__Algorithm__Mac *mac;
	PsaAlgorithm__Algorithm__Aead *aead;
	PsaAlgorithm__Algorithm__AsymmetricSignature *sig;
	PsaAlgorithm__Algorithm__AsymmetricEncryption *enc;
	PsaAlgorithm__Algorithm__KeyDerivation *kdf;
	PsaAlgorithm__Algorithm__KeyAgreement *ka;
	PsaKeyAttributes__KeyType *kt;

	cr_assert_eq(tpsa_hash_to_pb(PSA_ALG_HMAC(PSA_ALG_SHA_256), &h),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_cipher_to_pb(PSA_ALG_CMAC, &c), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_mac_to_pb(PSA_ALG_GCM, &mac, &arena), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_aead_to_pb(PSA_ALG_CTR, &aead, &arena), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_sign_to_pb(PSA_ALG_SHA_256, &sig, &arena), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_asym_enc_to_pb(PSA_ALG_ECDSA_ANY, &enc, &arena),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_kdf_to_pb(PSA_ALG_ECDH, &kdf, &arena), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_ka_to_pb(PSA_ALG_HKDF(PSA_ALG_SHA_256), &ka, &arena),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(
	        tpsa_raw_ka_to_pb(
	                PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256)), &r),
	        PSA_ERROR_INVALID_ARGUMENT);
	{
		PsaAlgorithm__Algorithm *alg = NULL;

		cr_assert_eq(tpsa_kdf_setup_to_pb(PSA_ALG_ECDH, &alg, &arena),
		             PSA_ERROR_INVALID_ARGUMENT);
		cr_assert_null(alg);
	}
	(void)kt;
	tpsa_pbarena_free(&arena);
}

Test(psa_pbmap, malformed_messages_are_communication_failures)
{
	PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__Mac mac = PSA_ALGORITHM__ALGORITHM__MAC__INIT;
	PsaAlgorithm__Algorithm__Mac__Truncated trunc =
	        PSA_ALGORITHM__ALGORITHM__MAC__TRUNCATED__INIT;
	PsaAlgorithm__Algorithm__Mac__FullLength fl =
	        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__INIT;
	PsaAlgorithm__Algorithm__Aead aead = PSA_ALGORITHM__ALGORITHM__AEAD__INIT;
	PsaAlgorithm__Algorithm__Aead__AeadWithShortenedTag st =
	        PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_SHORTENED_TAG__INIT;
	PsaKeyAttributes__KeyAttributes ka = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType kt = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__EccKeyPair ecc =
	        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
	psa_algorithm_t got = 0x12345678;
	psa_key_type_t type = 0x1234;

	cr_assert_eq(tpsa_alg_from_pb(NULL, &got), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_ERROR_COMMUNICATION_FAILURE); /* unset */
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
	alg.hash = PSA_ALGORITHM__ALGORITHM__HASH__HASH_NONE;
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_ERROR_COMMUNICATION_FAILURE);
	alg.hash = 99;
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_ERROR_COMMUNICATION_FAILURE);
	alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	alg.mac = &mac;
	mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
	mac.full_length = NULL;
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_ERROR_COMMUNICATION_FAILURE);
	/* A truncation the PSA encoding's 6 bits cannot hold. */
	fl.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
	trunc.mac_alg = &fl;
	trunc.mac_length = 64;
	mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_TRUNCATED;
	mac.truncated = &trunc;
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_ERROR_NOT_SUPPORTED);
	trunc.mac_length = 8;
	cr_assert_eq(tpsa_alg_from_pb(&alg, &got), PSA_SUCCESS);
	cr_assert_eq(got, PSA_ALG_TRUNCATED_MAC(PSA_ALG_CMAC, 8));
	got = 0x12345678;
	aead.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_SHORTENED_TAG;
	aead.aead_with_shortened_tag = &st;
	st.aead_alg = PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM;
	st.tag_length = 0;
	cr_assert_eq(tpsa_aead_from_pb(&aead, &got), PSA_ERROR_NOT_SUPPORTED);
	st.aead_alg = 0;
	st.tag_length = 8;
	cr_assert_eq(tpsa_aead_from_pb(&aead, &got), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(got, 0x12345678, "*ret changed on failure");

	cr_assert_eq(tpsa_key_type_from_pb(&kt, &type), PSA_ERROR_COMMUNICATION_FAILURE);
	kt.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
	kt.ecc_key_pair = &ecc; /* curve family NONE */
	cr_assert_eq(tpsa_key_type_from_pb(&kt, &type), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(type, 0x1234);
	ka.key_type = &kt;
	ka.key_policy = NULL;
	cr_assert_eq(tpsa_attrs_from_pb(&ka, &(psa_key_attributes_t)PSA_KEY_ATTRIBUTES_INIT),
	             PSA_ERROR_COMMUNICATION_FAILURE);
}

static const psa_key_type_t expressible_types[] = {
        PSA_KEY_TYPE_RAW_DATA,
        PSA_KEY_TYPE_HMAC,
        PSA_KEY_TYPE_DERIVE,
        PSA_KEY_TYPE_AES,
        PSA_KEY_TYPE_DES,
        PSA_KEY_TYPE_CAMELLIA,
        PSA_KEY_TYPE_ARC4,
        PSA_KEY_TYPE_CHACHA20,
        PSA_KEY_TYPE_RSA_PUBLIC_KEY,
        PSA_KEY_TYPE_RSA_KEY_PAIR,
        PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919),
        PSA_KEY_TYPE_DH_PUBLIC_KEY(PSA_DH_FAMILY_RFC7919),
};

static const psa_ecc_family_t expressible_curves[] = {
        PSA_ECC_FAMILY_SECP_K1, PSA_ECC_FAMILY_SECP_R1,        PSA_ECC_FAMILY_SECP_R2,
        PSA_ECC_FAMILY_SECT_K1, PSA_ECC_FAMILY_SECT_R1,        PSA_ECC_FAMILY_SECT_R2,
        PSA_ECC_FAMILY_FRP,     PSA_ECC_FAMILY_BRAINPOOL_P_R1, PSA_ECC_FAMILY_MONTGOMERY,
};

static void type_round_trip(psa_key_type_t type)
{
	struct pbarena arena = PBARENA_INIT;
	PsaKeyAttributes__KeyType *pb;
	psa_key_type_t got = 0;

	cr_assert_eq(tpsa_key_type_to_pb(type, &pb, &arena), PSA_SUCCESS, "0x%04x", type);
	cr_assert_eq(tpsa_key_type_from_pb(pb, &got), PSA_SUCCESS, "0x%04x", type);
	tpsa_pbarena_free(&arena);
	cr_assert_eq(got, type, "0x%04x came back as 0x%04x", type, got);
}

Test(psa_pbmap, every_expressible_key_type_round_trips)
{
	for (size_t i = 0; i < sizeof(expressible_types) / sizeof(expressible_types[0]); i++)
		type_round_trip(expressible_types[i]);
	for (size_t i = 0; i < sizeof(expressible_curves) / sizeof(expressible_curves[0]); i++) {
		type_round_trip(PSA_KEY_TYPE_ECC_KEY_PAIR(expressible_curves[i]));
		type_round_trip(PSA_KEY_TYPE_ECC_PUBLIC_KEY(expressible_curves[i]));
	}
}

Test(psa_pbmap, curve_families_use_parsecs_numbers)
{
	static const struct {
		psa_ecc_family_t psa;
		int pb;
	} map[] = {
	        {PSA_ECC_FAMILY_SECP_K1, 1},        {PSA_ECC_FAMILY_SECP_R1, 2},
	        {PSA_ECC_FAMILY_SECP_R2, 3},        {PSA_ECC_FAMILY_SECT_K1, 4},
	        {PSA_ECC_FAMILY_SECT_R1, 5},        {PSA_ECC_FAMILY_SECT_R2, 6},
	        {PSA_ECC_FAMILY_BRAINPOOL_P_R1, 7}, {PSA_ECC_FAMILY_FRP, 8},
	        {PSA_ECC_FAMILY_MONTGOMERY, 9},
	};
	struct pbarena arena = PBARENA_INIT;
	PsaKeyAttributes__KeyType *pb;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		cr_assert_eq(
		        tpsa_key_type_to_pb(PSA_KEY_TYPE_ECC_PUBLIC_KEY(map[i].psa), &pb, &arena),
		        PSA_SUCCESS);
		cr_assert_eq(pb->variant_case,
		             PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY);
		cr_assert_eq((int)pb->ecc_public_key->curve_family, map[i].pb);
	}
	cr_assert_eq(
	        tpsa_key_type_to_pb(PSA_KEY_TYPE_DH_KEY_PAIR(PSA_DH_FAMILY_RFC7919), &pb, &arena),
	        PSA_SUCCESS);
	cr_assert_eq((int)pb->dh_key_pair->group_family, 0);
	tpsa_pbarena_free(&arena);
}

Test(psa_pbmap, inexpressible_key_types_are_not_supported)
{
	static const psa_key_type_t types[] = {
	        PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_TWISTED_EDWARDS),
	        PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_TWISTED_EDWARDS),
	        PSA_KEY_TYPE_ECC_KEY_PAIR(0x99),
	        PSA_KEY_TYPE_NONE,
	        PSA_KEY_TYPE_ARIA,
	        PSA_KEY_TYPE_SM4,
	        PSA_KEY_TYPE_PASSWORD,
	        PSA_KEY_TYPE_PASSWORD_HASH,
	        PSA_KEY_TYPE_PEPPER,
	        PSA_KEY_TYPE_DH_KEY_PAIR(0x05),
	        0x7002,
	        0x1234,
	};
	struct pbarena arena = PBARENA_INIT;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		PsaKeyAttributes__KeyType *pb = NULL;

		cr_expect_eq(tpsa_key_type_to_pb(types[i], &pb, &arena), PSA_ERROR_NOT_SUPPORTED,
		             "0x%04x", types[i]);
		cr_expect_null(pb);
	}
	tpsa_pbarena_free(&arena);
}

Test(psa_pbmap, usage_flags)
{
	const psa_key_usage_t all = PSA_KEY_USAGE_EXPORT | PSA_KEY_USAGE_COPY |
	                            PSA_KEY_USAGE_CACHE | PSA_KEY_USAGE_ENCRYPT |
	                            PSA_KEY_USAGE_DECRYPT | PSA_KEY_USAGE_SIGN_MESSAGE |
	                            PSA_KEY_USAGE_VERIFY_MESSAGE | PSA_KEY_USAGE_SIGN_HASH |
	                            PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_DERIVE;
	struct pbarena arena = PBARENA_INIT;
	PsaKeyAttributes__UsageFlags *pb;
	psa_key_usage_t got;

	/* Each flag on its own, then all of them. */
	for (psa_key_usage_t bit = 1; bit != 0 && bit <= all; bit <<= 1) {
		if ((all & bit) == 0 || bit == PSA_KEY_USAGE_SIGN_HASH ||
		    bit == PSA_KEY_USAGE_VERIFY_HASH)
			continue;
		cr_assert_eq(tpsa_usage_to_pb(bit, &pb, &arena), PSA_SUCCESS);
		cr_assert_eq(tpsa_usage_from_pb(pb, &got), PSA_SUCCESS);
		cr_assert_eq(got, bit, "0x%x came back as 0x%x", bit, got);
	}
	cr_assert_eq(tpsa_usage_to_pb(all, &pb, &arena), PSA_SUCCESS);
	cr_assert(pb->export && pb->copy && pb->cache && pb->encrypt && pb->decrypt &&
	          pb->sign_message && pb->verify_message && pb->sign_hash && pb->verify_hash &&
	          pb->derive);
	cr_assert_eq(tpsa_usage_from_pb(pb, &got), PSA_SUCCESS);
	cr_assert_eq(got, all);

	/* The specification: a hash permission includes the message one. */
	cr_assert_eq(tpsa_usage_to_pb(PSA_KEY_USAGE_SIGN_HASH, &pb, &arena), PSA_SUCCESS);
	cr_assert_eq(tpsa_usage_from_pb(pb, &got), PSA_SUCCESS);
	cr_assert_eq(got, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE);
	cr_assert_eq(tpsa_usage_to_pb(PSA_KEY_USAGE_VERIFY_HASH, &pb, &arena), PSA_SUCCESS);
	cr_assert_eq(tpsa_usage_from_pb(pb, &got), PSA_SUCCESS);
	cr_assert_eq(got, PSA_KEY_USAGE_VERIFY_HASH | PSA_KEY_USAGE_VERIFY_MESSAGE);
	/* ...and not the other way round. */
	cr_assert_eq(tpsa_usage_to_pb(PSA_KEY_USAGE_SIGN_MESSAGE, &pb, &arena), PSA_SUCCESS);
	cr_assert_not(pb->sign_hash);

	cr_assert_eq(tpsa_usage_to_pb(PSA_KEY_USAGE_VERIFY_DERIVATION, &pb, &arena),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(tpsa_usage_to_pb(PSA_KEY_USAGE_EXPORT | 0x10, &pb, &arena),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_usage_to_pb(0xffffffff, &pb, &arena), PSA_ERROR_INVALID_ARGUMENT);
	tpsa_pbarena_free(&arena);
}

Test(psa_pbmap, attributes_round_trip_through_the_daemons_decoder)
{
	struct pbarena arena = PBARENA_INIT;
	psa_key_attributes_t in = PSA_KEY_ATTRIBUTES_INIT, out = PSA_KEY_ATTRIBUTES_INIT;
	PsaKeyAttributes__KeyAttributes *pb = NULL, *back;
	uint8_t buf[256];
	size_t n;

	psa_set_key_id(&in, 7);
	psa_set_key_type(&in, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_BRAINPOOL_P_R1));
	psa_set_key_bits(&in, 384);
	psa_set_key_usage_flags(&in, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
	psa_set_key_algorithm(&in, PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_384));
	cr_assert_eq(tpsa_attrs_to_pb(&in, &pb, &arena), PSA_SUCCESS);
	cr_assert_eq(pb->key_bits, 384);
	n = protobuf_c_message_get_packed_size(&pb->base);
	cr_assert_leq(n, sizeof(buf));
	protobuf_c_message_pack(&pb->base, buf);
	tpsa_pbarena_free(&arena);
	cr_assert(daemon_decodes_attrs(buf, n));

	back = psa_key_attributes__key_attributes__unpack(NULL, n, buf);
	cr_assert_not_null(back);
	psa_set_key_id(&out, 99); /* lifetime and id are not on the wire: kept */
	cr_assert_eq(tpsa_attrs_from_pb(back, &out), PSA_SUCCESS);
	psa_key_attributes__key_attributes__free_unpacked(back, NULL);
	cr_assert_eq(psa_get_key_type(&out), psa_get_key_type(&in));
	cr_assert_eq(psa_get_key_bits(&out), 384);
	cr_assert_eq(psa_get_key_algorithm(&out), PSA_ALG_DETERMINISTIC_ECDSA(PSA_ALG_SHA_384));
	cr_assert_eq(psa_get_key_usage_flags(&out),
	             PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_EXPORT);
	cr_assert_eq(psa_get_key_id(&out), 99);
	cr_assert_eq(psa_get_key_lifetime(&out), PSA_KEY_LIFETIME_PERSISTENT);
}

Test(psa_pbmap, attributes_with_anything_inexpressible_are_not_supported)
{
	struct pbarena arena = PBARENA_INIT;
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	PsaKeyAttributes__KeyAttributes *pb = NULL;

	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, 128);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_algorithm(&a, PSA_ALG_GCM);
	cr_assert_eq(tpsa_attrs_to_pb(&a, &pb, &arena), PSA_SUCCESS);
	pb = NULL;
	psa_set_key_algorithm(&a, PSA_ALG_AEAD_WITH_AT_LEAST_THIS_LENGTH_TAG(PSA_ALG_GCM, 8));
	cr_assert_eq(tpsa_attrs_to_pb(&a, &pb, &arena), PSA_ERROR_NOT_SUPPORTED);
	psa_set_key_algorithm(&a, PSA_ALG_GCM);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_VERIFY_DERIVATION);
	cr_assert_eq(tpsa_attrs_to_pb(&a, &pb, &arena), PSA_ERROR_NOT_SUPPORTED);
	psa_set_key_usage_flags(&a, PSA_KEY_USAGE_ENCRYPT);
	psa_set_key_type(&a, PSA_KEY_TYPE_SM4);
	cr_assert_eq(tpsa_attrs_to_pb(&a, &pb, &arena), PSA_ERROR_NOT_SUPPORTED);
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_bits(&a, (size_t)UINT32_MAX + 1);
	if (sizeof(size_t) > 4)
		cr_assert_eq(tpsa_attrs_to_pb(&a, &pb, &arena), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_null(pb);
	tpsa_pbarena_free(&arena);
}

Test(psa_pbmap, arena_memory_is_zeroed_and_freed_at_once)
{
	struct pbarena arena = PBARENA_INIT;
	uint8_t *p = tpsa_pbarena_alloc(&arena, 64);
	uint8_t *q = tpsa_pbarena_alloc(&arena, 0);

	cr_assert_not_null(p);
	cr_assert_not_null(q);
	for (size_t i = 0; i < 64; i++)
		cr_assert_eq(p[i], 0);
	cr_assert_eq((uintptr_t)p % _Alignof(max_align_t), 0);
	cr_assert_null(tpsa_pbarena_alloc(&arena, SIZE_MAX));
	tpsa_pbarena_free(&arena);
	cr_assert_null(arena.head);
	tpsa_pbarena_free(&arena); /* again: nothing left */
	tpsa_pbarena_free(NULL);
}

/*
 * The statuses psa-arch-tests (the suite Trusted Services pins) expects for
 * values that are rejected before anything reaches the daemon.
 */
Test(psa_pbmap, rejections_match_what_psa_arch_tests_expect)
{
	struct pbarena arena = PBARENA_INIT;
	PsaAlgorithm__Algorithm *alg;
	PsaAlgorithm__Algorithm__Hash h;
	PsaAlgorithm__Algorithm__Mac *mac;
	PsaKeyAttributes__KeyAttributes *ka;
	psa_key_attributes_t attrs = PSA_KEY_ATTRIBUTES_INIT;

	/* c006, c011: psa_hash_compute/_setup */
	cr_assert_eq(tpsa_hash_to_pb(0x02ffffff, &h), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(tpsa_hash_to_pb(0xffffffff, &h), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_hash_to_pb(PSA_ALG_CTR, &h), PSA_ERROR_INVALID_ARGUMENT);
	/* c008: psa_key_derivation_setup */
	cr_assert_eq(tpsa_kdf_setup_to_pb(
	                     PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(PSA_ALG_SHA_256)),
	                     &alg, &arena),
	             PSA_SUCCESS);
	cr_assert_eq(tpsa_kdf_setup_to_pb(PSA_ALG_HKDF(PSA_ALG_SHA_256), &alg, &arena),
	             PSA_SUCCESS);
	cr_assert_eq(tpsa_kdf_setup_to_pb(PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, PSA_ALG_HKDF(0)),
	                                  &alg, &arena),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(
	        tpsa_kdf_setup_to_pb(PSA_ALG_KEY_AGREEMENT(PSA_ALG_ECDH, 0x02ffffff), &alg, &arena),
	        PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(tpsa_kdf_setup_to_pb(0xffffffff, &alg, &arena), PSA_ERROR_INVALID_ARGUMENT);
	/* c026: psa_mac_sign_setup */
	cr_assert_eq(tpsa_mac_to_pb(PSA_ALG_HMAC(0), &mac, &arena), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(tpsa_mac_to_pb(PSA_ALG_CBC_NO_PADDING, &mac, &arena),
	             PSA_ERROR_INVALID_ARGUMENT);
	/* c002, c016: psa_import_key/psa_generate_key with type 0, bad usage */
	psa_set_key_usage_flags(&attrs, PSA_KEY_USAGE_EXPORT);
	psa_set_key_algorithm(&attrs, PSA_ALG_CTR);
	cr_assert_eq(tpsa_attrs_to_pb(&attrs, &ka, &arena), PSA_ERROR_NOT_SUPPORTED);
	psa_set_key_type(&attrs, PSA_KEY_TYPE_AES);
	psa_set_key_usage_flags(&attrs, 0xffffffff);
	cr_assert_eq(tpsa_attrs_to_pb(&attrs, &ka, &arena), PSA_ERROR_INVALID_ARGUMENT);
	tpsa_pbarena_free(&arena);
}
