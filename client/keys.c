/* libtessera: key and cryptographic operations. */
#include "client/tessera.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client-priv.h"
#include "wire/wire.h"

#include "can_do_crypto.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"

/* Every message an algorithm name can turn into, in one place. */
struct alg_pb {
	PsaAlgorithm__Algorithm alg;
	PsaAlgorithm__Algorithm__None none;
	PsaAlgorithm__Algorithm__AsymmetricSignature sig;
	PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPkcs1v15Sign pkcs1;
	PsaAlgorithm__Algorithm__AsymmetricSignature__RsaPss pss;
	PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh;
	PsaAlgorithm__Algorithm__AsymmetricEncryption enc;
	PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaOaep oaep;
	PsaAlgorithm__Algorithm__AsymmetricEncryption__RsaPkcs1v15Crypt pk1c;
	PsaAlgorithm__Algorithm__Aead aead;
	PsaAlgorithm__Algorithm__KeyAgreement ka;
	PsaAlgorithm__Algorithm__Mac mac;
	PsaAlgorithm__Algorithm__Mac__FullLength full;
	PsaAlgorithm__Algorithm__Mac__FullLength__Hmac hmac;
	PsaAlgorithm__Algorithm__Mac__FullLength__Cmac cmac;
};

/* "sha256" at the end of name, after prefix: the Hash value, or 0. */
static int hash_suffix(const char *name, const char *prefix)
{
	static const struct {
		const char *s;
		int v;
	} hashes[] = {
	        {"sha1", PSA_ALGORITHM__ALGORITHM__HASH__SHA_1},
	        {"sha224", PSA_ALGORITHM__ALGORITHM__HASH__SHA_224},
	        {"sha256", PSA_ALGORITHM__ALGORITHM__HASH__SHA_256},
	        {"sha384", PSA_ALGORITHM__ALGORITHM__HASH__SHA_384},
	        {"sha512", PSA_ALGORITHM__ALGORITHM__HASH__SHA_512},
	};
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(name + n, hashes[i].s) == 0)
			return hashes[i].v;
	return 0;
}

/* The Cipher enum value of a cipher name, or 0. */
static int cipher_value(const char *name)
{
	static const struct {
		const char *s;
		int v;
	} ciphers[] = {
	        {"chacha20", PSA_ALGORITHM__ALGORITHM__CIPHER__STREAM_CIPHER},
	        {"aes-ctr", PSA_ALGORITHM__ALGORITHM__CIPHER__CTR},
	        {"aes-cfb", PSA_ALGORITHM__ALGORITHM__CIPHER__CFB},
	        {"aes-ofb", PSA_ALGORITHM__ALGORITHM__CIPHER__OFB},
	        {"aes-ecb", PSA_ALGORITHM__ALGORITHM__CIPHER__ECB_NO_PADDING},
	        {"aes-cbc", PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_NO_PADDING},
	        {"aes-cbc-pkcs7", PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7},
	};

	for (size_t i = 0; i < sizeof(ciphers) / sizeof(ciphers[0]); i++)
		if (strcmp(name, ciphers[i].s) == 0)
			return ciphers[i].v;
	return 0;
}

