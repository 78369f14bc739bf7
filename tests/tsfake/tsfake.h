/*
 * A Trusted Services crypto endpoint of our own, for tests only: the server
 * side of the packed-c protocol (TS v1.2.0 behaviour as the protocol notes
 * describe it), computing with the software provider's OpenSSL code and
 * keeping keys by key ID in one namespace shared by every caller.
 *
 * Behaviours reproduced: RPC status -2 for an opcode it does not serve, -6
 * for a fixed part too short or a SIGN_MESSAGE input over 64 bytes, -1 for
 * an answer that does not fit the shared buffer; missing optional TLVs read
 * as empty; volatile key IDs counted from 0x7fffffe0; SIGN_HASH/VERIFY_HASH
 * usage widened with SIGN_MESSAGE/VERIFY_MESSAGE; INVALID_HANDLE for a key
 * ID it does not hold; ALREADY_EXISTS for a persistent ID taken.
 *
 * Persistent keys are written to a file after every change when the fake
 * has one, so that they survive the process (a secure partition's storage
 * survives the daemon).
 */
#ifndef TESSERA_TESTS_TSFAKE_H
#define TESSERA_TESTS_TSFAKE_H

#include <stddef.h>
#include <stdint.h>

#define TSFAKE_BUFFER 8192u

struct tsfake;

/* A fake whose persistent keys live in store_path (NULL: in memory only). NULL when out of memory
 * or the store cannot be read. */
struct tsfake *tsfake_new(const char *store_path);
void tsfake_free(struct tsfake *f);

/* One call: the request in buf[0..req_len), the response written to
 * buf[0..*ret_len) (buf has cap bytes). Returns the RPC status; the service
 * status in *ret_service. */
int32_t tsfake_call(struct tsfake *f, uint32_t opcode, uint8_t *buf, size_t cap, size_t req_len,
                    size_t *ret_len, int64_t *ret_service);

/* Fault injection: the next call answers with this RPC status (when not 0)
 * or, on RPC success, this service status, without doing anything. */
void tsfake_force(struct tsfake *f, int32_t rpc, int32_t service);

/* How many keys it holds. */
size_t tsfake_key_count(const struct tsfake *f);

/* How many PURGE_KEY calls it served for a key it holds. With a store, every
 * fake on that store (in any process) also counts them in the file
 * "<store>.purges", one decimal number: tsfake_purges_in(store) reads it. */
unsigned tsfake_purge_count(const struct tsfake *f);
unsigned tsfake_purges_in(const char *store_path);

#endif
