/*
 * Code shared by tessera-idp and tessera-orchestrator: the trusted side of a
 * trust relationship (root and intermediate certificates whose private keys
 * live only in this process's memory, and JWS signing), proofs read from
 * /proc, and a small framed server. Reference: docs/identity.md.
 */
#ifndef TESSERA_IDENTITY_IDENTITY_H
#define TESSERA_IDENTITY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "auth/auth.h"
#include "common/errors.h"

/* ---- Certificates and signing (identity/pki.c) ---- */

/* A key pair and its certificate. */
struct pki_cert;

struct pki_spec {
	const char *cn;       /* subject common name */
	bool ca;              /* basicConstraints CA:TRUE, keyCertSign */
	int64_t not_before_s; /* offset from now (usually negative: clock skew) */
	int64_t lifetime_s;   /* notAfter = now + lifetime_s */
	const char *group;    /* NULL: "prime256v1" */
};

/* A new key pair and a certificate for it, signed by issuer (NULL: self
 * signed). TS_OK or TS_E_NOMEM / TS_E_SYSTEM. */
enum ts_err pki_cert_new(const struct pki_spec *spec, const struct pki_cert *issuer,
                         struct pki_cert **ret_cert);

/* A root (self-signed CA, long-lived) or an intermediate signed by it. */
enum ts_err pki_root_new(const char *cn, struct pki_cert **ret_cert);
enum ts_err pki_intermediate_new(const struct pki_cert *root, const char *cn, int64_t lifetime_s,
                                 struct pki_cert **ret_cert);

/* Free a certificate; the private key is cleared from memory. NULL ok. */
void pki_cert_free(struct pki_cert *c);

/* The certificate's DER and its kid (lowercase hex SHA-256 of the DER). */
const uint8_t *pki_cert_der(const struct pki_cert *c, size_t *ret_len);
const char *pki_cert_kid(const struct pki_cert *c);

/* Sign "b64url(header).b64url(payload)" with ES256; the header and payload
 * are used exactly as given. TS_OK and a malloc'd NUL-terminated token. */
enum ts_err pki_sign_raw(const struct pki_cert *c, const char *header, size_t header_len,
                         const char *payload, size_t payload_len, char **ret_token);

/* Sign claims as a JWT: header {"alg":"ES256","typ":"JWT","kid":<kid>}. */
struct json_t;
enum ts_err pki_sign_claims(const struct pki_cert *c, const struct json_t *claims,
                            char **ret_token);

/* ---- Proofs from /proc (identity/proc.c) ---- */

struct proc_proofs {
	pid_t pid;
	uint64_t start_time;   /* field 22 of /proc/PID/stat, clock ticks after boot */
	uid_t uid;             /* real uid */
	gid_t gid;             /* real gid */
	char exe_sha256[65];   /* "" when the executable could not be read */
	char cgroup[2048];     /* /proc/PID/cgroup, lines joined with ";" */
	char container_id[65]; /* 64 hex digits found in the cgroup path, or "" */
};

/* Read what the kernel says about pid. TS_OK; TS_E_PSA_DOES_NOT_EXIST when
 * the process is gone; TS_E_IO. exe is hashed from /proc/PID/exe when
 * readable (exe_path, when not NULL, is hashed instead: the program a
 * launcher is about to execute). */
enum ts_err proc_read(pid_t pid, const char *exe_path, struct proc_proofs *ret);

/* Only the start time (cheap; used to defeat pid reuse), and with it the
 * parent's pid. */
enum ts_err proc_start_time(pid_t pid, uint64_t *ret);
enum ts_err proc_stat(pid_t pid, pid_t *ret_ppid, uint64_t *ret_start);

/* /proc/PID/cgroup with its lines joined by ';' (as in struct
 * proc_proofs), truncated to size. TS_OK, TS_E_PSA_DOES_NOT_EXIST, TS_E_IO. */
enum ts_err proc_cgroup(pid_t pid, char *out, size_t size);

/* True when id appears in the cgroup path as a whole word (between
 * non-alphanumeric characters): how a runtime's container id is checked
 * against what the kernel says. */
bool cgroup_names(const char *cgroup, const char *id);

/* SHA-256 of a file, lowercase hex. */
enum ts_err file_sha256(const char *path, char ret_hex[65]);

#endif
