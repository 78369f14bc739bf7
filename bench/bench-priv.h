/*
 * tessera-bench's parts outside tessera_bench.c: the sign-hash limit server
 * (limit.c), the fairness case (fairness.c) and the
 * in-process baselines of the hardware providers (p11.c, tpm.c, ts.c).
 */
#ifndef TESSERA_BENCH_BENCH_PRIV_H
#define TESSERA_BENCH_BENCH_PRIV_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

/* ---- limit.c ---- */

/*
 * A minimal AF_UNIX server for PsaSignHash with ECDSA P-256, in a process of
 * its own: `loops` epoll threads, each owning the connections the accepting
 * thread deals to it in turn. It frames requests as tesserad does (36-byte
 * header, then body_len + auth_len bytes), decodes the body with protobuf-c,
 * signs the hash with the OpenSSL calls of the software provider on a key
 * made at start, and answers with a header and a PsaSignHash result. No
 * authentication, policy or key store. Connections stay open; bit 0x8000 of
 * the request's flags (keep open) is echoed in the response's.
 */
struct limit_server {
	pid_t pid;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

/* Bind a socket under /tmp and start the server process. 0 and *ret filled
 * in, or -1 (nothing left behind). */
int limit_start(int loops, struct limit_server *ret);

/* Kill the server, wait for it and remove its socket. NULL, or a server
 * already stopped, ok. */
void limit_stop(struct limit_server *s);

/* ---- fairness.c ---- */

struct fairness_params {
	const char *endpoint; /* "unix:/path" of the daemon */
	int flood;            /* connections generating RSA-4096 keys */
	double duration;      /* each victim phase, seconds */
};

/* What the victim saw of one operation in one phase. */
struct fairness_side {
	double p50_us, p99_us, max_us;
	long count, errors;
	int first_error;
};

struct fairness_result {
	struct fairness_side sign[2]; /* RSA-2048 PSS sign-hash: [0] alone, [1] under the flood */
	struct fairness_side gd[2];   /* ECC P-256 generate + destroy, the same */
	long flood_keys, flood_errors;
	int flood_first_error;
	double stop_s;  /* from the end of the loaded phase until the flood had closed */
	double total_s; /* the whole case, set-up included */
};

/*
 * The fairness case: the tenant Direct "victim" signs with RSA-2048 PSS on
 * one connection and generates + destroys ECC P-256 keys on another, first
 * alone, then while the tenant Direct "flood" generates (and destroys)
 * RSA-4096 keys on p->flood connections. The daemon needs the Direct
 * authenticator. 0 and *ret filled in (errors counted there), or -1 when the
 * victim's key could not be made (a message on stderr).
 */
int fairness_run(const struct fairness_params *p, struct fairness_result *ret);

/* ---- p11.c ---- */

struct p11_baseline_params {
	const char *module;   /* the PKCS#11 module's path */
	const char *label;    /* the token's label */
	const char *pin_file; /* the user PIN, first line */
	int threads;          /* 1-64: one session each */
	double duration;      /* each phase, seconds */
};

struct p11_baseline_result {
	double session_rps; /* C_SignInit + C_Sign per second, session key */
	double token_rps;   /* the same on a token key (CKA_TOKEN), as tesserad's */
};

/*
 * The module's own ECDSA P-256 sign rate in this process: dlopen, log in,
 * sign on `threads` sessions with a session key, then with a token key
 * (each destroyed afterwards), C_Finalize and dlclose. 0 and *ret filled in,
 * or -1 (a message on stderr).
 */
int p11_baseline_run(const struct p11_baseline_params *p, struct p11_baseline_result *ret);

/* ---- tpm.c ---- */

struct tpm_baseline_result {
	double rps; /* Esys_Sign per second, one thread */
	double p50_us, p99_us;
	long count;
};

/*
 * ESAPI's own ECDSA P-256 TPM2_Sign on the TPM the TCTI string names
 * ("swtpm:path=..."): a primary storage key in the owner hierarchy and an
 * ECC P-256 signing key under it, password sessions, then Esys_Sign on a
 * 32-byte digest for `duration` s; both keys flushed and the TCTI closed
 * afterwards. 0 and *ret filled in, or -1 (a message on stderr).
 */
int tpm_baseline_run(const char *tcti, double duration, struct tpm_baseline_result *ret);

/* ---- ts.c ---- */

struct ts_baseline_result {
	double rps; /* SIGN_HASH per second, one session */
	double p50_us, p99_us;
	long count;
};

/*
 * libts's own ECDSA P-256 SIGN_HASH in this process: dlopen `libts` (a
 * libts.so.2, or the test endpoint's stand-in), open `service` with its
 * locator and one session, generate a persistent key there (an ID below
 * the provider's range, from this process's ID), then SIGN_HASH on
 * a 32-byte digest for `duration` s, requests and answers through the
 * provider's packed-c codec; the key destroyed, the session closed and the
 * library unloaded afterwards. 0 and *ret filled in, or -1 (a message on
 * stderr).
 */
int ts_baseline_run(const char *libts, const char *service, double duration,
                    struct ts_baseline_result *ret);

/* ---- spawn.c ---- */

/* Start the build's tesserad (daemon/tesserad beside the running program's
 * bench/ directory) with the configuration file config, listening on sock,
 * its store in dir and its KEK in dir/secrets/kek; its stderr to log (NULL:
 * discarded). The child's pid, or -1. */
pid_t bench_exec_tesserad(const char *dir, const char *config, const char *sock, const char *log);
/* Remove dir and everything in it, without a shell. 0, or -1. */
int bench_remove_tree(const char *dir);

#endif
