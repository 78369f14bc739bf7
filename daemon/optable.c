/*
 * The operation table: every operation tesserad serves, what its body is,
 * what it needs (identity, a key, a usage flag, which policy rules), where it
 * runs and which function runs it. The request path (request.c) reads only
 * this table; nothing else in the daemon looks at an opcode.
 *
 * The contract decoders are step 12 beyond protobuf decoding: a key name
 * that is a non-empty C string, and well-formed attributes or algorithm
 * where the operation has them (Parsec's rules: a missing sub-message, an
 * unset oneof or a NONE enum is InvalidEncoding).
 */
#include "daemon/daemon-priv.h"

#include <pthread.h>
#include <string.h>

#include "common/util.h"
#include "wire/psa.h"

#include "attest_key.pb-c.h"
#include "can_do_crypto.pb-c.h"
#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"
#include "prepare_key_attestation.pb-c.h"
#include "psa_aead_decrypt.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_asymmetric_decrypt.pb-c.h"
#include "psa_asymmetric_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_copy_key.pb-c.h"
#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_ps_create.pb-c.h"
#include "psa_ps_get_support.pb-c.h"
#include "psa_ps_set_extended.pb-c.h"
#include "psa_storage_get.pb-c.h"
#include "psa_storage_get_info.pb-c.h"
#include "psa_storage_remove.pb-c.h"
#include "psa_storage_set.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_generate_random.pb-c.h"
#include "psa_get_key_attributes.pb-c.h"
#include "psa_hash_compare.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_kdf_capacity.pb-c.h"
#include "psa_kdf_input.pb-c.h"
#include "psa_kdf_output.pb-c.h"
#include "psa_mac_verify.pb-c.h"
#include "psa_purge_key.pb-c.h"
#include "psa_op_abort.pb-c.h"
#include "psa_op_clone.pb-c.h"
#include "psa_op_finish.pb-c.h"
#include "psa_op_set_iv.pb-c.h"
#include "psa_op_set_lengths.pb-c.h"
#include "psa_op_setup.pb-c.h"
#include "psa_op_update.pb-c.h"
#include "psa_raw_key_agreement.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_sign_message.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "psa_verify_message.pb-c.h"
#include "share_trust_bundle.pb-c.h"

/* ---- contracts ---- */

static enum ts_err name_ok(const char *name, struct op_args *ret)
{
	/* Names are C strings in the key store: not empty (protobuf-c stops
	 * at an embedded NUL, which the key store cannot hold either). */
	if (name == NULL || name[0] == '\0')
		return TS_E_INVALID_ENCODING;
	ret->key_name = name;
	return TS_OK;
}

static enum ts_err attrs_ok(const PsaKeyAttributes__KeyAttributes *pb, struct op_args *ret)
{
	if (psa_attrs_from_pb(pb, &ret->attrs) != TS_OK)
		return TS_E_INVALID_ENCODING;
	ret->has_attrs = true;
	return TS_OK;
}

static enum ts_err alg_ok(enum ts_err decoded, struct op_args *ret)
{
	if (decoded != TS_OK)
		return TS_E_INVALID_ENCODING;
	ret->has_alg = true;
	return TS_OK;
}

static enum ts_err c_none(const ProtobufCMessage *m, struct op_args *ret)
{
	(void)m;
	(void)ret;
	return TS_OK;
}

static enum ts_err c_generate(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaGenerateKey__Operation *o = (const void *)m;

	ret->volatile_key = o->volatile_key;
	return name_ok(o->key_name, ret) != TS_OK ? TS_E_INVALID_ENCODING
	                                          : attrs_ok(o->attributes, ret);
}

static enum ts_err c_import(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaImportKey__Operation *o = (const void *)m;

	ret->volatile_key = o->volatile_key;
	return name_ok(o->key_name, ret) != TS_OK ? TS_E_INVALID_ENCODING
	                                          : attrs_ok(o->attributes, ret);
}

static enum ts_err c_destroy(const ProtobufCMessage *m, struct op_args *ret)
{
	return name_ok(((const PsaDestroyKey__Operation *)m)->key_name, ret);
}

static enum ts_err c_export(const ProtobufCMessage *m, struct op_args *ret)
{
	return name_ok(((const PsaExportKey__Operation *)m)->key_name, ret);
}

