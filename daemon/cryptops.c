/*
 * Cryptographic operations. By the time a runner here is called the request
 * path has decoded the body, checked the contract and the identity, loaded
 * the key and checked its policy (policy.c); these only call the provider
 * and pack the result, and supply the core's fallbacks where a provider
 * lacks a native operation (hash then sign, compute then compare).
 */
#include "daemon/daemon-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/secmem.h"
#include "keystore/keystore.h"

#include "attest_key.pb-c.h"
#include "can_do_crypto.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"

#define P(r) ((r)->prov->ops)
#define C(r) ((r)->prov->ctx)

/* Pack a result whose one field is `field` (set to data), then wipe and
 * free data: results are often secret (plaintext, shared secrets). */
static enum ts_err pack_bytes(ProtobufCMessage *m, ProtobufCBinaryData *field, enum ts_err err,
                              uint8_t *data, size_t len, uint8_t **ret_body, size_t *ret_len)
{
	if (err == TS_OK) {
		field->data = data;
		field->len = len;
		err = wire_pack(m, ret_body, ret_len);
	}
	ts_free_secret(data, len);
	return err;
}

static enum ts_err pack_empty(ProtobufCMessage *m, enum ts_err err, uint8_t **ret_body,
                              size_t *ret_len)
{
	return err == TS_OK ? wire_pack(m, ret_body, ret_len) : err;
}

/* ---- signatures ---- */

/* A message to sign or verify, as the provider takes it: natively, or
 * hashed here with the algorithm's hash. */
static enum ts_err digest(struct request *r, const ProtobufCBinaryData *msg,
                          uint8_t out[PROV_HASH_MAX_SIZE], size_t *ret_len)
{
	return P(r)->hash_compute(C(r), (enum prov_hash)r->args.alg.hash, msg->data, msg->len, out,
	                          PROV_HASH_MAX_SIZE, ret_len);
}

enum ts_err cryptop_sign_hash(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaSignHash__Operation *o = (const void *)r->msg;
	PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
	uint8_t *sig = NULL;
	size_t sig_len = 0;
	enum ts_err err = P(r)->sign_hash(C(r), &r->pkey, &r->args.alg, o->hash.data, o->hash.len,
	                                  &sig, &sig_len);

	return pack_bytes(&res.base, &res.signature, err, sig, sig_len, ret_body, ret_len);
}

enum ts_err cryptop_sign_message(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaSignMessage__Operation *o = (const void *)r->msg;
	PsaSignMessage__Result res = PSA_SIGN_MESSAGE__RESULT__INIT;
	uint8_t *sig = NULL, h[PROV_HASH_MAX_SIZE];
	size_t sig_len = 0, hlen = 0;
	enum ts_err err;

	if (P(r)->sign_message != NULL) {
		err = P(r)->sign_message(C(r), &r->pkey, &r->args.alg, o->message.data,
		                         o->message.len, &sig, &sig_len);
	} else {
		err = digest(r, &o->message, h, &hlen);
		if (err == TS_OK)
			err = P(r)->sign_hash(C(r), &r->pkey, &r->args.alg, h, hlen, &sig,
			                      &sig_len);
	}
	return pack_bytes(&res.base, &res.signature, err, sig, sig_len, ret_body, ret_len);
}

enum ts_err cryptop_verify_hash(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaVerifyHash__Operation *o = (const void *)r->msg;
	PsaVerifyHash__Result res = PSA_VERIFY_HASH__RESULT__INIT;

	return pack_empty(&res.base,
	                  P(r)->verify_hash(C(r), &r->pkey, &r->args.alg, o->hash.data, o->hash.len,
	                                    o->signature.data, o->signature.len),
	                  ret_body, ret_len);
}

