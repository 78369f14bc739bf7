/*
 * The trusting side of a trust relationship: one root per process lifetime,
 * from one configured peer, and the current intermediate, which must chain to
 * that root. The JWS verifier reads the intermediate's public key and kid.
 */
#include "auth/auth-priv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/util.h"

struct trust_store {
	pthread_rwlock_t lock;
	uid_t peer_uid;
	gid_t peer_gid;
	X509 *root;
	X509 *inter;
	char kid[TRUST_KID_LEN];
	char *pem; /* the intermediate's public key */
	size_t pem_len;
	uint64_t generation;
};

enum ts_err trust_store_new(uid_t peer_uid, gid_t peer_gid, struct trust_store **ret_ts)
{
	struct trust_store *ts = calloc(1, sizeof(*ts));

	if (ts == NULL)
		return TS_E_NOMEM;
	if (pthread_rwlock_init(&ts->lock, NULL) != 0) {
		free(ts);
		return TS_E_NOMEM;
	}
	ts->peer_uid = peer_uid;
	ts->peer_gid = peer_gid;
	*ret_ts = ts;
	return TS_OK;
}

void trust_store_free(struct trust_store *ts)
{
	if (ts == NULL)
		return;
	X509_free(ts->root);
	X509_free(ts->inter);
	free(ts->pem);
	pthread_rwlock_destroy(&ts->lock);
	free(ts);
}

void trust_kid(const uint8_t *der, size_t len, char ret_kid[TRUST_KID_LEN])
{
	unsigned char md[32];
	unsigned int md_len = 0;

	EVP_Digest(der, len, md, &md_len, EVP_sha256(), NULL);
	ts_hex(md, sizeof(md), ret_kid);
}

/* A whole DER certificate with an ECDSA P-256 key, or NULL. */
static X509 *parse_cert(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;
	EVP_PKEY *k;
	char group[32] = "";
	size_t glen = 0;

	if (len == 0 || len > 16384)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return NULL;
	if (p != der + len) { /* trailing bytes */
		X509_free(x);
		return NULL;
	}
	k = X509_get0_pubkey(x);
	if (k == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_EC ||
	    !EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof(group), &glen) ||
	    strcmp(group, "prime256v1") != 0) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Verify leaf against root alone, at the current time, strictly. */
static int chain_ok(X509 *root, X509 *leaf, int *ret_reason)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	*ret_reason = X509_V_ERR_UNSPECIFIED;
	if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, root) != 1 ||
	    X509_STORE_CTX_init(ctx, store, leaf, NULL) != 1)
		goto out;
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
	X509_STORE_CTX_set_depth(ctx, 1);
	ok = X509_verify_cert(ctx) == 1;
	*ret_reason = X509_STORE_CTX_get_error(ctx);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static enum ts_err public_pem(X509 *x, char **ret_pem, size_t *ret_len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *copy;
	long n;

	if (b == NULL || PEM_write_bio_PUBKEY(b, X509_get0_pubkey(x)) != 1) {
		BIO_free(b);
		return TS_E_NOMEM;
	}
	n = BIO_get_mem_data(b, &data);
	copy = malloc((size_t)n + 1);
	if (copy == NULL) {
		BIO_free(b);
		return TS_E_NOMEM;
	}
	memcpy(copy, data, (size_t)n);
	copy[n] = '\0';
	BIO_free(b);
	*ret_pem = copy;
	*ret_len = (size_t)n;
	return TS_OK;
}

static enum ts_err share_root(struct trust_store *ts, X509 *x)
{
	int reason;