/* Fill p->alg for an algorithm name (NULL = no algorithm). 0, or -1 unknown. */
static int build_alg(const char *name, struct alg_pb *p)
{
	int h;

	memset(p, 0, sizeof(*p));
	psa_algorithm__algorithm__init(&p->alg);
	psa_algorithm__algorithm__none__init(&p->none);
	psa_algorithm__algorithm__asymmetric_signature__init(&p->sig);
	psa_algorithm__algorithm__asymmetric_signature__ecdsa__init(&p->ecdsa);
	psa_algorithm__algorithm__asymmetric_signature__rsa_pkcs1v15_sign__init(&p->pkcs1);
	psa_algorithm__algorithm__asymmetric_signature__rsa_pss__init(&p->pss);
	psa_algorithm__algorithm__asymmetric_signature__sign_hash__init(&p->sh);
	psa_algorithm__algorithm__asymmetric_encryption__init(&p->enc);
	psa_algorithm__algorithm__asymmetric_encryption__rsa_oaep__init(&p->oaep);
	psa_algorithm__algorithm__asymmetric_encryption__rsa_pkcs1v15_crypt__init(&p->pk1c);
	psa_algorithm__algorithm__aead__init(&p->aead);
	psa_algorithm__algorithm__key_agreement__init(&p->ka);
	psa_algorithm__algorithm__mac__init(&p->mac);
	psa_algorithm__algorithm__mac__full_length__init(&p->full);
	psa_algorithm__algorithm__mac__full_length__hmac__init(&p->hmac);
	psa_algorithm__algorithm__mac__full_length__cmac__init(&p->cmac);

	if (name == NULL) {
		p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
		p->alg.none = &p->none;
		return 0;
	}
	p->sh.variant_case =
	        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
	p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
	p->alg.asymmetric_signature = &p->sig;
	if ((h = hash_suffix(name, "ecdsa-")) != 0) {
		p->sh.specific = h;
		p->ecdsa.hash_alg = &p->sh;
		p->sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
		p->sig.ecdsa = &p->ecdsa;
		return 0;
	}
	if ((h = hash_suffix(name, "rsa-pkcs1-")) != 0) {
		p->sh.specific = h;
		p->pkcs1.hash_alg = &p->sh;
		p->sig.variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN;
		p->sig.rsa_pkcs1v15_sign = &p->pkcs1;
		return 0;
	}
	if ((h = hash_suffix(name, "rsa-pss-")) != 0) {
		p->sh.specific = h;
		p->pss.hash_alg = &p->sh;
		p->sig.variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS;
		p->sig.rsa_pss = &p->pss;
		return 0;
	}
	p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION;
	p->alg.asymmetric_encryption = &p->enc;
	if ((h = hash_suffix(name, "rsa-oaep-")) != 0) {
		p->oaep.hash_alg = h;
		p->enc.variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_OAEP;
		p->enc.rsa_oaep = &p->oaep;
		return 0;
	}
	if (strcmp(name, "rsa-pkcs1") == 0) {
		p->enc.variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT;
		p->enc.rsa_pkcs1v15_crypt = &p->pk1c;
		return 0;
	}
	p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	p->alg.aead = &p->aead;
	p->aead.variant_case = PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG;
	if (strcmp(name, "aes-gcm") == 0 || strcmp(name, "aes-ccm") == 0 ||
	    strcmp(name, "chacha20-poly1305") == 0) {
		p->aead.aead_with_default_length_tag =
		        name[0] == 'c'
		                ? PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CHACHA20_POLY1305
		        : name[4] == 'g'
		                ? PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM
		                : PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM;
		return 0;
	}
	if (strcmp(name, "ecdh") == 0) {
		p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT;
		p->alg.key_agreement = &p->ka;
		p->ka.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW;
		p->ka.raw = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
		return 0;
	}
	p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	p->alg.mac = &p->mac;
	p->mac.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH;
	p->mac.full_length = &p->full;
	if ((h = hash_suffix(name, "hmac-")) != 0) {
		p->hmac.hash_alg = h;
		p->full.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC;
		p->full.hmac = &p->hmac;
		return 0;
	}
	if (strcmp(name, "cmac") == 0) {
		p->full.variant_case = PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC;
		p->full.cmac = &p->cmac;
		return 0;
	}
	if (cipher_value(name) != 0) {
		p->alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
		p->alg.cipher = cipher_value(name);
		return 0;
	}
	return -1;
}

struct attrs_pb {
	PsaKeyAttributes__KeyAttributes a;
	PsaKeyAttributes__KeyType t;
	PsaKeyAttributes__KeyType__EccKeyPair ecc;
	PsaKeyAttributes__KeyType__EccPublicKey eccp;
	PsaKeyAttributes__KeyType__Aes empty; /* every other variant is an empty message */
	PsaKeyAttributes__KeyPolicy pol;
	PsaKeyAttributes__UsageFlags u;
	struct alg_pb alg;
};

