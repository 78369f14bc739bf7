/*
 * Parsec wire protocol 1.0: the fixed 36-byte header, the opcode table, the
 * auth types and provider IDs, and the header checks in the order Parsec
 * applies them (reference: shared parsec-facts section 1.4).
 */
#ifndef TESSERA_WIRE_WIRE_H
#define TESSERA_WIRE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

#define WIRE_MAGIC             0x5EC0A710u
#define WIRE_HEADER_LEN        36 /* whole fixed header */
#define WIRE_PREFIX_LEN        6  /* magic + header size field */
#define WIRE_HEADER_SIZE_VALUE 30 /* the header size field: bytes after the prefix */
#define WIRE_VERSION_MAJ       1
#define WIRE_VERSION_MIN       0
#define WIRE_CONTENT_PROTOBUF  0
#define WIRE_AUTH_MAX_LEN      65535u

/* Auth types (header byte 21). */
enum wire_auth_type {
	WIRE_AUTH_NONE = 0,
	WIRE_AUTH_DIRECT = 1,
	WIRE_AUTH_JWT = 2,
	WIRE_AUTH_UNIX_PEER = 3,
	WIRE_AUTH_JWT_SVID = 4,
};
#define WIRE_AUTH_TYPE_MAX 4

/* Provider IDs (header byte 10). IDs are static per provider type. */
enum wire_provider_id {
	WIRE_PROVIDER_CORE = 0,
	WIRE_PROVIDER_SOFTWARE = 1, /* Parsec's "Mbed Crypto" slot */
	WIRE_PROVIDER_PKCS11 = 2,
	WIRE_PROVIDER_TPM = 3,
	WIRE_PROVIDER_TRUSTED_SERVICE = 4,
	WIRE_PROVIDER_CRYPTOAUTHLIB = 5,
};
#define WIRE_PROVIDER_ID_MAX 5

/* Opcodes (header bytes 28-31). */
/* Parsec's UUID of the core provider (ID 0). */
#define WIRE_CORE_PROVIDER_UUID "47049873-2a43-4845-9d72-831eab668784"