	if (ts->root != NULL)
		return TS_E_PSA_ALREADY_EXISTS;
	/* A root is a self-signed CA, valid now. */
	if (X509_check_ca(x) < 1 || X509_check_issued(x, x) != X509_V_OK ||
	    !chain_ok(x, x, &reason)) {
		ts_warn("trust: root certificate refused: not a valid self-signed CA");
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	ts->root = x;
	ts_info("trust: root certificate accepted");
	return TS_OK;
}

static enum ts_err share_intermediate(struct trust_store *ts, X509 *x, const uint8_t *der,
                                      size_t len)
{
	char *pem;
	size_t pem_len;
	int reason;
	enum ts_err err;

	if (ts->root == NULL)
		return TS_E_PSA_BAD_STATE;
	/* The sharer repeats its current intermediate to learn whether we
	 * still hold its root; that must not invalidate verified tokens. */
	if (ts->inter != NULL && X509_cmp(ts->inter, x) == 0) {
		X509_free(x);
		return TS_OK;
	}
	if (!chain_ok(ts->root, x, &reason)) {
		ts_warn("trust: intermediate refused: %s", X509_verify_cert_error_string(reason));
		switch (reason) {
		case X509_V_ERR_CERT_NOT_YET_VALID:
		case X509_V_ERR_CERT_HAS_EXPIRED:
		case X509_V_ERR_INVALID_CA:
		case X509_V_ERR_INVALID_PURPOSE:
			return TS_E_PSA_INVALID_ARGUMENT;
		default:
			return TS_E_PSA_INVALID_SIGNATURE;
		}
	}
	/* The intermediate signs tokens: if it states key usages, signing
	 * must be among them. */
	if ((X509_get_extension_flags(x) & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE))
		return TS_E_PSA_INVALID_ARGUMENT;
	err = public_pem(x, &pem, &pem_len);
	if (err != TS_OK)
		return err;
	X509_free(ts->inter);
	free(ts->pem);
	ts->inter = x;
	ts->pem = pem;
	ts->pem_len = pem_len;
	trust_kid(der, len, ts->kid);
	ts->generation++;
	ts_info("trust: intermediate %.16s... accepted (generation %llu)", ts->kid,
	        (unsigned long long)ts->generation);
	return TS_OK;
}

enum ts_err trust_store_share(struct trust_store *ts, const struct auth_peer *peer,
                              const uint8_t *der, size_t len, bool root)
{
	X509 *x;
	enum ts_err err;

	if (peer == NULL || !peer->valid || peer->uid != ts->peer_uid ||
	    (ts->peer_gid != (gid_t)-1 && peer->gid != ts->peer_gid)) {
		ts_warn("trust: %s certificate from uid %ld refused: not the trusted peer",
		        root ? "root" : "intermediate",
		        peer && peer->valid ? (long)peer->uid : -1L);
		return TS_E_PSA_NOT_PERMITTED;
	}
	x = parse_cert(der, len);
	if (x == NULL)
		return TS_E_PSA_INVALID_ARGUMENT;
	pthread_rwlock_wrlock(&ts->lock);
	err = root ? share_root(ts, x) : share_intermediate(ts, x, der, len);
	pthread_rwlock_unlock(&ts->lock);
	if (err != TS_OK)
		X509_free(x);
	return err;
}

uint64_t trust_store_generation(struct trust_store *ts)
{
	uint64_t g;

	pthread_rwlock_rdlock(&ts->lock);
	g = ts->generation;
	pthread_rwlock_unlock(&ts->lock);
	return g;
}

bool trust_store_has_root(struct trust_store *ts)
{
	bool r;

	pthread_rwlock_rdlock(&ts->lock);
	r = ts->root != NULL;
	pthread_rwlock_unlock(&ts->lock);
	return r;
}

enum ts_err trust_store_current(struct trust_store *ts, char ret_kid[TRUST_KID_LEN], char **ret_pem,
                                size_t *ret_pem_len, uint64_t *ret_generation)
{
	enum ts_err err = TS_OK;

	pthread_rwlock_rdlock(&ts->lock);
	if (ts->inter == NULL) {
		err = TS_E_AUTHENTICATION_ERROR;
	} else if ((*ret_pem = malloc(ts->pem_len + 1)) == NULL) {
		err = TS_E_NOMEM;
	} else {
		memcpy(*ret_pem, ts->pem, ts->pem_len + 1);
		*ret_pem_len = ts->pem_len;
		memcpy(ret_kid, ts->kid, TRUST_KID_LEN);
		*ret_generation = ts->generation;
	}
	pthread_rwlock_unlock(&ts->lock);
	return err;
}
