/* The key-encryption key, and sealing key material under it. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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

/* Whether a file exists and holds something (a store that was used). */
static bool has_content(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size > 0;
}

/*
 * Read a key file: a regular file of exactly KS_KEK_LEN bytes that no one
 * but its owner may read or write (as OpenSSH treats a private key: a key
 * others could read is no longer secret, one others could write is not
 * ours). 0; 1 when it does not exist; -1 with a message in err.
 */
static int load_key_file(const char *path, uint8_t *out, char *err, size_t errlen)
{
	struct stat sb;

	if (lstat(path, &sb) != 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "key-encryption key %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "key-encryption key %s: not a regular file", path);
		return -1;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "key-encryption key %s is open to other users (mode %04o): refusing it; "
		         "`chmod 600 %s` if no one else can have read it, else rotate it "
		         "(tesserad --rekey, docs/keystore.md)",
		         path, (unsigned)(sb.st_mode & 07777), path);
		return -1;
	}
	if (read_exact_file(path, out, KS_KEK_LEN) != 0) {
		snprintf(err, errlen, "key-encryption key %s: %s", path,
		         errno == EINVAL ? "must be exactly 32 bytes" : strerror(errno));
		return -1;
	}
	return 0;
}

/* Make a new key file (O_EXCL: two starts cannot both write one), durable
 * before it is used; its directory (one level) is made 0700 if missing.
 * 0, or -1 with a message in err. */
