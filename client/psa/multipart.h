/* libtessera-psa internals: the state of operation objects (struct tessera_psa_op_s). */
#ifndef TESSERA_CLIENT_PSA_MULTIPART_H
#define TESSERA_CLIENT_PSA_MULTIPART_H

#include "client/psa/psa-priv.h"

/* op->state bits (0: inactive). */
#define TPSA_S_ACTIVE  0x01u /* set up, the daemon holds it */
#define TPSA_S_ERROR   0x02u /* an error happened: only abort is left */
#define TPSA_S_IV      0x04u /* cipher IV / AEAD nonce set (or not needed) */
#define TPSA_S_LENGTHS 0x08u /* AEAD lengths set (ad_remaining, text_remaining) */
#define TPSA_S_DATA    0x10u /* cipher or AEAD data given (AEAD: no more AD) */
#define TPSA_S_DECRYPT 0x20u /* decrypt, or MAC verify */
#define TPSA_S_AD      0x40u /* AEAD additional data given */
#define TPSA_S_EMPTY   0x80u /* key derivation: capacity used up */
/* op->flags: the key type (cipher, AEAD, MAC); op->capacity_hint: cipher
 * input the daemon holds back, in bytes. */

/* An active operation on the current connection (BAD_STATE / COMMUNICATION_FAILURE). */
psa_status_t tpsa_op_check(struct tessera_psa_op_s *op);
/* st, after putting an active op in the error state when st is an error. */
psa_status_t tpsa_op_fail(struct tessera_psa_op_s *op, psa_status_t st);
/* One request about op; *st its PSA status (op in the error state on failure). */
int tpsa_op_call(struct tessera_psa_op_s *op, uint32_t opcode, const ProtobufCMessage *msg,
                 const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret, psa_status_t *st);
/* Set up an inactive op of kind (PsaOpSetup kind) with a key (keyed) or none. */
psa_status_t tpsa_op_setup(struct tessera_psa_op_s *op, int kind, bool keyed, psa_key_id_t key,
                           psa_algorithm_t alg, psa_key_type_t *ret_type);
/* Abort (inside enter/leave): frees the daemon's operation, zeroes op. */
void tpsa_op_abort_locked(struct tessera_psa_op_s *op);
/* Abort from any state; always PSA_SUCCESS for an object. */
psa_status_t tpsa_op_abort(struct tessera_psa_op_s *op);
/* The bytes a cipher update of input_length releases. */
size_t tpsa_cipher_update_length(const struct tessera_psa_op_s *op, size_t input_length);

#endif
