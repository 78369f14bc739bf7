/* The key-encryption key, and sealing key material under it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/secmem.h"
#include "keystore/keystore-priv.h"

#define NONCE_LEN    12
#define TAG_LEN      16
#define SEAL_VERSION 1

/* ---- the key-encryption key ---- */

static int read_exact_file(const char *path, uint8_t *out, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	uint8_t extra;

	if (fd < 0)
		return -1;
	while (got < len) {
		ssize_t n = read(fd, out + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	/* Exactly len bytes: a longer file is not a key of ours. */
	if (got == len && read(fd, &extra, 1) == 0) {
		close(fd);
		return 0;
	}
	close(fd);
	ts_wipe(out, len);
	errno = EINVAL;
	return -1;
}

int ks_load_kek(struct ks *ks, const char *kek_path, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];
	int fd;

	if (creds != NULL) {
		snprintf(path, sizeof(path), "%s/tessera-kek", creds);
		if (access(path, F_OK) == 0) {
			if (read_exact_file(path, ks->kek, KS_KEK_LEN) == 0)
				return 0;
			snprintf(err, errlen, "credential %s: must be exactly %d bytes", path,
			         KS_KEK_LEN);
			return -1;
		}
	}
	if (read_exact_file(kek_path, ks->kek, KS_KEK_LEN) == 0)
		return 0;
	if (errno != ENOENT) {
		snprintf(err, errlen, "key-encryption key %s: %s", kek_path,
		         errno == EINVAL ? "must be exactly 32 bytes" : strerror(errno));
		return -1;
	}
	/* First start: make one. O_EXCL so two starts cannot both write. */
	fd = open(kek_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create key-encryption key %s: %s", kek_path,
		         strerror(errno));
		return -1;
	}
	if (RAND_priv_bytes(ks->kek, KS_KEK_LEN) != 1 ||
	    write(fd, ks->kek, KS_KEK_LEN) != KS_KEK_LEN || fsync(fd) != 0) {
		close(fd);
		unlink(kek_path);
		snprintf(err, errlen, "cannot write key-encryption key %s", kek_path);
		return -1;
	}
	close(fd);
	return 0;
}

/* ---- the AAD: everything that identifies the record, length-prefixed ---- */

static uint8_t *put_len(uint8_t *p, size_t len)
{
	for (int i = 0; i < 4; i++)
		*p++ = (uint8_t)(len >> (8 * i));
	return p;
}

static uint8_t *put_field(uint8_t *p, const void *data, size_t len)
{
	p = put_len(p, len);
	if (len > 0)
		memcpy(p, data, len);
	return p + len;
}

uint8_t *ks_aad(const struct ks_binding *b, size_t *ret_len)
{
	size_t app = strlen(b->id->app), name = strlen(b->id->name);
	size_t provider = strlen(b->provider);
	size_t len = 8 + 1 + 4 + app + 4 + name + 4 + provider + 4 + b->ref_len + 4 + b->attrs_len;
	uint8_t *p, *aad;

	/* The lengths are 32-bit on the wire: a longer field would alias. */
	if (app > UINT32_MAX || name > UINT32_MAX || provider > UINT32_MAX ||
	    b->ref_len > UINT32_MAX || b->attrs_len > UINT32_MAX)
		return NULL;
	aad = malloc(len);
	if (aad == NULL)
		return NULL;
	/* A new tag: no schema-2 AAD equals a schema-1 one. */
	memcpy(aad, "tessks02", 8);
	p = aad + 8;
	*p++ = b->id->auth_type;
	p = put_field(p, b->id->app, app);
	p = put_field(p, b->id->name, name);
	p = put_field(p, b->provider, provider);
	p = put_field(p, b->ref, b->ref_len);
	put_field(p, b->attrs, b->attrs_len);
	*ret_len = len;
	return aad;
}

uint8_t *ks_aad_v1(const struct ks_key_id *id, uint8_t provider, const uint8_t *attrs,
                   size_t attrs_len, size_t *ret_len)
{
	size_t app = strlen(id->app), name = strlen(id->name);
	size_t len = 8 + 1 + 4 + app + 4 + name + 1 + 4 + attrs_len;
	uint8_t *p, *aad = malloc(len);

	if (aad == NULL)
		return NULL;
	memcpy(aad, "tessks01", 8);
	p = aad + 8;
	*p++ = id->auth_type;
	p = put_field(p, id->app, app);
	p = put_field(p, id->name, name);
	*p++ = provider;
	put_field(p, attrs, attrs_len);
	*ret_len = len;
	return aad;
}