enum wire_opcode {
	WIRE_OP_PING = 0x01,
	WIRE_OP_PSA_GENERATE_KEY = 0x02,
	WIRE_OP_PSA_DESTROY_KEY = 0x03,
	WIRE_OP_PSA_SIGN_HASH = 0x04,
	WIRE_OP_PSA_VERIFY_HASH = 0x05,
	WIRE_OP_PSA_IMPORT_KEY = 0x06,
	WIRE_OP_PSA_EXPORT_PUBLIC_KEY = 0x07,
	WIRE_OP_LIST_PROVIDERS = 0x08,
	WIRE_OP_LIST_OPCODES = 0x09,
	WIRE_OP_PSA_ASYMMETRIC_ENCRYPT = 0x0A,
	WIRE_OP_PSA_ASYMMETRIC_DECRYPT = 0x0B,
	WIRE_OP_PSA_EXPORT_KEY = 0x0C,
	WIRE_OP_PSA_GENERATE_RANDOM = 0x0D,
	WIRE_OP_LIST_AUTHENTICATORS = 0x0E,
	WIRE_OP_PSA_HASH_COMPUTE = 0x0F,
	WIRE_OP_PSA_HASH_COMPARE = 0x10,
	WIRE_OP_PSA_AEAD_ENCRYPT = 0x11,
	WIRE_OP_PSA_AEAD_DECRYPT = 0x12,
	WIRE_OP_PSA_RAW_KEY_AGREEMENT = 0x13,
	WIRE_OP_PSA_CIPHER_ENCRYPT = 0x14,
	WIRE_OP_PSA_CIPHER_DECRYPT = 0x15,
	WIRE_OP_PSA_MAC_COMPUTE = 0x16,
	WIRE_OP_PSA_MAC_VERIFY = 0x17,
	WIRE_OP_PSA_SIGN_MESSAGE = 0x18,
	WIRE_OP_PSA_VERIFY_MESSAGE = 0x19,
	WIRE_OP_LIST_KEYS = 0x1A,
	WIRE_OP_LIST_CLIENTS = 0x1B,
	WIRE_OP_DELETE_CLIENT = 0x1C,
	WIRE_OP_ATTEST_KEY = 0x1E,
	WIRE_OP_PREPARE_KEY_ATTESTATION = 0x1F,
	WIRE_OP_CAN_DO_CRYPTO = 0x20,
	/* Tessera's identity extensions (docs/identity.md). */
	WIRE_OP_SHARE_TRUST_BUNDLE = 0x10001,
	WIRE_OP_ADD_CLIENT = 0x10002,
	WIRE_OP_PROVE_CLIENT = 0x10003,
	WIRE_OP_REMOVE_CLIENT = 0x10004,
	WIRE_OP_GET_TOKEN = 0x10005,
	WIRE_OP_REPORT_CLIENT = 0x10010, /* tessera-orchestrator's control socket */
	/* PSA Secure Storage per tenant (docs/psa-api.md), on the core. */
	WIRE_OP_ITS_SET = 0x10100,
	WIRE_OP_ITS_GET = 0x10101,
	WIRE_OP_ITS_GET_INFO = 0x10102,
	WIRE_OP_ITS_REMOVE = 0x10103,
	WIRE_OP_PS_SET = 0x10110,
	WIRE_OP_PS_GET = 0x10111,
	WIRE_OP_PS_GET_INFO = 0x10112,
	WIRE_OP_PS_REMOVE = 0x10113,
	WIRE_OP_PS_CREATE = 0x10114,
	WIRE_OP_PS_SET_EXTENDED = 0x10115,
	WIRE_OP_PS_GET_SUPPORT = 0x10116,
	/* Tessera's PSA Crypto API extensions (docs/psa-api.md), on a crypto provider. */
	WIRE_OP_PSA_GET_KEY_ATTRIBUTES = 0x10200,
	WIRE_OP_PSA_COPY_KEY = 0x10201,
	WIRE_OP_PSA_PURGE_KEY = 0x10202,
	WIRE_OP_PSA_OP_SETUP = 0x10210,
	WIRE_OP_PSA_OP_UPDATE = 0x10211,
	WIRE_OP_PSA_OP_SET_IV = 0x10212,
	WIRE_OP_PSA_OP_SET_LENGTHS = 0x10213,
	WIRE_OP_PSA_OP_FINISH = 0x10214,
	WIRE_OP_PSA_OP_ABORT = 0x10215,
	WIRE_OP_PSA_OP_CLONE = 0x10216,
	WIRE_OP_PSA_KDF_INPUT = 0x10220,
	WIRE_OP_PSA_KDF_CAPACITY = 0x10221,
	WIRE_OP_PSA_KDF_OUTPUT = 0x10222,
};

/* PSA storage: the most data ItsGet/PsGet return in one response (1 MiB
 * less 4 KiB of headroom); a get whose range is longer is refused with
 * PsaErrorInvalidArgument, never cut short, and clients read in pieces. */
#define WIRE_STORAGE_GET_MAX (1048576u - 4096u)

enum wire_op_class {
	WIRE_CLASS_CORE,   /* served by the core (provider 0) */
	WIRE_CLASS_CRYPTO, /* served by a crypto provider (1..5) */
};

struct wire_opcode_info {
	uint32_t opcode;
	const char *name; /* Parsec's name, e.g. "PsaSignHash" */
	enum wire_op_class cls;
	bool admin;          /* ListClients, DeleteClient */
	bool needs_identity; /* NoAuth gets NotAuthenticated (19) */
	bool parsec_listed;  /* Parsec client libraries know this value */
	bool idp_only;       /* served by tessera-idp or the orchestrator, not tesserad */
};

/* The opcode's entry, or NULL when the opcode does not exist. */
const struct wire_opcode_info *wire_opcode_find(uint32_t opcode);

/* The whole table, ordered by opcode; *ret_n receives its length. */
const struct wire_opcode_info *wire_opcode_table(size_t *ret_n);

/* Parsec's name for a status ("PsaErrorNotPermitted"), or NULL if unknown. */
const char *wire_status_name(uint16_t status);

/* Name of an auth type ("Direct"), or NULL if unknown. */
const char *wire_auth_type_name(uint8_t auth_type);

struct wire_header {
	uint32_t magic;
	uint16_t hdr_size;
	uint8_t version_maj;
	uint8_t version_min;
	uint16_t flags;
	uint8_t provider;
	uint64_t session;
	uint8_t content_type;
	uint8_t accept_type;
	uint8_t auth_type;
	uint32_t body_len;
	uint16_t auth_len;
	uint32_t opcode;
	uint16_t status;
	uint8_t reserved1;
	uint8_t reserved2;
};

