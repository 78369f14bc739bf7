/*
 * A PSA Crypto API program outside the tree, built by check-install.sh
 * against the installed <psa/crypto.h> and libtessera-psa with pkg-config's
 * flags (C99, pedantic), and run against a daemon by psa-runner (the
 * environment names the endpoint). It uses only the specification's API:
 * a persistent ECDSA key by id, a signature verified, the public key's
 * size from the size macro, a hash, random bytes, a destroyed key's id,
 * operation objects started as the specification allows.
 * Exit 0 when all hold; otherwise 1, naming the first that failed.
 */
#include <stdio.h>
#include <string.h>

#include <psa/crypto.h>

static int failed(const char *what, psa_status_t st)
{
	fprintf(stderr, "consumer-psa: %s (status %d)\n", what, (int)st);
	return 1;
}

int main(void)
{
	psa_key_attributes_t attrs = PSA_KEY_ATTRIBUTES_INIT;
	psa_algorithm_t alg = PSA_ALG_ECDSA(PSA_ALG_SHA_256);
	psa_key_type_t type = PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1);
	const uint8_t msg[] = "installed";
	uint8_t sig[PSA_SIGN_OUTPUT_SIZE(PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256,
	                                 PSA_ALG_ECDSA(PSA_ALG_SHA_256))];
	uint8_t pub[PSA_EXPORT_PUBLIC_KEY_OUTPUT_SIZE(
	        PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1), 256)];
	uint8_t hash[PSA_HASH_LENGTH(PSA_ALG_SHA_256)], rnd[32];
	size_t sig_len, pub_len, hash_len;
	psa_key_id_t key = 0;
	psa_status_t st;

	/* The specification's three ways to start an operation object (this must
	 * compile with -Wall -Wextra -pedantic -Werror). */
	psa_cipher_operation_t ops[] = {
	        psa_cipher_operation_init(), PSA_CIPHER_OPERATION_INIT, {0}};
	psa_hash_operation_t hop = {0};
	size_t i;

	if ((st = psa_crypto_init()) != PSA_SUCCESS)
		return failed("psa_crypto_init", st);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((st = psa_cipher_abort(&ops[i])) != PSA_SUCCESS)
			return failed("psa_cipher_abort of an inactive object", st);
	if ((st = psa_hash_update(&hop, msg, 1)) != PSA_ERROR_BAD_STATE)
		return failed("psa_hash_update of an inactive object", st);
	psa_set_key_id(&attrs, 4242);
	psa_set_key_type(&attrs, type);
	psa_set_key_bits(&attrs, 256);
	psa_set_key_usage_flags(&attrs, PSA_KEY_USAGE_SIGN_MESSAGE | PSA_KEY_USAGE_VERIFY_MESSAGE);
	psa_set_key_algorithm(&attrs, alg);
	if ((st = psa_generate_key(&attrs, &key)) != PSA_SUCCESS || key != 4242)
		return failed("psa_generate_key", st);
	if ((st = psa_sign_message(key, alg, msg, sizeof(msg), sig, sizeof(sig), &sig_len)) !=
	    PSA_SUCCESS)
		return failed("psa_sign_message", st);
	if ((st = psa_verify_message(key, alg, msg, sizeof(msg), sig, sig_len)) != PSA_SUCCESS)
		return failed("psa_verify_message", st);
	sig[0] ^= 1;
	if ((st = psa_verify_message(key, alg, msg, sizeof(msg), sig, sig_len)) !=
	    PSA_ERROR_INVALID_SIGNATURE)
		return failed("psa_verify_message accepted a changed signature", st);
	if ((st = psa_export_public_key(key, pub, sizeof(pub), &pub_len)) != PSA_SUCCESS ||
	    pub_len != sizeof(pub))
		return failed("psa_export_public_key", st);
	if ((st = psa_hash_compute(PSA_ALG_SHA_256, msg, sizeof(msg), hash, sizeof(hash),
	                           &hash_len)) != PSA_SUCCESS ||
	    hash_len != sizeof(hash))
		return failed("psa_hash_compute", st);
	memset(rnd, 0, sizeof(rnd));
	if ((st = psa_generate_random(rnd, sizeof(rnd))) != PSA_SUCCESS)
		return failed("psa_generate_random", st);
	if ((st = psa_destroy_key(key)) != PSA_SUCCESS)
		return failed("psa_destroy_key", st);
	if ((st = psa_export_public_key(key, pub, sizeof(pub), &pub_len)) !=
	    PSA_ERROR_INVALID_HANDLE)
		return failed("a destroyed key's id is not PSA_ERROR_INVALID_HANDLE", st);
	printf("consumer-psa: ok\n");
	return 0;
}
