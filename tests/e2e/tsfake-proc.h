/*
 * The Trusted Services test endpoint in a process of its own
 * (tests/tsfake/tsfake-server.c) for the end-to-end tests: started on a
 * socket in the store directory, stopped, killed, and asked for its state.
 */
#ifndef TESSERA_TESTS_E2E_TSFAKE_PROC_H
#define TESSERA_TESTS_E2E_TSFAKE_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FAKE_SERVER     TESSERA_BUILD_DIR "/tests/tsfake/tsfake-server"
#define FAKE_SOCK_LIBTS TESSERA_BUILD_DIR "/tests/tsfake/libtsfake-sock.so"

/* The control opcodes of tests/tsfake/tsfake-sock.h. */
#define FAKE_CTL_RESTART 0xffffff00u
#define FAKE_CTL_KEYS    0xffffff01u
#define FAKE_CTL_LATENCY 0xffffff02u
#define FAKE_CTL_FAULT   0xffffff03u

/* Damage to every answer (TSFAKE_DAMAGE_*). */
#define FAKE_DAMAGE_NONE     0u
#define FAKE_DAMAGE_TRUNCATE 1u
#define FAKE_DAMAGE_OVERSIZE 2u

struct fake_proc {
	pid_t pid;
	char sock[160];
};

/* Start the server on dir/fake.sock with its keys in TSFAKE_STORE (and
 * TSFAKE_LATENCY_MS as the environment has it), set TSFAKE_SOCKET for the
 * daemons started after, and wait until it accepts (fails the test if not). */
void fake_start(struct fake_proc *fp, const char *dir);
/* Send sig (SIGTERM: a clean stop, SIGKILL: a crash) and wait; returns the
 * wait status. */
int fake_stop(struct fake_proc *fp, int sig);
/* One control message; the RPC status, the answer in resp[0..*ret_len). */
int32_t fake_ctl(const struct fake_proc *fp, uint32_t opcode, const uint8_t *req, size_t req_len,
                 uint8_t *resp, size_t cap, size_t *ret_len);
void fake_set_latency(const struct fake_proc *fp, unsigned ms);
/* From now on every call answers this RPC status (when not 0) or service
 * status, and every answer is damaged so; all 0: back to normal. */
void fake_set_fault(const struct fake_proc *fp, int32_t rpc, int32_t service, uint32_t damage);
/* The key IDs the endpoint holds, up to cap; how many. */
size_t fake_key_ids(const struct fake_proc *fp, uint32_t *ids, size_t cap);

#endif
