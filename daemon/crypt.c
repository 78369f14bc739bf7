/*
 * Encryption, MACs and key agreement with stored keys. As for signatures,
 * the core decodes, checks the contract and the identity, then the key
 * policy (usage, permitted algorithm, algorithm vs key type), and only then
 * calls the provider. MAC verification is a constant-time comparison here.
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "keystore/keystore.h"
#include "wire/psa.h"

#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"

struct crypt_entry {
	uint32_t opcode;
	const ProtobufCMessageDescriptor *desc;
};

static const struct crypt_entry crypt_ops[] = {
        {WIRE_OP_PSA_AEAD_ENCRYPT, &psa_aead_encrypt__operation__descriptor},
        {WIRE_OP_PSA_AEAD_DECRYPT, &psa_aead_decrypt__operation__descriptor},
        {WIRE_OP_PSA_CIPHER_ENCRYPT, &psa_cipher_encrypt__operation__descriptor},
        {WIRE_OP_PSA_CIPHER_DECRYPT, &psa_cipher_decrypt__operation__descriptor},
        {WIRE_OP_PSA_MAC_COMPUTE, &psa_mac_compute__operation__descriptor},
        {WIRE_OP_PSA_MAC_VERIFY, &psa_mac_verify__operation__descriptor},
        {WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, &psa_asymmetric_encrypt__operation__descriptor},
        {WIRE_OP_PSA_ASYMMETRIC_DECRYPT, &psa_asymmetric_decrypt__operation__descriptor},
        {WIRE_OP_PSA_RAW_KEY_AGREEMENT, &psa_raw_key_agreement__operation__descriptor},
};

bool crypt_op_known(uint32_t opcode)
{
	for (size_t i = 0; i < sizeof(crypt_ops) / sizeof(crypt_ops[0]); i++)
		if (crypt_ops[i].opcode == opcode)
			return true;
	return false;
}

/* One decoded request: the key name and algorithm every one of these has. */
struct req {
	const char *name;
	struct psa_alg alg;
};

/* Step 12: the contract. TS_OK or TS_E_INVALID_ENCODING. */
static enum ts_err decode(uint32_t opcode, const ProtobufCMessage *m, struct req *r)
{
	enum ts_err err;

	switch (opcode) {
	case WIRE_OP_PSA_AEAD_ENCRYPT:
		r->name = ((const PsaAeadEncrypt__Operation *)m)->key_name;
		err = psa_aead_alg_from_pb(((const PsaAeadEncrypt__Operation *)m)->alg, &r->alg);
		break;
	case WIRE_OP_PSA_AEAD_DECRYPT:
		r->name = ((const PsaAeadDecrypt__Operation *)m)->key_name;
		err = psa_aead_alg_from_pb(((const PsaAeadDecrypt__Operation *)m)->alg, &r->alg);
		break;
	case WIRE_OP_PSA_CIPHER_ENCRYPT:
		r->name = ((const PsaCipherEncrypt__Operation *)m)->key_name;
		err = psa_cipher_alg_from_enum((int)((const PsaCipherEncrypt__Operation *)m)->alg,
		                               &r->alg);
		break;
	case WIRE_OP_PSA_CIPHER_DECRYPT:
		r->name = ((const PsaCipherDecrypt__Operation *)m)->key_name;
		err = psa_cipher_alg_from_enum((int)((const PsaCipherDecrypt__Operation *)m)->alg,
		                               &r->alg);
		break;
	case WIRE_OP_PSA_MAC_COMPUTE:
		r->name = ((const PsaMacCompute__Operation *)m)->key_name;
		err = psa_mac_alg_from_pb(((const PsaMacCompute__Operation *)m)->alg, &r->alg);
		break;
	case WIRE_OP_PSA_MAC_VERIFY:
		r->name = ((const PsaMacVerify__Operation *)m)->key_name;
		err = psa_mac_alg_from_pb(((const PsaMacVerify__Operation *)m)->alg, &r->alg);
		break;
	case WIRE_OP_PSA_ASYMMETRIC_ENCRYPT:
		r->name = ((const PsaAsymmetricEncrypt__Operation *)m)->key_name;
		err = psa_enc_alg_from_pb(((const PsaAsymmetricEncrypt__Operation *)m)->alg,
		                          &r->alg);
		break;
	case WIRE_OP_PSA_ASYMMETRIC_DECRYPT:
		r->name = ((const PsaAsymmetricDecrypt__Operation *)m)->key_name;
		err = psa_enc_alg_from_pb(((const PsaAsymmetricDecrypt__Operation *)m)->alg,
		                          &r->alg);
		break;
	default: /* WIRE_OP_PSA_RAW_KEY_AGREEMENT */
		r->name = ((const PsaRawKeyAgreement__Operation *)m)->private_key_name;
		err = psa_ka_alg_from_enum((int)((const PsaRawKeyAgreement__Operation *)m)->alg,
		                           &r->alg);
		break;
	}
	if (err != TS_OK || r->name == NULL || r->name[0] == '\0')
		return TS_E_INVALID_ENCODING;
	return TS_OK;
}

