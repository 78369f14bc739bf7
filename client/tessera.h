/*
 * libtessera: the C client library of Tessera.
 *
 * Speaks the Parsec wire protocol 1.0, so it also works against a Parsec
 * service (persistent connections then fall back to one request per
 * connection transparently, because Parsec closes after each response).
 *
 * Return values: TESSERA_OK (0) on success; a positive value is the Parsec
 * status the daemon answered with (e.g. 21 AdminOperation, 1140
 * PsaErrorDoesNotExist); a negative value is a local or transport error
 * (TESSERA_ERR_*). tessera_strerror() names both kinds.
 *
 * A client is not thread-safe: use one per thread.
 */
#ifndef TESSERA_CLIENT_TESSERA_H
#define TESSERA_CLIENT_TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library is built with hidden visibility and exports only what
 * is declared between this push and its pop (client/libtessera.map). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

#define TESSERA_OK             0
#define TESSERA_ERR_CONNECT    (-1) /* could not connect to the endpoint */
#define TESSERA_ERR_IO         (-2) /* read/write failed, or the daemon closed before a whole response */
#define TESSERA_ERR_TIMEOUT    (-3) /* no whole response within timeout_ms */
#define TESSERA_ERR_PROTOCOL   (-4) /* malformed response */
#define TESSERA_ERR_NOMEM      (-5)
#define TESSERA_ERR_TOO_LARGE  (-6) /* response body over max_response */
#define TESSERA_ERR_ARG        (-7) /* bad argument (e.g. an endpoint that is not "unix:/path") */
#define TESSERA_ERR_CREDENTIAL (-8) /* the JWT-SVID file cannot be read or holds no token */

/* The endpoint used when neither the options nor $PARSEC_SERVICE_ENDPOINT name one. */
#define TESSERA_DEFAULT_ENDPOINT "unix:/run/tessera/api.sock"

#define TESSERA_AUTH_NONE      0
#define TESSERA_AUTH_DIRECT    1
#define TESSERA_AUTH_JWT       2
#define TESSERA_AUTH_UNIX_PEER 3
#define TESSERA_AUTH_JWT_SVID  4

/* The identity provider used by TESSERA_AUTH_JWT when neither the options
 * nor $TESSERA_IDP_ENDPOINT name one. */
#define TESSERA_DEFAULT_IDP_ENDPOINT "unix:/run/tessera/idp.sock"

struct tessera_options {
	/* "unix:/path"; NULL: $PARSEC_SERVICE_ENDPOINT, else TESSERA_DEFAULT_ENDPOINT. */
	const char *endpoint;
	/* TESSERA_AUTH_NONE, _DIRECT, _UNIX_PEER, _JWT or _JWT_SVID. */
	uint8_t auth_type;
	/* Direct only: the application name sent as the auth bytes. */
	const char *app_name;
	/* Bound on each whole request (connect, send, receive); 0 = 60000. */
	unsigned timeout_ms;
	/* Largest response body accepted; 0 = 16 MiB. */
	size_t max_response;
	/* 1: keep one connection open across requests (a Tessera extension) and
	 * reconnect once, transparently, if the daemon closed it; 0: one
	 * connection per request, as Parsec clients do. */
	int persistent;
	/* JWT only: the idp ("unix:/path"); NULL: $TESSERA_IDP_ENDPOINT, else
	 * TESSERA_DEFAULT_IDP_ENDPOINT. The client fetches a token there, keeps
	 * it until shortly before it expires, and when the daemon answers
	 * AuthenticationError fetches a new one and retries once (this is how
	 * a rotated intermediate is picked up). */
	const char *idp_endpoint;
	/* JWT_SVID only: where the JWT-SVID comes from, the first of: the file
	 * jwt_svid_file (as spiffe-helper writes it; read again before every
	 * request, since SPIRE rotates it), the token jwt_svid itself, the file
	 * named by $TESSERA_JWT_SVID_FILE, the token in $TESSERA_JWT_SVID. */
	const char *jwt_svid_file;
	const char *jwt_svid;
};

