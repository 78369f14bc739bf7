/* libtessera-psa: the one-shot operations, each one Parsec request. */
#include "client/psa/psa-priv.h"

#include <stdlib.h>
#include <string.h>

#include "client/psa/pbmap.h"
#include "client/tessera.h"
#include "wire/wire.h"

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

/* What one keyed one-shot needs: the key's provider and name, the algorithm as protobuf. */
struct oneshot {
	psa_algorithm_t alg_value;
	psa_key_usage_t need; /* the usage flag the operation needs */
	struct pbarena arena;
	PsaAlgorithm__Algorithm *alg;
	struct tpsa_key *k;
	uint8_t provider;
	char name[TPSA_NAME_MAX];
	ProtobufCMessage *r;
};

/*
 * Enter the library, find key (keyed false: no key, the default provider), and turn
 * alg into protobuf, which must be of variant (else INVALID_ARGUMENT).
 * Always pair with end().
 */
static psa_status_t begin(struct oneshot *o, bool keyed, psa_key_id_t key, psa_algorithm_t alg,
                          int variant, psa_key_usage_t need)
{
	psa_status_t st;

	memset(o, 0, sizeof(*o));
	o->alg_value = alg;
	o->need = need;
	st = tpsa_enter();
	if (st != PSA_SUCCESS)
		return st;
	if (keyed) {
		st = tpsa_key_find(key, &o->k);
		if (st != PSA_SUCCESS)
			return st;
		o->provider = o->k->provider;
		tpsa_key_name(o->k->id, o->k->is_volatile, o->name);
	}
	/* (After the key, as Mbed TLS answers: a missing key comes first.) */
	if (variant == PSA_ALGORITHM__ALGORITHM__VARIANT_MAC && TPSA_MAC_TOO_SHORT(alg))
		return PSA_ERROR_NOT_SUPPORTED;
	/* Keyless: the algorithm is all there is to check before a request. */
	st = tpsa_alg_to_pb(alg, &o->alg, &o->arena);
	if (st == PSA_SUCCESS && (int)o->alg->variant_case != variant)
		st = PSA_ERROR_INVALID_ARGUMENT;
	if (st == PSA_SUCCESS && !keyed)
		st = tpsa_default_provider(&o->provider);
	return st;
}

/* Send the request (a result of desc into o->r) and map its status. */
static psa_status_t send(struct oneshot *o, uint32_t opcode, const ProtobufCMessage *op,
                         const ProtobufCMessageDescriptor *desc)
{
	if (o->k != NULL)
		return tpsa_refine_not_permitted(o->k, o->alg_value, o->need,
		                                 tpsa_key_call(o->k, opcode, op, desc, &o->r));
	return tpsa_status(tpsa_call(o->provider, opcode, op, desc, &o->r));
}

static psa_status_t end(struct oneshot *o, psa_status_t st)
{
	if (o->r != NULL)
		protobuf_c_message_free_unpacked(o->r, NULL);
	tpsa_pbarena_free(&o->arena);
	tpsa_leave();
	return st;
}

/* Copy a result's bytes out and wipe them. */
static psa_status_t out(ProtobufCBinaryData *d, uint8_t *dst, size_t dst_size, size_t *ret_len)
{
	psa_status_t st = tpsa_out(d->data, d->len, dst, dst_size, ret_len);

	if (d->len > 0)
		tpsa_wipe(d->data, d->len);
	return st;
}

#define BYTES(p, n) ((ProtobufCBinaryData){.len = (n), .data = (uint8_t *)(p)})
#define V(name)     PSA_ALGORITHM__ALGORITHM__VARIANT_##name

/* ---- asymmetric signatures */