static enum ts_err c_export_public(const ProtobufCMessage *m, struct op_args *ret)
{
	return name_ok(((const PsaExportPublicKey__Operation *)m)->key_name, ret);
}

static enum ts_err c_sign_hash(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaSignHash__Operation *o = (const void *)m;

	ret->input_len = o->hash.len;
	return name_ok(o->key_name, ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : alg_ok(psa_sign_alg_from_pb(o->alg, &ret->alg), ret);
}

static enum ts_err c_verify_hash(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaVerifyHash__Operation *o = (const void *)m;

	ret->input_len = o->hash.len;
	return name_ok(o->key_name, ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : alg_ok(psa_sign_alg_from_pb(o->alg, &ret->alg), ret);
}

static enum ts_err c_sign_message(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaSignMessage__Operation *o = (const void *)m;

	ret->input_len = o->message.len;
	return name_ok(o->key_name, ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : alg_ok(psa_sign_alg_from_pb(o->alg, &ret->alg), ret);
}

static enum ts_err c_verify_message(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaVerifyMessage__Operation *o = (const void *)m;

	ret->input_len = o->message.len;
	return name_ok(o->key_name, ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : alg_ok(psa_sign_alg_from_pb(o->alg, &ret->alg), ret);
}

/* The algorithm first, then the name, as the earlier decoder did: either
 * failing is InvalidEncoding, so the order is not visible. */
static enum ts_err c_aead_encrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaAeadEncrypt__Operation *o = (const void *)m;

	return alg_ok(psa_aead_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_aead_decrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaAeadDecrypt__Operation *o = (const void *)m;

	return alg_ok(psa_aead_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_cipher_encrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaCipherEncrypt__Operation *o = (const void *)m;

	return alg_ok(psa_cipher_alg_from_enum((int)o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_cipher_decrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaCipherDecrypt__Operation *o = (const void *)m;

	return alg_ok(psa_cipher_alg_from_enum((int)o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_mac_compute(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaMacCompute__Operation *o = (const void *)m;

	return alg_ok(psa_mac_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_mac_verify(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaMacVerify__Operation *o = (const void *)m;

	return alg_ok(psa_mac_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_asym_encrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaAsymmetricEncrypt__Operation *o = (const void *)m;

	return alg_ok(psa_enc_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_asym_decrypt(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaAsymmetricDecrypt__Operation *o = (const void *)m;

	return alg_ok(psa_enc_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->key_name, ret);
}

static enum ts_err c_key_agreement(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaRawKeyAgreement__Operation *o = (const void *)m;

	return alg_ok(psa_ka_alg_from_enum((int)o->alg, &ret->alg), ret) != TS_OK
	               ? TS_E_INVALID_ENCODING
	               : name_ok(o->private_key_name, ret);
}

static enum ts_err c_hash(int alg)
{
	return alg >= PROV_HASH_MD2 && alg <= PROV_HASH_SHA3_512 ? TS_OK : TS_E_INVALID_ENCODING;
}

static enum ts_err c_hash_compute(const ProtobufCMessage *m, struct op_args *ret)
{
	(void)ret;
	return c_hash((int)((const PsaHashCompute__Operation *)m)->alg);
}

static enum ts_err c_hash_compare(const ProtobufCMessage *m, struct op_args *ret)
{
	(void)ret;
	return c_hash((int)((const PsaHashCompare__Operation *)m)->alg);
}

static enum ts_err c_can_do(const ProtobufCMessage *m, struct op_args *ret)
{
	const CanDoCrypto__Operation *o = (const void *)m;

	if (o->check_type < CAN_DO_CRYPTO__CHECK_TYPE__USE ||
	    o->check_type > CAN_DO_CRYPTO__CHECK_TYPE__DERIVE)
		return TS_E_INVALID_ENCODING;
	ret->check_type = (int)o->check_type;
	return attrs_ok(o->attributes, ret);
}

static enum ts_err c_prepare_attestation(const ProtobufCMessage *m, struct op_args *ret)
{
	const PrepareKeyAttestation__Operation *o = (const void *)m;
	const PrepareKeyAttestation__PrepareKeyAttestationParams *p = o->parameters;

	if (p == NULL ||
	    p->mechanism_case !=
	            PREPARE_KEY_ATTESTATION__PREPARE_KEY_ATTESTATION_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL ||
	    p->activate_credential == NULL)
		return TS_E_INVALID_ENCODING;
	return name_ok(p->activate_credential->attested_key_name, ret);
}

static enum ts_err c_attest(const ProtobufCMessage *m, struct op_args *ret)
{
	const AttestKey__Operation *o = (const void *)m;
	const AttestKey__AttestationMechanismParams *p = o->parameters;

	if (p == NULL ||
	    p->mechanism_case !=
	            ATTEST_KEY__ATTESTATION_MECHANISM_PARAMS__MECHANISM_ACTIVATE_CREDENTIAL ||
	    p->activate_credential == NULL)
		return TS_E_INVALID_ENCODING;
	return name_ok(o->attested_key_name, ret);
}

/* The PSA C API's operations held by the daemon (multipart.c). A key name
 * is optional in their bodies: the contract sets it only when given, so
 * the request path checks and maps it as for every other key name. */
static enum ts_err c_op_setup(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaOpSetup__Operation *o = (const void *)m;

	if (o->kind < PSA_OP_SETUP__OPERATION__KIND__HASH ||
	    o->kind > PSA_OP_SETUP__OPERATION__KIND__KEY_DERIVATION)
		return TS_E_INVALID_ENCODING;
	if (alg_ok(psa_alg_from_pb(o->alg, &ret->alg), ret) != TS_OK)
		return TS_E_INVALID_ENCODING;
	if (o->key_name != NULL && o->key_name[0] != '\0')
		ret->key_name = o->key_name;
	return TS_OK;
}

static enum ts_err c_kdf_input(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaKdfInput__Operation *o = (const void *)m;

	if (o->key_name != NULL && o->key_name[0] != '\0')
		ret->key_name = o->key_name;
	return TS_OK;
}

static enum ts_err c_kdf_output(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaKdfOutput__Operation *o = (const void *)m;

	if (o->key_name != NULL && o->key_name[0] != '\0') {
		if (attrs_ok(o->attributes, ret) != TS_OK)
			return TS_E_INVALID_ENCODING;
		ret->key_name = o->key_name;
	}
	ret->volatile_key = o->volatile_key;
	return TS_OK;
}

/* ---- which provider types serve what ---- */

/* The PSA C API's key operations. */
static enum ts_err c_get_attributes(const ProtobufCMessage *m, struct op_args *ret)
{
	return name_ok(((const PsaGetKeyAttributes__Operation *)m)->key_name, ret);
}

static enum ts_err c_purge(const ProtobufCMessage *m, struct op_args *ret)
{
	return name_ok(((const PsaPurgeKey__Operation *)m)->key_name, ret);
}

static enum ts_err c_copy(const ProtobufCMessage *m, struct op_args *ret)
{
	const PsaCopyKey__Operation *o = (const void *)m;

	return name_ok(o->key_name, ret) != TS_OK ? TS_E_INVALID_ENCODING
	                                          : attrs_ok(o->attributes, ret);
}

static bool s_copy(const struct prov_ops *o)
{
	return o->copy_key != NULL || (o->export_key != NULL && o->import_key != NULL);
}

static bool s_random(const struct prov_ops *o)
{
	return o->generate_random != NULL;
}
static bool s_hash(const struct prov_ops *o)
{
	return o->hash_compute != NULL;
}
static bool s_generate(const struct prov_ops *o)
{
	return o->generate_key != NULL;
}
static bool s_import(const struct prov_ops *o)
{
	return o->import_key != NULL;
}
static bool s_destroy(const struct prov_ops *o)
{
	return o->generate_key != NULL || o->import_key != NULL;
}
static bool s_export(const struct prov_ops *o)
{
	return o->export_key != NULL;
}
static bool s_export_public(const struct prov_ops *o)
{
	return o->export_public_key != NULL;
}
static bool s_sign(const struct prov_ops *o)
{
	return o->sign_hash != NULL;
}
static bool s_verify(const struct prov_ops *o)
{
	return o->verify_hash != NULL;
}
/* Natively, or hashed by the provider and signed as a hash. */
static bool s_sign_message(const struct prov_ops *o)
{
	return o->sign_message != NULL || (o->sign_hash != NULL && o->hash_compute != NULL);
}
static bool s_verify_message(const struct prov_ops *o)
{
	return o->verify_message != NULL || (o->verify_hash != NULL && o->hash_compute != NULL);
}
static bool s_aead(const struct prov_ops *o)
{
	return o->aead != NULL;
}
static bool s_cipher(const struct prov_ops *o)
{
	return o->cipher != NULL;
}
static bool s_mac(const struct prov_ops *o)
{
	return o->mac != NULL;
}
static bool s_mac_verify(const struct prov_ops *o)
{
	return o->mac != NULL || o->mac_verify != NULL;
}
static bool s_asym(const struct prov_ops *o)
{
	return o->asym_crypt != NULL;
}
static bool s_key_agreement(const struct prov_ops *o)
{
	return o->key_agreement != NULL;
}
static bool s_can_do(const struct prov_ops *o)
{
	return o->can_do != NULL;
}
static bool s_prepare_attestation(const struct prov_ops *o)
{
	return o->prepare_key_attestation != NULL;
}
static bool s_attest(const struct prov_ops *o)
{
	return o->attest_key != NULL;
}
/* Hashing is the daemon's own: every instance carries it; the provider's
 * mp_* or kdf_* hooks are asked for at setup. */
static bool s_any(const struct prov_ops *o)
{
	(void)o;
	return true;
}

/* ---- the table ---- */

#define BODY(pkg) (&pkg##__operation__descriptor)

/* A core operation: discovery on the loop, the rest on a worker. */
#define CORE_OP(code, pkg, cls_, where_, fn)                                     \
	{                                                                        \
		.opcode = code, .body = BODY(pkg), .cls = cls_, .where = where_, \
		.contract = c_none, .run = fn                                    \
	}

/* A PSA C API operation held by the daemon: its key (if any) is loaded
 * and checked by its runner, whose rules depend on the operation's kind. */
#define MP_OP(code, pkg, field, contract_, fn)                                                \
	{                                                                                     \
		.opcode = code, .body = BODY(pkg), .cls = OPC_EXTENSION, .where = OPW_WORKER, \
		.name_field = field, .contract = contract_, .run = fn, .served_by = s_any     \
	}

static struct op_desc table[] = {
        CORE_OP(WIRE_OP_PING, ping, OPC_CORE, OPW_LOOP, core_ping),
        CORE_OP(WIRE_OP_LIST_PROVIDERS, list_providers, OPC_CORE, OPW_LOOP, core_list_providers),
        CORE_OP(WIRE_OP_LIST_OPCODES, list_opcodes, OPC_CORE, OPW_LOOP, core_list_opcodes),
        CORE_OP(WIRE_OP_LIST_AUTHENTICATORS, list_authenticators, OPC_CORE, OPW_LOOP,
                core_list_authenticators),
        CORE_OP(WIRE_OP_LIST_KEYS, list_keys, OPC_CORE, OPW_WORKER, core_list_keys),
        CORE_OP(WIRE_OP_LIST_CLIENTS, list_clients, OPC_ADMIN, OPW_WORKER, core_list_clients),
        CORE_OP(WIRE_OP_DELETE_CLIENT, delete_client, OPC_ADMIN, OPW_WORKER, core_delete_client),
        CORE_OP(WIRE_OP_SHARE_TRUST_BUNDLE, share_trust_bundle, OPC_EXTENSION, OPW_WORKER,
                core_share_trust_bundle),

        /* PSA Secure Storage (storage.c): key-store reads and writes, on
         * workers; the support bits are a constant. */
        CORE_OP(WIRE_OP_ITS_SET, psa_storage_set, OPC_EXTENSION, OPW_WORKER, storage_its_set),
        CORE_OP(WIRE_OP_ITS_GET, psa_storage_get, OPC_EXTENSION, OPW_WORKER, storage_its_get),
        CORE_OP(WIRE_OP_ITS_GET_INFO, psa_storage_get_info, OPC_EXTENSION, OPW_WORKER,
                storage_its_get_info),
        CORE_OP(WIRE_OP_ITS_REMOVE, psa_storage_remove, OPC_EXTENSION, OPW_WORKER,
                storage_its_remove),
        CORE_OP(WIRE_OP_PS_SET, psa_storage_set, OPC_EXTENSION, OPW_WORKER, storage_ps_set),
        CORE_OP(WIRE_OP_PS_GET, psa_storage_get, OPC_EXTENSION, OPW_WORKER, storage_ps_get),
        CORE_OP(WIRE_OP_PS_GET_INFO, psa_storage_get_info, OPC_EXTENSION, OPW_WORKER,
                storage_ps_get_info),
        CORE_OP(WIRE_OP_PS_REMOVE, psa_storage_remove, OPC_EXTENSION, OPW_WORKER,
                storage_ps_remove),
        CORE_OP(WIRE_OP_PS_CREATE, psa_ps_create, OPC_EXTENSION, OPW_WORKER, storage_ps_create),
        CORE_OP(WIRE_OP_PS_SET_EXTENDED, psa_ps_set_extended, OPC_EXTENSION, OPW_WORKER,
                storage_ps_set_extended),
        CORE_OP(WIRE_OP_PS_GET_SUPPORT, psa_ps_get_support, OPC_EXTENSION, OPW_LOOP,
                storage_ps_get_support),

        /* Key life: key-store writes, on workers. */
        {.opcode = WIRE_OP_PSA_GENERATE_KEY,
         .body = BODY(psa_generate_key),
         .cls = OPC_CRYPTO,
         .key = OPK_CREATE,
         .where = OPW_WORKER,
         .policy = OPP_CREATE,
         .contract = c_generate,
         .run = keyop_generate,
         .served_by = s_generate},
        {.opcode = WIRE_OP_PSA_IMPORT_KEY,
         .body = BODY(psa_import_key),
         .cls = OPC_CRYPTO,
         .key = OPK_CREATE,
         .where = OPW_WORKER,
         .keep_bits = true,
         .contract = c_import,
         .run = keyop_import,
         .served_by = s_import},
        {.opcode = WIRE_OP_PSA_DESTROY_KEY,
         .body = BODY(psa_destroy_key),
         .cls = OPC_CRYPTO,
         .key = OPK_DESTROY,
         .where = OPW_WORKER,
         .contract = c_destroy,
         .run = keyop_destroy,
         .served_by = s_destroy},
        {.opcode = WIRE_OP_PSA_EXPORT_KEY,
         .body = BODY(psa_export_key),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_EXPORT,
         .contract = c_export,
         .run = keyop_export,
         .served_by = s_export},
        {.opcode = WIRE_OP_PSA_EXPORT_PUBLIC_KEY,
         .body = BODY(psa_export_public_key),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .contract = c_export_public,
         .run = keyop_export_public,
         .served_by = s_export_public},

        /* Signatures. */
        {.opcode = WIRE_OP_PSA_SIGN_HASH,
         .body = BODY(psa_sign_hash),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_SIGN,
         .usage = PSA_USAGE_SIGN_HASH,
         .signing = true,
         .contract = c_sign_hash,
         .run = cryptop_sign_hash,
         .served_by = s_sign},
        {.opcode = WIRE_OP_PSA_VERIFY_HASH,
         .body = BODY(psa_verify_hash),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_SIGN,
         .usage = PSA_USAGE_VERIFY_HASH,
         .contract = c_verify_hash,
         .run = cryptop_verify_hash,
         .served_by = s_verify},
        /* PSA: a key allowed to sign hashes may also sign messages. */
        {.opcode = WIRE_OP_PSA_SIGN_MESSAGE,
         .body = BODY(psa_sign_message),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_SIGN,
         .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_SIGN_HASH,
         .signing = true,
         .message = true,
         .contract = c_sign_message,
         .run = cryptop_sign_message,
         .served_by = s_sign_message},
        {.opcode = WIRE_OP_PSA_VERIFY_MESSAGE,
         .body = BODY(psa_verify_message),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_SIGN,
         .usage = PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_VERIFY_HASH,
         .message = true,
         .contract = c_verify_message,
         .run = cryptop_verify_message,
         .served_by = s_verify_message},

        /* Encryption, MACs, key agreement. PSA 1.0 names MAC usage
         * sign/verify_message; older clients set the hash flags: either
         * allows it. */
        {.opcode = WIRE_OP_PSA_AEAD_ENCRYPT,
         .body = BODY(psa_aead_encrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_AEAD,
         .usage = PSA_USAGE_ENCRYPT,
         .contract = c_aead_encrypt,
         .run = cryptop_aead_encrypt,
         .served_by = s_aead},
        {.opcode = WIRE_OP_PSA_AEAD_DECRYPT,
         .body = BODY(psa_aead_decrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_AEAD,
         .usage = PSA_USAGE_DECRYPT,
         .contract = c_aead_decrypt,
         .run = cryptop_aead_decrypt,
         .served_by = s_aead},
        {.opcode = WIRE_OP_PSA_CIPHER_ENCRYPT,
         .body = BODY(psa_cipher_encrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_CIPHER,
         .usage = PSA_USAGE_ENCRYPT,
         .contract = c_cipher_encrypt,
         .run = cryptop_cipher_encrypt,
         .served_by = s_cipher},
        {.opcode = WIRE_OP_PSA_CIPHER_DECRYPT,
         .body = BODY(psa_cipher_decrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_CIPHER,
         .usage = PSA_USAGE_DECRYPT,
         .contract = c_cipher_decrypt,
         .run = cryptop_cipher_decrypt,
         .served_by = s_cipher},
        {.opcode = WIRE_OP_PSA_MAC_COMPUTE,
         .body = BODY(psa_mac_compute),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_MAC,
         .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_SIGN_HASH,
         .contract = c_mac_compute,
         .run = cryptop_mac_compute,
         .served_by = s_mac},
        {.opcode = WIRE_OP_PSA_MAC_VERIFY,
         .body = BODY(psa_mac_verify),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_MAC,
         .usage = PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_VERIFY_HASH,
         .contract = c_mac_verify,
         .run = cryptop_mac_verify,
         .served_by = s_mac_verify},
        {.opcode = WIRE_OP_PSA_ASYMMETRIC_ENCRYPT,
         .body = BODY(psa_asymmetric_encrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_ASYM_ENCRYPT,
         .usage = PSA_USAGE_ENCRYPT,
         .contract = c_asym_encrypt,
         .run = cryptop_asym_encrypt,
         .served_by = s_asym},
        {.opcode = WIRE_OP_PSA_ASYMMETRIC_DECRYPT,
         .body = BODY(psa_asymmetric_decrypt),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_ASYM_DECRYPT,
         .usage = PSA_USAGE_DECRYPT,
         .contract = c_asym_decrypt,
         .run = cryptop_asym_decrypt,
         .served_by = s_asym},
        {.opcode = WIRE_OP_PSA_RAW_KEY_AGREEMENT,
         .body = BODY(psa_raw_key_agreement),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_PROVIDER,
         .policy = OPP_USE,
         .fit = OPF_KEY_AGREEMENT,
         .usage = PSA_USAGE_DERIVE,
         .name_field = 2,
         .contract = c_key_agreement,
         .run = cryptop_key_agreement,
         .served_by = s_key_agreement},

        /* No key. */
        {.opcode = WIRE_OP_PSA_GENERATE_RANDOM,
         .body = BODY(psa_generate_random),
         .cls = OPC_CRYPTO,
         .where = OPW_PROVIDER,
         .contract = c_none,
         .run = cryptop_random,
         .served_by = s_random},
        {.opcode = WIRE_OP_PSA_HASH_COMPUTE,
         .body = BODY(psa_hash_compute),
         .cls = OPC_CRYPTO,
         .where = OPW_PROVIDER,
         .contract = c_hash_compute,
         .run = cryptop_hash_compute,
         .served_by = s_hash},
        {.opcode = WIRE_OP_PSA_HASH_COMPARE,
         .body = BODY(psa_hash_compare),
         .cls = OPC_CRYPTO,
         .where = OPW_PROVIDER,
         .contract = c_hash_compare,
         .run = cryptop_hash_compare,
         .served_by = s_hash},
        {.opcode = WIRE_OP_CAN_DO_CRYPTO,
         .body = BODY(can_do_crypto),
         .cls = OPC_CRYPTO,
         .where = OPW_PROVIDER,
         .policy = OPP_CAN_DO,
         .contract = c_can_do,
         .run = cryptop_can_do,
         .served_by = s_can_do},

        /* The PSA C API's multipart operations and key derivation, held
         * for the connection (session.c, multipart.c): on workers, as they
         * reach the key store and the provider. */
        MP_OP(WIRE_OP_PSA_OP_SETUP, psa_op_setup, 2, c_op_setup, mp_op_setup),
        MP_OP(WIRE_OP_PSA_OP_UPDATE, psa_op_update, 0, c_none, mp_op_update),
        MP_OP(WIRE_OP_PSA_OP_SET_IV, psa_op_set_iv, 0, c_none, mp_op_set_iv),
        MP_OP(WIRE_OP_PSA_OP_SET_LENGTHS, psa_op_set_lengths, 0, c_none, mp_op_set_lengths),
        MP_OP(WIRE_OP_PSA_OP_FINISH, psa_op_finish, 0, c_none, mp_op_finish),
        MP_OP(WIRE_OP_PSA_OP_ABORT, psa_op_abort, 0, c_none, mp_op_abort),
        MP_OP(WIRE_OP_PSA_OP_CLONE, psa_op_clone, 0, c_none, mp_op_clone),
        MP_OP(WIRE_OP_PSA_KDF_INPUT, psa_kdf_input, 4, c_kdf_input, mp_kdf_input),
        MP_OP(WIRE_OP_PSA_KDF_CAPACITY, psa_kdf_capacity, 0, c_none, mp_kdf_capacity),
        MP_OP(WIRE_OP_PSA_KDF_OUTPUT, psa_kdf_output, 3, c_kdf_output, mp_kdf_output),

        /* Attestation: hardware only, so always on a worker. */
        {.opcode = WIRE_OP_PREPARE_KEY_ATTESTATION,
         .body = BODY(prepare_key_attestation),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_WORKER,
         .name_field = 0xFF,
         .contract = c_prepare_attestation,
         .run = cryptop_prepare_attestation,
         .served_by = s_prepare_attestation},
        {.opcode = WIRE_OP_ATTEST_KEY,
         .body = BODY(attest_key),
         .cls = OPC_CRYPTO,
         .key = OPK_USE,
         .where = OPW_WORKER,
         .contract = c_attest,
         .run = cryptop_attest,
         .served_by = s_attest},

        /* The PSA C API's key operations (docs/psa-api.md). */
        {.opcode = WIRE_OP_PSA_GET_KEY_ATTRIBUTES,
         .body = BODY(psa_get_key_attributes),
         .cls = OPC_EXTENSION,
         .key = OPK_USE,
         .where = OPW_LOOP,
         .contract = c_get_attributes,
         .run = keyop_get_attributes,
         .served_by = s_any},
        {.opcode = WIRE_OP_PSA_COPY_KEY,
         .body = BODY(psa_copy_key),
         .cls = OPC_EXTENSION,
         .key = OPK_USE,
         .where = OPW_WORKER,
         .policy = OPP_COPY,
         .contract = c_copy,
         .run = keyop_copy,
         .served_by = s_copy},
        {.opcode = WIRE_OP_PSA_PURGE_KEY,
         .body = BODY(psa_purge_key),
         .cls = OPC_EXTENSION,
         .key = OPK_USE,
         .where = OPW_WORKER, /* the provider's purge_key may call its device */
         .contract = c_purge,
         .run = keyop_purge,
         .served_by = s_any},
};

/* The wire table's facts (name, admin, needs an identity) are joined in
 * once; everything else is constant. */
static pthread_once_t joined = PTHREAD_ONCE_INIT;

static void join_wire_table(void)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(table); i++)
		table[i].wire = wire_opcode_find(table[i].opcode);
}

const struct op_desc *op_find(uint32_t opcode)
{
	pthread_once(&joined, join_wire_table);
	for (size_t i = 0; i < TS_ARRAY_LEN(table); i++)
		if (table[i].opcode == opcode)
			return table[i].wire != NULL ? &table[i] : NULL;
	return NULL;
}

bool op_served(const struct op_desc *op, const struct svc_provider *p)
{
	return op != NULL && op->served_by != NULL && p != NULL && op->served_by(p->ops);
}