static int create_key_file(const char *path, uint8_t *out, char *err, size_t errlen)
{
	char dir[4096];
	char *slash;
	int fd, dfd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the directory of key-encryption key %s: %s",
		         path, strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create key-encryption key %s: %s", path,
		         strerror(errno));
		return -1;
	}
	if (RAND_priv_bytes(out, KS_KEK_LEN) != 1 || write(fd, out, KS_KEK_LEN) != KS_KEK_LEN ||
	    fsync(fd) != 0) {
		close(fd);
		unlink(path);
		ts_wipe(out, KS_KEK_LEN);
		snprintf(err, errlen, "cannot write key-encryption key %s", path);
		return -1;
	}
	close(fd);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int ks_load_kek(struct ks *ks, const char *db_path, const char *kek_path, char *err, size_t errlen)
{
	const char *creds = getenv("CREDENTIALS_DIRECTORY");
	char path[4200], wal[4200];
	int rc;

	if (creds != NULL) {
		snprintf(path, sizeof(path), "%s/tessera-kek", creds);
		if (access(path, F_OK) == 0) {
			if (read_exact_file(path, ks->kek, KS_KEK_LEN) == 0) {
				ks->kek_source = KS_KEK_CREDENTIAL;
				return 0;
			}
			snprintf(err, errlen, "credential %s: must be exactly %d bytes", path,
			         KS_KEK_LEN);
			return -1;
		}
	}
	rc = load_key_file(kek_path, ks->kek, err, errlen);
	if (rc <= 0) {
		ks->kek_source = KS_KEK_FILE;
		return rc;
	}
	/* Missing. Before making one: the old default place, beside the
	 * store, means an installation from before the KEK moved out. */
	snprintf(path, sizeof(path), "%s.kek", db_path);
	if (strcmp(path, kek_path) != 0 && access(path, F_OK) == 0) {
		snprintf(err, errlen,
		         "the key-encryption key is at %s, beside the key store (the old default, "
		         "where a copy of the state directory opens every key); move it: "
		         "`mv %s %s`, or into a systemd credential (docs/systemd.md)",
		         path, path, kek_path);
		return -1;
	}
	/* A store that holds records and has lost its key: a new key would
	 * open none of them, and the next write would mix two keys. */
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	if (has_content(db_path) || has_content(wal)) {
		snprintf(err, errlen,
		         "key store %s exists but its key-encryption key (%s, or the credential "
		         "tessera-kek) is missing; refusing to make a new one, which would open "
		         "none of its records: restore the key file or the credential",
		         db_path, kek_path);
		return -1;
	}
	ks->kek_source = KS_KEK_NEW_FILE;
	return create_key_file(kek_path, ks->kek, err, errlen);
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

/* ---- rotation ---- */

struct resealed {
	sqlite3_int64 rowid;
	uint8_t *blob;
	size_t len;
};

enum ts_err ks_rekey(struct ks *ks, const char *new_kek_path, unsigned *ret_count,
                     unsigned *ret_damaged, char *err, size_t errlen)
{
	uint8_t old[KS_KEK_LEN], fresh[KS_KEK_LEN];
	struct resealed *v = NULL;
	size_t n = 0, cap = 0;
	unsigned damaged = 0, n_assets = 0;
	sqlite3_stmt *st = NULL;
	enum ts_err result = TS_E_KEY_INFO_MANAGER_ERROR;
	bool began = false;
	int rc;

	err[0] = '\0';
	/* The new key exists before any record is sealed under it, so a crash
	 * at any point leaves every record opened by a key that exists: the
	 * old one until the commit, the new one after. A run cut short takes
	 * up the same new key again. */
	rc = load_key_file(new_kek_path, fresh, err, errlen);
	if (rc == 1)
		rc = create_key_file(new_kek_path, fresh, err, errlen);
	if (rc != 0)
		goto out_nolock;
	memcpy(old, ks->kek, KS_KEK_LEN);
	if (memcmp(old, fresh, KS_KEK_LEN) == 0) {
		snprintf(err, errlen, "%s is the key in use already", new_kek_path);
		goto out_nolock;
	}
	pthread_mutex_lock(&ks->lock);
	if (sqlite3_exec(ks->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	began = true;
	if (sqlite3_prepare_v2(ks->db,
	                       "SELECT rowid, auth_type, app, name, provider, ref, attrs, material "
	                       "FROM keys WHERE length(material) > 0",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct ks_key_id id = {.auth_type = (uint8_t)sqlite3_column_int(st, 1),
		                             .app = (const char *)sqlite3_column_text(st, 2),
		                             .name = (const char *)sqlite3_column_text(st, 3)};
		const struct ks_binding b = {
		        .id = &id,
		        .provider = (const char *)sqlite3_column_text(st, 4),
		        .ref = sqlite3_column_blob(st, 5),
		        .ref_len = (size_t)sqlite3_column_bytes(st, 5),
		        .attrs = sqlite3_column_blob(st, 6),
		        .attrs_len = (size_t)sqlite3_column_bytes(st, 6),
		};
		uint8_t *pt = NULL;
		size_t pt_len = 0;
		enum ts_err e;

		if (id.app == NULL || id.name == NULL || b.provider == NULL)
			goto out;
		memcpy(ks->kek, old, KS_KEK_LEN);
		e = ks_unseal_record(ks, &b, sqlite3_column_blob(st, 7),
		                     (size_t)sqlite3_column_bytes(st, 7), &pt, &pt_len);
		if (e == TS_E_PSA_CORRUPTION_DETECTED) {
			/* Opened by no key before, and by none after: left as it is. */
			damaged++;
			continue;
		}
		if (e != TS_OK)
			goto out;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct resealed *grown = realloc(v, ncap * sizeof(*v));

			if (grown == NULL) {
				ts_free_secret(pt, pt_len);
				goto out;
			}
			v = grown;
			cap = ncap;
		}
		memcpy(ks->kek, fresh, KS_KEK_LEN);
		v[n].rowid = sqlite3_column_int64(st, 0);
		e = ks_seal_record(ks, &b, pt, pt_len, &v[n].blob, &v[n].len);
		ts_free_secret(pt, pt_len);
		if (e != TS_OK)
			goto out;
		n++;
	}
	if (rc != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(ks->db, "UPDATE keys SET material = ? WHERE rowid = ?", -1, &st,
	                       NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(st);
		if (sqlite3_bind_blob(st, 1, v[i].blob, (int)v[i].len, SQLITE_STATIC) !=
		            SQLITE_OK ||
		    sqlite3_bind_int64(st, 2, v[i].rowid) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_DONE)
			goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* The storage assets too, in the same transaction. */
	if (ks_assets_rekey(ks, old, fresh, &n_assets, &damaged) != TS_OK)
		goto out;
	/* The check value under the new key, in the same transaction. */
	memcpy(ks->kek, fresh, KS_KEK_LEN);
	if (sqlite3_exec(ks->db, "DELETE FROM meta WHERE key = 'kek_check'", NULL, NULL, NULL) !=
	            SQLITE_OK ||
	    ks_check_kek(ks, KS_SCHEMA_VERSION, err, errlen) < 0 ||
	    sqlite3_exec(ks->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	began = false;
	/* Old seals freed by the updates are overwritten (secure_delete) and
	 * the WAL cut, as after a deletion. */
	(void)sqlite3_wal_checkpoint_v2(ks->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	*ret_count = (unsigned)n + n_assets;
	*ret_damaged = damaged;
	result = TS_OK;
out:
	if (result != TS_OK) {
		if (err[0] == '\0')
			snprintf(err, errlen, "re-sealing failed: %s; nothing was changed",
			         sqlite3_errmsg(ks->db));
		sqlite3_finalize(st);
		st = NULL;
		if (began)
			sqlite3_exec(ks->db, "ROLLBACK", NULL, NULL, NULL);
		memcpy(ks->kek, old, KS_KEK_LEN);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&ks->lock);
	for (size_t i = 0; i < n; i++)
		free(v[i].blob);
	free(v);
out_nolock:
	ts_wipe(old, sizeof(old));
	ts_wipe(fresh, sizeof(fresh));
	return result;
}