psa_status_t psa_sign_hash(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *hash,
                           size_t hash_length, uint8_t *signature, size_t signature_size,
                           size_t *signature_length)
{
	PsaSignHash__Operation op = PSA_SIGN_HASH__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (signature_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*signature_length = 0;
	if (!PSA_ALG_IS_SIGN_HASH(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(ASYMMETRIC_SIGNATURE), PSA_KEY_USAGE_SIGN_HASH);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->asymmetric_signature;
		op.hash = BYTES(hash, hash_length);
		st = send(&o, WIRE_OP_PSA_SIGN_HASH, &op.base, &psa_sign_hash__result__descriptor);
	}
	if (st == PSA_SUCCESS)
		st = out(&((PsaSignHash__Result *)o.r)->signature, signature, signature_size,
		         signature_length);
	return end(&o, st);
}

psa_status_t psa_verify_hash(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *hash,
                             size_t hash_length, const uint8_t *signature, size_t signature_length)
{
	PsaVerifyHash__Operation op = PSA_VERIFY_HASH__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (!PSA_ALG_IS_SIGN_HASH(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(ASYMMETRIC_SIGNATURE), PSA_KEY_USAGE_VERIFY_HASH);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->asymmetric_signature;
		op.hash = BYTES(hash, hash_length);
		op.signature = BYTES(signature, signature_length);
		st = send(&o, WIRE_OP_PSA_VERIFY_HASH, &op.base, NULL);
	}
	return end(&o, st);
}

psa_status_t psa_sign_message(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                              size_t input_length, uint8_t *signature, size_t signature_size,
                              size_t *signature_length)
{
	PsaSignMessage__Operation op = PSA_SIGN_MESSAGE__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (signature_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*signature_length = 0;
	if (!PSA_ALG_IS_SIGN_MESSAGE(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(ASYMMETRIC_SIGNATURE), PSA_KEY_USAGE_SIGN_MESSAGE);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->asymmetric_signature;
		op.message = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_SIGN_MESSAGE, &op.base,
		          &psa_sign_message__result__descriptor);
	}
	if (st == PSA_SUCCESS)
		st = out(&((PsaSignMessage__Result *)o.r)->signature, signature, signature_size,
		         signature_length);
	return end(&o, st);
}

psa_status_t psa_verify_message(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, const uint8_t *signature,
                                size_t signature_length)
{
	PsaVerifyMessage__Operation op = PSA_VERIFY_MESSAGE__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (!PSA_ALG_IS_SIGN_MESSAGE(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(ASYMMETRIC_SIGNATURE), PSA_KEY_USAGE_VERIFY_MESSAGE);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->asymmetric_signature;
		op.message = BYTES(input, input_length);
		op.signature = BYTES(signature, signature_length);
		st = send(&o, WIRE_OP_PSA_VERIFY_MESSAGE, &op.base, NULL);
	}
	return end(&o, st);
}

/* ---- asymmetric encryption */

/*
 * Asymmetric encryption with an algorithm that is not one: answered as Mbed
 * TLS does, looking at the key first (the policy, then whether the type
 * could encrypt at all), as psa-arch-tests expect.
 */
static psa_status_t not_encryption(psa_key_id_t key, psa_algorithm_t alg, psa_key_usage_t need)
{
	struct tpsa_key *k;
	psa_status_t st = tpsa_enter();

	if (st == PSA_SUCCESS)
		st = tpsa_key_find(key, &k);
	if (st == PSA_SUCCESS && !k->have_policy)
		st = tpsa_key_attrs(k);
	if (st == PSA_SUCCESS) {
		if ((k->attrs.usage & need) == 0 || !tpsa_policy_permits(k->attrs.alg, alg))
			st = PSA_ERROR_NOT_PERMITTED;
		else if (!PSA_KEY_TYPE_IS_ASYMMETRIC(k->attrs.type) ||
		         PSA_KEY_TYPE_IS_RSA(k->attrs.type))
			st = PSA_ERROR_INVALID_ARGUMENT;
		else
			st = PSA_ERROR_NOT_SUPPORTED;
	}
	tpsa_leave();
	return st;
}

static psa_status_t asym(bool enc, psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                         size_t input_length, const uint8_t *salt, size_t salt_length,
                         uint8_t *output, size_t output_size, size_t *output_length)
{
	PsaAsymmetricEncrypt__Operation eo = PSA_ASYMMETRIC_ENCRYPT__OPERATION__INIT;
	PsaAsymmetricDecrypt__Operation dop = PSA_ASYMMETRIC_DECRYPT__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (output_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*output_length = 0;
	if (!PSA_ALG_IS_ASYMMETRIC_ENCRYPTION(alg))
		return not_encryption(key, alg,
		                      enc ? PSA_KEY_USAGE_ENCRYPT : PSA_KEY_USAGE_DECRYPT);
	if (alg == PSA_ALG_RSA_PKCS1V15_CRYPT && salt_length > 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(ASYMMETRIC_ENCRYPTION),
	           enc ? PSA_KEY_USAGE_ENCRYPT : PSA_KEY_USAGE_DECRYPT);
	if (st != PSA_SUCCESS)
		return end(&o, st);
	if (enc) {
		eo.key_name = o.name;
		eo.alg = o.alg->asymmetric_encryption;
		eo.plaintext = BYTES(input, input_length);
		eo.salt = BYTES(salt, salt_length);
		st = send(&o, WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, &eo.base,
		          &psa_asymmetric_encrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaAsymmetricEncrypt__Result *)o.r)->ciphertext, output,
			         output_size, output_length);
	} else {
		dop.key_name = o.name;
		dop.alg = o.alg->asymmetric_encryption;
		dop.ciphertext = BYTES(input, input_length);
		dop.salt = BYTES(salt, salt_length);
		st = send(&o, WIRE_OP_PSA_ASYMMETRIC_DECRYPT, &dop.base,
		          &psa_asymmetric_decrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaAsymmetricDecrypt__Result *)o.r)->plaintext, output,
			         output_size, output_length);
	}
	return end(&o, st);
}