static bool is_block(uint8_t type)
{
	return type == PSA_KT_AES || type == PSA_KT_CAMELLIA;
}

/* Does the algorithm fit the key type (else InvalidArgument)? */
static bool fits(uint32_t opcode, const struct psa_attrs *a, const struct psa_alg *alg)
{
	switch (opcode) {
	case WIRE_OP_PSA_AEAD_ENCRYPT:
	case WIRE_OP_PSA_AEAD_DECRYPT:
		return alg->kind == PSA_AEAD_CHACHA20_POLY1305 ? a->type == PSA_KT_CHACHA20
		                                               : is_block(a->type);
	case WIRE_OP_PSA_CIPHER_ENCRYPT:
	case WIRE_OP_PSA_CIPHER_DECRYPT:
		return alg->kind == 1 /* stream */ ? a->type == PSA_KT_CHACHA20 : is_block(a->type);
	case WIRE_OP_PSA_MAC_COMPUTE:
	case WIRE_OP_PSA_MAC_VERIFY:
		return alg->kind == PSA_MAC_HMAC ? a->type == PSA_KT_HMAC : is_block(a->type);
	case WIRE_OP_PSA_ASYMMETRIC_ENCRYPT:
		return a->type == PSA_KT_RSA_PAIR || a->type == PSA_KT_RSA_PUBLIC;
	case WIRE_OP_PSA_ASYMMETRIC_DECRYPT:
		return a->type == PSA_KT_RSA_PAIR;
	default:
		return alg->kind == PSA_KA_ECDH ? a->type == PSA_KT_ECC_PAIR
		                                : a->type == PSA_KT_DH_PAIR;
	}
}

/* Usage flags that allow the operation (any one of them). */
static uint32_t usage_for(uint32_t opcode)
{
	switch (opcode) {
	case WIRE_OP_PSA_AEAD_ENCRYPT:
	case WIRE_OP_PSA_CIPHER_ENCRYPT:
	case WIRE_OP_PSA_ASYMMETRIC_ENCRYPT:
		return PSA_USAGE_ENCRYPT;
	case WIRE_OP_PSA_AEAD_DECRYPT:
	case WIRE_OP_PSA_CIPHER_DECRYPT:
	case WIRE_OP_PSA_ASYMMETRIC_DECRYPT:
		return PSA_USAGE_DECRYPT;
	/* PSA 1.0 names MAC usage sign/verify_message; older clients set the
	 * hash flags. Either allows it. */
	case WIRE_OP_PSA_MAC_COMPUTE:
		return PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_SIGN_HASH;
	case WIRE_OP_PSA_MAC_VERIFY:
		return PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_VERIFY_HASH;
	default:
		return PSA_USAGE_DERIVE;
	}
}

/* Run the operation on a loaded key; *out gets a result to send (or NULL for
 * verifications). */
