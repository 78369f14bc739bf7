/*
 * The packed-c encoding of the Trusted Services crypto service (TS v1.2.0,
 * service "sn:trustedfirmware.org:crypto:0"), written from the protocol
 * headers' facts: a request is a fixed part of little-endian u32 fields
 * followed by TLV records (big-endian u16 tag, big-endian u16 length, the
 * value) in ascending tag order; a response is a fixed part or TLVs only.
 *
 * Everything read here may come from a misbehaving endpoint (or, for the
 * test endpoint, from a client), so the reader never reads past the end it
 * was given and a record's length is checked against what is left before
 * anything uses it. Nothing here allocates.
 */
#ifndef TESSERA_PROVIDERS_TS_CODEC_H
#define TESSERA_PROVIDERS_TS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/errors.h"

/* Opcodes of the packed-c crypto service. */
#define TSC_OP_GENERATE_KEY       0x0101u
#define TSC_OP_DESTROY_KEY        0x0102u
#define TSC_OP_EXPORT_KEY         0x0105u
#define TSC_OP_EXPORT_PUBLIC_KEY  0x0106u
#define TSC_OP_IMPORT_KEY         0x0107u
#define TSC_OP_SIGN_HASH          0x0108u
#define TSC_OP_VERIFY_HASH        0x0109u
#define TSC_OP_ASYMMETRIC_DECRYPT 0x010au
#define TSC_OP_ASYMMETRIC_ENCRYPT 0x010bu
#define TSC_OP_GENERATE_RANDOM    0x010cu
#define TSC_OP_COPY_KEY           0x010du
#define TSC_OP_PURGE_KEY          0x010eu
#define TSC_OP_GET_KEY_ATTRIBUTES 0x010fu
#define TSC_OP_SIGN_MESSAGE       0x0110u
#define TSC_OP_VERIFY_MESSAGE     0x0111u

#define TSC_OP_RAW_KEY_AGREEMENT    0x040au
#define TSC_OP_CIPHER_ENCRYPT_SETUP 0x0301u
#define TSC_OP_CIPHER_DECRYPT_SETUP 0x0302u
#define TSC_OP_CIPHER_GENERATE_IV   0x0303u
#define TSC_OP_CIPHER_SET_IV        0x0304u
#define TSC_OP_CIPHER_UPDATE        0x0305u
#define TSC_OP_CIPHER_FINISH        0x0306u
#define TSC_OP_CIPHER_ABORT         0x0307u
#define TSC_OP_MAC_SIGN_SETUP       0x0501u
#define TSC_OP_MAC_VERIFY_SETUP     0x0502u
#define TSC_OP_MAC_UPDATE           0x0503u
#define TSC_OP_MAC_SIGN_FINISH      0x0504u
#define TSC_OP_MAC_VERIFY_FINISH    0x0505u
#define TSC_OP_MAC_ABORT            0x0506u
#define TSC_OP_AEAD_ENCRYPT_SETUP   0x0601u
#define TSC_OP_AEAD_DECRYPT_SETUP   0x0602u
#define TSC_OP_AEAD_GENERATE_NONCE  0x0603u
#define TSC_OP_AEAD_SET_NONCE       0x0604u
#define TSC_OP_AEAD_SET_LENGTHS     0x0605u
#define TSC_OP_AEAD_UPDATE_AD       0x0606u
#define TSC_OP_AEAD_UPDATE          0x0607u
#define TSC_OP_AEAD_FINISH          0x0608u
#define TSC_OP_AEAD_VERIFY          0x0609u
#define TSC_OP_AEAD_ABORT           0x060au
/* Hash (hash.h): encoded here, never sent (the daemon hashes). */
#define TSC_OP_HASH_SETUP  0x0201u
#define TSC_OP_HASH_UPDATE 0x0202u
#define TSC_OP_HASH_FINISH 0x0203u
#define TSC_OP_HASH_ABORT  0x0204u
#define TSC_OP_HASH_VERIFY 0x0205u
#define TSC_OP_HASH_CLONE  0x0206u
/* Key derivation (key_derivation.h; RAW_KEY_AGREEMENT above is its 10th). */
#define TSC_OP_KDF_SETUP         0x0401u
#define TSC_OP_KDF_GET_CAPACITY  0x0402u
#define TSC_OP_KDF_SET_CAPACITY  0x0403u
#define TSC_OP_KDF_INPUT_BYTES   0x0404u
#define TSC_OP_KDF_INPUT_KEY     0x0405u
#define TSC_OP_KDF_OUTPUT_BYTES  0x0406u
#define TSC_OP_KDF_OUTPUT_KEY    0x0407u
#define TSC_OP_KDF_ABORT         0x0408u
#define TSC_OP_KDF_KEY_AGREEMENT 0x0409u