enum ts_err cryptop_verify_message(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaVerifyMessage__Operation *o = (const void *)r->msg;
	PsaVerifyMessage__Result res = PSA_VERIFY_MESSAGE__RESULT__INIT;
	uint8_t h[PROV_HASH_MAX_SIZE];
	size_t hlen = 0;
	enum ts_err err;

	if (P(r)->verify_message != NULL) {
		err = P(r)->verify_message(C(r), &r->pkey, &r->args.alg, o->message.data,
		                           o->message.len, o->signature.data, o->signature.len);
	} else {
		err = digest(r, &o->message, h, &hlen);
		if (err == TS_OK)
			err = P(r)->verify_hash(C(r), &r->pkey, &r->args.alg, h, hlen,
			                        o->signature.data, o->signature.len);
	}
	return pack_empty(&res.base, err, ret_body, ret_len);
}

/* ---- encryption ---- */

enum ts_err cryptop_aead_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaAeadEncrypt__Operation *o = (const void *)r->msg;
	PsaAeadEncrypt__Result res = PSA_AEAD_ENCRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = P(r)->aead(C(r), &r->pkey, &r->args.alg, true, o->nonce.data,
	                             o->nonce.len, o->additional_data.data, o->additional_data.len,
	                             o->plaintext.data, o->plaintext.len, &out, &out_len);

	return pack_bytes(&res.base, &res.ciphertext, err, out, out_len, ret_body, ret_len);
}

enum ts_err cryptop_aead_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaAeadDecrypt__Operation *o = (const void *)r->msg;
	PsaAeadDecrypt__Result res = PSA_AEAD_DECRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = P(r)->aead(C(r), &r->pkey, &r->args.alg, false, o->nonce.data,
	                             o->nonce.len, o->additional_data.data, o->additional_data.len,
	                             o->ciphertext.data, o->ciphertext.len, &out, &out_len);

	return pack_bytes(&res.base, &res.plaintext, err, out, out_len, ret_body, ret_len);
}

enum ts_err cryptop_cipher_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaCipherEncrypt__Operation *o = (const void *)r->msg;
	PsaCipherEncrypt__Result res = PSA_CIPHER_ENCRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = P(r)->cipher(C(r), &r->pkey, &r->args.alg, true, o->plaintext.data,
	                               o->plaintext.len, &out, &out_len);

	return pack_bytes(&res.base, &res.ciphertext, err, out, out_len, ret_body, ret_len);
}

enum ts_err cryptop_cipher_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaCipherDecrypt__Operation *o = (const void *)r->msg;
	PsaCipherDecrypt__Result res = PSA_CIPHER_DECRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = P(r)->cipher(C(r), &r->pkey, &r->args.alg, false, o->ciphertext.data,
	                               o->ciphertext.len, &out, &out_len);

	return pack_bytes(&res.base, &res.plaintext, err, out, out_len, ret_body, ret_len);
}

enum ts_err cryptop_asym_encrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaAsymmetricEncrypt__Operation *o = (const void *)r->msg;
	PsaAsymmetricEncrypt__Result res = PSA_ASYMMETRIC_ENCRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err =
	        P(r)->asym_crypt(C(r), &r->pkey, &r->args.alg, true, o->plaintext.data,
	                         o->plaintext.len, o->salt.data, o->salt.len, &out, &out_len);

	return pack_bytes(&res.base, &res.ciphertext, err, out, out_len, ret_body, ret_len);
}

enum ts_err cryptop_asym_decrypt(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaAsymmetricDecrypt__Operation *o = (const void *)r->msg;
	PsaAsymmetricDecrypt__Result res = PSA_ASYMMETRIC_DECRYPT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err =
	        P(r)->asym_crypt(C(r), &r->pkey, &r->args.alg, false, o->ciphertext.data,
	                         o->ciphertext.len, o->salt.data, o->salt.len, &out, &out_len);

	return pack_bytes(&res.base, &res.plaintext, err, out, out_len, ret_body, ret_len);
}

/* ---- MACs and key agreement ---- */

enum ts_err cryptop_mac_compute(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaMacCompute__Operation *o = (const void *)r->msg;
	PsaMacCompute__Result res = PSA_MAC_COMPUTE__RESULT__INIT;
	uint8_t *mac = NULL;
	size_t mac_len = 0;
	enum ts_err err = P(r)->mac(C(r), &r->pkey, &r->args.alg, o->input.data, o->input.len, &mac,
	                            &mac_len);

	return pack_bytes(&res.base, &res.mac, err, mac, mac_len, ret_body, ret_len);
}