static int build_attrs(const struct tessera_key_spec *s, bool public_key, struct attrs_pb *p)
{
	static const struct {
		const char *name;
		int pair, pub, family;
	} types[] = {
	        {"rsa", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY, 0},
	        {"ecc", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1},
	        {"secp256k1", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1},
	        {"brainpool", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__BRAINPOOL_P_R1},
	        {"x25519", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY,
	         PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY},
	        {"aes", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES, 0, 0},
	        {"chacha20", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CHACHA20, 0, 0},
	        {"hmac", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, 0, 0},
	        {"raw", PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RAW_DATA, 0, 0},
	};
	int found = -1;

	if (s == NULL || s->type == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s->type, types[i].name) == 0)
			found = (int)i;
	if (found < 0 || (public_key && types[found].pub == 0) || build_alg(s->alg, &p->alg) < 0)
		return -1;
	psa_key_attributes__key_attributes__init(&p->a);
	psa_key_attributes__key_type__init(&p->t);
	psa_key_attributes__key_type__ecc_key_pair__init(&p->ecc);
	psa_key_attributes__key_type__ecc_public_key__init(&p->eccp);
	psa_key_attributes__key_type__aes__init(&p->empty);
	psa_key_attributes__key_policy__init(&p->pol);
	psa_key_attributes__usage_flags__init(&p->u);
	p->t.variant_case = public_key ? types[found].pub : types[found].pair;
	p->ecc.curve_family = types[found].family;
	p->eccp.curve_family = types[found].family;
	if (types[found].family != 0 && public_key)
		p->t.ecc_public_key = &p->eccp;
	else if (types[found].family != 0)
		p->t.ecc_key_pair = &p->ecc;
	else
		p->t.aes = &p->empty; /* the other variants are all empty messages */
	p->u.export = (s->usage & TESSERA_USAGE_EXPORT) != 0;
	p->u.encrypt = (s->usage & TESSERA_USAGE_ENCRYPT) != 0;
	p->u.decrypt = (s->usage & TESSERA_USAGE_DECRYPT) != 0;
	p->u.sign_message = (s->usage & TESSERA_USAGE_SIGN_MESSAGE) != 0;
	p->u.verify_message = (s->usage & TESSERA_USAGE_VERIFY_MESSAGE) != 0;
	p->u.sign_hash = (s->usage & TESSERA_USAGE_SIGN_HASH) != 0;
	p->u.verify_hash = (s->usage & TESSERA_USAGE_VERIFY_HASH) != 0;
	p->u.derive = (s->usage & TESSERA_USAGE_DERIVE) != 0;
	p->pol.key_usage_flags = &p->u;
	p->pol.key_algorithm = &p->alg.alg;
	p->a.key_type = &p->t;
	p->a.key_bits = s->bits;
	p->a.key_policy = &p->pol;
	return 0;
}

int tessera_default_provider(struct tessera_client *c, uint8_t *ret_provider)
{
	struct tessera_provider_info *p;
	size_t n;
	int rc = tessera_list_providers(c, &p, &n);

	if (rc != TESSERA_OK)
		return rc;
	*ret_provider = n > 0 ? (uint8_t)p[0].id : 0;
	tessera_provider_info_free(p, n);
	return TESSERA_OK;
}