/* ---- AES-256-GCM ---- */

static enum ts_err gcm(const struct ks *ks, int enc, const uint8_t *nonce, const uint8_t *aad,
                       size_t aad_len, const uint8_t *in, size_t in_len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	enum ts_err err = TS_E_PSA_CORRUPTION_DETECTED;
	int n;

	if (ctx == NULL)
		return TS_E_NOMEM;
	if (aad_len > INT32_MAX || in_len > INT32_MAX)
		goto out;
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, ks->kek, nonce, enc) != 1 ||
	    EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len) != 1)
		goto out;
	if (in_len > 0 && EVP_CipherUpdate(ctx, out, &n, in, (int)in_len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + in_len, &n) != 1)
		goto out; /* the tag did not verify */
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	err = TS_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return err;
}

enum ts_err ks_seal(const struct ks *ks, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                    size_t pt_len, uint8_t **ret, size_t *ret_len)
{
	size_t len = 1 + NONCE_LEN + pt_len + TAG_LEN;
	uint8_t *blob = NULL;
	enum ts_err err = TS_E_NOMEM;

	if (pt_len > INT32_MAX || (blob = malloc(len)) == NULL)
		goto out;
	blob[0] = SEAL_VERSION;
	/* A fresh random nonce per write: records are few and rewritten
	 * rarely, far below the 2^32 limit for random GCM nonces per key. */
	if (RAND_bytes(blob + 1, NONCE_LEN) != 1) {
		err = TS_E_PSA_INSUFFICIENT_ENTROPY;
		goto out;
	}
	err = gcm(ks, 1, blob + 1, aad, aad_len, pt, pt_len, blob + 1 + NONCE_LEN,
	          blob + 1 + NONCE_LEN + pt_len);
	if (err != TS_OK)
		goto out;
	*ret = blob;
	*ret_len = len;
	blob = NULL;
out:
	free(blob);
	return err;
}

enum ts_err ks_unseal(const struct ks *ks, const uint8_t *aad, size_t aad_len, const uint8_t *blob,
                      size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t pt_len;
	uint8_t *pt = NULL, tag[TAG_LEN];
	enum ts_err err = TS_E_PSA_CORRUPTION_DETECTED;

	if (blob == NULL || len < 1 + NONCE_LEN + TAG_LEN || blob[0] != SEAL_VERSION)
		return err;
	pt_len = len - 1 - NONCE_LEN - TAG_LEN;
	pt = malloc(pt_len ? pt_len : 1);
	if (pt == NULL)
		return TS_E_NOMEM;
	memcpy(tag, blob + 1 + NONCE_LEN + pt_len, TAG_LEN);
	err = gcm(ks, 0, blob + 1, aad, aad_len, blob + 1 + NONCE_LEN, pt_len, pt, tag);
	if (err != TS_OK)
		goto out;
	*ret = pt;
	*ret_len = pt_len;
	pt = NULL;
out:
	ts_free_secret(pt, pt_len);
	return err;
}

enum ts_err ks_seal_record(const struct ks *ks, const struct ks_binding *b, const uint8_t *pt,
                           size_t pt_len, uint8_t **ret, size_t *ret_len)
{
	size_t aad_len;
	uint8_t *aad = ks_aad(b, &aad_len);
	enum ts_err err;

	if (aad == NULL)
		return TS_E_NOMEM;
	err = ks_seal(ks, aad, aad_len, pt, pt_len, ret, ret_len);
	free(aad);
	return err;
}

enum ts_err ks_unseal_record(const struct ks *ks, const struct ks_binding *b, const uint8_t *blob,
                             size_t len, uint8_t **ret, size_t *ret_len)
{
	size_t aad_len;
	uint8_t *aad = ks_aad(b, &aad_len);
	enum ts_err err;

	if (aad == NULL)
		return TS_E_NOMEM;
	err = ks_unseal(ks, aad, aad_len, blob, len, ret, ret_len);
	free(aad);
	return err;
}