/* TLV tags (each operation numbers its own from 1). */
#define TSC_TAG_1 1u
#define TSC_TAG_2 2u

/* The largest value one TLV record can carry, and a record's header. */
#define TSC_TLV_MAX    0xffffu
#define TSC_TLV_HEADER 4u

/* RPC status (the transport level), rpc_status.h of TS v1.x. */
#define TSC_RPC_SUCCESS               0
#define TSC_RPC_INTERNAL              (-1)
#define TSC_RPC_INVALID_VALUE         (-2)
#define TSC_RPC_NOT_FOUND             (-3)
#define TSC_RPC_INVALID_STATE         (-4)
#define TSC_RPC_TRANSPORT_LAYER       (-5)
#define TSC_RPC_INVALID_REQUEST_BODY  (-6)
#define TSC_RPC_INVALID_RESPONSE_BODY (-7)
#define TSC_RPC_RESOURCE_FAILURE      (-8)

/* Service status values: PSA Crypto's psa_status_t. */
#define TSC_PSA_SUCCESS               0
#define TSC_PSA_ERROR_PROGRAMMER      (-129)
#define TSC_PSA_ERROR_CONN_REFUSED    (-130)
#define TSC_PSA_ERROR_CONN_BUSY       (-131)
#define TSC_PSA_ERROR_GENERIC         (-132)
#define TSC_PSA_ERROR_NOT_PERMITTED   (-133)
#define TSC_PSA_ERROR_NOT_SUPPORTED   (-134)
#define TSC_PSA_ERROR_INVALID_ARG     (-135)
#define TSC_PSA_ERROR_INVALID_HANDLE  (-136)
#define TSC_PSA_ERROR_BAD_STATE       (-137)
#define TSC_PSA_ERROR_BUFFER_SMALL    (-138)
#define TSC_PSA_ERROR_ALREADY_EXISTS  (-139)
#define TSC_PSA_ERROR_DOES_NOT_EXIST  (-140)
#define TSC_PSA_ERROR_INSUFF_MEMORY   (-141)
#define TSC_PSA_ERROR_INSUFF_STORAGE  (-142)
#define TSC_PSA_ERROR_INSUFF_DATA     (-143)
#define TSC_PSA_ERROR_SERVICE_FAILURE (-144)
#define TSC_PSA_ERROR_COMMUNICATION   (-145)
#define TSC_PSA_ERROR_STORAGE         (-146)
#define TSC_PSA_ERROR_HARDWARE        (-147)
#define TSC_PSA_ERROR_INSUFF_ENTROPY  (-148)
#define TSC_PSA_ERROR_INVALID_SIG     (-149)
#define TSC_PSA_ERROR_INVALID_PADDING (-150)
#define TSC_PSA_ERROR_CORRUPTION      (-151)
#define TSC_PSA_ERROR_DATA_CORRUPT    (-152)
#define TSC_PSA_ERROR_DATA_INVALID    (-153)

/* Key lifetimes as the service takes them. */
#define TSC_LIFETIME_VOLATILE   0u
#define TSC_LIFETIME_PERSISTENT 1u

/* The 24-byte key attribute block, raw PSA encodings. */
struct tsc_attrs {
	uint32_t type, bits, lifetime, id, usage, alg;
};
#define TSC_ATTRS_LEN 24u

/* ---- writer: into a caller's buffer of fixed capacity ---- */

struct tsc_writer {
	uint8_t *buf;
	size_t cap, len;
	uint16_t last_tag; /* 0 before the first TLV */
	bool failed;       /* out of room or a value over TSC_TLV_MAX */
	bool misordered;   /* a tag not above the one before */
};