struct tessera_client;

/* Fill o with the defaults: no endpoint (environment or default), UnixPeer
 * authentication, 60 s timeout, 16 MiB responses, persistent connection. */
void tessera_options_init(struct tessera_options *o);

/*
 * Make a client. It copies the options and connects lazily, at the first
 * request. TESSERA_OK and *ret_client; TESSERA_ERR_ARG for a malformed
 * endpoint, a path longer than a Unix socket address holds, an unknown auth
 * type, Direct without an application name or JwtSvid without a token
 * source; TESSERA_ERR_NOMEM.
 */
int tessera_open(const struct tessera_options *o, struct tessera_client **ret_client);

/* Close the connection and free the client. NULL ok. */
void tessera_close(struct tessera_client *c);

/* A static string for any return value: "success", a TESSERA_ERR_* reason,
 * or the Parsec status name ("PsaErrorNotPermitted"). */
const char *tessera_strerror(int rc);

/* The endpoint the client talks to (for messages). */
const char *tessera_endpoint(const struct tessera_client *c);

/* A counter that changes each time the client opens a new connection (0
 * before the first). State the daemon keeps per connection (volatile keys,
 * multipart operations) is gone once it differs from the value seen when
 * that state was made. */
uint64_t tessera_connection_generation(const struct tessera_client *c);

/*
 * One request with a ready-made protobuf body. Returns the response status
 * (TESSERA_OK or a positive Parsec status) with the response body in
 * *ret_body (malloc'd, NULL when empty; free() it) and *ret_len; or a
 * negative TESSERA_ERR_* with *ret_body untouched.
 */
int tessera_request(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                    const uint8_t *body, size_t body_len, uint8_t **ret_body, size_t *ret_len);

/* Ping: the highest wire protocol version the daemon speaks. */
int tessera_ping(struct tessera_client *c, uint32_t *ret_maj, uint32_t *ret_min);

struct tessera_provider_info {
	char *uuid;
	char *description;
	char *vendor;
	uint32_t version_maj, version_min, version_rev;
	uint32_t id;
	char *name; /* the instance's configured name ("" from a Parsec service) */
};
/* ListProviders: configured providers in order (the first is the default),
 * the core last, including further instances of a type (IDs from 0x80,
 * a Tessera extension). Free with tessera_provider_info_free. */
int tessera_list_providers(struct tessera_client *c, struct tessera_provider_info **ret,
                           size_t *ret_n);
void tessera_provider_info_free(struct tessera_provider_info *p, size_t n);

/* ListOpcodes of one provider, including Tessera's extensions (free() the
 * array). Status 5 (ProviderNotRegistered) or 6 (ProviderDoesNotExist) for a
 * provider the daemon lacks. */
int tessera_list_opcodes(struct tessera_client *c, uint8_t provider, uint32_t **ret, size_t *ret_n);

struct tessera_authenticator_info {
	char *description;
	uint32_t version_maj, version_min, version_rev;
	uint32_t id;
};
/* ListAuthenticators in the daemon's configured order. */
int tessera_list_authenticators(struct tessera_client *c, struct tessera_authenticator_info **ret,
                                size_t *ret_n);
void tessera_authenticator_info_free(struct tessera_authenticator_info *a, size_t n);

struct tessera_key_info {
	uint32_t provider_id;
	char *provider_name; /* the instance that holds it ("" from a Parsec service) */
	char *name;
	char *type; /* "rsa", "ecc", ..., with "-public" for public keys; "other" */
	uint32_t bits;
	char *alg;      /* the policy's algorithm name (see below), or NULL */
	uint32_t usage; /* TESSERA_USAGE_* */
};
/* ListKeys: the caller's keys in every provider instance (needs an
 * authenticated identity: status 19 otherwise). */