/* A result whose content is one bytes field numbered 1. */
static int call_bytes(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                      const ProtobufCMessage *op, uint8_t **ret, size_t *ret_len)
{
	PsaExportKey__Result *r = NULL;
	int rc = tessera_call(c, provider, opcode, op, &psa_export_key__result__descriptor,
	                      (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	*ret = malloc(r->data.len ? r->data.len : 1);
	if (*ret == NULL) {
		psa_export_key__result__free_unpacked(r, NULL);
		return TESSERA_ERR_NOMEM;
	}
	if (r->data.len > 0) /* an empty field has no data pointer */
		memcpy(*ret, r->data.data, r->data.len);
	*ret_len = r->data.len;
	psa_export_key__result__free_unpacked(r, NULL);
	return TESSERA_OK;
}

int tessera_generate_key(struct tessera_client *c, uint8_t provider, const char *name,
                         const struct tessera_key_spec *spec)
{
	PsaGenerateKey__Operation op = PSA_GENERATE_KEY__OPERATION__INIT;
	struct attrs_pb a;

	if (name == NULL || build_attrs(spec, false, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.attributes = &a.a;
	return tessera_call(c, provider, WIRE_OP_PSA_GENERATE_KEY, &op.base, NULL, NULL);
}

int tessera_import_key(struct tessera_client *c, uint8_t provider, const char *name,
                       const struct tessera_key_spec *spec, const uint8_t *data, size_t len)
{
	PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;
	struct attrs_pb a;
	bool public_key =
	        spec != NULL &&
	        (spec->usage & (TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_SIGN_MESSAGE |
	                        TESSERA_USAGE_DECRYPT | TESSERA_USAGE_DERIVE)) == 0 &&
	        spec->type != NULL &&
	        (strcmp(spec->type, "rsa") == 0 || strcmp(spec->type, "ecc") == 0 ||
	         strcmp(spec->type, "secp256k1") == 0 || strcmp(spec->type, "brainpool") == 0 ||
	         strcmp(spec->type, "x25519") == 0);

	/* A key only allowed to verify or encrypt is imported as a public key. */
	if (name == NULL || build_attrs(spec, public_key, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.attributes = &a.a;
	op.data.data = (uint8_t *)data;
	op.data.len = len;
	return tessera_call(c, provider, WIRE_OP_PSA_IMPORT_KEY, &op.base, NULL, NULL);
}

int tessera_destroy_key(struct tessera_client *c, uint8_t provider, const char *name)
{
	PsaDestroyKey__Operation op = PSA_DESTROY_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return tessera_call(c, provider, WIRE_OP_PSA_DESTROY_KEY, &op.base, NULL, NULL);
}

int tessera_export_public_key(struct tessera_client *c, uint8_t provider, const char *name,
                              uint8_t **ret, size_t *ret_len)
{
	PsaExportPublicKey__Operation op = PSA_EXPORT_PUBLIC_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return call_bytes(c, provider, WIRE_OP_PSA_EXPORT_PUBLIC_KEY, &op.base, ret, ret_len);
}

int tessera_export_key(struct tessera_client *c, uint8_t provider, const char *name, uint8_t **ret,
                       size_t *ret_len)
{
	PsaExportKey__Operation op = PSA_EXPORT_KEY__OPERATION__INIT;

	op.key_name = (char *)name;
	return call_bytes(c, provider, WIRE_OP_PSA_EXPORT_KEY, &op.base, ret, ret_len);
}

/* Signature algorithm names only. */
static int sig_alg(const char *name, struct alg_pb *a)
{
	if (name == NULL || build_alg(name, a) < 0 ||
	    a->alg.variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE)
		return -1;
	return 0;
}

int tessera_sign_message(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *msg, size_t len, uint8_t **ret_sig,
                         size_t *ret_len)
{
	PsaSignMessage__Operation op = PSA_SIGN_MESSAGE__OPERATION__INIT;
	struct alg_pb a;

	if (sig_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.sig;
	op.message = (ProtobufCBinaryData){len, (uint8_t *)msg};
	return call_bytes(c, provider, WIRE_OP_PSA_SIGN_MESSAGE, &op.base, ret_sig, ret_len);
}

int tessera_verify_message(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *msg, size_t len, const uint8_t *sig,
                           size_t sig_len)
{
	PsaVerifyMessage__Operation op = PSA_VERIFY_MESSAGE__OPERATION__INIT;
	struct alg_pb a;

	if (sig_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.sig;
	op.message = (ProtobufCBinaryData){len, (uint8_t *)msg};
	op.signature = (ProtobufCBinaryData){sig_len, (uint8_t *)sig};
	return tessera_call(c, provider, WIRE_OP_PSA_VERIFY_MESSAGE, &op.base, NULL, NULL);
}

int tessera_sign_hash(struct tessera_client *c, uint8_t provider, const char *name, const char *alg,
                      const uint8_t *hash, size_t len, uint8_t **ret_sig, size_t *ret_len)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	struct alg_pb a;

	if (sig_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.sig;
	op.hash = (ProtobufCBinaryData){len, (uint8_t *)hash};
	return call_bytes(c, provider, WIRE_OP_PSA_SIGN_HASH, &op.base, ret_sig, ret_len);
}

int tessera_verify_hash(struct tessera_client *c, uint8_t provider, const char *name,
                        const char *alg, const uint8_t *hash, size_t len, const uint8_t *sig,
                        size_t sig_len)
{
	PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
	struct alg_pb a;

	if (sig_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.sig;
	op.hash = (ProtobufCBinaryData){len, (uint8_t *)hash};
	op.signature = (ProtobufCBinaryData){sig_len, (uint8_t *)sig};
	return tessera_call(c, provider, WIRE_OP_PSA_VERIFY_HASH, &op.base, NULL, NULL);
}

static int asym(struct tessera_client *c, uint8_t provider, const char *name, const char *alg,
                bool encrypt, const uint8_t *in, size_t len, const uint8_t *label, size_t label_len,
                uint8_t **ret, size_t *ret_len)
{
	struct alg_pb a;

	if (alg == NULL || build_alg(alg, &a) < 0 ||
	    a.alg.variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION)
		return TESSERA_ERR_ARG;
	if (encrypt) {
		PsaAsymmetricEncrypt__Operation op = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &a.enc;
		op.plaintext = (ProtobufCBinaryData){len, (uint8_t *)in};
		op.salt = (ProtobufCBinaryData){label_len, (uint8_t *)label};
		return call_bytes(c, provider, WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, &op.base, ret,
		                  ret_len);
	} else {
		PsaAsymmetricDecrypt__Operation op = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &a.enc;
		op.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)in};
		op.salt = (ProtobufCBinaryData){label_len, (uint8_t *)label};
		return call_bytes(c, provider, WIRE_OP_PSA_ASYMMETRIC_DECRYPT, &op.base, ret,
		                  ret_len);
	}
}

int tessera_asymmetric_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                               const char *alg, const uint8_t *in, size_t len, const uint8_t *label,
                               size_t label_len, uint8_t **ret, size_t *ret_len)
{
	return asym(c, provider, name, alg, true, in, len, label, label_len, ret, ret_len);
}

int tessera_asymmetric_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                               const char *alg, const uint8_t *in, size_t len, const uint8_t *label,
                               size_t label_len, uint8_t **ret, size_t *ret_len)
{
	return asym(c, provider, name, alg, false, in, len, label, label_len, ret, ret_len);
}

static int aead(struct tessera_client *c, uint8_t provider, const char *name, const char *alg,
                bool encrypt, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                size_t ad_len, const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	struct alg_pb a;

	if (alg == NULL || build_alg(alg, &a) < 0 ||
	    a.alg.variant_case != PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD)
		return TESSERA_ERR_ARG;
	if (encrypt) {
		PsaAeadEncrypt__Operation op = PSA_AEAD_ENCRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &a.aead;
		op.nonce = (ProtobufCBinaryData){nonce_len, (uint8_t *)nonce};
		op.additional_data = (ProtobufCBinaryData){ad_len, (uint8_t *)ad};
		op.plaintext = (ProtobufCBinaryData){len, (uint8_t *)in};
		return call_bytes(c, provider, WIRE_OP_PSA_AEAD_ENCRYPT, &op.base, ret, ret_len);
	} else {
		PsaAeadDecrypt__Operation op = PSA_AEAD_DECRYPT__OPERATION__INIT;

		op.key_name = (char *)name;
		op.alg = &a.aead;
		op.nonce = (ProtobufCBinaryData){nonce_len, (uint8_t *)nonce};
		op.additional_data = (ProtobufCBinaryData){ad_len, (uint8_t *)ad};
		op.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)in};
		return call_bytes(c, provider, WIRE_OP_PSA_AEAD_DECRYPT, &op.base, ret, ret_len);
	}
}

int tessera_aead_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                         size_t ad_len, const uint8_t *in, size_t len, uint8_t **ret,
                         size_t *ret_len)
{
	return aead(c, provider, name, alg, true, nonce, nonce_len, ad, ad_len, in, len, ret,
	            ret_len);
}

int tessera_aead_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                         size_t ad_len, const uint8_t *in, size_t len, uint8_t **ret,
                         size_t *ret_len)
{
	return aead(c, provider, name, alg, false, nonce, nonce_len, ad, ad_len, in, len, ret,
	            ret_len);
}

int tessera_generate_random(struct tessera_client *c, uint8_t provider, size_t len, uint8_t **ret)
{
	PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
	size_t got = 0;
	int rc;

	op.size = len;
	rc = call_bytes(c, provider, WIRE_OP_PSA_GENERATE_RANDOM, &op.base, ret, &got);
	if (rc == TESSERA_OK && got != len) {
		free(*ret);
		return TESSERA_ERR_PROTOCOL;
	}
	return rc;
}

/* ---- names from the protobuf form, for ListKeys ---- */

static const char *hash_name(int h)
{
	switch (h) {
	case PSA_ALGORITHM__ALGORITHM__HASH__SHA_224:
		return "sha224";
	case PSA_ALGORITHM__ALGORITHM__HASH__SHA_256:
		return "sha256";
	case PSA_ALGORITHM__ALGORITHM__HASH__SHA_384:
		return "sha384";
	case PSA_ALGORITHM__ALGORITHM__HASH__SHA_512:
		return "sha512";
	default:
		return NULL;
	}
}

static char *with_hash(const char *prefix, int h)
{
	const char *hn = hash_name(h);
	char buf[64];

	if (hn == NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "%s%s", prefix, hn);
	return strdup(buf);
}

/* The algorithm name of a policy, or NULL when it has none we name. */
char *tessera_alg_name(const PsaAlgorithm__Algorithm *a)
{
	const PsaAlgorithm__Algorithm__AsymmetricSignature *s;
	const PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash *sh = NULL;
	const char *prefix = NULL;

	if (a == NULL)
		return NULL;
	switch (a->variant_case) {
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE:
		s = a->asymmetric_signature;
		if (s == NULL)
			return NULL;
		if (s->variant_case ==
		            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA &&
		    s->ecdsa != NULL) {
			prefix = "ecdsa-";
			sh = s->ecdsa->hash_alg;
		} else if (
		        s->variant_case ==
		                PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PKCS1V15_SIGN &&
		        s->rsa_pkcs1v15_sign != NULL) {
			prefix = "rsa-pkcs1-";
			sh = s->rsa_pkcs1v15_sign->hash_alg;
		} else if (
		        s->variant_case ==
		                PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_RSA_PSS &&
		        s->rsa_pss != NULL) {
			prefix = "rsa-pss-";
			sh = s->rsa_pss->hash_alg;
		}
		if (prefix == NULL || sh == NULL ||
		    sh->variant_case !=
		            PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC)
			return NULL;
		return with_hash(prefix, (int)sh->specific);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_ENCRYPTION:
		if (a->asymmetric_encryption == NULL)
			return NULL;
		if (a->asymmetric_encryption->variant_case ==
		    PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_ENCRYPTION__VARIANT_RSA_PKCS1V15_CRYPT)
			return strdup("rsa-pkcs1");
		return a->asymmetric_encryption->rsa_oaep == NULL
		               ? NULL
		               : with_hash("rsa-oaep-",
		                           (int)a->asymmetric_encryption->rsa_oaep->hash_alg);
	case PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD:
		if (a->aead == NULL ||
		    a->aead->variant_case !=
		            PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG)
			return NULL;
		switch (a->aead->aead_with_default_length_tag) {
		case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM:
			return strdup("aes-gcm");
		case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CCM:
			return strdup("aes-ccm");
		case PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__CHACHA20_POLY1305:
			return strdup("chacha20-poly1305");
		default:
			return NULL;
		}
	case PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_AGREEMENT:
		return a->key_agreement != NULL &&
		                       a->key_agreement->variant_case ==
		                               PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW &&
		                       a->key_agreement->raw ==
		                               PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH
		               ? strdup("ecdh")
		               : NULL;
	case PSA_ALGORITHM__ALGORITHM__VARIANT_MAC:
		if (a->mac == NULL || a->mac->full_length == NULL ||
		    a->mac->variant_case != PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH)
			return NULL;
		if (a->mac->full_length->variant_case ==
		    PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_CMAC)
			return strdup("cmac");
		return a->mac->full_length->hmac == NULL
		               ? NULL
		               : with_hash("hmac-", (int)a->mac->full_length->hmac->hash_alg);
	default:
		return NULL;
	}
}

/* The type name of a key type. */
const char *tessera_type_name(const PsaKeyAttributes__KeyType *t)
{
	if (t == NULL)
		return "other";
	switch (t->variant_case) {
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_KEY_PAIR:
		return "rsa";
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RSA_PUBLIC_KEY:
		return "rsa-public";
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR:
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY: {
		bool pub = t->variant_case == PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_PUBLIC_KEY;
		int fam = pub ? (t->ecc_public_key ? (int)t->ecc_public_key->curve_family : 0)
		              : (t->ecc_key_pair ? (int)t->ecc_key_pair->curve_family : 0);

		switch (fam) {
		case PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1:
			return pub ? "ecc-public" : "ecc";
		case PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_K1:
			return pub ? "secp256k1-public" : "secp256k1";
		case PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__BRAINPOOL_P_R1:
			return pub ? "brainpool-public" : "brainpool";
		case PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__MONTGOMERY:
			return pub ? "x25519-public" : "x25519";
		default:
			return "other";
		}
	}
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES:
		return "aes";
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_CHACHA20:
		return "chacha20";
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC:
		return "hmac";
	case PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_RAW_DATA:
		return "raw";
	default:
		return "other";
	}
}

/* ---- MAC, cipher, agreement, hashing, capability ---- */

static int mac_alg(const char *name, struct alg_pb *a)
{
	return name != NULL && build_alg(name, a) == 0 &&
	                       a->alg.variant_case == PSA_ALGORITHM__ALGORITHM__VARIANT_MAC
	               ? 0
	               : -1;
}

int tessera_mac_compute(struct tessera_client *c, uint8_t provider, const char *name,
                        const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                        size_t *ret_len)
{
	PsaMacCompute__Operation op = PSA_MAC_COMPUTE__OPERATION__INIT;
	struct alg_pb a;

	if (mac_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.mac;
	op.input = (ProtobufCBinaryData){len, (uint8_t *)in};
	return call_bytes(c, provider, WIRE_OP_PSA_MAC_COMPUTE, &op.base, ret, ret_len);
}

int tessera_mac_verify(struct tessera_client *c, uint8_t provider, const char *name,
                       const char *alg, const uint8_t *in, size_t len, const uint8_t *mac,
                       size_t mac_len)
{
	PsaMacVerify__Operation op = PSA_MAC_VERIFY__OPERATION__INIT;
	struct alg_pb a;

	if (mac_alg(alg, &a) < 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = &a.mac;
	op.input = (ProtobufCBinaryData){len, (uint8_t *)in};
	op.mac = (ProtobufCBinaryData){mac_len, (uint8_t *)mac};
	return tessera_call(c, provider, WIRE_OP_PSA_MAC_VERIFY, &op.base, NULL, NULL);
}

int tessera_cipher_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                           size_t *ret_len)
{
	PsaCipherEncrypt__Operation op = PSA_CIPHER_ENCRYPT__OPERATION__INIT;

	if (alg == NULL || cipher_value(alg) == 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = cipher_value(alg);
	op.plaintext = (ProtobufCBinaryData){len, (uint8_t *)in};
	return call_bytes(c, provider, WIRE_OP_PSA_CIPHER_ENCRYPT, &op.base, ret, ret_len);
}

int tessera_cipher_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                           size_t *ret_len)
{
	PsaCipherDecrypt__Operation op = PSA_CIPHER_DECRYPT__OPERATION__INIT;

	if (alg == NULL || cipher_value(alg) == 0)
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	op.alg = cipher_value(alg);
	op.ciphertext = (ProtobufCBinaryData){len, (uint8_t *)in};
	return call_bytes(c, provider, WIRE_OP_PSA_CIPHER_DECRYPT, &op.base, ret, ret_len);
}

int tessera_raw_key_agreement(struct tessera_client *c, uint8_t provider, const char *name,
                              const char *alg, const uint8_t *peer, size_t peer_len,
                              uint8_t **ret_secret, size_t *ret_len)
{
	PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;

	if (alg == NULL || strcmp(alg, "ecdh") != 0)
		return TESSERA_ERR_ARG;
	op.alg = PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__RAW__ECDH;
	op.private_key_name = (char *)name;
	op.peer_key = (ProtobufCBinaryData){peer_len, (uint8_t *)peer};
	return call_bytes(c, provider, WIRE_OP_PSA_RAW_KEY_AGREEMENT, &op.base, ret_secret,
	                  ret_len);
}

static int hash_value(const char *name)
{
	static const struct {
		const char *s;
		int v;
	} hashes[] = {
	        {"sha1", PSA_ALGORITHM__ALGORITHM__HASH__SHA_1},
	        {"sha224", PSA_ALGORITHM__ALGORITHM__HASH__SHA_224},
	        {"sha256", PSA_ALGORITHM__ALGORITHM__HASH__SHA_256},
	        {"sha384", PSA_ALGORITHM__ALGORITHM__HASH__SHA_384},
	        {"sha512", PSA_ALGORITHM__ALGORITHM__HASH__SHA_512},
	        {"sha3-224", PSA_ALGORITHM__ALGORITHM__HASH__SHA3_224},
	        {"sha3-256", PSA_ALGORITHM__ALGORITHM__HASH__SHA3_256},
	        {"sha3-384", PSA_ALGORITHM__ALGORITHM__HASH__SHA3_384},
	        {"sha3-512", PSA_ALGORITHM__ALGORITHM__HASH__SHA3_512},
	};

	for (size_t i = 0; name != NULL && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(name, hashes[i].s) == 0)
			return hashes[i].v;
	return 0;
}

int tessera_hash_compute(struct tessera_client *c, uint8_t provider, const char *alg,
                         const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;

	if (hash_value(alg) == 0)
		return TESSERA_ERR_ARG;
	op.alg = hash_value(alg);
	op.input = (ProtobufCBinaryData){len, (uint8_t *)in};
	return call_bytes(c, provider, WIRE_OP_PSA_HASH_COMPUTE, &op.base, ret, ret_len);
}

int tessera_hash_compare(struct tessera_client *c, uint8_t provider, const char *alg,
                         const uint8_t *in, size_t len, const uint8_t *hash, size_t hash_len)
{
	PsaHashCompare__Operation op = PSA_HASH_COMPARE__OPERATION__INIT;

	if (hash_value(alg) == 0)
		return TESSERA_ERR_ARG;
	op.alg = hash_value(alg);
	op.input = (ProtobufCBinaryData){len, (uint8_t *)in};
	op.hash = (ProtobufCBinaryData){hash_len, (uint8_t *)hash};
	return tessera_call(c, provider, WIRE_OP_PSA_HASH_COMPARE, &op.base, NULL, NULL);
}

int tessera_can_do_crypto(struct tessera_client *c, uint8_t provider, int check,
                          const struct tessera_key_spec *spec)
{
	CanDoCrypto__Operation op = CAN_DO_CRYPTO__OPERATION__INIT;
	struct attrs_pb a;

	if (check < 1 || check > 4 || build_attrs(spec, false, &a) < 0)
		return TESSERA_ERR_ARG;
	op.check_type = check;
	op.attributes = &a.a;
	return tessera_call(c, provider, WIRE_OP_CAN_DO_CRYPTO, &op.base, NULL, NULL);
}
