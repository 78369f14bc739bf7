/* Parsec's key info stores and Mbed Crypto key files, read. */
#include "migrate/parsec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/secmem.h"
#include "common/util.h"

static const struct {
	int id;
	const char *uuid;
	const char *label;
} providers[] = {
        {MIG_PROV_CORE, "47049873-2a43-4845-9d72-831eab668784", "Core"},
        {MIG_PROV_MBED_CRYPTO, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552", "MbedCrypto"},
        {MIG_PROV_PKCS11, "30e39502-eba6-4d60-a4af-c518b7f5e38f", "Pkcs11"},
        {MIG_PROV_TPM, "1e4954a4-ff21-46d3-ab0c-661eeb667e1d", "Tpm"},
        {MIG_PROV_TRUSTED_SERVICE, "71129441-508a-4da6-b6e8-7b98a777e4c0", "TrustedService"},
        {MIG_PROV_CRYPTOAUTHLIB, "b8ba81e2-e9f7-4bdd-b096-a29d0019960c", "CryptoAuthLib"},
};

/* The on-disk store's file-name prefixes of internal keys (provider short names). */
static const struct {
	const char *prefix;
	int id;
} internal_prefixes[] = {
        {"core", MIG_PROV_CORE},
        {"pkcs11", MIG_PROV_PKCS11},
        {"mbedcrypto", MIG_PROV_MBED_CRYPTO},
        {"tpm", MIG_PROV_TPM},
        {"trusted-service", MIG_PROV_TRUSTED_SERVICE},
        {"cryptoauthlib", MIG_PROV_CRYPTOAUTHLIB},
};

int mig_provider_of_uuid(const char *uuid)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(providers); i++)
		if (strcasecmp(providers[i].uuid, uuid) == 0)
			return providers[i].id;
	return MIG_PROV_UNKNOWN;
}

const char *mig_provider_label(int provider)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(providers); i++)
		if (providers[i].id == provider)
			return providers[i].label;
	return "unknown provider";
}

void mig_entries_free(struct mig_entries *e)
{
	for (size_t i = 0; i < e->n; i++) {
		struct mig_entry *m = &e->v[i];

		free(m->app);
		free(m->name);
		free(m->provider_name);
		free(m->key_id);
		free(m->kim_blob);
		free(m->origin);
		free(m->bad);
	}
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static char *dupn(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s != NULL) {
		if (n > 0)
			memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

/* A new zeroed entry at the end, or NULL when out of memory. */
static struct mig_entry *add(struct mig_entries *e)
{
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 16;
		struct mig_entry *v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		e->v = v;
		e->cap = cap;
	}
	memset(&e->v[e->n], 0, sizeof(e->v[0]));
	return &e->v[e->n++];
}

static int set_bad(struct mig_entry *m, const char *why)
{
	free(m->bad);
	m->bad = strdup(why);
	return m->bad != NULL ? 0 : -1;
}

/* ---- psa-crypto Attributes in bincode ---- */

static uint64_t le_n(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Read the head of a bincode Attributes: lifetime (u32 variant; Custom
 * carries a u32), key_type (u32 variant; the ECC and DH ones carry their
 * family as a u32 variant), bits (u64). Anything else leaves
 * kim_attrs_ok false: the key file's attributes are used unchecked. */
static void kim_attrs(struct mig_entry *m, const uint8_t *p, size_t len)
{
	size_t off = 0;
	uint64_t lifetime;

	m->kim_attrs_ok = false;
	if (p != NULL && len > 0 && (m->kim_blob = malloc(len)) != NULL) {
		memcpy(m->kim_blob, p, len);
		m->kim_blob_len = len;
	}
	if (p == NULL || len < 4)
		return;
	lifetime = le_n(p, 4);
	off = lifetime == 2 ? 8 : 4;
	if (lifetime > 2 || len < off + 4)
		return;
	m->kim_type = (unsigned)le_n(p + off, 4);
	off += 4;
	if (m->kim_type > 13)
		return;
	m->kim_family = 0;
	if (m->kim_type >= 10) {
		if (len < off + 4)
			return;
		m->kim_family = (unsigned)le_n(p + off, 4);
		off += 4;
	}
	if (len < off + 8)
		return;
	m->kim_bits = le_n(p + off, 8);
	m->kim_attrs_ok = true;
}

/* PSA key type -> psa-crypto's Type variant (and family variant). -1 for
 * one it has none for. */
static int type_variant(uint16_t t, unsigned *ret_family)
{
	static const uint16_t plain[] = {0x1001, 0x1100, 0x1200, 0x2400, 0x2301,
	                                 0x2403, 0x2002, 0x2004, 0x4001, 0x7001};
	static const uint8_t ecc[] = {0x17, 0x12, 0x1b, 0x27, 0x22, 0x2b, 0x30, 0x33, 0x41};

	*ret_family = 0;
	for (size_t i = 0; i < TS_ARRAY_LEN(plain); i++)
		if (plain[i] == t)
			return (int)i;
	if ((t & 0xff00) == 0x7100 || (t & 0xff00) == 0x4100) {
		for (size_t i = 0; i < TS_ARRAY_LEN(ecc); i++)
			if (ecc[i] == (t & 0xff)) {
				*ret_family = (unsigned)i;
				return (t & 0xff00) == 0x7100 ? 10 : 11;
			}
		return -1;
	}
	if (((t & 0xff00) == 0x7200 || (t & 0xff00) == 0x4200) && (t & 0xff) == 0x03)
		return (t & 0xff00) == 0x7200 ? 12 : 13;
	return -1;
}

int mig_check_kim_attrs(const struct mig_entry *m, const struct mig_psa_attrs *a, char *why,
                        size_t whylen)
{
	static const char *const names[] = {
	        "RawData",    "Hmac",         "Derive",    "Aes",          "Des",
	        "Camellia",   "Arc4",         "Chacha20",  "RsaPublicKey", "RsaKeyPair",
	        "EccKeyPair", "EccPublicKey", "DhKeyPair", "DhPublicKey"};
	unsigned family;
	int v;

	if (!m->kim_attrs_ok)
		return 0;
	v = type_variant(a->type, &family);
	if (v < 0)
		return 0; /* the conversion names it */
	if ((unsigned)v != m->kim_type || family != m->kim_family ||
	    (m->kim_bits != 0 && m->kim_bits != a->bits)) {
		snprintf(why, whylen,
		         "the key file (PSA type 0x%04x, %u bits) is not the key Parsec's mapping "
		         "describes (%s, family %u, %llu bits): is --mbed-dir this installation's?",
		         a->type, (unsigned)a->bits, names[m->kim_type], m->kim_family,
		         (unsigned long long)m->kim_bits);
		return -1;
	}
	return 0;
}

/* ---- SQLite key info manager ---- */

int mig_read_sqlite(const char *path, struct mig_entries *e, char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc, version = -1, ret = -1;

	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT int_value FROM kim_metadata WHERE id = 'schema_version'",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen,
		         "%s: not a Parsec SQLite key info store (no kim_metadata table: %s)", path,
		         sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version != 1) {
		snprintf(err, errlen,
		         "%s: schema version %d; this importer reads version 1 (Parsec 1.0 to 1.4)",
		         path, version);
		goto out;
	}
	if (sqlite3_prepare_v2(db,
	                       "SELECT authenticator_id, application_name, key_name, provider_uuid,"
	                       " provider_name, key_id, key_id_version, key_attributes_version,"
	                       " key_attributes"
	                       " FROM key_mapping ORDER BY authenticator_id, application_name,"
	                       " key_name",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: no key_mapping table as Parsec makes it: %s", path,
		         sqlite3_errmsg(db));
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mig_entry *m = add(e);
		sqlite3_int64 auth = sqlite3_column_int64(st, 0);
		const void *id = sqlite3_column_blob(st, 5);
		const char *uuid = (const char *)sqlite3_column_text(st, 3);
		const char *pname = (const char *)sqlite3_column_text(st, 4);
		char origin[96];

		if (m == NULL)
			goto oom;
		m->auth = auth >= 0 && auth <= 255 ? (unsigned)auth : 256;
		m->app = dupn(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
		m->name = dupn(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2));
		m->provider = mig_provider_of_uuid(uuid != NULL ? uuid : "");
		m->provider_name = strdup(pname != NULL ? pname : "");
		m->key_id_len = (size_t)sqlite3_column_bytes(st, 5);
		m->key_id = malloc(m->key_id_len + 1);
		snprintf(origin, sizeof(origin), "%s", "SQLite key_mapping");
		m->origin = strdup(origin);
		if (m->app == NULL || m->name == NULL || m->provider_name == NULL ||
		    m->key_id == NULL || m->origin == NULL)
			goto oom;
		if (m->key_id_len > 0)
			memcpy(m->key_id, id, m->key_id_len);
		kim_attrs(m, sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8));
		if (sqlite3_column_int(st, 6) != 1 || sqlite3_column_int(st, 7) != 1) {
			char why[96];

			snprintf(why, sizeof(why),
			         "key_id_version %d / key_attributes_version %d (only 1 is known)",
			         sqlite3_column_int(st, 6), sqlite3_column_int(st, 7));
			if (set_bad(m, why) < 0)
				goto oom;
		} else if (m->auth > 255) {
			if (set_bad(m, "authenticator_id out of range") < 0)
				goto oom;
		}
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	ret = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory");
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}

/* ---- on-disk key info manager ---- */

static int b64_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* URL-safe base64 (padded, as Parsec writes it; unpadded accepted) into a
 * new NUL-terminated string; NULL when it is not base64 (*oom false) or out
 * of memory (*oom true). */
static char *b64url_decode(const char *in, bool *oom)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *out;

	*oom = false;
	while (n > 0 && in[n - 1] == '=')
		n--;
	if (strlen(in) - n > 2 || n % 4 == 1)
		return NULL;
	out = malloc(n * 3 / 4 + 1);
	if (out == NULL) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	if (strlen(out) != o) { /* a NUL inside: not a name */
		free(out);
		return NULL;
	}
	return out;
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len, size_t max)
{
	struct stat sb;
	uint8_t *buf;
	ssize_t got;
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) || (size_t)sb.st_size > max) {
		close(fd);
		errno = S_ISREG(sb.st_mode) ? EFBIG : EINVAL;
		return -1;
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (buf == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	while (off < (size_t)sb.st_size) {
		got = read(fd, buf + off, (size_t)sb.st_size - off);
		if (got <= 0)
			break;
		off += (size_t)got;
	}
	close(fd);
	*ret = buf;
	*ret_len = off;
	return 0;
}

/* The key ID of a bincode KeyInfo {id: Vec<u8>, attributes}: a u64 length,
 * the bytes, then the attributes (which must be there). */
static int key_info_id(const uint8_t *p, size_t len, struct mig_entry *m, char *why, size_t whylen)
{
	uint64_t n = 0;

	if (len < 8) {
		snprintf(why, whylen, "KeyInfo of %zu bytes is too short", len);
		return -1;
	}
	for (int i = 7; i >= 0; i--)
		n = (n << 8) | p[i];
	if (n > len - 8 || n == len - 8) {
		snprintf(why, whylen, "KeyInfo id length %llu does not fit its %zu bytes",
		         (unsigned long long)n, len);
		return -1;
	}
	m->key_id = malloc((size_t)n + 1);
	if (m->key_id == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(m->key_id, p + 8, (size_t)n);
	m->key_id_len = (size_t)n;
	kim_attrs(m, p + 8 + n, len - 8 - (size_t)n);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory (no "." or ".."), sorted, as a malloc'd array
 * of malloc'd names. -1 on error (errno). */
static int list_dir(const char *path, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char **nv;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (nv == NULL || (nv[n] = strdup(de->d_name)) == NULL) {
			v = nv != NULL ? nv : v;
			for (size_t i = 0; i < n; i++)
				free(v[i]);
			free(v);
			closedir(d);
			errno = ENOMEM;
			return -1;
		}
		v = nv;
		n++;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* One mapping file: app and name decoded already (or NULL with why). */
static int add_file(struct mig_entries *e, const char *path, unsigned auth, const char *app,
                    const char *name, int provider, const char *why_name)
{
	struct mig_entry *m = add(e);
	uint8_t *buf = NULL;
	size_t len = 0;
	char why[256];

	if (m == NULL)
		return -1;
	m->auth = auth;
	m->provider = provider;
	m->app = strdup(app != NULL ? app : "?");
	m->name = strdup(name != NULL ? name : "?");
	m->provider_name = strdup(mig_provider_label(provider));
	m->origin = strdup(path);
	if (m->app == NULL || m->name == NULL || m->provider_name == NULL || m->origin == NULL)
		return -1;
	if (why_name != NULL)
		return set_bad(m, why_name);
	if (read_file(path, &buf, &len, 1 << 20) != 0) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(errno));
		return set_bad(m, why);
	}
	if (key_info_id(buf, len, m, why, sizeof(why)) < 0) {
		ts_free_secret(buf, len);
		return set_bad(m, why);
	}
	ts_free_secret(buf, len);
	return 0;
}

static int read_internal(const char *dir, struct mig_entries *e, char *err, size_t errlen)
{
	char **files = NULL, path[4096];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/parsec", dir);
	if (list_dir(path, &files, &n) != 0)
		return errno == ENOENT
		               ? 0
		               : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	for (size_t i = 0; i < n; i++) {
		bool oom;
		char *full = b64url_decode(files[i], &oom);
		int prov = MIG_PROV_UNKNOWN;
		const char *name = full;

		if (oom)
			goto oom;
		for (size_t j = 0; full != NULL && j < TS_ARRAY_LEN(internal_prefixes); j++) {
			size_t pl = strlen(internal_prefixes[j].prefix);

			if (strncmp(full, internal_prefixes[j].prefix, pl) == 0) {
				prov = internal_prefixes[j].id;
				name = full + pl;
				break;
			}
		}
		snprintf(path, sizeof(path), "%s/parsec/%s", dir, files[i]);
		if (add_file(e, path, MIG_AUTH_INTERNAL, "parsec", name, prov,
		             full == NULL ? "file name is not URL-safe base64" : NULL) < 0) {
			free(full);
			goto oom;
		}
		free(full);
	}
	free_list(files, n);
	return 0;
oom:
	free_list(files, n);
	snprintf(err, errlen, "out of memory");
	return -1;
}

int mig_read_on_disk(const char *dir, unsigned auth, struct mig_entries *e, char *err,
                     size_t errlen)
{
	char **apps = NULL;
	size_t n_apps = 0;
	char path[4096];

	if (list_dir(dir, &apps, &n_apps) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (read_internal(dir, e, err, errlen) < 0)
		goto fail;
	for (size_t i = 0; i < n_apps; i++) {
		char **provs = NULL;
		size_t n_provs = 0;
		bool oom;
		char *app;

		if (strcmp(apps[i], "parsec") == 0)
			continue; /* internal keys, read above */
		snprintf(path, sizeof(path), "%s/%s", dir, apps[i]);
		app = b64url_decode(apps[i], &oom);
		if (oom || list_dir(path, &provs, &n_provs) != 0) {
			free(app);
			if (oom || errno == ENOMEM)
				goto oom;
			if (errno == ENOTDIR)
				continue; /* a stray file at the top: not a mapping */
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		for (size_t j = 0; j < n_provs; j++) {
			char **keys = NULL;
			size_t n_keys = 0;
			uint64_t pid = 0;
			int prov;

			snprintf(path, sizeof(path), "%s/%s/%s", dir, apps[i], provs[j]);
			prov = ts_parse_u64(provs[j], 0, 254, &pid) == 0 ? (int)pid
			                                                 : MIG_PROV_UNKNOWN;
			if (list_dir(path, &keys, &n_keys) != 0) {
				if (errno == ENOTDIR)
					continue;
				free(app);
				free_list(provs, n_provs);
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				goto fail;
			}
			for (size_t k = 0; k < n_keys; k++) {
				char *name = b64url_decode(keys[k], &oom);
				const char *why = NULL;
				int rc;

				if (oom) {
					free_list(keys, n_keys);
					free_list(provs, n_provs);
					free(app);
					goto oom;
				}
				if (app == NULL)
					why = "application directory name is not URL-safe base64";
				else if (name == NULL)
					why = "key file name is not URL-safe base64";
				else if (prov == MIG_PROV_UNKNOWN)
					why = "provider directory is not a provider ID";
				snprintf(path, sizeof(path), "%s/%s/%s/%s", dir, apps[i], provs[j],
				         keys[k]);
				rc = add_file(e, path, auth, app, name, prov, why);
				free(name);
				if (rc < 0) {
					free_list(keys, n_keys);
					free_list(provs, n_provs);
					free(app);
					goto oom;
				}
			}
			free_list(keys, n_keys);
		}
		free_list(provs, n_provs);
		free(app);
	}
	free_list(apps, n_apps);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	free_list(apps, n_apps);
	return -1;
}

/* ---- Mbed Crypto key files ---- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ITS header (16) + key header (36). */
#define ITS_HEADER 16
#define KEY_HEADER 36

int mig_read_mbed_key(const char *dir, uint32_t id, struct mig_psa_attrs *ret_attrs,
                      uint8_t **ret_data, size_t *ret_len, char *why, size_t whylen)
{
	char path[4096];
	uint8_t *buf = NULL, *data;
	size_t len = 0, its_len, data_len;
	const uint8_t *k;

	/* The ITS file of uid = key ID (no owner in the upper 32 bits). */
	snprintf(path, sizeof(path), "%s/%08x%08x.psa_its", dir, 0u, (unsigned)id);
	if (read_file(path, &buf, &len, 1 << 20) != 0) {
		snprintf(why, whylen, "key file %s: %s", path, strerror(errno));
		return -1;
	}
	if (len < ITS_HEADER || memcmp(buf, "PSA\0ITS\0", 8) != 0) {
		snprintf(why, whylen, "key file %s: not an ITS file (no PSA\\0ITS\\0 magic)", path);
		goto fail;
	}
	its_len = le32(buf + 8);
	if (its_len != len - ITS_HEADER) {
		snprintf(why, whylen, "key file %s: ITS header says %zu bytes, the file holds %zu",
		         path, its_len, len - ITS_HEADER);
		goto fail;
	}
	k = buf + ITS_HEADER;
	if (its_len < KEY_HEADER || memcmp(k, "PSA\0KEY\0", 8) != 0) {
		snprintf(why, whylen,
		         "key file %s: not a PSA persistent key (no PSA\\0KEY\\0 magic)", path);
		goto fail;
	}
	if (le32(k + 8) != 0) {
		snprintf(why, whylen, "key file %s: key format version %u (only 0 is known)", path,
		         le32(k + 8));
		goto fail;
	}
	data_len = le32(k + 32);
	if (data_len > its_len - KEY_HEADER) {
		snprintf(why, whylen, "key file %s: key data of %zu bytes past the end (%zu left)",
		         path, data_len, its_len - KEY_HEADER);
		goto fail;
	}
	ret_attrs->lifetime = le32(k + 12);
	ret_attrs->type = le16(k + 16);
	ret_attrs->bits = le16(k + 18);
	ret_attrs->usage = le32(k + 20);
	ret_attrs->alg = le32(k + 24);
	ret_attrs->alg2 = le32(k + 28);
	data = malloc(data_len + 1);
	if (data == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	memcpy(data, k + KEY_HEADER, data_len);
	ts_free_secret(buf, len);
	*ret_data = data;
	*ret_len = data_len;
	return 0;
fail:
	ts_free_secret(buf, len);
	return -1;
}
