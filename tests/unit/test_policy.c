/* The PSA policy rules (daemon/policy.c), one family at a time. */
#include <criterion/criterion.h>

#include "daemon/daemon-priv.h"
#include "wire/psa.h"

static struct psa_attrs ecc_key(uint32_t usage, uint8_t hash, bool hash_any)
{
	struct psa_attrs a = {
	        .type = PSA_KT_ECC_PAIR, .family = PSA_ECC_SECP_R1, .bits = 256, .usage = usage};

	a.alg = (struct psa_alg){
	        .cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash = hash, .hash_any = hash_any};
	return a;
}

static struct op_args sig_args(uint8_t hash, size_t len)
{
	struct op_args a = {.has_alg = true, .input_len = len};

	a.alg = (struct psa_alg){.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash = hash};
	return a;
}

static enum ts_err check(uint32_t opcode, const struct op_args *args, const struct psa_attrs *k)
{
	return policy_check(op_find(opcode), args, k, false);
}

Test(policy, signing_needs_the_flag_the_algorithm_the_type_and_the_length)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_SIGN_HASH, PSA_HASH_SHA_256, false);
	struct op_args a = sig_args(PSA_HASH_SHA_256, 32);

	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_OK);
	/* Verify needs its own flag. */
	cr_assert_eq(check(WIRE_OP_PSA_VERIFY_HASH, &a, &k), TS_E_PSA_NOT_PERMITTED);
	a.input_len = 20;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_INVALID_ARGUMENT);
	/* Messages: the hash flag admits them (PSA), any length. */
	a.input_len = 1000;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_MESSAGE, &a, &k), TS_OK);
	/* A public key verifies but does not sign; RSA keys do not do ECDSA. */
	k.type = PSA_KT_ECC_PUBLIC;
	k.usage |= PSA_USAGE_VERIFY_HASH;
	a.input_len = 32;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_INVALID_ARGUMENT,
	             "the right family, but no private key: what Mbed TLS answers");
	cr_assert_eq(check(WIRE_OP_PSA_VERIFY_HASH, &a, &k), TS_OK);
	k.type = PSA_KT_RSA_PAIR;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_NOT_PERMITTED,
	             "another family: NotPermitted, as Parsec's compatible_with_alg");
}

Test(policy, the_usage_flag_comes_before_the_algorithm)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_VERIFY_HASH, PSA_HASH_SHA_256, false);
	struct op_args a = sig_args(8 /* SHA-384 */, 31);

	/* Every rule fails; the first in Parsec's order decides. */
	k.type = PSA_KT_AES;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_NOT_PERMITTED);
	k.usage = PSA_USAGE_SIGN_HASH;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_NOT_PERMITTED);
	k.alg.hash = 8; /* now the algorithm is permitted: the key type decides */
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_NOT_PERMITTED);
	k.type = PSA_KT_ECC_PAIR; /* and then the length */
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_INVALID_ARGUMENT);
}

Test(policy, any_hash_is_a_policy_not_an_algorithm)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_SIGN_HASH, 0, true);
	struct op_args a = sig_args(PSA_HASH_SHA_256, 32);

	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_OK);
	a.alg.hash = 9;
	a.input_len = 64;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_OK);
	a.alg.hash = 0;
	a.alg.hash_any = true;
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_HASH, &a, &k), TS_E_PSA_INVALID_ARGUMENT);
	/* A raw scheme signs no message. */
	a = sig_args(0, 32);
	k = ecc_key(PSA_USAGE_SIGN_MESSAGE, 0, false);
	cr_assert_eq(check(WIRE_OP_PSA_SIGN_MESSAGE, &a, &k), TS_E_PSA_INVALID_ARGUMENT);
}

Test(policy, encryption_macs_and_agreement_fit_their_key_types)
{
	struct psa_attrs aes = {.type = PSA_KT_AES, .bits = 128, .usage = PSA_USAGE_ENCRYPT};
	struct op_args a = {.has_alg = true};

	aes.alg = (struct psa_alg){.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM};
	a.alg = aes.alg;
	cr_assert_eq(check(WIRE_OP_PSA_AEAD_ENCRYPT, &a, &aes), TS_OK);
	cr_assert_eq(check(WIRE_OP_PSA_AEAD_DECRYPT, &a, &aes), TS_E_PSA_NOT_PERMITTED);
	/* ChaCha20-Poly1305 on an AES key: permitted by nothing, and unfit. */
	aes.alg.kind = PSA_AEAD_CHACHA20_POLY1305;
	a.alg = aes.alg;
	cr_assert_eq(check(WIRE_OP_PSA_AEAD_ENCRYPT, &a, &aes), TS_E_PSA_NOT_PERMITTED);
	/* A MAC accepts the message or the hash flag. */
	aes.alg = (struct psa_alg){.cls = PSA_AC_MAC, .kind = PSA_MAC_CMAC};
	a.alg = aes.alg;
	aes.usage = PSA_USAGE_SIGN_HASH;
	cr_assert_eq(check(WIRE_OP_PSA_MAC_COMPUTE, &a, &aes), TS_OK);
	aes.usage = PSA_USAGE_SIGN_MESSAGE;
	cr_assert_eq(check(WIRE_OP_PSA_MAC_COMPUTE, &a, &aes), TS_OK);
	cr_assert_eq(check(WIRE_OP_PSA_MAC_VERIFY, &a, &aes), TS_E_PSA_NOT_PERMITTED);
	/* RSA decryption needs the private key. */
	{
		struct psa_attrs rsa = {.type = PSA_KT_RSA_PUBLIC,
		                        .usage = PSA_USAGE_DECRYPT | PSA_USAGE_ENCRYPT};

		rsa.alg = (struct psa_alg){.cls = PSA_AC_ASYM_ENC, .kind = PSA_ENC_RSA_PKCS1V15};
		a.alg = rsa.alg;
		cr_assert_eq(check(WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, &a, &rsa), TS_OK);
		cr_assert_eq(check(WIRE_OP_PSA_ASYMMETRIC_DECRYPT, &a, &rsa),
		             TS_E_PSA_INVALID_ARGUMENT);
	}
}