psa_status_t psa_asymmetric_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                    size_t input_length, const uint8_t *salt, size_t salt_length,
                                    uint8_t *output, size_t output_size, size_t *output_length)
{
	return asym(true, key, alg, input, input_length, salt, salt_length, output, output_size,
	            output_length);
}

psa_status_t psa_asymmetric_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                    size_t input_length, const uint8_t *salt, size_t salt_length,
                                    uint8_t *output, size_t output_size, size_t *output_length)
{
	return asym(false, key, alg, input, input_length, salt, salt_length, output, output_size,
	            output_length);
}

/* ---- AEAD */

static psa_status_t aead(bool enc, psa_key_id_t key, psa_algorithm_t alg, const uint8_t *nonce,
                         size_t nonce_length, const uint8_t *ad, size_t ad_length,
                         const uint8_t *input, size_t input_length, uint8_t *output,
                         size_t output_size, size_t *output_length)
{
	PsaAeadEncrypt__Operation eo = PSA_AEAD_ENCRYPT__OPERATION__INIT;
	PsaAeadDecrypt__Operation dop = PSA_AEAD_DECRYPT__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (output_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*output_length = 0;
	if (!PSA_ALG_IS_AEAD(alg) || PSA_ALG_IS_WILDCARD(alg) || TPSA_ALG_LENGTH_FIELD(alg) == 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(AEAD),
	           enc ? PSA_KEY_USAGE_ENCRYPT : PSA_KEY_USAGE_DECRYPT);
	if (st != PSA_SUCCESS)
		return end(&o, st);
	if (enc) {
		eo.key_name = o.name;
		eo.alg = o.alg->aead;
		eo.nonce = BYTES(nonce, nonce_length);
		eo.additional_data = BYTES(ad, ad_length);
		eo.plaintext = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_AEAD_ENCRYPT, &eo.base,
		          &psa_aead_encrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaAeadEncrypt__Result *)o.r)->ciphertext, output, output_size,
			         output_length);
	} else {
		dop.key_name = o.name;
		dop.alg = o.alg->aead;
		dop.nonce = BYTES(nonce, nonce_length);
		dop.additional_data = BYTES(ad, ad_length);
		dop.ciphertext = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_AEAD_DECRYPT, &dop.base,
		          &psa_aead_decrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaAeadDecrypt__Result *)o.r)->plaintext, output, output_size,
			         output_length);
	}
	return end(&o, st);
}

psa_status_t psa_aead_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *nonce,
                              size_t nonce_length, const uint8_t *additional_data,
                              size_t additional_data_length, const uint8_t *plaintext,
                              size_t plaintext_length, uint8_t *ciphertext, size_t ciphertext_size,
                              size_t *ciphertext_length)
{
	return aead(true, key, alg, nonce, nonce_length, additional_data, additional_data_length,
	            plaintext, plaintext_length, ciphertext, ciphertext_size, ciphertext_length);
}

psa_status_t psa_aead_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *nonce,
                              size_t nonce_length, const uint8_t *additional_data,
                              size_t additional_data_length, const uint8_t *ciphertext,
                              size_t ciphertext_length, uint8_t *plaintext, size_t plaintext_size,
                              size_t *plaintext_length)
{
	return aead(false, key, alg, nonce, nonce_length, additional_data, additional_data_length,
	            ciphertext, ciphertext_length, plaintext, plaintext_size, plaintext_length);
}

/* ---- unauthenticated ciphers */

