/* The test endpoint's insides, shared by its key and multipart halves. */
#ifndef TESSERA_TESTS_TSFAKE_PRIV_H
#define TESSERA_TESTS_TSFAKE_PRIV_H

#include <stdbool.h>

#include <openssl/evp.h>

#include "providers/software/software-priv.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"
#include "tsfake.h"

#define VOLATILE_FIRST 0x7fffffe0u
#define MAX_KEYS       256
#define MSG_MAX        64 /* PSA_HASH_MAX_SIZE: the service's SIGN_MESSAGE buffer */
#define POOL           10 /* multipart contexts per family, as the service has */

struct fkey {
	uint32_t id;
	struct tsc_attrs raw; /* as answered by GET_KEY_ATTRIBUTES */
	struct psa_attrs a;
	uint8_t *mat;
	size_t mat_len;
};

enum fop_family { FOP_CIPHER = 0, FOP_MAC = 1, FOP_AEAD = 2 };

/* A multipart operation: the key is copied in at setup, as the service
 * does (destroying the key later does not end the operation). */
struct fop {
	bool used;
	uint32_t handle;
	uint64_t seq; /* allocation order: the oldest is recycled when the pool is full */
	bool encrypt; /* or, for a MAC, sign */
	uint64_t fed; /* cipher update input so far (the Mbed TLS output check) */
	struct psa_alg alg;
	uint8_t type;
	uint8_t key[64];
	size_t key_len;
	EVP_CIPHER_CTX *cctx;
	EVP_MAC_CTX *mctx;
	size_t tag_len;
	bool iv_set;
	void *ccm; /* AES-CCM: the software provider's streaming state (sw_mp_*) */
};

struct tsfake {
	void *sw;
	char *store;
	struct fkey keys[MAX_KEYS];
	size_t n;
	uint32_t next_volatile;
	int32_t force_rpc, force_service;
	struct fop ops[3][POOL];
	uint32_t next_handle;
	uint64_t seq;
	unsigned purges; /* PURGE_KEY calls served (tsfake_purge_count) */
	void *kdf;       /* the key-derivation pool (tsfake-kdf.c) */
};

struct call {
	struct tsfake *f;
	uint8_t *buf;
	size_t cap, req_len;
	size_t resp_len;
	int32_t rpc;
	int64_t service;
};

bool tsfake_tlv(struct call *c, size_t off, uint16_t tag, const uint8_t **v, size_t *len);
bool tsfake_u32_at(struct call *c, size_t off, uint32_t *v);
void tsfake_answer_id(struct call *c, uint32_t id);
void tsfake_answer_data(struct call *c, const uint8_t *data, size_t len);
void tsfake_set_err(struct call *c, enum ts_err err);
struct fkey *tsfake_key_of(struct call *c, uint32_t *ret_id);
/* The same with the key ID at offset off of the request. */
struct fkey *tsfake_key_at(struct call *c, size_t off, uint32_t *ret_id);
bool tsfake_alg_permitted(const struct fkey *k, uint32_t alg);

/* Cipher, MAC and AEAD opcodes (0x03xx, 0x05xx, 0x06xx); false for others. */
bool tsfake_multipart(struct call *c, uint32_t opcode);
void tsfake_multipart_free(struct tsfake *f);
/* Key-derivation opcodes (0x0401-0x0408, tsfake-kdf.c); false for others. */
bool tsfake_kdf(struct call *c, uint32_t opcode);
void tsfake_kdf_free(struct tsfake *f);

#endif
