/*
 * The PSA key policy: every rule the core checks before a provider runs,
 * in one place and in Parsec's order (the Mbed TLS `..._with_policy`
 * look-ups are the model: the operation says which family of rules and
 * which usage flags apply, this file applies them).
 *
 *   usage flag      -> NotPermitted
 *   permitted alg   -> NotPermitted
 *   alg vs key type -> NotPermitted (psa-crypto's compatible_with_alg)
 *   hash length     -> InvalidArgument
 * plus the export flag, deprecated primitives at creation, the rule that
 * "any hash" is a policy, never an algorithm to run, and CanDoCrypto's
 * generic checks, answered as Parsec's crypto_capability.rs answers them
 * (NotSupported, never NotPermitted).
 */
#include "daemon/daemon-priv.h"

#include "wire/psa.h"

static bool is_ecdsa(const struct psa_alg *alg)
{
	return alg->kind == PSA_SIGN_ECDSA || alg->kind == PSA_SIGN_ECDSA_ANY ||
	       alg->kind == PSA_SIGN_DETERMINISTIC_ECDSA;
}

static bool is_block(uint8_t type)
{
	return type == PSA_KT_AES || type == PSA_KT_CAMELLIA;
}

static bool is_public(uint8_t type)
{
	return type == PSA_KT_RSA_PUBLIC || type == PSA_KT_ECC_PUBLIC || type == PSA_KT_DH_PUBLIC;
}

/* PSA's rule: equal, or the policy signs with any hash and the request
 * names one. */
static bool permits(const struct psa_alg *policy, const struct psa_alg *req)
{
	if (policy->cls != req->cls || policy->kind != req->kind)
		return false;
	if (policy->cls == PSA_AC_SIGN && policy->hash_any)
		return !req->hash_any;
	return policy->hash == req->hash && policy->hash_any == req->hash_any &&
	       policy->length == req->length && policy->kdf == req->kdf &&
	       policy->kdf_hash == req->kdf_hash;
}

/* Whether a policy's own algorithm can be used with its key type at all. */
static bool policy_fits_type(const struct psa_attrs *a)
{
	bool ecc = a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC;
	bool rsa = a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;

	switch (a->alg.cls) {
	case PSA_AC_NONE:
		return true;
	case PSA_AC_SIGN:
		return is_ecdsa(&a->alg) ? ecc && a->family != PSA_ECC_MONTGOMERY : rsa;
	case PSA_AC_ASYM_ENC:
		return rsa;
	case PSA_AC_AEAD:
		return a->alg.kind == PSA_AEAD_CHACHA20_POLY1305 ? a->type == PSA_KT_CHACHA20
		                                                 : is_block(a->type);
	case PSA_AC_CIPHER:
		return a->alg.kind == 1 /* stream */ ? a->type == PSA_KT_CHACHA20
		                                     : is_block(a->type);
	case PSA_AC_MAC:
		return a->alg.kind == PSA_MAC_HMAC ? a->type == PSA_KT_HMAC : is_block(a->type);
	case PSA_AC_KEY_AGREEMENT:
		return a->alg.kind == PSA_KA_ECDH ? a->type == PSA_KT_ECC_PAIR
		                                  : a->type == PSA_KT_DH_PAIR;
	case PSA_AC_HASH:
	case PSA_AC_KDF:
		return a->type == PSA_KT_DERIVE || a->type == PSA_KT_RAW_DATA ||
		       a->type == PSA_KT_HMAC;
	default:
		return false;
	}
}

/*
 * CanDoCrypto's checks common to every provider, as Parsec's
 * crypto_capability.rs makes them: Derive is not offered; a Use check needs
 * a policy algorithm, a usage flag that uses the key (sign or verify, hash
 * or message, encrypt or decrypt) and an algorithm that fits the key type;
 * Generate and Import make the same checks when the policy names an
 * algorithm. Every "no" is NotSupported. The provider's own can_do follows.
 */
static enum ts_err can_do(int check_type, const struct psa_attrs *a)
{
	const uint32_t uses = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT | PSA_USAGE_SIGN_MESSAGE |
	                      PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_SIGN_HASH |
	                      PSA_USAGE_VERIFY_HASH;

	if (check_type == 4 /* Derive */)
		return TS_E_PSA_NOT_SUPPORTED;
	if (check_type != 1 /* Use */ && a->alg.cls == PSA_AC_NONE)
		return TS_OK;
	if (a->alg.cls == PSA_AC_NONE || (a->usage & uses) == 0 || !policy_fits_type(a))
		return TS_E_PSA_NOT_SUPPORTED;
	return TS_OK;
}

static bool hash_deprecated(unsigned h)
{
	return h >= 1 && h <= 5 && h != 4; /* MD2, MD4, MD5, SHA-1 (not RIPEMD-160) */
}

/* Parsec's deprecated list: DES, ARC4, SECP_R2, SECT_R2, small curves, and
 * anything bound to MD2/MD4/MD5/SHA-1. */
