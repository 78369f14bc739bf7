#include "wire/wire.h"

#include <stddef.h>

/*
 * needs_identity: Parsec serves only Ping, the List* discovery operations,
 * hashing and random generation without an authenticated caller; ListKeys
 * needs one although it is a core operation.
 */
#define OP(code, nm, cl, adm, ident, listed)                                                  \
	{                                                                                     \
		.opcode = code, .name = nm, .cls = cl, .admin = adm, .needs_identity = ident, \
		.parsec_listed = listed                                                       \
	}
/* Identity operations: the idp checks the caller's peer credentials. */
#define IDP(code, nm)                                                                       \
	{                                                                                   \
		.opcode = code, .name = nm, .cls = WIRE_CLASS_CORE, .parsec_listed = false, \
		.idp_only = true                                                            \
	}
#define CORE   WIRE_CLASS_CORE
#define CRYPTO WIRE_CLASS_CRYPTO

static const struct wire_opcode_info opcode_table[] = {
        OP(WIRE_OP_PING, "Ping", CORE, false, false, true),
        OP(WIRE_OP_PSA_GENERATE_KEY, "PsaGenerateKey", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_DESTROY_KEY, "PsaDestroyKey", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_SIGN_HASH, "PsaSignHash", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_VERIFY_HASH, "PsaVerifyHash", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_IMPORT_KEY, "PsaImportKey", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_EXPORT_PUBLIC_KEY, "PsaExportPublicKey", CRYPTO, false, true, true),
        OP(WIRE_OP_LIST_PROVIDERS, "ListProviders", CORE, false, false, true),
        OP(WIRE_OP_LIST_OPCODES, "ListOpcodes", CORE, false, false, true),
        OP(WIRE_OP_PSA_ASYMMETRIC_ENCRYPT, "PsaAsymmetricEncrypt", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_ASYMMETRIC_DECRYPT, "PsaAsymmetricDecrypt", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_EXPORT_KEY, "PsaExportKey", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_GENERATE_RANDOM, "PsaGenerateRandom", CRYPTO, false, false, true),
        OP(WIRE_OP_LIST_AUTHENTICATORS, "ListAuthenticators", CORE, false, false, true),
        OP(WIRE_OP_PSA_HASH_COMPUTE, "PsaHashCompute", CRYPTO, false, false, true),
        OP(WIRE_OP_PSA_HASH_COMPARE, "PsaHashCompare", CRYPTO, false, false, true),
        OP(WIRE_OP_PSA_AEAD_ENCRYPT, "PsaAeadEncrypt", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_AEAD_DECRYPT, "PsaAeadDecrypt", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_RAW_KEY_AGREEMENT, "PsaRawKeyAgreement", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_CIPHER_ENCRYPT, "PsaCipherEncrypt", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_CIPHER_DECRYPT, "PsaCipherDecrypt", CRYPTO, false, true, true),
        /* Parsec's client enums lack the MAC opcodes, so they are listed only on request. */
        OP(WIRE_OP_PSA_MAC_COMPUTE, "PsaMacCompute", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_MAC_VERIFY, "PsaMacVerify", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_SIGN_MESSAGE, "PsaSignMessage", CRYPTO, false, true, true),
        OP(WIRE_OP_PSA_VERIFY_MESSAGE, "PsaVerifyMessage", CRYPTO, false, true, true),
        OP(WIRE_OP_LIST_KEYS, "ListKeys", CORE, false, true, true),
        OP(WIRE_OP_LIST_CLIENTS, "ListClients", CORE, true, true, true),
        OP(WIRE_OP_DELETE_CLIENT, "DeleteClient", CORE, true, true, true),
        OP(WIRE_OP_ATTEST_KEY, "AttestKey", CRYPTO, false, true, true),
        OP(WIRE_OP_PREPARE_KEY_ATTESTATION, "PrepareKeyAttestation", CRYPTO, false, true, true),
        OP(WIRE_OP_CAN_DO_CRYPTO, "CanDoCrypto", CRYPTO, false, true, true),
        /* The trusting side checks the sharer's SO_PEERCRED itself. */
        OP(WIRE_OP_SHARE_TRUST_BUNDLE, "ShareTrustBundle", CORE, false, false, false),
        IDP(WIRE_OP_ADD_CLIENT, "AddClient"),
        IDP(WIRE_OP_PROVE_CLIENT, "ProveClient"),
        IDP(WIRE_OP_REMOVE_CLIENT, "RemoveClient"),
        IDP(WIRE_OP_GET_TOKEN, "GetToken"),
        IDP(WIRE_OP_REPORT_CLIENT, "ReportClient"),
        /* The PSA Crypto API's multipart operations and key derivation (docs/protocol.md). */
        OP(WIRE_OP_PSA_OP_SETUP, "PsaOperationSetup", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_UPDATE, "PsaOperationUpdate", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_SET_IV, "PsaOperationSetIv", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_SET_LENGTHS, "PsaOperationSetLengths", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_FINISH, "PsaOperationFinish", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_ABORT, "PsaOperationAbort", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_OP_CLONE, "PsaOperationClone", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_KDF_INPUT, "PsaKeyDerivationInput", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_KDF_CAPACITY, "PsaKeyDerivationCapacity", CRYPTO, false, true, false),
        OP(WIRE_OP_PSA_KDF_OUTPUT, "PsaKeyDerivationOutput", CRYPTO, false, true, false),
};