static psa_status_t cipher(bool enc, psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                           size_t input_length, uint8_t *output, size_t output_size,
                           size_t *output_length)
{
	PsaCipherEncrypt__Operation eo = PSA_CIPHER_ENCRYPT__OPERATION__INIT;
	PsaCipherDecrypt__Operation dop = PSA_CIPHER_DECRYPT__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (output_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*output_length = 0;
	if (!PSA_ALG_IS_CIPHER(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(CIPHER),
	           enc ? PSA_KEY_USAGE_ENCRYPT : PSA_KEY_USAGE_DECRYPT);
	if (st != PSA_SUCCESS)
		return end(&o, st);
	if (enc) {
		eo.key_name = o.name;
		eo.alg = o.alg->cipher;
		eo.plaintext = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_CIPHER_ENCRYPT, &eo.base,
		          &psa_cipher_encrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaCipherEncrypt__Result *)o.r)->ciphertext, output,
			         output_size, output_length);
	} else {
		dop.key_name = o.name;
		dop.alg = o.alg->cipher;
		dop.ciphertext = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_CIPHER_DECRYPT, &dop.base,
		          &psa_cipher_decrypt__result__descriptor);
		if (st == PSA_SUCCESS)
			st = out(&((PsaCipherDecrypt__Result *)o.r)->plaintext, output, output_size,
			         output_length);
	}
	return end(&o, st);
}

psa_status_t psa_cipher_encrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, uint8_t *output, size_t output_size,
                                size_t *output_length)
{
	return cipher(true, key, alg, input, input_length, output, output_size, output_length);
}

psa_status_t psa_cipher_decrypt(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                                size_t input_length, uint8_t *output, size_t output_size,
                                size_t *output_length)
{
	return cipher(false, key, alg, input, input_length, output, output_size, output_length);
}

/* ---- MAC */

psa_status_t psa_mac_compute(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                             size_t input_length, uint8_t *mac, size_t mac_size, size_t *mac_length)
{
	PsaMacCompute__Operation op = PSA_MAC_COMPUTE__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (mac_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*mac_length = 0;
	if (!PSA_ALG_IS_MAC(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(MAC), PSA_KEY_USAGE_SIGN_MESSAGE);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->mac;
		op.input = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_MAC_COMPUTE, &op.base,
		          &psa_mac_compute__result__descriptor);
	}
	if (st == PSA_SUCCESS)
		st = out(&((PsaMacCompute__Result *)o.r)->mac, mac, mac_size, mac_length);
	return end(&o, st);
}