static bool deprecated(const struct psa_attrs *a)
{
	if (a->type == PSA_KT_DES || a->type == PSA_KT_ARC4)
		return true;
	if (a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC) {
		if (a->family == PSA_ECC_SECP_R2 || a->family == PSA_ECC_SECT_R2)
			return true;
		if (a->family == PSA_ECC_BRAINPOOL_P_R1 && a->bits == 160)
			return true;
		if ((a->family == PSA_ECC_SECT_K1 || a->family == PSA_ECC_SECT_R1) &&
		    a->bits == 163)
			return true;
	}
	if (a->alg.cls == PSA_AC_HASH)
		return hash_deprecated(a->alg.kind);
	return hash_deprecated(a->alg.hash) || hash_deprecated(a->alg.kdf_hash);
}

/* Does the requested algorithm fit the key's type? An algorithm of another
 * family is NotPermitted (psa-crypto's compatible_with_alg, which Parsec
 * checks before the provider runs); the right family but a public key where
 * the private one is needed is InvalidArgument (what Mbed TLS answers). */
static enum ts_err fits(enum op_fit fit, const struct psa_attrs *a, const struct psa_alg *alg)
{
	bool rsa = a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;

	switch (fit) {
	case OPF_AEAD:
		return (alg->kind == PSA_AEAD_CHACHA20_POLY1305 ? a->type == PSA_KT_CHACHA20
		                                                : is_block(a->type))
		               ? TS_OK
		               : TS_E_PSA_NOT_PERMITTED;
	case OPF_CIPHER:
		return (alg->kind == 1 /* stream */ ? a->type == PSA_KT_CHACHA20
		                                    : is_block(a->type))
		               ? TS_OK
		               : TS_E_PSA_NOT_PERMITTED;
	case OPF_MAC:
		return (alg->kind == PSA_MAC_HMAC ? a->type == PSA_KT_HMAC : is_block(a->type))
		               ? TS_OK
		               : TS_E_PSA_NOT_PERMITTED;
	case OPF_ASYM_ENCRYPT:
		return rsa ? TS_OK : TS_E_PSA_NOT_PERMITTED;
	case OPF_ASYM_DECRYPT:
		return !rsa                         ? TS_E_PSA_NOT_PERMITTED
		       : a->type == PSA_KT_RSA_PAIR ? TS_OK
		                                    : TS_E_PSA_INVALID_ARGUMENT;
	case OPF_KEY_AGREEMENT:
		if (alg->kind == PSA_KA_ECDH)
			return a->type == PSA_KT_ECC_PAIR     ? TS_OK
			       : a->type == PSA_KT_ECC_PUBLIC ? TS_E_PSA_INVALID_ARGUMENT
			                                      : TS_E_PSA_NOT_PERMITTED;
		return a->type == PSA_KT_DH_PAIR     ? TS_OK
		       : a->type == PSA_KT_DH_PUBLIC ? TS_E_PSA_INVALID_ARGUMENT
		                                     : TS_E_PSA_NOT_PERMITTED;
	default:
		return TS_OK;
	}
}

static enum ts_err check_sign(const struct op_desc *op, const struct op_args *args,
                              const struct psa_attrs *a)
{
	const struct psa_alg *alg = &args->alg;
	bool verify = !op->signing;

	if (alg->hash_any)
		return TS_E_PSA_INVALID_ARGUMENT; /* "any hash" is a policy, not an algorithm */
	if (op->message && alg->hash == 0)
		return TS_E_PSA_INVALID_ARGUMENT; /* raw schemes sign no message */
	if ((a->usage & op->usage) == 0 || !permits(&a->alg, alg))
		return TS_E_PSA_NOT_PERMITTED;
	if (is_ecdsa(alg) ? !(a->type == PSA_KT_ECC_PAIR || a->type == PSA_KT_ECC_PUBLIC) ||
	                            a->family == PSA_ECC_MONTGOMERY
	                  : !(a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC))
		return TS_E_PSA_NOT_PERMITTED; /* another family of key */
	if (!verify && is_public(a->type))
		return TS_E_PSA_INVALID_ARGUMENT; /* signing needs the private key */
	if (!op->message && alg->hash != 0 && args->input_len != psa_hash_size(alg->hash))
		return TS_E_PSA_INVALID_ARGUMENT;
	return TS_OK;
}

enum ts_err policy_check(const struct op_desc *op, const struct op_args *args,
                         const struct psa_attrs *key, bool allow_deprecated)
{
	switch (op->policy) {
	case OPP_CREATE:
		return deprecated(key) && !allow_deprecated ? TS_E_DEPRECATED_PRIMITIVE : TS_OK;
	case OPP_SIGN:
		return check_sign(op, args, key);
	case OPP_USE:
		if ((key->usage & op->usage) == 0 || !permits(&key->alg, &args->alg))
			return TS_E_PSA_NOT_PERMITTED;
		return fits(op->fit, key, &args->alg);
	case OPP_EXPORT:
		/* Public keys may always be exported. */
		return (key->usage & PSA_USAGE_EXPORT) != 0 || is_public(key->type)
		               ? TS_OK
		               : TS_E_PSA_NOT_PERMITTED;
	case OPP_CAN_DO:
		return can_do(args->check_type, key);
	case OPP_COPY:
		return (key->usage & PSA_USAGE_COPY) != 0 ? TS_OK : TS_E_PSA_NOT_PERMITTED;
	default:
		return TS_OK;
	}
}
