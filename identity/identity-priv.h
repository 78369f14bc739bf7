/* Internals shared by tessera-idp and tessera-orchestrator. */
#ifndef TESSERA_IDENTITY_PRIV_H
#define TESSERA_IDENTITY_PRIV_H

#include <protobuf-c/protobuf-c.h>
#include <uv.h>

#include "common/secmem.h"
#include "identity/identity.h"
#include "wire/wire.h"

/* ---- the framed server (identity/server.c) ---- */

/* Serve one request: TS_OK and a reply body (malloc'd, may be NULL), or the
 * error whose status is answered. peer comes from SO_PEERCRED. */
typedef enum ts_err (*idsrv_fn)(void *ctx, const struct auth_peer *peer, uint32_t opcode,
                                const uint8_t *body, size_t body_len, uint8_t **ret_body,
                                size_t *ret_len);

/*
 * Listen on path (a stale socket there is replaced; under socket activation
 * systemd's socket is used) with the given mode, call tick(ctx) once and then
 * every tick_ms, and serve until SIGTERM or SIGINT; the socket is removed at
 * the end. ListOpcodes reports opcodes. 0, or -1 after logging why.
 */
int idsrv_serve(const char *path, unsigned mode, const uint32_t *opcodes, size_t n_opcodes,
                idsrv_fn fn, void (*tick)(void *ctx), uint64_t tick_ms, void *ctx);

/* ---- the trusted side of one relationship (identity/share.c) ---- */

struct sharer {
	char *endpoint;        /* the trusting side, "unix:/path" */
	const char *peer_name; /* for messages */
	struct pki_cert *root;
	struct pki_cert *inter; /* the one we sign with */
	int64_t inter_lifetime_s;
	int64_t rotate_s;
	int64_t rotated_at;
	bool root_shared;
	bool in_sync; /* the trusting side holds root and inter */
	/* Called after the trusting side was found to have restarted (it had
	 * to be given the root again): re-send what it lost. */
	void (*on_reset)(void *ctx);
	void *ctx;
};

/* Make a root and a first intermediate. TS_OK or an error. */
enum ts_err sharer_init(struct sharer *s, const char *endpoint, const char *peer_name,
                        const char *cn, int64_t rotate_s);
void sharer_fini(struct sharer *s);

/* Share what the trusting side lacks; rotate the intermediate when due (the
 * new one is shared before it is used). 0 when in sync, -1 otherwise. */
int sharer_tick(struct sharer *s);

/* A client of the trusting side (short timeouts, no auth). */
struct tessera_client;
int sharer_connect(const struct sharer *s, struct tessera_client **ret);

/* ---- small shared helpers (identity/util.c) ---- */

/* Client names: [A-Za-z0-9._-]{1,128}. */
bool client_name_ok(const char *name);

/* Make the process non-dumpable, umask 077, SIGPIPE ignored. */
void identity_harden(void);

/* Seconds since the epoch. */
int64_t now_s(void);

#endif