psa_status_t psa_mac_verify(psa_key_id_t key, psa_algorithm_t alg, const uint8_t *input,
                            size_t input_length, const uint8_t *mac, size_t mac_length)
{
	PsaMacVerify__Operation op = PSA_MAC_VERIFY__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (!PSA_ALG_IS_MAC(alg) || PSA_ALG_IS_WILDCARD(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	st = begin(&o, true, key, alg, V(MAC), PSA_KEY_USAGE_VERIFY_MESSAGE);
	if (st == PSA_SUCCESS) {
		op.key_name = o.name;
		op.alg = o.alg->mac;
		op.input = BYTES(input, input_length);
		op.mac = BYTES(mac, mac_length);
		st = send(&o, WIRE_OP_PSA_MAC_VERIFY, &op.base, NULL);
	}
	return end(&o, st);
}

/* ---- hash */

psa_status_t psa_hash_compute(psa_algorithm_t alg, const uint8_t *input, size_t input_length,
                              uint8_t *hash, size_t hash_size, size_t *hash_length)
{
	PsaHashCompute__Operation op = PSA_HASH_COMPUTE__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (hash_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*hash_length = 0;
	if (!PSA_ALG_IS_HASH(alg) || alg == PSA_ALG_ANY_HASH)
		return PSA_ERROR_INVALID_ARGUMENT;
	if (hash_size < PSA_HASH_LENGTH(alg))
		return PSA_ERROR_BUFFER_TOO_SMALL;
	st = begin(&o, false, 0, alg, V(HASH), 0);
	if (st == PSA_SUCCESS) {
		op.alg = o.alg->hash;
		op.input = BYTES(input, input_length);
		st = send(&o, WIRE_OP_PSA_HASH_COMPUTE, &op.base,
		          &psa_hash_compute__result__descriptor);
	}
	if (st == PSA_SUCCESS)
		st = out(&((PsaHashCompute__Result *)o.r)->hash, hash, hash_size, hash_length);
	return end(&o, st);
}

psa_status_t psa_hash_compare(psa_algorithm_t alg, const uint8_t *input, size_t input_length,
                              const uint8_t *hash, size_t hash_length)
{
	PsaHashCompare__Operation op = PSA_HASH_COMPARE__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (!PSA_ALG_IS_HASH(alg) || alg == PSA_ALG_ANY_HASH)
		return PSA_ERROR_INVALID_ARGUMENT;
	/* (An unknown hash has no length: NOT_SUPPORTED, from the mapping.) */
	if (PSA_HASH_LENGTH(alg) != 0 && hash_length != PSA_HASH_LENGTH(alg))
		return PSA_ERROR_INVALID_SIGNATURE;
	st = begin(&o, false, 0, alg, V(HASH), 0);
	if (st == PSA_SUCCESS) {
		op.alg = o.alg->hash;
		op.input = BYTES(input, input_length);
		op.hash = BYTES(hash, hash_length);
		st = send(&o, WIRE_OP_PSA_HASH_COMPARE, &op.base, NULL);
	}
	return end(&o, st);
}

/* ---- key agreement and random */

psa_status_t psa_raw_key_agreement(psa_algorithm_t alg, psa_key_id_t private_key,
                                   const uint8_t *peer_key, size_t peer_key_length, uint8_t *output,
                                   size_t output_size, size_t *output_length)
{
	PsaRawKeyAgreement__Operation op = PSA_RAW_KEY_AGREEMENT__OPERATION__INIT;
	struct oneshot o;
	psa_status_t st;

	if (output_length == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	*output_length = 0;
	if (!PSA_ALG_IS_RAW_KEY_AGREEMENT(alg))
		return PSA_ERROR_INVALID_ARGUMENT;
	if (private_key == 0)
		return PSA_ERROR_INVALID_HANDLE;
	st = begin(&o, true, private_key, alg, V(KEY_AGREEMENT), PSA_KEY_USAGE_DERIVE);
	if (st == PSA_SUCCESS && o.alg->key_agreement->variant_case !=
	                                 PSA_ALGORITHM__ALGORITHM__KEY_AGREEMENT__VARIANT_RAW)
		st = PSA_ERROR_INVALID_ARGUMENT;
	if (st == PSA_SUCCESS) {
		op.alg = o.alg->key_agreement->raw;
		op.private_key_name = o.name;
		op.peer_key = BYTES(peer_key, peer_key_length);
		st = send(&o, WIRE_OP_PSA_RAW_KEY_AGREEMENT, &op.base,
		          &psa_raw_key_agreement__result__descriptor);
	}
	if (st == PSA_SUCCESS)
		st = out(&((PsaRawKeyAgreement__Result *)o.r)->shared_secret, output, output_size,
		         output_length);
	return end(&o, st);
}

psa_status_t psa_generate_random(uint8_t *output, size_t output_size)
{
	uint8_t provider;
	psa_status_t st;

	if (output_size == 0)
		return PSA_SUCCESS;
	if (output == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	st = tpsa_enter();
	if (st == PSA_SUCCESS)
		st = tpsa_default_provider(&provider);
	for (size_t done = 0; st == PSA_SUCCESS && done < output_size;) {
		PsaGenerateRandom__Operation op = PSA_GENERATE_RANDOM__OPERATION__INIT;
		PsaGenerateRandom__Result *r = NULL;
		size_t want = output_size - done;

		op.size = want < TPSA_RANDOM_CHUNK ? want : TPSA_RANDOM_CHUNK;
		st = tpsa_status(tpsa_call(provider, WIRE_OP_PSA_GENERATE_RANDOM, &op.base,
		                           &psa_generate_random__result__descriptor,
		                           (ProtobufCMessage **)&r));
		if (st == PSA_SUCCESS && r->random_bytes.len != op.size)
			st = PSA_ERROR_COMMUNICATION_FAILURE;
		if (st == PSA_SUCCESS) {
			memcpy(output + done, r->random_bytes.data, op.size);
			done += op.size;
			tpsa_wipe(r->random_bytes.data, r->random_bytes.len);
		}
		if (r != NULL)
			psa_generate_random__result__free_unpacked(r, NULL);
	}
	if (st != PSA_SUCCESS)
		tpsa_wipe(output, output_size);
	tpsa_leave();
	return st;
}