enum ts_err cryptop_mac_verify(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaMacVerify__Operation *o = (const void *)r->msg;
	PsaMacVerify__Result res = PSA_MAC_VERIFY__RESULT__INIT;
	uint8_t *mac = NULL;
	size_t mac_len = 0;
	enum ts_err err;

	if (P(r)->mac_verify != NULL)
		return pack_empty(&res.base,
		                  P(r)->mac_verify(C(r), &r->pkey, &r->args.alg, o->input.data,
		                                   o->input.len, o->mac.data, o->mac.len),
		                  ret_body, ret_len);
	/* Compute and compare in constant time. */
	err = P(r)->mac(C(r), &r->pkey, &r->args.alg, o->input.data, o->input.len, &mac, &mac_len);
	if (err == TS_OK && (o->mac.len != mac_len || !ts_consttime_eq(o->mac.data, mac, mac_len)))
		err = TS_E_PSA_INVALID_SIGNATURE;
	ts_free_secret(mac, mac_len);
	return pack_empty(&res.base, err, ret_body, ret_len);
}

enum ts_err cryptop_key_agreement(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaRawKeyAgreement__Operation *o = (const void *)r->msg;
	PsaRawKeyAgreement__Result res = PSA_RAW_KEY_AGREEMENT__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = P(r)->key_agreement(C(r), &r->pkey, &r->args.alg, o->peer_key.data,
	                                      o->peer_key.len, &out, &out_len);

	return pack_bytes(&res.base, &res.shared_secret, err, out, out_len, ret_body, ret_len);
}

/* ---- no key ---- */

enum ts_err cryptop_random(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaGenerateRandom__Operation *o = (const void *)r->msg;
	PsaGenerateRandom__Result res = PSA_GENERATE_RANDOM__RESULT__INIT;
	uint8_t *bytes;

	/* Parsec refuses a result larger than the response buffer limit. */
	if (o->size > r->st->cfg->core.buffer_size_limit)
		return TS_E_RESPONSE_TOO_LARGE;
	bytes = malloc(o->size ? o->size : 1);
	if (bytes == NULL)
		return TS_E_NOMEM;
	return pack_bytes(&res.base, &res.random_bytes, P(r)->generate_random(C(r), bytes, o->size),
	                  bytes, o->size, ret_body, ret_len);
}

enum ts_err cryptop_hash_compute(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaHashCompute__Operation *o = (const void *)r->msg;
	PsaHashCompute__Result res = PSA_HASH_COMPUTE__RESULT__INIT;
	uint8_t h[PROV_HASH_MAX_SIZE];
	size_t hlen = 0;
	enum ts_err err = P(r)->hash_compute(C(r), (enum prov_hash)o->alg, o->input.data,
	                                     o->input.len, h, sizeof(h), &hlen);

	if (err != TS_OK)
		return err;
	res.hash.data = h;
	res.hash.len = hlen;
	return wire_pack(&res.base, ret_body, ret_len);
}

enum ts_err cryptop_hash_compare(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PsaHashCompare__Operation *o = (const void *)r->msg;
	PsaHashCompare__Result res = PSA_HASH_COMPARE__RESULT__INIT;
	uint8_t h[PROV_HASH_MAX_SIZE];
	size_t hlen = 0;
	enum ts_err err = P(r)->hash_compute(C(r), (enum prov_hash)o->alg, o->input.data,
	                                     o->input.len, h, sizeof(h), &hlen);

	/* PSA: a reference of the wrong length or value is a bad signature. */
	if (err == TS_OK && (o->hash.len != hlen || !ts_consttime_eq(o->hash.data, h, hlen)))
		err = TS_E_PSA_INVALID_SIGNATURE;
	return pack_empty(&res.base, err, ret_body, ret_len);
}