void tsc_w_init(struct tsc_writer *w, uint8_t *buf, size_t cap);
void tsc_w_u32(struct tsc_writer *w, uint32_t v);
void tsc_w_attrs(struct tsc_writer *w, const struct tsc_attrs *a);
/* A TLV record; tags must rise strictly from one call to the next. */
void tsc_w_tlv(struct tsc_writer *w, uint16_t tag, const uint8_t *v, size_t len);
/* TS_OK and the length written; TS_E_PSA_INSUFFICIENT_MEMORY when a record
 * did not fit the capacity or exceeded TSC_TLV_MAX, TS_E_PSA_INVALID_ARGUMENT
 * for tags out of order. */
enum ts_err tsc_w_finish(const struct tsc_writer *w, size_t *ret_len);

/* Room a TLV of len value bytes takes. */
static inline size_t tsc_tlv_space(size_t len)
{
	return TSC_TLV_HEADER + len;
}

/* ---- reader ---- */

/* Little-endian u32 at off; false when fewer than 4 bytes are left there. */
bool tsc_r_u32(const uint8_t *buf, size_t len, size_t off, uint32_t *ret);
/* The attribute block at off; false when it does not fit. */
bool tsc_r_attrs(const uint8_t *buf, size_t len, size_t off, struct tsc_attrs *ret);

enum tsc_find {
	TSC_FOUND = 0,
	TSC_ABSENT = 1,    /* not there: the caller treats it as empty or missing */
	TSC_MALFORMED = 2, /* a record's header or value runs past the end */
};

/* Look for tag among the TLV records in buf[off..len). Like the service,
 * records with a lower tag are skipped and the search stops at a higher
 * one; unlike it, every record up to the one found is checked to lie
 * inside the buffer. */
enum tsc_find tsc_find_tlv(const uint8_t *buf, size_t len, size_t off, uint16_t tag,
                           const uint8_t **ret_val, size_t *ret_len);

/* ---- messages of the key-management, signature, encryption and random
 * operations (section 1.3 of the protocol notes) ----
 *
 * Requests go into buf[0..cap) and return tsc_w_finish's result. */

/* DESTROY_KEY, EXPORT_KEY, EXPORT_PUBLIC_KEY, PURGE_KEY, GET_KEY_ATTRIBUTES. */
enum ts_err tsc_req_key_id(uint8_t *buf, size_t cap, uint32_t id, size_t *ret_len);
enum ts_err tsc_req_generate(uint8_t *buf, size_t cap, const struct tsc_attrs *a, size_t *ret_len);
/* COPY_KEY: the source's ID, then the target's attributes (with its ID). */
enum ts_err tsc_req_copy(uint8_t *buf, size_t cap, uint32_t source, const struct tsc_attrs *a,
                         size_t *ret_len);
enum ts_err tsc_req_import(uint8_t *buf, size_t cap, const struct tsc_attrs *a, const uint8_t *data,
                           size_t data_len, size_t *ret_len);
/* SIGN_HASH and SIGN_MESSAGE: T1 the hash or message. */
enum ts_err tsc_req_sign(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                         size_t in_len, size_t *ret_len);
/* VERIFY_HASH and VERIFY_MESSAGE: T1 the hash or message, T2 the signature. */
enum ts_err tsc_req_verify(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                           size_t in_len, const uint8_t *sig, size_t sig_len, size_t *ret_len);
/* ASYMMETRIC_ENCRYPT / DECRYPT: T1 the input, T2 the salt (OAEP label),
 * left out when salt is NULL. */
enum ts_err tsc_req_asym(uint8_t *buf, size_t cap, uint32_t id, uint32_t alg, const uint8_t *in,
                         size_t in_len, const uint8_t *salt, size_t salt_len, size_t *ret_len);
enum ts_err tsc_req_random(uint8_t *buf, size_t cap, uint32_t size, size_t *ret_len);
/* RAW_KEY_AGREEMENT: the algorithm first, then the private key's ID; T1 the
 * peer's public key. */
enum ts_err tsc_req_raw_agreement(uint8_t *buf, size_t cap, uint32_t alg, uint32_t id,
                                  const uint8_t *peer, size_t peer_len, size_t *ret_len);