static enum ts_err run(const struct svc_provider *p, uint32_t opcode, const ProtobufCMessage *m,
                       const struct psa_attrs *a, const struct ks_record *k,
                       const struct psa_alg *alg, uint8_t **out, size_t *out_len)
{
	const uint8_t *key = k->material;
	size_t klen = k->material_len;
	enum ts_err err;

	switch (opcode) {
	case WIRE_OP_PSA_AEAD_ENCRYPT: {
		const PsaAeadEncrypt__Operation *o = (const void *)m;

		return p->ops->aead(p->ctx, a, key, klen, alg, true, o->nonce.data, o->nonce.len,
		                    o->additional_data.data, o->additional_data.len,
		                    o->plaintext.data, o->plaintext.len, out, out_len);
	}
	case WIRE_OP_PSA_AEAD_DECRYPT: {
		const PsaAeadDecrypt__Operation *o = (const void *)m;

		return p->ops->aead(p->ctx, a, key, klen, alg, false, o->nonce.data, o->nonce.len,
		                    o->additional_data.data, o->additional_data.len,
		                    o->ciphertext.data, o->ciphertext.len, out, out_len);
	}
	case WIRE_OP_PSA_CIPHER_ENCRYPT: {
		const PsaCipherEncrypt__Operation *o = (const void *)m;

		return p->ops->cipher(p->ctx, a, key, klen, alg, true, o->plaintext.data,
		                      o->plaintext.len, out, out_len);
	}
	case WIRE_OP_PSA_CIPHER_DECRYPT: {
		const PsaCipherDecrypt__Operation *o = (const void *)m;

		return p->ops->cipher(p->ctx, a, key, klen, alg, false, o->ciphertext.data,
		                      o->ciphertext.len, out, out_len);
	}
	case WIRE_OP_PSA_MAC_COMPUTE: {
		const PsaMacCompute__Operation *o = (const void *)m;

		return p->ops->mac(p->ctx, a, key, klen, alg, o->input.data, o->input.len, out,
		                   out_len);
	}
	case WIRE_OP_PSA_MAC_VERIFY: {
		const PsaMacVerify__Operation *o = (const void *)m;
		uint8_t *mac = NULL;
		size_t mac_len = 0;

		err = p->ops->mac(p->ctx, a, key, klen, alg, o->input.data, o->input.len, &mac,
		                  &mac_len);
		if (err == TS_OK &&
		    (o->mac.len != mac_len || !ts_consttime_eq(o->mac.data, mac, mac_len)))
			err = TS_E_PSA_INVALID_SIGNATURE;
		ts_free_secret(mac, mac_len);
		return err;
	}
	case WIRE_OP_PSA_ASYMMETRIC_ENCRYPT: {
		const PsaAsymmetricEncrypt__Operation *o = (const void *)m;

		return p->ops->asym_crypt(p->ctx, a, key, klen, alg, true, o->plaintext.data,
		                          o->plaintext.len, o->salt.data, o->salt.len, out,
		                          out_len);
	}
	case WIRE_OP_PSA_ASYMMETRIC_DECRYPT: {
		const PsaAsymmetricDecrypt__Operation *o = (const void *)m;

		return p->ops->asym_crypt(p->ctx, a, key, klen, alg, false, o->ciphertext.data,
		                          o->ciphertext.len, o->salt.data, o->salt.len, out,
		                          out_len);
	}
	default: {
		const PsaRawKeyAgreement__Operation *o = (const void *)m;

		return p->ops->key_agreement(p->ctx, a, key, klen, alg, o->peer_key.data,
		                             o->peer_key.len, out, out_len);
	}
	}
}

enum ts_err crypt_dispatch(struct svc_state *st, const struct svc_provider *p,
                           const struct auth_identity *id, uint32_t opcode, const uint8_t *body,
                           size_t body_len, uint8_t **ret_body, size_t *ret_len)
{
	const ProtobufCMessageDescriptor *desc = NULL;
	struct wire_pb_alloc alloc;
	ProtobufCMessage *m;
	struct req r;
	struct psa_attrs a;
	struct ks_record k = {0};
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err;

	for (size_t i = 0; i < sizeof(crypt_ops) / sizeof(crypt_ops[0]); i++)
		if (crypt_ops[i].opcode == opcode)
			desc = crypt_ops[i].desc;
	if (desc == NULL)
		return TS_E_PSA_NOT_SUPPORTED;
	m = decode_body(desc, body, body_len, &alloc);
	if (m == NULL)
		return TS_E_DESERIALIZING_BODY_FAILED;
	err = decode(opcode, m, &r);
	if (err != TS_OK)
		goto out;
	err = TS_E_NOT_AUTHENTICATED;
	if (id->name == NULL)
		goto out;
	err = key_load(st, p, id, r.name, &k, &a);
	if (err != TS_OK)
		goto out;
	/* Policy, in Parsec's order. */
	err = TS_E_PSA_NOT_PERMITTED;
	if ((a.usage & usage_for(opcode)) == 0 || !psa_alg_permits(&a.alg, &r.alg))
		goto out;
	err = TS_E_PSA_INVALID_ARGUMENT;
	if (!fits(opcode, &a, &r.alg))
		goto out;
	err = run(p, opcode, m, &a, &k, &r.alg, &out, &out_len);
	if (err != TS_OK)
		goto out;
	if (opcode == WIRE_OP_PSA_MAC_VERIFY) {
		/* An empty result message. */
		*ret_body = NULL;
		*ret_len = 0;
	} else {
		/* Every other result is one bytes field numbered 1 (ciphertext,
		 * plaintext, mac, shared_secret): identical on the wire to
		 * PsaExportKey's result, which packs it. */
		PsaExportKey__Result res = PSA_EXPORT_KEY__RESULT__INIT;

		res.data.data = out;
		res.data.len = out_len;
		err = wire_pack(&res.base, ret_body, ret_len);
	}
out:
	ts_free_secret(out, out_len);
	ks_record_clear(&k);
	free_body(m, &alloc);
	return err;
}