/*
 * Tessera's persistent connections, in the header's flags field (which
 * Parsec ignores in requests and sends as 0): a request with this bit asks
 * the service to read another request on the same connection after the
 * response, and a response with it says the service will. A response
 * without it is followed by the close, as every Parsec response is.
 */
#define WIRE_FLAG_KEEP_OPEN 0x8000u

/* Little-endian encoding of all 36 bytes. Cannot fail. */
void wire_header_encode(const struct wire_header *h, uint8_t out[WIRE_HEADER_LEN]);
void wire_header_decode(const uint8_t in[WIRE_HEADER_LEN], struct wire_header *ret_h);

/* Set the flags field of an encoded header in place. */
void wire_header_set_flags(uint8_t hdr[WIRE_HEADER_LEN], uint16_t flags);

/* Magic and header size from the first 6 bytes of a request. */
void wire_prefix_decode(const uint8_t in[WIRE_PREFIX_LEN], uint32_t *ret_magic,
                        uint16_t *ret_hdr_size);

/* A request header for the given operation (version 1.0, protobuf, session 0). */
void wire_header_request(struct wire_header *ret_h, uint32_t opcode, uint8_t provider,
                         uint8_t auth_type, uint32_t body_len, uint16_t auth_len);

/* The response header for a request: provider, session and opcode copied back,
 * content type = the request's accept type, everything else as Parsec sends it. */
void wire_header_response(const struct wire_header *req, uint16_t status, uint32_t body_len,
                          struct wire_header *ret_h);

/* The default header Parsec answers with when the request header could not be
 * decoded: provider 0, session 0, opcode Ping, empty body. */
void wire_header_default_response(uint16_t status, struct wire_header *ret_h);

/*
 * Header checks in Parsec's order. Each returns TS_OK or the error whose wire
 * status Parsec answers with.
 *   wire_check_magic:  step 1 (InvalidHeader).
 *   wire_check_header: steps 2-5 on the decoded header: header size 30
 *                      (InvalidHeader), version 1.0 (WireProtocolVersionNotSupported),
 *                      reserved bytes 0 (InvalidHeader), body_len <= limit
 *                      (BodySizeExceedsLimit).
 *   wire_check_fields: step 7, after body and auth were read: content type,
 *                      accept type, auth type <= 4, opcode exists, provider <= 5.
 */
enum ts_err wire_check_magic(uint32_t magic);
enum ts_err wire_check_header(const struct wire_header *h, uint32_t body_len_limit);
enum ts_err wire_check_fields(const struct wire_header *h);

#include <protobuf-c/protobuf-c.h>

/*
 * A protobuf-c allocator that refuses to hand out more than cap bytes in
 * total, so a hostile body cannot make the decoder allocate without bound
 * (protobuf-c sizes repeated fields from the input). Use a.base as the
 * allocator argument of *__unpack() and *__free_unpacked().
 */
struct wire_pb_alloc {
	ProtobufCAllocator base;
	size_t used;
	size_t cap;
};

/* Prepare an allocator with the given budget. Cannot fail. */
void wire_pb_alloc_init(struct wire_pb_alloc *a, size_t cap);

/* The decoding budget for a body of this length: enough for any valid
 * message of that size, never proportional to counts the sender declares. */
size_t wire_body_budget(size_t body_len);

/* The one decoder of untrusted bodies: the message, with a capped
 * allocator set up in *a (wire_body_budget), or NULL when the body does not
 * decode (DeserializingBodyFailed) or would need more memory than that.
 * Free with wire_decoded_free (NULL ok). */
ProtobufCMessage *wire_decode(const ProtobufCMessageDescriptor *desc, const uint8_t *body,
                              size_t len, struct wire_pb_alloc *a);
void wire_decoded_free(ProtobufCMessage *m, struct wire_pb_alloc *a);

/* Whether a top-level length-delimited field of a body (one that decoded)
 * holds a NUL byte: protobuf-c keeps strings as C strings, so "a\0b"
 * would silently become "a". */
bool wire_string_has_nul(const uint8_t *body, size_t len, unsigned field);

/* Pack a result message into a new buffer (*ret_body NULL for an empty
 * message). TS_OK, TS_E_NOMEM or TS_E_SERIALIZING_BODY_FAILED. */
enum ts_err wire_pack(const ProtobufCMessage *m, uint8_t **ret_body, size_t *ret_len);

#endif