Test(policy, export_needs_the_flag_unless_the_key_is_public)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_SIGN_HASH, 7, false);
	struct op_args a = {0};

	cr_assert_eq(check(WIRE_OP_PSA_EXPORT_KEY, &a, &k), TS_E_PSA_NOT_PERMITTED);
	k.usage |= PSA_USAGE_EXPORT;
	cr_assert_eq(check(WIRE_OP_PSA_EXPORT_KEY, &a, &k), TS_OK);
	k.usage = 0;
	k.type = PSA_KT_ECC_PUBLIC;
	cr_assert_eq(check(WIRE_OP_PSA_EXPORT_KEY, &a, &k), TS_OK);
	/* Public export has no rule of its own. */
	k.type = PSA_KT_ECC_PAIR;
	cr_assert_eq(check(WIRE_OP_PSA_EXPORT_PUBLIC_KEY, &a, &k), TS_OK);
}

Test(policy, deprecated_primitives_are_refused_at_creation_unless_allowed)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_SIGN_HASH, 5 /* SHA-1 */, false);
	struct op_args a = {.has_attrs = true};

	a.attrs = k;
	cr_assert_eq(policy_check(op_find(WIRE_OP_PSA_GENERATE_KEY), &a, &k, false),
	             TS_E_DEPRECATED_PRIMITIVE);
	cr_assert_eq(policy_check(op_find(WIRE_OP_PSA_GENERATE_KEY), &a, &k, true), TS_OK);
	k.alg.hash = 7;
	k.type = PSA_KT_DES;
	cr_assert_eq(policy_check(op_find(WIRE_OP_PSA_GENERATE_KEY), &a, &k, false),
	             TS_E_DEPRECATED_PRIMITIVE);
	k.type = PSA_KT_ECC_PAIR;
	cr_assert_eq(policy_check(op_find(WIRE_OP_PSA_GENERATE_KEY), &a, &k, false), TS_OK);
	/* Import only logs them, as Parsec does. */
	k.alg.hash = 5;
	cr_assert_eq(policy_check(op_find(WIRE_OP_PSA_IMPORT_KEY), &a, &k, false), TS_OK);
}

Test(policy, can_do_crypto_answers_as_parsecs_crypto_capability)
{
	struct psa_attrs k = ecc_key(PSA_USAGE_SIGN_HASH, 7, false);
	struct op_args a = {.check_type = 1 /* Use */};

	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_OK);
	k.type = PSA_KT_AES;
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED,
	             "an algorithm that does not fit: NotSupported, never NotPermitted");
	a.check_type = 2; /* Generate: with a policy algorithm, the same checks */
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED);
	k.alg = (struct psa_alg){.cls = PSA_AC_NONE};
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_OK, "no algorithm: the key only");
	a.check_type = 1;
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED,
	             "a use check needs an algorithm");
	k = ecc_key(PSA_USAGE_EXPORT | PSA_USAGE_DERIVE, 7, false);
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED,
	             "and a usage flag that uses the key");
	k.usage = PSA_USAGE_VERIFY_MESSAGE;
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_OK);
	k.family = PSA_ECC_MONTGOMERY;
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED,
	             "ECDSA on a Montgomery curve");
	k.family = PSA_ECC_SECP_R1;
	a.check_type = 4;
	cr_assert_eq(check(WIRE_OP_CAN_DO_CRYPTO, &a, &k), TS_E_PSA_NOT_SUPPORTED, "Derive");
}

Test(policy, every_operation_the_daemon_serves_is_in_the_table)
{
	size_t n;
	const struct wire_opcode_info *t = wire_opcode_table(&n);
	unsigned found = 0;

	for (size_t i = 0; i < n; i++) {
		const struct op_desc *op = op_find(t[i].opcode);

		if (t[i].idp_only) {
			cr_assert_null(op, "%s is the idp's", t[i].name);
			continue;
		}
		cr_assert_not_null(op, "%s has no entry", t[i].name);
		cr_assert_eq(op->wire, &t[i]);
		cr_assert_not_null(op->run);
		cr_assert_not_null(op->contract);
		cr_assert_eq(op->served_by == NULL, t[i].cls == WIRE_CLASS_CORE, "%s", t[i].name);
		found++;
	}
	cr_assert_geq(found, 32);
}
