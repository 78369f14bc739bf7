/*
 * The framing between the socket libts stand-in (tsfake-sock-libts.c) and
 * the test endpoint's own process (tsfake-server.c), over a Unix stream
 * socket. All integers little-endian.
 *
 *   request:  u32 opcode, u32 request length, u32 response capacity, bytes
 *   response: i32 RPC status, i64 service status, u32 response length, bytes
 *
 * Opcodes from TSFAKE_CTL_FIRST up are the tests' control messages, never
 * sent by the provider:
 *   TSFAKE_CTL_RESTART  lose volatile state (volatile keys, multipart
 *                       contexts) as a restarted partition would; keep the
 *                       persistent keys of the store;
 *   TSFAKE_CTL_KEYS     the IDs of the keys held, u32 each;
 *   TSFAKE_CTL_LATENCY  request: u32 milliseconds to sleep before each
 *                       answer from now on;
 *   TSFAKE_CTL_FAULT    request: i32 RPC status, i32 service status, u32
 *                       damage (TSFAKE_DAMAGE_*): from now on every call
 *                       answers that RPC status (when not 0) or, on RPC
 *                       success, that service status without doing
 *                       anything (both 0: calls run), and its answer is
 *                       damaged so; all three 0 clears the fault.
 *
 * A TSFAKE_DAMAGE_OVERSIZE answer claims TSFAKE_BUFFER + 1 bytes and sends
 * as many (zeros after the real answer): the socket stand-in reads them all
 * and hands on the claim, as libts would a broken endpoint's.
 */
#ifndef TESSERA_TESTS_TSFAKE_SOCK_H
#define TESSERA_TESTS_TSFAKE_SOCK_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define TSFAKE_REQ_HEAD  12u
#define TSFAKE_RESP_HEAD 16u

#define TSFAKE_CTL_FIRST   0xffffff00u
#define TSFAKE_CTL_RESTART 0xffffff00u
#define TSFAKE_CTL_KEYS    0xffffff01u
#define TSFAKE_CTL_LATENCY 0xffffff02u
#define TSFAKE_CTL_FAULT   0xffffff03u

#define TSFAKE_DAMAGE_NONE     0u
#define TSFAKE_DAMAGE_TRUNCATE 1u /* the answer's last byte dropped */
#define TSFAKE_DAMAGE_OVERSIZE 2u /* one byte more than the buffer claimed */

static inline void tsfake_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t tsfake_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Whole buffers or false (EOF, error); no SIGPIPE for a peer gone. */
static inline bool tsfake_write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static inline bool tsfake_read_all(int fd, uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

#endif
