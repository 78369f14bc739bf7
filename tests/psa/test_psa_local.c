/*
 * libtessera-psa without a daemon: the argument checks and the multipart
 * state machine that the library answers locally, before any request, and
 * the status mapping. The endpoint is a socket that does not exist, so a
 * request that should not have been sent shows up as
 * PSA_ERROR_COMMUNICATION_FAILURE instead of the local answer.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "client/psa/multipart.h"
#include "client/psa/psa-priv.h"
#include "psa/crypto.h"

static void setup(void)
{
	setenv("TESSERA_ENDPOINT", "unix:/nonexistent/tessera-psa-test.sock", 1);
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", "unit", 1);
	setenv("TESSERA_TIMEOUT_MS", "2000", 1);
}

TestSuite(psa_local, .init = setup, .timeout = 30);

Test(psa_local, status_mapping)
{
	cr_assert_eq(tpsa_status(0), PSA_SUCCESS);
	cr_assert_eq(tpsa_status(1133), PSA_ERROR_NOT_PERMITTED);
	cr_assert_eq(tpsa_status(1134), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(tpsa_status(1149), PSA_ERROR_INVALID_SIGNATURE);
	cr_assert_eq(tpsa_status(1137), PSA_ERROR_BAD_STATE);
	cr_assert_eq(tpsa_status(9), PSA_ERROR_NOT_SUPPORTED);  /* OpcodeDoesNotExist */
	cr_assert_eq(tpsa_status(22), PSA_ERROR_NOT_SUPPORTED); /* DeprecatedPrimitive */
	cr_assert_eq(tpsa_status(11), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(tpsa_status(19), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(tpsa_status(-1), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(tpsa_status(-3), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(tpsa_key_status(1140), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(tpsa_status(1140), PSA_ERROR_DOES_NOT_EXIST);
}

Test(psa_local, no_daemon_is_a_communication_failure)
{
	uint8_t b[4];

	cr_assert_eq(psa_crypto_init(), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_generate_random(b, sizeof(b)), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_generate_random(b, 0), PSA_SUCCESS);
}

Test(psa_local, key_ids_checked_locally)
{
	psa_key_attributes_t a = PSA_KEY_ATTRIBUTES_INIT;
	uint8_t out[32] = {0};
	size_t n = 9;
	psa_key_id_t k = 3;

	cr_assert_eq(psa_export_key(0, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(n, 0);
	cr_assert_eq(psa_export_key(PSA_KEY_ID_VENDOR_MIN, out, sizeof(out), &n),
	             PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_export_key(0x80000001u, out, sizeof(out), &n), PSA_ERROR_INVALID_HANDLE);
	cr_assert_eq(psa_destroy_key(0), PSA_SUCCESS);
	cr_assert_eq(psa_get_key_attributes(PSA_KEY_ID_VENDOR_MAX, &a), PSA_ERROR_INVALID_HANDLE);

	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	psa_set_key_id(&a, PSA_KEY_ID_VENDOR_MIN);
	cr_assert_eq(psa_import_key(&a, out, 16, &k), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(k, 0);
	psa_set_key_id(&a, 4);
	psa_set_key_lifetime(&a, PSA_KEY_LIFETIME_FROM_PERSISTENCE_AND_LOCATION(
	                                 PSA_KEY_PERSISTENCE_READ_ONLY, 0));
	cr_assert_eq(psa_import_key(&a, out, 16, &k), PSA_ERROR_NOT_SUPPORTED);
	psa_reset_key_attributes(&a);
	cr_assert_eq(psa_import_key(&a, out, 16, &k), PSA_ERROR_NOT_SUPPORTED); /* no type */
	psa_set_key_type(&a, PSA_KEY_TYPE_AES);
	cr_assert_eq(psa_generate_key(&a, &k), PSA_ERROR_INVALID_ARGUMENT); /* no size */
	psa_set_key_bits(&a, 128);
	psa_set_key_usage_flags(&a, 0xffffffffu);
	cr_assert_eq(psa_generate_key(&a, &k), PSA_ERROR_INVALID_ARGUMENT); /* undefined flags */
}

Test(psa_local, algorithm_checks_before_any_request)
{
	uint8_t buf[64] = {0};
	size_t n;

	cr_assert_eq(psa_hash_compute(PSA_ALG_ANY_HASH, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_hash_compute(PSA_ALG_HMAC(PSA_ALG_SHA_256), buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_hash_compute(PSA_ALG_SHA_256, buf, 1, buf, 31, &n),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_hash_compare(PSA_ALG_SHA_256, buf, 1, buf, 31),
	             PSA_ERROR_INVALID_SIGNATURE);
	/* A hash the library does not know has no length to check: it is not supported. */
	cr_assert_eq(psa_hash_compare(0x02ffffffu, buf, 1, buf, 32), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(psa_hash_compute(0x02ffffffu, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(psa_sign_hash(1, PSA_ALG_SHA_256, buf, 32, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(
	        psa_sign_hash(1, PSA_ALG_ECDSA(PSA_ALG_ANY_HASH), buf, 32, buf, sizeof(buf), &n),
	        PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_mac_compute(1, PSA_ALG_GCM, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(
	        psa_aead_encrypt(1, PSA_ALG_CTR, buf, 12, NULL, 0, buf, 1, buf, sizeof(buf), &n),
	        PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_aead_encrypt(1, PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 0), buf, 12,
	                              NULL, 0, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_cipher_encrypt(1, PSA_ALG_GCM, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_asymmetric_encrypt(1, PSA_ALG_RSA_PKCS1V15_CRYPT, buf, 1, buf, 1, buf,
	                                    sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_raw_key_agreement(PSA_ALG_HKDF(PSA_ALG_SHA_256), 1, buf, 65, buf,
	                                   sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT);
}

Test(psa_local, inactive_operations_are_bad_state)
{
	psa_hash_operation_t h = PSA_HASH_OPERATION_INIT;
	psa_mac_operation_t m = psa_mac_operation_init();
	psa_cipher_operation_t c = PSA_CIPHER_OPERATION_INIT;
	psa_aead_operation_t a = PSA_AEAD_OPERATION_INIT;
	psa_key_derivation_operation_t k = PSA_KEY_DERIVATION_OPERATION_INIT;
	uint8_t buf[64] = {0};
	size_t n, n2;

	cr_assert_eq(psa_hash_update(&h, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_finish(&h, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_verify(&h, buf, 32), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_hash_clone(&h, &h), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_mac_update(&m, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_mac_sign_finish(&m, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_mac_verify_finish(&m, buf, 32), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_set_iv(&c, buf, 16), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_generate_iv(&c, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_update(&c, buf, 1, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_finish(&c, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_set_lengths(&a, 1, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_set_nonce(&a, buf, 12), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_generate_nonce(&a, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_update_ad(&a, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_update(&a, buf, 1, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_finish(&a, buf, 16, &n, buf + 16, 16, &n2), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_verify(&a, buf, 16, &n, buf + 16, 16), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_key_derivation_output_bytes(&k, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_key_derivation_get_capacity(&k, &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_key_derivation_input_bytes(&k, PSA_KEY_DERIVATION_INPUT_INFO, buf, 1),
	             PSA_ERROR_BAD_STATE);
	/* Abort is always valid, and leaves the object inactive. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(psa_hash_abort(&h), PSA_SUCCESS);
		cr_assert_eq(psa_mac_abort(&m), PSA_SUCCESS);
		cr_assert_eq(psa_cipher_abort(&c), PSA_SUCCESS);
		cr_assert_eq(psa_aead_abort(&a), PSA_SUCCESS);
		cr_assert_eq(psa_key_derivation_abort(&k), PSA_SUCCESS);
	}
	cr_assert_eq(psa_hash_suspend(&h, buf, sizeof(buf), &n), PSA_ERROR_NOT_SUPPORTED);
	cr_assert_eq(psa_hash_resume(&h, buf, 8), PSA_ERROR_NOT_SUPPORTED);
}

/* An object as a setup on the current connection (generation 0: none yet) leaves it. */
static void fake_active(struct tessera_psa_op_s *op, psa_algorithm_t alg, psa_key_type_t type,
                        unsigned state)
{
	memset(op, 0, sizeof(*op));
	op->handle = 42;
	op->provider = 1;
	op->alg = alg;
	op->flags = type;
	op->state = (uint8_t)(TPSA_S_ACTIVE | state);
	op->generation = 0;
}

Test(psa_local, setup_on_an_active_object_is_bad_state)
{
	psa_hash_operation_t h;
	psa_cipher_operation_t c;
	psa_aead_operation_t a;
	psa_key_derivation_operation_t k;

	fake_active(&h.op, PSA_ALG_SHA_256, 0, 0);
	cr_assert_eq(psa_hash_setup(&h, PSA_ALG_SHA_256), PSA_ERROR_BAD_STATE);
	cr_assert_eq(h.op.handle, 42); /* untouched */
	fake_active(&c.op, PSA_ALG_CTR, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_cipher_encrypt_setup(&c, 1, PSA_ALG_CTR), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_aead_decrypt_setup(&a, 1, PSA_ALG_GCM), PSA_ERROR_BAD_STATE);
	fake_active(&k.op, PSA_ALG_HKDF(PSA_ALG_SHA_256), 0, 0);
	cr_assert_eq(psa_key_derivation_setup(&k, PSA_ALG_HKDF(PSA_ALG_SHA_256)),
	             PSA_ERROR_BAD_STATE);
	/* Setup arguments are checked on an inactive object, before any request. */
	memset(&h, 0, sizeof(h));
	cr_assert_eq(psa_hash_setup(&h, PSA_ALG_CTR), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_hash_setup(&h, PSA_ALG_ANY_HASH), PSA_ERROR_INVALID_ARGUMENT);
	memset(&k, 0, sizeof(k));
	cr_assert_eq(psa_key_derivation_setup(&k, PSA_ALG_SHA_256), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_key_derivation_setup(&k, PSA_ALG_ECDH), PSA_ERROR_INVALID_ARGUMENT);
}

Test(psa_local, cipher_data_before_the_iv_then_error_state)
{
	psa_cipher_operation_t c;
	uint8_t buf[64] = {0};
	size_t n;

	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_cipher_update(&c, buf, 16, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert(c.op.state & TPSA_S_ERROR);
	/* Everything but abort is now BAD_STATE, even what would have been valid. */
	cr_assert_eq(psa_cipher_set_iv(&c, buf, 16), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_finish(&c, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_cipher_abort(&c), PSA_SUCCESS);
	cr_assert_eq(c.op.state, 0);
	cr_assert_eq(c.op.handle, 0);

	/* A decrypt operation cannot generate its IV; a wrong IV length is refused. */
	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, TPSA_S_DECRYPT);
	cr_assert_eq(psa_cipher_generate_iv(&c, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_cipher_generate_iv(&c, buf, 15, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_cipher_set_iv(&c, buf, 12), PSA_ERROR_INVALID_ARGUMENT);
	/* The IV is set once. */
	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_cipher_set_iv(&c, buf, 16), PSA_ERROR_BAD_STATE);
	/* An update output buffer below what the update releases. */
	fake_active(&c.op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, TPSA_S_IV);
	c.op.capacity_hint = 10;
	cr_assert_eq(psa_cipher_update(&c, buf, 10, buf, 15, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert(c.op.state & TPSA_S_ERROR);
	/* Finish of CBC-PKCS7 encryption needs room for a block. */
	fake_active(&c.op, PSA_ALG_CBC_PKCS7, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_cipher_finish(&c, buf, 15, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	c.op.handle = 0;
	cr_assert_eq(psa_cipher_abort(&c), PSA_SUCCESS);
}

Test(psa_local, cipher_update_lengths)
{
	struct tessera_psa_op_s op;

	fake_active(&op, PSA_ALG_CBC_NO_PADDING, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(tpsa_cipher_update_length(&op, 10), 0);
	cr_assert_eq(tpsa_cipher_update_length(&op, 16), 16);
	op.capacity_hint = 10;
	cr_assert_eq(tpsa_cipher_update_length(&op, 30), 32);
	op.alg = PSA_ALG_CBC_PKCS7;
	op.state |= TPSA_S_DECRYPT;
	op.capacity_hint = 0;
	cr_assert_eq(tpsa_cipher_update_length(&op, 16), 0); /* held for the padding */
	cr_assert_eq(tpsa_cipher_update_length(&op, 17), 16);
	cr_assert_eq(tpsa_cipher_update_length(&op, 48), 32);
	op.alg = PSA_ALG_CTR;
	cr_assert_eq(tpsa_cipher_update_length(&op, 7), 7);
}

Test(psa_local, aead_order_and_lengths)
{
	psa_aead_operation_t a;
	uint8_t buf[64] = {0};
	size_t n, n2;

	/* No nonce yet. */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_aead_update_ad(&a, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_update_ad(&a, buf, 1), PSA_ERROR_BAD_STATE);
	cr_assert_eq(psa_aead_abort(&a), PSA_SUCCESS);
	/* CCM without set_lengths. */
	fake_active(&a.op, PSA_ALG_CCM, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_aead_update(&a, buf, 1, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8), PSA_KEY_TYPE_AES,
	            TPSA_S_IV);
	cr_assert_eq(psa_aead_update_ad(&a, buf, 1), PSA_ERROR_BAD_STATE);
	/* More additional data, or text, than declared. */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_LENGTHS);
	a.op.ad_remaining = 2;
	a.op.text_remaining = 4;
	cr_assert_eq(psa_aead_update_ad(&a, buf, 3), PSA_ERROR_INVALID_ARGUMENT);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_LENGTHS);
	a.op.ad_remaining = 2;
	cr_assert_eq(psa_aead_update(&a, buf, 1, buf, sizeof(buf), &n),
	             PSA_ERROR_INVALID_ARGUMENT); /* the AD is not complete */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_LENGTHS);
	a.op.text_remaining = 4;
	cr_assert_eq(psa_aead_update(&a, buf, 5, buf, sizeof(buf), &n), PSA_ERROR_INVALID_ARGUMENT);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_LENGTHS);
	a.op.text_remaining = 4;
	cr_assert_eq(psa_aead_finish(&a, buf, 16, &n, buf + 16, 16, &n2),
	             PSA_ERROR_INVALID_ARGUMENT);
	/* Lengths after data; AD after text; a second nonce. */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_AD);
	cr_assert_eq(psa_aead_set_lengths(&a, 1, 1), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_DATA);
	cr_assert_eq(psa_aead_update_ad(&a, buf, 1), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_aead_set_nonce(&a, buf, 12), PSA_ERROR_BAD_STATE);
	/* Finish belongs to encryption, verify to decryption. */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV | TPSA_S_DECRYPT);
	cr_assert_eq(psa_aead_finish(&a, buf, 16, &n, buf + 16, 16, &n2), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_aead_verify(&a, buf, 16, &n, buf + 16, 16), PSA_ERROR_BAD_STATE);
	/* Buffers: GCM releases every byte; the tag needs its length. */
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_aead_update(&a, buf, 20, buf, 19, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_IV);
	cr_assert_eq(psa_aead_finish(&a, buf, 16, &n, buf + 16, 15, &n2),
	             PSA_ERROR_BUFFER_TOO_SMALL);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, TPSA_S_DECRYPT);
	cr_assert_eq(psa_aead_generate_nonce(&a, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	fake_active(&a.op, PSA_ALG_GCM, PSA_KEY_TYPE_AES, 0);
	cr_assert_eq(psa_aead_generate_nonce(&a, buf, 11, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	a.op.handle = 0;
	cr_assert_eq(psa_aead_abort(&a), PSA_SUCCESS);
}

Test(psa_local, hash_and_mac_finish_checks)
{
	psa_hash_operation_t h;
	psa_mac_operation_t m;
	uint8_t buf[64] = {0};
	size_t n;

	fake_active(&h.op, PSA_ALG_SHA_256, 0, 0);
	cr_assert_eq(psa_hash_finish(&h, buf, 31, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	cr_assert_eq(psa_hash_update(&h, buf, 1), PSA_ERROR_BAD_STATE);
	h.op.handle = 0;
	cr_assert_eq(psa_hash_abort(&h), PSA_SUCCESS);
	fake_active(&m.op, PSA_ALG_HMAC(PSA_ALG_SHA_256), PSA_KEY_TYPE_HMAC, TPSA_S_DECRYPT);
	cr_assert_eq(psa_mac_sign_finish(&m, buf, sizeof(buf), &n), PSA_ERROR_BAD_STATE);
	fake_active(&m.op, PSA_ALG_HMAC(PSA_ALG_SHA_256), PSA_KEY_TYPE_HMAC, 0);
	cr_assert_eq(psa_mac_verify_finish(&m, buf, 32), PSA_ERROR_BAD_STATE);
	fake_active(&m.op, PSA_ALG_HMAC(PSA_ALG_SHA_256), PSA_KEY_TYPE_HMAC, 0);
	cr_assert_eq(psa_mac_sign_finish(&m, buf, 31, &n), PSA_ERROR_BUFFER_TOO_SMALL);
	m.op.handle = 0;
	cr_assert_eq(psa_mac_abort(&m), PSA_SUCCESS);
	/* A clone target must be inactive. */
	psa_hash_operation_t src, dst;

	fake_active(&src.op, PSA_ALG_SHA_256, 0, 0);
	fake_active(&dst.op, PSA_ALG_SHA_256, 0, 0);
	cr_assert_eq(psa_hash_clone(&src, &dst), PSA_ERROR_BAD_STATE);
}

Test(psa_local, an_operation_of_an_old_connection)
{
	psa_hash_operation_t h;
	uint8_t buf[4] = {0};

	/* Made on generation 5; the client is on 0 (never connected). */
	fake_active(&h.op, PSA_ALG_SHA_256, 0, 0);
	h.op.generation = 5;
	cr_assert_eq(psa_hash_update(&h, buf, 4), PSA_ERROR_COMMUNICATION_FAILURE);
	cr_assert_eq(psa_hash_update(&h, buf, 4), PSA_ERROR_BAD_STATE);
	/* Abort forgets it without a request (a request would name a stranger's handle). */
	cr_assert_eq(psa_hash_abort(&h), PSA_SUCCESS);
	cr_assert_eq(h.op.state, 0);
}