int tessera_list_keys(struct tessera_client *c, struct tessera_key_info **ret, size_t *ret_n);
void tessera_key_info_free(struct tessera_key_info *k, size_t n);
/* One key's facts by name in one provider, with Tessera's PsaGetKeyAttributes
 * (provider_name is ""). A Parsec service answers OpcodeDoesNotExist (9):
 * tessera_list_keys finds the key there. Free with tessera_key_info_free(k, 1). */
int tessera_key_attributes(struct tessera_client *c, uint8_t provider, const char *name,
                           struct tessera_key_info **ret);

/* ListClients (admins only: 19 without identity, 21 for a non-admin). */
int tessera_list_clients(struct tessera_client *c, char ***ret, size_t *ret_n);
void tessera_strv_free(char **v, size_t n);

/* DeleteClient: destroy every key of a client (admins only). */
int tessera_delete_client(struct tessera_client *c, const char *client);

/* ---- identity (docs/identity.md) ---- */

/* GetToken, asked of tessera-idp: a token naming the calling process's
 * identity (malloc'd strings; free() them). 1140 (PsaErrorDoesNotExist)
 * when the idp knows no proven client for this process. */
int tessera_get_token(struct tessera_client *c, char **ret_token, uint64_t *ret_expires_at,
                      char **ret_identity);

/* ShareTrustBundle: one DER certificate, a root or an intermediate. */
int tessera_share_trust_bundle(struct tessera_client *c, const uint8_t *der, size_t len, int root);

/* AddClient / ProveClient / RemoveClient, sent by an orchestrator to the
 * idp: each carries a compact JWS signed by its current intermediate. */
int tessera_add_client(struct tessera_client *c, const char *definition_jws);
int tessera_prove_client(struct tessera_client *c, const char *proofs_jws);
int tessera_remove_client(struct tessera_client *c, const char *statement_jws);

/* ReportClient, sent to tessera-orchestrator's control socket: pid started
 * (executable: the program it is about to run, or NULL for /proc/PID/exe;
 * container_id: the runtime's id, or NULL) or stopped, as the client name. */
int tessera_report_client(struct tessera_client *c, const char *name, uint32_t pid,
                          const char *executable, int stopped, const char *container_id);

/* The identity a JWT client currently holds a token for (NULL before the
 * first request). */
const char *tessera_identity(const struct tessera_client *c);

/* ---- keys and cryptography ----
 *
 * Keys are named per caller; provider is the wire provider ID (1 = the
 * software provider; tessera_default_provider() finds the daemon's default).
 * Algorithms are named by short strings:
 *   signatures:  "ecdsa-sha256" (also -sha384, -sha512), "rsa-pkcs1-sha256",
 *                "rsa-pss-sha256" (and -sha384, -sha512)
 *   encryption:  "rsa-oaep-sha256", "rsa-pkcs1", "aes-gcm", "aes-ccm",
 *                "chacha20-poly1305"
 *   agreement:   "ecdh"
 *   MAC:         "hmac-sha256" (and -sha384, -sha512), "cmac"
 * and key types by: "rsa", "ecc" (NIST P curves; bits 256/384/521),
 * "secp256k1", "brainpool" (bits), "x25519", "aes", "chacha20", "hmac",
 * "raw". An unknown name is TESSERA_ERR_ARG.
 */
#define TESSERA_USAGE_EXPORT         (1u << 0)
#define TESSERA_USAGE_ENCRYPT        (1u << 3)
#define TESSERA_USAGE_DECRYPT        (1u << 4)
#define TESSERA_USAGE_SIGN_MESSAGE   (1u << 5)
#define TESSERA_USAGE_VERIFY_MESSAGE (1u << 6)
#define TESSERA_USAGE_SIGN_HASH      (1u << 7)
#define TESSERA_USAGE_VERIFY_HASH    (1u << 8)
#define TESSERA_USAGE_DERIVE         (1u << 9)

struct tessera_key_spec {
	const char *type; /* see above */
	uint32_t bits;    /* 0 on import: taken from the data */
	const char *alg;  /* the one algorithm the key may be used with; NULL: none */
	uint32_t usage;   /* TESSERA_USAGE_* */
};