/* CanDoCrypto: the answer is the status (Parsec's semantics). */
enum ts_err cryptop_can_do(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const CanDoCrypto__Operation *o = (const void *)r->msg;
	CanDoCrypto__Result res = CAN_DO_CRYPTO__RESULT__INIT;

	return pack_empty(&res.base, P(r)->can_do(C(r), &r->args.attrs, (int)o->check_type),
	                  ret_body, ret_len);
}

/* ---- attestation ---- */

/* The attesting key a request names (empty: the provider's default). */
static enum ts_err attesting_key(struct request *r, const char *name, struct ks_record *rec,
                                 struct psa_attrs *a, struct prov_key *k, bool *ret_have)
{
	enum ts_err err;

	*ret_have = false;
	if (name == NULL || name[0] == '\0')
		return TS_OK;
	/* A volatile name is this connection's, as for every key name. */
	name = session_key_name(r, name, &err);
	if (name == NULL)
		return err;
	err = key_get(r->st, r->prov, &r->id, name, rec, a, k);
	*ret_have = err == TS_OK;
	return err;
}

enum ts_err cryptop_prepare_attestation(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const PrepareKeyAttestation__Operation *o = (const void *)r->msg;
	PrepareKeyAttestation__Result res = PREPARE_KEY_ATTESTATION__RESULT__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationOutput out =
	        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__INIT;
	PrepareKeyAttestation__PrepareKeyAttestationOutput__ActivateCredential ac =
	        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
	struct prov_attest_prep prep = {0};
	struct ks_record rec = {0};
	struct psa_attrs a;
	struct prov_key k;
	bool have;
	enum ts_err err;

	err = attesting_key(r, o->parameters->activate_credential->attesting_key_name, &rec, &a, &k,
	                    &have);
	if (err == TS_OK)
		err = P(r)->prepare_key_attestation(C(r), &r->pkey, have ? &k : NULL, &prep);
	if (err == TS_OK) {
		ac.name = (ProtobufCBinaryData){prep.name_len, prep.name};
		ac.public_ = (ProtobufCBinaryData){prep.public_len, prep.public_area};
		ac.attesting_key_pub =
		        (ProtobufCBinaryData){prep.attesting_pub_len, prep.attesting_pub};
		out.mechanism_case =
		        PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
		out.activate_credential = &ac;
		res.output = &out;
		err = wire_pack(&res.base, ret_body, ret_len);
	}
	prov_attest_prep_clear(&prep);
	ks_record_clear(&rec);
	return err;
}

enum ts_err cryptop_attest(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	const AttestKey__Operation *o = (const void *)r->msg;
	const AttestKey__AttestationMechanismParams__ActivateCredential *p =
	        o->parameters->activate_credential;
	AttestKey__Result res = ATTEST_KEY__RESULT__INIT;
	AttestKey__AttestationOutput out = ATTEST_KEY__ATTESTATION_OUTPUT__INIT;
	AttestKey__AttestationOutput__ActivateCredential ac =
	        ATTEST_KEY__ATTESTATION_OUTPUT__ACTIVATE_CREDENTIAL__INIT;
	struct ks_record rec = {0};
	struct psa_attrs a;
	struct prov_key k;
	uint8_t *cred = NULL;
	size_t cred_len = 0;
	bool have;
	enum ts_err err;

	err = attesting_key(r, o->attesting_key_name, &rec, &a, &k, &have);
	if (err == TS_OK)
		err = P(r)->attest_key(C(r), &r->pkey, have ? &k : NULL, p->credential_blob.data,
		                       p->credential_blob.len, p->secret.data, p->secret.len, &cred,
		                       &cred_len);
	if (err == TS_OK) {
		ac.credential = (ProtobufCBinaryData){cred_len, cred};
		out.mechanism_case = ATTEST_KEY__ATTESTATION_OUTPUT__MECHANISM_ACTIVATE_CREDENTIAL;
		out.activate_credential = &ac;
		res.output = &out;
		err = wire_pack(&res.base, ret_body, ret_len);
	}
	ts_free_secret(cred, cred_len);
	ks_record_clear(&rec);
	return err;
}
