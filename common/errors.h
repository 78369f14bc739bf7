/*
 * One list of every error Tessera can report. Each entry carries the Parsec
 * wire status it becomes (wire_status_from_err() is the only conversion) and a
 * short message for logs and the CLI.
 */
#ifndef TESSERA_COMMON_ERRORS_H
#define TESSERA_COMMON_ERRORS_H

#include <stdint.h>

/* X(name, wire status, message) */
#define TS_ERROR_LIST(X)                                                        \
	X(OK, 0, "success")                                                     \
	X(WRONG_PROVIDER_ID, 1, "wrong provider ID")                            \
	X(CONTENT_TYPE_NOT_SUPPORTED, 2, "content type not supported")          \
	X(ACCEPT_TYPE_NOT_SUPPORTED, 3, "accept type not supported")            \
	X(WIRE_VERSION_NOT_SUPPORTED, 4, "wire protocol version not supported") \
	X(PROVIDER_NOT_REGISTERED, 5, "provider not registered")                \
	X(PROVIDER_DOES_NOT_EXIST, 6, "provider does not exist")                \
	X(DESERIALIZING_BODY_FAILED, 7, "failed to deserialize the body")       \
	X(SERIALIZING_BODY_FAILED, 8, "failed to serialize the body")           \
	X(OPCODE_DOES_NOT_EXIST, 9, "opcode does not exist")                    \
	X(RESPONSE_TOO_LARGE, 10, "response too large")                         \
	X(AUTHENTICATION_ERROR, 11, "authentication failed")                    \
	X(AUTHENTICATOR_DOES_NOT_EXIST, 12, "authenticator does not exist")     \
	X(AUTHENTICATOR_NOT_REGISTERED, 13, "authenticator not registered")     \
	X(KEY_INFO_MANAGER_ERROR, 14, "key store error")                        \
	X(CONNECTION_ERROR, 15, "connection error")                             \
	X(INVALID_ENCODING, 16, "invalid encoding")                             \
	X(INVALID_HEADER, 17, "invalid header")                                 \
	X(WRONG_PROVIDER_UUID, 18, "wrong provider UUID")                       \
	X(NOT_AUTHENTICATED, 19, "not authenticated")                           \
	X(BODY_SIZE_EXCEEDS_LIMIT, 20, "body size exceeds limit")               \
	X(ADMIN_OPERATION, 21, "operation requires an admin")                   \
	X(DEPRECATED_PRIMITIVE, 22, "deprecated primitive")                     \
	X(PSA_GENERIC_ERROR, 1132, "PSA: generic error")                        \
	X(PSA_NOT_PERMITTED, 1133, "PSA: not permitted")                        \
	X(PSA_NOT_SUPPORTED, 1134, "PSA: not supported")                        \
	X(PSA_INVALID_ARGUMENT, 1135, "PSA: invalid argument")                  \
	X(PSA_INVALID_HANDLE, 1136, "PSA: invalid handle")                      \
	X(PSA_BAD_STATE, 1137, "PSA: bad state")                                \
	X(PSA_BUFFER_TOO_SMALL, 1138, "PSA: buffer too small")                  \
	X(PSA_ALREADY_EXISTS, 1139, "PSA: already exists")                      \
	X(PSA_DOES_NOT_EXIST, 1140, "PSA: does not exist")                      \
	X(PSA_INSUFFICIENT_MEMORY, 1141, "PSA: insufficient memory")            \
	X(PSA_INSUFFICIENT_STORAGE, 1142, "PSA: insufficient storage")          \
	X(PSA_INSUFFICIENT_DATA, 1143, "PSA: insufficient data")                \
	X(PSA_COMMUNICATION_FAILURE, 1145, "PSA: communication failure")        \
	X(PSA_STORAGE_FAILURE, 1146, "PSA: storage failure")                    \
	X(PSA_HARDWARE_FAILURE, 1147, "PSA: hardware failure")                  \
	X(PSA_INSUFFICIENT_ENTROPY, 1148, "PSA: insufficient entropy")          \
	X(PSA_INVALID_SIGNATURE, 1149, "PSA: invalid signature")                \
	X(PSA_INVALID_PADDING, 1150, "PSA: invalid padding")                    \
	X(PSA_CORRUPTION_DETECTED, 1151, "PSA: corruption detected")            \
	X(PSA_DATA_CORRUPT, 1152, "PSA: data corrupt")                          \
	X(PSA_DATA_INVALID, 1153, "PSA: data invalid")                          \
	/* Internal errors: never a wire value of their own. */                 \
	X(NOMEM, 1141, "out of memory")                                         \
	X(IO, 15, "input/output error")                                         \
	X(TIMEOUT, 15, "timed out")                                             \
	X(CONFIG, 1132, "configuration error")                                  \
	X(SYSTEM, 1132, "system error")                                         \
	X(LIMIT, 1141, "resource limit reached")

enum ts_err {
#define TS_ERR_ENUM(name, wire, msg) TS_E_##name,
	TS_ERROR_LIST(TS_ERR_ENUM)
#undef TS_ERR_ENUM
	        TS_E__COUNT
};

#define TS_OK TS_E_OK

/* Short human message for an error; "unknown error" for a value outside the list. */
const char *ts_strerror(enum ts_err err);

/* The symbolic name ("PSA_NOT_PERMITTED"); "UNKNOWN" outside the list. */
const char *ts_errname(enum ts_err err);

/* Wire status for an error (the list's second column). */
uint16_t ts_err_wire_status(enum ts_err err);

#endif