/* The first provider of ListProviders (the clients' default). */
int tessera_default_provider(struct tessera_client *c, uint8_t *ret_provider);

/* PsaGenerateKey / PsaImportKey (data in PSA's export format) / PsaDestroyKey. */
int tessera_generate_key(struct tessera_client *c, uint8_t provider, const char *name,
                         const struct tessera_key_spec *spec);
int tessera_import_key(struct tessera_client *c, uint8_t provider, const char *name,
                       const struct tessera_key_spec *spec, const uint8_t *data, size_t len);
int tessera_destroy_key(struct tessera_client *c, uint8_t provider, const char *name);

/* PsaExportPublicKey / PsaExportKey: PSA formats (RSA: DER RSAPublicKey or
 * RSAPrivateKey; ECC: uncompressed point or private scalar). */
int tessera_export_public_key(struct tessera_client *c, uint8_t provider, const char *name,
                              uint8_t **ret, size_t *ret_len);
int tessera_export_key(struct tessera_client *c, uint8_t provider, const char *name, uint8_t **ret,
                       size_t *ret_len);

/* Sign or verify a message (hashed by the daemon) or a ready hash. Verify
 * returns 1149 (PsaErrorInvalidSignature) for a bad signature. */
int tessera_sign_message(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *msg, size_t len, uint8_t **ret_sig,
                         size_t *ret_len);
int tessera_verify_message(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *msg, size_t len, const uint8_t *sig,
                           size_t sig_len);
int tessera_sign_hash(struct tessera_client *c, uint8_t provider, const char *name, const char *alg,
                      const uint8_t *hash, size_t len, uint8_t **ret_sig, size_t *ret_len);
int tessera_verify_hash(struct tessera_client *c, uint8_t provider, const char *name,
                        const char *alg, const uint8_t *hash, size_t len, const uint8_t *sig,
                        size_t sig_len);

/* RSA encryption; label is OAEP's (PSA's "salt"), may be NULL. */
int tessera_asymmetric_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                               const char *alg, const uint8_t *in, size_t len, const uint8_t *label,
                               size_t label_len, uint8_t **ret, size_t *ret_len);
int tessera_asymmetric_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                               const char *alg, const uint8_t *in, size_t len, const uint8_t *label,
                               size_t label_len, uint8_t **ret, size_t *ret_len);

/* AEAD: ciphertext carries the tag at its end. */
int tessera_aead_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                         size_t ad_len, const uint8_t *in, size_t len, uint8_t **ret,
                         size_t *ret_len);
int tessera_aead_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                         const char *alg, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                         size_t ad_len, const uint8_t *in, size_t len, uint8_t **ret,
                         size_t *ret_len);

/* PsaGenerateRandom. */
int tessera_generate_random(struct tessera_client *c, uint8_t provider, size_t len, uint8_t **ret);

/* MACs ("hmac-sha256", "cmac"); verify answers 1149 for a wrong MAC. */
int tessera_mac_compute(struct tessera_client *c, uint8_t provider, const char *name,
                        const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                        size_t *ret_len);
int tessera_mac_verify(struct tessera_client *c, uint8_t provider, const char *name,
                       const char *alg, const uint8_t *in, size_t len, const uint8_t *mac,
                       size_t mac_len);

/* Unauthenticated ciphers: "aes-ctr", "aes-cfb", "aes-ofb", "aes-ecb", "aes-cbc",
 * "aes-cbc-pkcs7", "chacha20". Encryption returns IV || ciphertext and
 * decryption takes that form. */
int tessera_cipher_encrypt(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                           size_t *ret_len);
int tessera_cipher_decrypt(struct tessera_client *c, uint8_t provider, const char *name,
                           const char *alg, const uint8_t *in, size_t len, uint8_t **ret,
                           size_t *ret_len);

/* Raw key agreement ("ecdh") with a peer public key in PSA's format. */
int tessera_raw_key_agreement(struct tessera_client *c, uint8_t provider, const char *name,
                              const char *alg, const uint8_t *peer, size_t peer_len,
                              uint8_t **ret_secret, size_t *ret_len);