/* Multipart (cipher, MAC, AEAD): *_SETUP takes the key ID and algorithm
 * and answers an operation handle (tsc_resp_id); every later step takes the
 * handle, then the step's T1 when data is not NULL. */
enum ts_err tsc_req_setup(uint8_t *buf, size_t cap, uint32_t key_id, uint32_t alg, size_t *ret_len);
enum ts_err tsc_req_step(uint8_t *buf, size_t cap, uint32_t handle, const uint8_t *data,
                         size_t data_len, size_t *ret_len);
enum ts_err tsc_req_aead_lengths(uint8_t *buf, size_t cap, uint32_t handle, uint32_t ad_len,
                                 uint32_t text_len, size_t *ret_len);

/* Key derivation. SETUP takes the algorithm alone and answers a handle
 * (tsc_resp_id); GET_CAPACITY and ABORT take the handle alone
 * (tsc_req_kdf_handle), GET_CAPACITY answering a u32 (tsc_resp_id: the
 * service truncates its size_t to 32 bits). INPUT_BYTES: handle, step, T1
 * the data; INPUT_KEY: handle, step, the partition key's ID; OUTPUT_BYTES:
 * handle, the length wanted, answered as T1 (tsc_resp_data); KEY_AGREEMENT:
 * handle, step, the private key's ID, T1 the peer's public key, answering
 * nothing (the shared secret stays in the partition, as the step's input). */
enum ts_err tsc_req_kdf_setup(uint8_t *buf, size_t cap, uint32_t alg, size_t *ret_len);
enum ts_err tsc_req_kdf_handle(uint8_t *buf, size_t cap, uint32_t handle, size_t *ret_len);
enum ts_err tsc_req_kdf_input_bytes(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                    const uint8_t *data, size_t data_len, size_t *ret_len);
enum ts_err tsc_req_kdf_input_key(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                  uint32_t key_id, size_t *ret_len);
enum ts_err tsc_req_kdf_key_agreement(uint8_t *buf, size_t cap, uint32_t handle, uint32_t step,
                                      uint32_t key_id, const uint8_t *peer, size_t peer_len,
                                      size_t *ret_len);
enum ts_err tsc_req_kdf_output_bytes(uint8_t *buf, size_t cap, uint32_t handle, uint32_t len,
                                     size_t *ret_len);

/* Hash. SETUP takes the hash algorithm (PSA_ALG_SHA_256 0x02000009) and
 * answers a handle; UPDATE (T1 the data) and VERIFY (T1 the expected hash)
 * take the handle and data, FINISH, ABORT and CLONE the handle alone
 * (data NULL). FINISH answers T1 the hash (tsc_resp_data), CLONE the new
 * handle (tsc_resp_id). */
enum ts_err tsc_req_hash_setup(uint8_t *buf, size_t cap, uint32_t alg, size_t *ret_len);
enum ts_err tsc_req_hash_step(uint8_t *buf, size_t cap, uint32_t handle, const uint8_t *data,
                              size_t data_len, size_t *ret_len);

/* Responses. Each is TS_OK or TS_E_PSA_COMMUNICATION_FAILURE for a body
 * that does not hold what the operation answers with. */
enum ts_err tsc_resp_id(const uint8_t *resp, size_t len, uint32_t *ret_id);
enum ts_err tsc_resp_attrs(const uint8_t *resp, size_t len, struct tsc_attrs *ret);
/* The T1 record (key data, signature, ciphertext, plaintext, random bytes),
 * pointing into resp. */
enum ts_err tsc_resp_data(const uint8_t *resp, size_t len, const uint8_t **ret_val,
                          size_t *ret_len);

/* An output record that may be missing (an empty last part): TS_OK with
 * length 0 when absent, TS_E_PSA_COMMUNICATION_FAILURE when malformed. */
enum ts_err tsc_resp_optional(const uint8_t *resp, size_t len, uint16_t tag,
                              const uint8_t **ret_val, size_t *ret_len);

/* ---- status ---- */

/* The one place both status levels map to our errors: the RPC status
 * first, the service (PSA) status only when the RPC succeeded. */
enum ts_err tsc_status_to_err(int32_t rpc_status, int64_t service_status);

/* Our error → the PSA status the test endpoint answers with. */
int32_t tsc_err_to_psa(enum ts_err err);

#endif