const struct wire_opcode_info *wire_opcode_find(uint32_t opcode)
{
	size_t lo = 0, hi = sizeof(opcode_table) / sizeof(opcode_table[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (opcode_table[mid].opcode == opcode)
			return &opcode_table[mid];
		if (opcode_table[mid].opcode < opcode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct wire_opcode_info *wire_opcode_table(size_t *ret_n)
{
	*ret_n = sizeof(opcode_table) / sizeof(opcode_table[0]);
	return opcode_table;
}

struct status_name {
	uint16_t status;
	const char *name;
};

static const struct status_name status_names[] = {
        {0, "Success"},
        {1, "WrongProviderId"},
        {2, "ContentTypeNotSupported"},
        {3, "AcceptTypeNotSupported"},
        {4, "WireProtocolVersionNotSupported"},
        {5, "ProviderNotRegistered"},
        {6, "ProviderDoesNotExist"},
        {7, "DeserializingBodyFailed"},
        {8, "SerializingBodyFailed"},
        {9, "OpcodeDoesNotExist"},
        {10, "ResponseTooLarge"},
        {11, "AuthenticationError"},
        {12, "AuthenticatorDoesNotExist"},
        {13, "AuthenticatorNotRegistered"},
        {14, "KeyInfoManagerError"},
        {15, "ConnectionError"},
        {16, "InvalidEncoding"},
        {17, "InvalidHeader"},
        {18, "WrongProviderUuid"},
        {19, "NotAuthenticated"},
        {20, "BodySizeExceedsLimit"},
        {21, "AdminOperation"},
        {22, "DeprecatedPrimitive"},
        {1132, "PsaErrorGenericError"},
        {1133, "PsaErrorNotPermitted"},
        {1134, "PsaErrorNotSupported"},
        {1135, "PsaErrorInvalidArgument"},
        {1136, "PsaErrorInvalidHandle"},
        {1137, "PsaErrorBadState"},
        {1138, "PsaErrorBufferTooSmall"},
        {1139, "PsaErrorAlreadyExists"},
        {1140, "PsaErrorDoesNotExist"},
        {1141, "PsaErrorInsufficientMemory"},
        {1142, "PsaErrorInsufficientStorage"},
        {1143, "PsaErrorInsufficientData"},
        {1145, "PsaErrorCommunicationFailure"},
        {1146, "PsaErrorStorageFailure"},
        {1147, "PsaErrorHardwareFailure"},
        {1148, "PsaErrorInsufficientEntropy"},
        {1149, "PsaErrorInvalidSignature"},
        {1150, "PsaErrorInvalidPadding"},
        {1151, "PsaErrorCorruptionDetected"},
        {1152, "PsaErrorDataCorrupt"},
        {1153, "PsaErrorDataInvalid"},
};

const char *wire_status_name(uint16_t status)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (status_names[i].status == status)
			return status_names[i].name;
	return NULL;
}

const char *wire_auth_type_name(uint8_t auth_type)
{
	switch (auth_type) {
	case WIRE_AUTH_NONE:
		return "NoAuth";
	case WIRE_AUTH_DIRECT:
		return "Direct";
	case WIRE_AUTH_JWT:
		return "Jwt";
	case WIRE_AUTH_UNIX_PEER:
		return "UnixPeerCredentials";
	case WIRE_AUTH_JWT_SVID:
		return "JwtSvid";
	default:
		return NULL;
	}
}