/* Hashing by name ("sha256", "sha384", "sha512", "sha3-256", ...); compare
 * answers 1149 for a mismatch. No identity needed. */
int tessera_hash_compute(struct tessera_client *c, uint8_t provider, const char *alg,
                         const uint8_t *in, size_t len, uint8_t **ret, size_t *ret_len);
int tessera_hash_compare(struct tessera_client *c, uint8_t provider, const char *alg,
                         const uint8_t *in, size_t len, const uint8_t *hash, size_t hash_len);

/* CanDoCrypto: check 1 use, 2 generate, 3 import, 4 derive. TESSERA_OK when
 * supported, 1133 when the algorithm does not fit the key type, 1134 when
 * the provider cannot. */
int tessera_can_do_crypto(struct tessera_client *c, uint8_t provider, int check,
                          const struct tessera_key_spec *spec);

/* ---- PSA Secure Storage (docs/storage.md) ----
 *
 * Per caller (an identity is needed: 19 otherwise), in two stores: ITS
 * (internal trusted storage) and PS (protected storage), each asset named
 * by a uid (not 0). Statuses are the PSA ones plus 1000: 1133 write-once,
 * 1134 an unknown flag, 1135 uid 0 or a bad range, 1139 exists, 1140 does
 * not exist, 1142 past the tenant's quota, 1146 storage failure, 1149 and
 * 1152 (PS) a record that does not authenticate or is broken. A store
 * other than these two is TESSERA_ERR_ARG.
 */
#define TESSERA_STORAGE_ITS 0
#define TESSERA_STORAGE_PS  1

#define TESSERA_STORAGE_FLAG_WRITE_ONCE           (1u << 0)
#define TESSERA_STORAGE_FLAG_NO_CONFIDENTIALITY   (1u << 1)
#define TESSERA_STORAGE_FLAG_NO_REPLAY_PROTECTION (1u << 2)
/* tessera_storage_support(): create and set_extended exist. */
#define TESSERA_STORAGE_SUPPORT_SET_EXTENDED (1u << 0)

struct tessera_storage_info {
	uint64_t capacity;
	uint64_t size;
	uint32_t flags; /* as given when the asset was made */
};

/* ItsSet / PsSet: create or replace an asset with len bytes (data may be
 * NULL when len is 0) and flags. */
int tessera_storage_set(struct tessera_client *c, int store, uint64_t uid, const uint8_t *data,
                        size_t len, uint32_t flags);

/* ItsGet / PsGet: up to size bytes from offset, as many requests as the
 * range needs (one response carries at most 1 MiB less 4 KiB); fewer only
 * at the end of the data. *ret (malloc'd,
 * never NULL on success, even for 0 bytes; free() it) and *ret_len; on any
 * failure nothing is returned. */
int tessera_storage_get(struct tessera_client *c, int store, uint64_t uid, uint64_t offset,
                        uint64_t size, uint8_t **ret, size_t *ret_len);

/* ItsGetInfo / PsGetInfo. */
int tessera_storage_info(struct tessera_client *c, int store, uint64_t uid,
                         struct tessera_storage_info *ret);

/* ItsRemove / PsRemove. */
int tessera_storage_remove(struct tessera_client *c, int store, uint64_t uid);

/* PsCreate / PsSetExtended: PS only (TESSERA_ERR_ARG for ITS). */
int tessera_storage_create(struct tessera_client *c, int store, uint64_t uid, uint64_t capacity,
                           uint32_t flags);
int tessera_storage_set_extended(struct tessera_client *c, int store, uint64_t uid,
                                 uint64_t offset, const uint8_t *data, size_t len);

/* PsGetSupport: TESSERA_STORAGE_SUPPORT_* bits in *ret (ITS: 0, no
 * request). */
int tessera_storage_support(struct tessera_client *c, int store, uint32_t *ret);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif
