/*
 * tessera-migrate: import a Parsec installation's keys into Tessera's key
 * store. Reads Parsec's key info store (SQLite or on-disk) and the Mbed
 * Crypto provider's key files, and imports each software key through the
 * Software provider's import_key under the same (authenticator,
 * application, key name), sealed as every record. A dry run unless
 * --apply. Reference: docs/migrating-from-parsec.md.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/errors.h"
#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "config/config.h"
#include "keystore/keystore.h"
#include "migrate/parsec.h"
#include "migrate/pkcs11.h"
#include "migrate/psamap.h"
#include "migrate/tpm.h"
#include "providers/provider.h"
#include "wire/psa.h"

/* Stores at least this large show a progress line on a terminal. */
#define PROGRESS_MIN 50
/* Tessera's longest key name (the daemon refuses longer ones). */
#define NAME_MAX_BYTES 255

struct opts {
	const char *config, *state_dir, *kek, *instance, *tpm_instance;
	const char *sqlite, *on_disk, *mbed_dir;
	unsigned on_disk_auth;
	bool apply, quiet;
	bool adopt; /* --adopt-pkcs11 */
	struct mig_p11_adopt ad;
};

struct target {
	const struct prov_ops *ops;
	void *ctx;
	const char *instance;
	struct ks *ks;        /* NULL in a dry run on a store that does not exist yet */
	const char *why_none; /* a TPM target that could not be opened: why */
	bool tried;           /* a TPM target is opened at the first TPM key */
};

/* The providers keys go to. */
struct targets {
	struct target soft, tpm;
	struct mig_p11 p11; /* where PKCS#11 keys go, opened at the first */
	const struct ts_config *cfg;
};

struct counts {
	size_t imported, present, skipped, failed;
};

/* What happened to one mapping. */
enum outcome { OUT_IMPORTED, OUT_PRESENT, OUT_SKIPPED, OUT_FAILED };

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: tessera-migrate [options] (--sqlite FILE | --on-disk DIR --on-disk-auth "
	        "TYPE)\n"
	        "       tessera-migrate [options] --adopt-pkcs11 --tenant AUTH:APP --key-name "
	        "NAME\n"
	        "                       (--cka-id HEX | --label TEXT) --alg ALG\n"
	        "Import a Parsec installation's keys into Tessera's key store (tesserad must be\n"
	        "stopped). A dry run unless --apply.\n"
	        "\n"
	        "Parsec side:\n"
	        "      --sqlite FILE          Parsec's SQLite key info store\n"
	        "                             (sqlite-key-info-manager.sqlite3)\n"
	        "      --on-disk DIR          Parsec's on-disk key info store (the mappings\n"
	        "                             directory)\n"
	        "      --on-disk-auth TYPE    the authenticator Parsec ran with: Direct,\n"
	        "                             UnixPeerCredentials or JwtSvid (the on-disk store\n"
	        "                             does not record it)\n"
	        "      --mbed-dir DIR         where the Mbed Crypto provider's *.psa_its key "
	        "files\n"
	        "                             are (Parsec's working directory)\n"
	        "Tessera side (as tesserad takes them):\n"
	        "  -c, --config FILE          tesserad's configuration (default: the embedded "
	        "one)\n"
	        "      --state-dir DIR        the key store in DIR, its key in DIR.kek\n"
	        "      --kek-file PATH        the key-encryption key file\n"
	        "      --instance NAME        the Software provider instance to import into\n"
	        "                             (default: the first Software provider)\n"
	        "      --tpm-instance NAME    the Tpm provider instance Parsec's TPM keys go to\n"
	        "                             (default: the first Tpm provider)\n"
	        "      --pkcs11-instance NAME the Pkcs11 provider instance of PKCS#11 keys\n"
	        "                             (default: the first Pkcs11 provider)\n"
	        "Adopting a key an HSM administrator put on the token (writes at once):\n"
	        "      --adopt-pkcs11         record the key for the tenant\n"
	        "      --tenant AUTH:APP      the tenant: Direct:NAME, UnixPeerCredentials:UID,\n"
	        "                             JwtSvid:SPIFFE-ID\n"
	        "      --key-name NAME        the tenant's name for the key\n"
	        "      --cka-id HEX           the key's objects by CKA_ID\n"
	        "      --label TEXT           or by CKA_LABEL (must name one key)\n"
	        "      --alg ALG              its one algorithm: ecdsa-sha256, rsa-pkcs1-sha256,\n"
	        "                             rsa-pss-sha256, rsa-pkcs1-crypt, rsa-oaep-sha1,\n"
	        "                             hmac-sha256, aes-gcm, ecdh, or a PSA number\n"
	        "Run:\n"
	        "      --apply                write the keys (default: only report)\n"
	        "  -q, --quiet                print only the counts and the failures\n"
	        "  -h, --help                 this help\n"
	        "  -V, --version              the version\n");
}

static int parse_auth(const char *s, unsigned *ret)
{
	if (strcasecmp(s, "Direct") == 0 || strcmp(s, "1") == 0)
		*ret = 1;
	else if (strcasecmp(s, "UnixPeerCredentials") == 0 || strcasecmp(s, "unix-peer") == 0 ||
	         strcmp(s, "3") == 0)
		*ret = 3;
	else if (strcasecmp(s, "JwtSvid") == 0 || strcasecmp(s, "jwt-svid") == 0 ||
	         strcmp(s, "4") == 0)
		*ret = 4;
	else
		return -1;
	return 0;
}

static const char *auth_label(unsigned auth)
{
	switch (auth) {
	case 1:
		return "Direct";
	case 2:
		return "Jwt";
	case 3:
		return "UnixPeerCredentials";
	case 4:
		return "JwtSvid";
	case MIG_AUTH_INTERNAL:
		return "Internal";
	}
	return "unknown";
}

/* ---- progress ---- */

struct progress {
	bool on;
	size_t total, done;
	uint64_t last_ms;
	bool shown;
};

static void progress_clear(struct progress *p)
{
	if (p->on && p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = false;
	}
}

static void progress_tick(struct progress *p, bool force)
{
	uint64_t now;

	if (!p->on)
		return;
	now = ts_now_ms();
	if (!force && now - p->last_ms < 100)
		return;
	p->last_ms = now;
	fprintf(stderr, "\r\033[Kmigrating: %zu/%zu keys (%zu%%)", p->done, p->total,
	        p->total ? p->done * 100 / p->total : 100);
	fflush(stderr);
	p->shown = true;
}

/* ---- one mapping ---- */

static void report(struct progress *pg, const struct opts *o, enum outcome out,
                   const struct mig_entry *m, const char *what)
{
	static const char *const verbs_apply[] = {"imported", "present ", "skipped ", "failed  "};
	static const char *const verbs_dry[] = {"import  ", "present ", "skip    ", "fail    "};
	char app[160], name[160];

	if (o->quiet && out != OUT_FAILED)
		return;
	progress_clear(pg);
	printf("%s %s \"%s\" key \"%s\": %s\n", (o->apply ? verbs_apply : verbs_dry)[out],
	       auth_label(m->auth), ts_log_escape(m->app, strlen(m->app), 64, app, sizeof(app)),
	       ts_log_escape(m->name, strlen(m->name), 64, name, sizeof(name)), what);
	fflush(stdout);
}

/* The record as Tessera would store it: attributes (with the size the
 * provider found) and material. 0, or -1 with why. */
static int convert(const struct opts *o, const struct target *t, const struct mig_entry *m,
                   uint8_t **ret_attrs, size_t *ret_attrs_len, uint8_t **ret_mat,
                   size_t *ret_mat_len, char *desc, size_t desclen, char *why, size_t whylen)
{
	struct mig_psa_attrs pa;
	struct psa_attrs a;
	struct prov_key k = {.attrs = &a};
	uint8_t *data = NULL, *pb = NULL, *mat = NULL;
	size_t data_len = 0, pb_len = 0, mat_len = 0;
	uint32_t id, bits = 0;
	enum ts_err err;
	char tname[48];

	if (m->key_id_len != 4) {
		snprintf(why, whylen, "Mbed Crypto key ID of %zu bytes (a u32 is 4)",
		         m->key_id_len);
		return -1;
	}
	id = (uint32_t)m->key_id[0] | (uint32_t)m->key_id[1] << 8 | (uint32_t)m->key_id[2] << 16 |
	     (uint32_t)m->key_id[3] << 24;
	if (o->mbed_dir == NULL) {
		snprintf(why, whylen, "Mbed Crypto key %u: no --mbed-dir given", (unsigned)id);
		return -1;
	}
	if (mig_read_mbed_key(o->mbed_dir, id, &pa, &data, &data_len, why, whylen) < 0)
		return -1;
	if (mig_check_kim_attrs(m, &pa, why, whylen) < 0)
		goto fail;
	if (mig_psa_to_pb(&pa, pa.bits, &pb, &pb_len, why, whylen) < 0)
		goto fail;
	err = psa_attrs_unpack(pb, pb_len, &a);
	if (err != TS_OK) {
		snprintf(why, whylen, "Mbed Crypto key %u: attributes Tessera does not take (%s)",
		         (unsigned)id, ts_strerror(err));
		goto fail;
	}
	err = t->ops->import_key(t->ctx, &k, data, data_len, &mat, &mat_len, &bits);
	if (err != TS_OK) {
		snprintf(why, whylen,
		         "Mbed Crypto key %u: the Software provider refuses its data (%s)",
		         (unsigned)id, ts_strerror(err));
		goto fail;
	}
	free(pb);
	pb = NULL;
	if (mig_psa_to_pb(&pa, bits, &pb, &pb_len, why, whylen) < 0)
		goto fail;
	snprintf(desc, desclen, "%s, %u bits (Mbed Crypto key %u)",
	         mig_psa_type_name(pa.type, tname, sizeof(tname)), (unsigned)bits, (unsigned)id);
	ts_free_secret(data, data_len);
	*ret_attrs = pb;
	*ret_attrs_len = pb_len;
	*ret_mat = mat;
	*ret_mat_len = mat_len;
	return 0;
fail:
	ts_free_secret(data, data_len);
	ts_free_secret(mat, mat_len);
	free(pb);
	return -1;
}

/* Does the tenant already have a key of that name? 0 no; 1 the same key in
 * the target instance (migrated before); 2 another key (why says which). */
static int existing(const struct target *t, const struct ks_key_id *kid, const uint8_t *attrs,
                    size_t attrs_len, const uint8_t *mat, size_t mat_len, char *why, size_t whylen)
{
	struct ks_record rec = {0};
	enum ts_err err;
	int rc;

	if (t->ks == NULL)
		return 0;
	err = ks_get(t->ks, kid, t->instance, &rec);
	if (err == TS_E_PSA_DOES_NOT_EXIST)
		return 0; /* or in another instance / not ready: ks_reserve tells */
	if (err != TS_OK) {
		snprintf(why, whylen,
		         "a Tessera key of that name exists and does not open (%s); "
		         "left as it is",
		         ts_strerror(err));
		return 2;
	}
	rc = rec.attrs_len == attrs_len && memcmp(rec.attrs, attrs, attrs_len) == 0 &&
	                     rec.material_len == mat_len &&
	                     ts_consttime_eq(rec.material, mat, mat_len)
	             ? 1
	             : 2;
	if (rc == 2)
		snprintf(why, whylen,
		         "a different Tessera key of that name exists in \"%s\"; not overwritten",
		         t->instance);
	ks_record_clear(&rec);
	return rc;
}

/* Write one converted key under kid (in a dry run, only look for a
 * conflict). */
static enum outcome store_key(const struct opts *o, const struct target *t,
                              const struct ks_key_id *kid, const uint8_t *ref, size_t ref_len,
                              const uint8_t *attrs, size_t attrs_len, const uint8_t *mat,
                              size_t mat_len, const char *desc, char *what, size_t whatlen)
{
	char why[512];
	enum ts_err err;

	switch (existing(t, kid, attrs, attrs_len, mat, mat_len, why, sizeof(why))) {
	case 1:
		snprintf(what, whatlen, "%s: already in Tessera (migrated before)", desc);
		return OUT_PRESENT;
	case 2:
		snprintf(what, whatlen, "%s: %s", desc, why);
		return OUT_SKIPPED;
	}
	if (!o->apply) {
		snprintf(what, whatlen, "%s", desc);
		return OUT_IMPORTED;
	}
	err = ks_reserve(t->ks, kid, t->instance, ref, ref_len, attrs, attrs_len);
	if (err == TS_E_PSA_ALREADY_EXISTS) {
		snprintf(what, whatlen,
		         "%s: a Tessera key of that name exists (another instance, or being "
		         "created or destroyed); not overwritten",
		         desc);
		return OUT_SKIPPED;
	}
	if (err == TS_OK) {
		err = ks_commit(t->ks, kid, NULL, 0, attrs, attrs_len, mat, mat_len);
		if (err != TS_OK)
			(void)ks_abort(t->ks, kid);
	}
	if (err != TS_OK) {
		snprintf(what, whatlen, "%s: the key store refuses it (%s%s)", desc,
		         ts_strerror(err),
		         err == TS_E_PSA_INSUFFICIENT_STORAGE
		                 ? "; past the tenant's quotas in the configuration?"
		                 : "");
		return OUT_FAILED;
	}
	snprintf(what, whatlen, "%s", desc);
	return OUT_IMPORTED;
}

/* ---- Parsec's TPM keys ---- */

/* Start the Tpm instance Parsec's TPM keys go to, at the first such key (a
 * store without TPM keys needs no TPM). */
static void open_tpm(const struct opts *o, struct targets *ts)
{
	static char why[600];
	struct target *t = &ts->tpm;
	const struct cfg_provider *p = NULL;
	char path[32], err[512];

	if (t->tried)
		return;
	t->tried = true;
	for (size_t i = 0; i < ts->cfg->n_providers && p == NULL; i++) {
		const struct cfg_provider *c = &ts->cfg->providers[i];

		if (c->provider_id == CFG_PROVIDER_TPM &&
		    (o->tpm_instance == NULL || strcmp(o->tpm_instance, c->name) == 0)) {
			p = c;
			snprintf(path, sizeof(path), "providers[%zu]", i);
		}
	}
	t->ops = prov_find(CFG_PROVIDER_TPM);
	if (p == NULL) {
		if (o->tpm_instance != NULL)
			snprintf(why, sizeof(why),
			         "--tpm-instance %s: no Tpm provider of that name in the "
			         "configuration",
			         o->tpm_instance);
		else
			snprintf(why, sizeof(why),
			         "the configuration has no Tpm provider to take it (add one, "
			         "with the TPM Parsec used)");
		t->why_none = why;
		t->ops = NULL;
		return;
	}
	if (t->ops == NULL || t->ops->import_native == NULL || t->ops->reserve_ref == NULL) {
		snprintf(why, sizeof(why), "this build's Tpm provider cannot take over keys");
		t->why_none = why;
		t->ops = NULL;
		return;
	}
	if ((t->ops->check_settings != NULL &&
	     t->ops->check_settings(p->settings, path, err, sizeof(err)) != TS_OK) ||
	    (t->ops->init != NULL &&
	     t->ops->init(p->settings, path, &t->ctx, err, sizeof(err)) != TS_OK)) {
		snprintf(why, sizeof(why), "the Tpm provider \"%s\" does not start: %s", p->name,
		         err);
		t->why_none = why;
		t->ops = NULL;
		t->ctx = NULL;
		return;
	}
	t->instance = p->name;
	t->ks = ts->soft.ks;
}

/* Why the Tpm provider refused a key, for the report. */
static const char *tpm_refusal(enum ts_err err)
{
	switch (err) {
	case TS_E_PSA_DATA_INVALID:
		return "the TPM does not load it under its root key: the key was made in "
		       "another TPM, or under another primary (the TPM was cleared since), or is "
		       "damaged";
	case TS_E_PSA_NOT_SUPPORTED:
		return "Tessera's TPM provider does not serve a key of these attributes on "
		       "this TPM";
	case TS_E_PSA_INVALID_ARGUMENT:
		return "its public part does not match the mapping's attributes";
	default:
		return ts_strerror(err);
	}
}

static enum outcome migrate_tpm(const struct opts *o, struct targets *ts, const struct mig_entry *m,
                                const struct ks_key_id *kid, char *what, size_t whatlen)
{
	struct target *t = &ts->tpm;
	struct mig_psa_attrs pa;
	struct psa_attrs a;
	struct prov_key k = {.attrs = &a};
	uint8_t *native = NULL, *pb = NULL, *mat = NULL, *ref = NULL;
	size_t native_len = 0, pb_len = 0, mat_len = 0, ref_len = 0;
	enum outcome out = OUT_FAILED;
	enum ts_err err;
	char why[512], desc[160], tname[48];

	open_tpm(o, ts);
	if (t->ops == NULL) {
		snprintf(what, whatlen, "%s key (provider \"%s\"): %s",
		         mig_provider_label(m->provider), m->provider_name, t->why_none);
		return OUT_SKIPPED;
	}
	if (mig_tpm_convert(m, &pa, &native, &native_len, why, sizeof(why)) < 0 ||
	    mig_psa_to_pb(&pa, pa.bits, &pb, &pb_len, why, sizeof(why)) < 0) {
		snprintf(what, whatlen, "%s", why);
		goto out;
	}
	err = psa_attrs_unpack(pb, pb_len, &a);
	if (err != TS_OK) {
		snprintf(what, whatlen, "TPM key: attributes Tessera does not take (%s)",
		         ts_strerror(err));
		goto out;
	}
	snprintf(desc, sizeof(desc), "%s, %u bits (TPM key, into Tpm instance \"%s\")",
	         mig_psa_type_name(pa.type, tname, sizeof(tname)), (unsigned)pa.bits, t->instance);
	err = t->ops->import_native(t->ctx, &k, native, native_len, &mat, &mat_len);
	if (err != TS_OK) {
		snprintf(what, whatlen, "%s: %s", desc, tpm_refusal(err));
		goto out;
	}
	err = t->ops->reserve_ref(t->ctx, &a, &ref, &ref_len);
	if (err != TS_OK) {
		snprintf(what, whatlen, "%s: no reference for it (%s)", desc, ts_strerror(err));
		goto out;
	}
	out = store_key(o, t, kid, ref, ref_len, pb, pb_len, mat, mat_len, desc, what, whatlen);
out:
	if (native != NULL)
		ts_free_secret(native, native_len);
	if (mat != NULL)
		ts_free_secret(mat, mat_len);
	free(pb);
	free(ref);
	return out;
}

/* A Parsec PKCS#11 mapping: the key stays on the token (migrate/pkcs11.c). */
static enum outcome migrate_pkcs11_one(const struct opts *o, struct targets *ts,
                                       const struct mig_entry *m, char *what, size_t whatlen)
{
	switch (mig_p11_migrate(&ts->p11, ts->cfg, ts->soft.ks, o->apply, m, what, whatlen)) {
	case MIG_P11_IMPORTED:
		return OUT_IMPORTED;
	case MIG_P11_PRESENT:
		return OUT_PRESENT;
	case MIG_P11_SKIPPED:
		return OUT_SKIPPED;
	case MIG_P11_FAILED:
		break;
	}
	return OUT_FAILED;
}

static enum outcome migrate_one(const struct opts *o, struct targets *ts, const struct mig_entry *m,
                                char *what, size_t whatlen)
{
	struct ks_key_id kid = {.auth_type = (uint8_t)m->auth, .app = m->app, .name = m->name};
	const struct target *t = &ts->soft;
	uint8_t *attrs = NULL, *mat = NULL;
	size_t attrs_len = 0, mat_len = 0;
	char desc[160], why[512];
	enum outcome out;

	if (m->bad != NULL) {
		snprintf(what, whatlen, "%s: %s", m->origin, m->bad);
		return OUT_FAILED;
	}
	if (m->auth == MIG_AUTH_INTERNAL) {
		snprintf(what, whatlen, "Parsec's own key (%s), not a client's: not migrated",
		         mig_provider_label(m->provider));
		return OUT_SKIPPED;
	}
	if (m->auth < 1 || m->auth > 4) {
		snprintf(what, whatlen, "authenticator_id %u is no Parsec authenticator", m->auth);
		return OUT_FAILED;
	}
	switch (m->provider) {
	case MIG_PROV_MBED_CRYPTO:
	case MIG_PROV_TPM:
	case MIG_PROV_PKCS11:
		break;
	default:
		snprintf(what, whatlen, "%s key (provider \"%s\"): Tessera has no such provider",
		         mig_provider_label(m->provider), m->provider_name);
		return OUT_SKIPPED;
	}
	if (m->name[0] == '\0' || strlen(m->name) > NAME_MAX_BYTES) {
		snprintf(what, whatlen, "a key name of %zu bytes (Tessera takes 1 to %d)",
		         strlen(m->name), NAME_MAX_BYTES);
		return OUT_FAILED;
	}
	/* The PSA C API's volatile keys take this prefix (docs/psa-api.md):
	 * a client's request naming such a key reaches its own connection's
	 * volatile key, so an imported one would be unreachable. */
	if (strncmp(m->name, ".volatile/", 10) == 0) {
		snprintf(
		        what, whatlen,
		        "the name starts with \".volatile/\", which Tessera reserves for the PSA C "
		        "API's volatile keys; rename it in Parsec first");
		return OUT_FAILED;
	}
	if (m->provider == MIG_PROV_TPM)
		return migrate_tpm(o, ts, m, &kid, what, whatlen);
	if (m->provider == MIG_PROV_PKCS11)
		return migrate_pkcs11_one(o, ts, m, what, whatlen);
	if (convert(o, t, m, &attrs, &attrs_len, &mat, &mat_len, desc, sizeof(desc), why,
	            sizeof(why)) < 0) {
		snprintf(what, whatlen, "%s", why);
		return OUT_FAILED;
	}
	out = store_key(o, t, &kid, NULL, 0, attrs, attrs_len, mat, mat_len, desc, what, whatlen);
	free(attrs);
	ts_free_secret(mat, mat_len);
	return out;
}

/* ---- set-up ---- */

/* tesserad's --state-dir / --kek-file rules. */
static int apply_paths(struct ts_config *cfg, const struct opts *o)
{
	char path[4096];

	if (o->state_dir != NULL) {
		size_t len = strlen(o->state_dir);

		snprintf(path, sizeof(path), "%s/keystore.sqlite3", o->state_dir);
		if (config_set_string(&cfg->key_store.path, path) != 0)
			return -1;
		while (len > 1 && o->state_dir[len - 1] == '/')
			len--;
		snprintf(path, sizeof(path), "%.*s.kek", (int)len, o->state_dir);
		if (o->kek == NULL && config_set_string(&cfg->key_store.kek_path, path) != 0)
			return -1;
	}
	if (o->kek != NULL && config_set_string(&cfg->key_store.kek_path, o->kek) != 0)
		return -1;
	return 0;
}

/* Is there a key-encryption key where ks_open() looks for one (the
 * credential, else the file)? */
static bool kek_available(const char *kek_path)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char path[4096];

	if (dir != NULL) {
		snprintf(path, sizeof(path), "%s/tessera-kek", dir);
		if (access(path, F_OK) == 0)
			return true;
	}
	return access(kek_path, F_OK) == 0;
}

static int open_target(const struct opts *o, const struct ts_config *cfg, struct target *t)
{
	struct ks_legacy_provider legacy[8];
	size_t n_legacy = 0;
	const struct cfg_provider *p = NULL;
	char err[512], path[32], cred[4200];
	const char *credstore = getenv("TESSERA_CREDSTORE");
	struct stat sb;
	enum ts_err rc;

	/* Where tessera-kek.service keeps the credential (TESSERA_CREDSTORE
	 * overrides it, as for tessera-kek-setup). */
	snprintf(cred, sizeof(cred), "%s/tessera-kek",
	         credstore != NULL ? credstore : "/etc/credstore.encrypted");

	for (size_t i = 0; i < cfg->n_providers; i++) {
		const struct cfg_provider *c = &cfg->providers[i];
		bool seen = false;

		for (size_t j = 0; j < n_legacy; j++)
			seen = seen || legacy[j].provider_id == c->provider_id;
		if (!seen && n_legacy < TS_ARRAY_LEN(legacy))
			legacy[n_legacy++] = (struct ks_legacy_provider){
			        .provider_id = c->provider_id, .instance = c->name};
		if (p == NULL && c->provider_id == CFG_PROVIDER_SOFTWARE &&
		    (o->instance == NULL || strcmp(o->instance, c->name) == 0)) {
			p = c;
			snprintf(path, sizeof(path), "providers[%zu]", i);
		}
	}
	if (p == NULL && o->adopt && o->instance == NULL)
		goto store; /* the adoption needs no Software provider */
	if (p == NULL) {
		if (o->instance != NULL)
			fprintf(stderr,
			        "tessera-migrate: --instance %s: no Software provider of that "
			        "name in the configuration\n",
			        o->instance);
		else
			fprintf(stderr,
			        "tessera-migrate: the configuration has no Software provider "
			        "to import into\n");
		return -1;
	}
	t->instance = p->name;
	t->ops = prov_find(CFG_PROVIDER_SOFTWARE);
	if (t->ops == NULL || t->ops->import_key == NULL) {
		fprintf(stderr, "tessera-migrate: this build has no Software provider\n");
		return -1;
	}
	if ((t->ops->check_settings != NULL &&
	     t->ops->check_settings(p->settings, path, err, sizeof(err)) != TS_OK) ||
	    (t->ops->init != NULL &&
	     t->ops->init(p->settings, path, &t->ctx, err, sizeof(err)) != TS_OK)) {
		fprintf(stderr, "tessera-migrate: %s\n", err);
		return -1;
	}
store:
	if (!kek_available(cfg->key_store.kek_path) && access(cred, F_OK) == 0) {
		/* Under systemd the key is an encrypted credential that only a
		 * unit can open: a new file key here would seal records the
		 * daemon cannot open (or be refused by a store with records). */
		fprintf(stderr,
		        "tessera-migrate: the key store's key-encryption key is the systemd "
		        "credential %s, which only a unit can open: run this as\n"
		        "  systemd-run --pipe --wait -p LoadCredentialEncrypted=tessera-kek:%s "
		        "tessera-migrate ...\n",
		        cred, cred);
		return -1;
	}
	/* A dry run writes nothing: a store that does not exist yet has no
	 * key to conflict with, and is not made. */
	if (!o->apply && stat(cfg->key_store.path, &sb) != 0 && errno == ENOENT)
		return 0;
	if (!o->apply && !kek_available(cfg->key_store.kek_path)) {
		/* Opening would make a key for an empty store: not in a dry run. */
		printf("note: key store %s has no key-encryption key at %s: its keys are not "
		       "compared in this dry run\n",
		       cfg->key_store.path, cfg->key_store.kek_path);
		return 0;
	}
	rc = ks_open(cfg->key_store.path, cfg->key_store.kek_path, legacy, n_legacy, &t->ks, err,
	             sizeof(err));
	if (rc != TS_OK) {
		fprintf(stderr, "tessera-migrate: key store: %s\n", err);
		if (strstr(err, "in use by process") != NULL)
			fprintf(stderr, "tessera-migrate: stop tesserad first (systemctl stop "
			                "tesserad), then run this again\n");
		return -1;
	}
	/* The configuration's per-tenant quotas hold for imported keys too. */
	ks_set_quotas(t->ks, cfg->quotas.max_keys_per_tenant, cfg->quotas.max_key_bytes_per_tenant);
	return 0;
}

/*
 * Run as root (needed to read Parsec's files, which are its user's), the
 * files the key store made are root's, and tesserad, running as its own
 * user, could not open them. They go to the owner of the store's
 * directory when that is not root: the store, its WAL and lock files, and
 * a key-encryption key this run made.
 */
static void hand_over(const struct ts_config *cfg, bool kek_made)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
	char dir[4096], path[4200];
	struct stat sb, fb;
	char *slash;

	if (geteuid() != 0)
		return;
	snprintf(dir, sizeof(dir), "%s", cfg->key_store.path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &sb) != 0 || sb.st_uid == 0)
		return;
	for (size_t i = 0; i < TS_ARRAY_LEN(suffixes) + 1; i++) {
		if (i < TS_ARRAY_LEN(suffixes))
			snprintf(path, sizeof(path), "%s%s", cfg->key_store.path, suffixes[i]);
		else if (kek_made)
			snprintf(path, sizeof(path), "%s", cfg->key_store.kek_path);
		else
			break;
		if (lstat(path, &fb) != 0 || !S_ISREG(fb.st_mode) || fb.st_uid != 0)
			continue;
		if (lchown(path, sb.st_uid, sb.st_gid) != 0)
			fprintf(stderr, "tessera-migrate: cannot give %s to uid %u: %s\n", path,
			        (unsigned)sb.st_uid, strerror(errno));
		else
			printf("%s now belongs to uid %u, the owner of %s\n", path,
			       (unsigned)sb.st_uid, dir);
	}
}

static void close_target(struct target *t)
{
	ks_close(t->ks);
	if (t->ops != NULL && t->ops->fini != NULL)
		t->ops->fini(t->ctx);
}

/* --adopt-pkcs11: one key an HSM administrator provisioned, recorded for a
 * tenant at once (migrate/pkcs11.c). */
static int adopt_main(struct opts *o, struct targets *ts, const char *tenant)
{
	struct ts_config *cfg;
	const char *colon = tenant != NULL ? strchr(tenant, ':') : NULL;
	char err[1024], auth[32];
	int ret = 1;

	if (colon == NULL || colon == tenant || colon[1] == '\0' ||
	    (size_t)(colon - tenant) >= sizeof(auth)) {
		fprintf(stderr, "tessera-migrate: --adopt-pkcs11 needs --tenant AUTH:APP (e.g. "
		                "Direct:alice or UnixPeerCredentials:1000)\n");
		return 2;
	}
	snprintf(auth, sizeof(auth), "%.*s", (int)(colon - tenant), tenant);
	if (parse_auth(auth, &o->ad.auth) < 0) {
		fprintf(stderr,
		        "tessera-migrate: --tenant: expected Direct, UnixPeerCredentials or "
		        "JwtSvid "
		        "before ':', not '%s'\n",
		        auth);
		return 2;
	}
	o->ad.app = colon + 1;
	if (o->ad.name == NULL || o->ad.name[0] == '\0' || strlen(o->ad.name) > NAME_MAX_BYTES ||
	    o->ad.alg == NULL || (o->ad.cka_id_hex == NULL) == (o->ad.label == NULL) ||
	    o->sqlite != NULL || o->on_disk != NULL) {
		fprintf(stderr,
		        "tessera-migrate: --adopt-pkcs11 needs --key-name NAME (1 to %d "
		        "bytes), --alg ALG and one of --cka-id HEX or --label TEXT, and no "
		        "Parsec store\n",
		        NAME_MAX_BYTES);
		return 2;
	}
	if (strncmp(o->ad.name, ".volatile/", 10) == 0) {
		fprintf(stderr,
		        "tessera-migrate: --key-name: names starting with \".volatile/\" are "
		        "reserved for the PSA C API's volatile keys\n");
		return 2;
	}
	o->apply = true;
	ts_log_set_level(TS_LOG_WARN);
	cfg = o->config != NULL ? config_load_file(o->config, err, sizeof(err))
	                        : config_load_default(err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tessera-migrate: %s\n", err);
		return 1;
	}
	if (apply_paths(cfg, o) != 0) {
		fprintf(stderr, "tessera-migrate: out of memory\n");
		goto out;
	}
	if (open_target(o, cfg, &ts->soft) < 0)
		goto out;
	if (mig_p11_adopt(&ts->p11, cfg, ts->soft.ks, &o->ad, err, sizeof(err)) < 0) {
		fprintf(stderr, "tessera-migrate: %s\n", err);
		goto out;
	}
	printf("%s \"%s\" key \"%s\" on PKCS#11 instance \"%s\": %s\n", auth_label(o->ad.auth),
	       o->ad.app, o->ad.name, ts->p11.instance, err);
	ret = 0;
out : {
	bool kek_made = ts->soft.ks != NULL && ks_kek_source(ts->soft.ks) == KS_KEK_NEW_FILE;

	mig_p11_close(&ts->p11);
	close_target(&ts->soft);
	hand_over(cfg, kek_made);
}
	config_free(cfg);
	return ret;
}

int main(int argc, char **argv)
{
	enum {
		OPT_SQLITE = 256,
		OPT_ON_DISK,
		OPT_ON_DISK_AUTH,
		OPT_MBED,
		OPT_STATE,
		OPT_KEK,
		OPT_INSTANCE,
		OPT_TPM_INSTANCE,
		OPT_APPLY,
		OPT_P11_INSTANCE,
		OPT_ADOPT,
		OPT_TENANT,
		OPT_KEY_NAME,
		OPT_CKA_ID,
		OPT_LABEL,
		OPT_ALG
	};
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"sqlite", required_argument, NULL, OPT_SQLITE},
	        {"on-disk", required_argument, NULL, OPT_ON_DISK},
	        {"on-disk-auth", required_argument, NULL, OPT_ON_DISK_AUTH},
	        {"mbed-dir", required_argument, NULL, OPT_MBED},
	        {"state-dir", required_argument, NULL, OPT_STATE},
	        {"kek-file", required_argument, NULL, OPT_KEK},
	        {"instance", required_argument, NULL, OPT_INSTANCE},
	        {"tpm-instance", required_argument, NULL, OPT_TPM_INSTANCE},
	        {"apply", no_argument, NULL, OPT_APPLY},
	        {"pkcs11-instance", required_argument, NULL, OPT_P11_INSTANCE},
	        {"adopt-pkcs11", no_argument, NULL, OPT_ADOPT},
	        {"tenant", required_argument, NULL, OPT_TENANT},
	        {"key-name", required_argument, NULL, OPT_KEY_NAME},
	        {"cka-id", required_argument, NULL, OPT_CKA_ID},
	        {"label", required_argument, NULL, OPT_LABEL},
	        {"alg", required_argument, NULL, OPT_ALG},
	        {"quiet", no_argument, NULL, 'q'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {NULL, 0, NULL, 0},
	};
	struct opts o = {0};
	struct targets ts = {0};
	struct target *t = &ts.soft;
	struct mig_entries e = {0};
	struct counts c = {0};
	struct progress pg = {0};
	struct ts_config *cfg = NULL;
	const char *auth_text = NULL, *tenant = NULL;
	char err[1024];
	int opt, ret = 1;
	bool kek_made;

	while ((opt = getopt_long(argc, argv, "c:qhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			o.config = optarg;
			break;
		case OPT_SQLITE:
			o.sqlite = optarg;
			break;
		case OPT_ON_DISK:
			o.on_disk = optarg;
			break;
		case OPT_ON_DISK_AUTH:
			auth_text = optarg;
			break;
		case OPT_MBED:
			o.mbed_dir = optarg;
			break;
		case OPT_STATE:
			o.state_dir = optarg;
			break;
		case OPT_KEK:
			o.kek = optarg;
			break;
		case OPT_INSTANCE:
			o.instance = optarg;
			break;
		case OPT_TPM_INSTANCE:
			o.tpm_instance = optarg;
			break;
		case OPT_APPLY:
			o.apply = true;
			break;
		case OPT_P11_INSTANCE:
			ts.p11.want = optarg;
			break;
		case OPT_ADOPT:
			o.adopt = true;
			break;
		case OPT_TENANT:
			tenant = optarg;
			break;
		case OPT_KEY_NAME:
			o.ad.name = optarg;
			break;
		case OPT_CKA_ID:
			o.ad.cka_id_hex = optarg;
			break;
		case OPT_LABEL:
			o.ad.label = optarg;
			break;
		case OPT_ALG:
			o.ad.alg = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tessera-migrate %s\n", TESSERA_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tessera-migrate: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o.adopt)
		return adopt_main(&o, &ts, tenant);
	if ((o.sqlite == NULL) == (o.on_disk == NULL)) {
		fprintf(stderr, "tessera-migrate: give one of --sqlite FILE or --on-disk DIR\n");
		return 2;
	}
	if (o.on_disk != NULL && auth_text == NULL) {
		fprintf(stderr,
		        "tessera-migrate: --on-disk needs --on-disk-auth (Direct, "
		        "UnixPeerCredentials or JwtSvid): the on-disk store does not record "
		        "which authenticator its keys belong to\n");
		return 2;
	}
	if (auth_text != NULL && parse_auth(auth_text, &o.on_disk_auth) < 0) {
		fprintf(stderr,
		        "tessera-migrate: --on-disk-auth: expected Direct, "
		        "UnixPeerCredentials or JwtSvid, not '%s'\n",
		        auth_text);
		return 2;
	}
	ts_log_set_level(TS_LOG_WARN);

	cfg = o.config != NULL ? config_load_file(o.config, err, sizeof(err))
	                       : config_load_default(err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tessera-migrate: %s\n", err);
		return 1;
	}
	if (apply_paths(cfg, &o) != 0) {
		fprintf(stderr, "tessera-migrate: out of memory\n");
		goto out;
	}
	if ((o.sqlite != NULL
	             ? mig_read_sqlite(o.sqlite, &e, err, sizeof(err))
	             : mig_read_on_disk(o.on_disk, o.on_disk_auth, &e, err, sizeof(err))) < 0) {
		fprintf(stderr, "tessera-migrate: Parsec key info store: %s\n", err);
		goto out;
	}
	if (open_target(&o, cfg, t) < 0)
		goto out;
	ts.cfg = cfg;

	printf("%s %zu Parsec key mapping%s from %s into instance \"%s\" of %s\n",
	       o.apply ? "migrating" : "dry run:", e.n, e.n == 1 ? "" : "s",
	       o.sqlite != NULL ? o.sqlite : o.on_disk, t->instance, cfg->key_store.path);
	pg.on = isatty(STDERR_FILENO) && e.n >= PROGRESS_MIN;
	pg.total = e.n;
	for (size_t i = 0; i < e.n; i++) {
		char what[1024];
		enum outcome out = migrate_one(&o, &ts, &e.v[i], what, sizeof(what));

		report(&pg, &o, out, &e.v[i], what);
		switch (out) {
		case OUT_IMPORTED:
			c.imported++;
			break;
		case OUT_PRESENT:
			c.present++;
			break;
		case OUT_SKIPPED:
			c.skipped++;
			break;
		case OUT_FAILED:
			c.failed++;
			break;
		}
		pg.done = i + 1;
		progress_tick(&pg, i + 1 == e.n);
	}
	progress_clear(&pg);
	printf("%s %zu, already present %zu, skipped %zu, failed %zu\n",
	       o.apply ? "imported" : "would import", c.imported, c.present, c.skipped, c.failed);
	if (c.imported == 0)
		printf("nothing new to import\n");
	else if (!o.apply)
		printf("dry run: nothing was written; run again with --apply to import\n");
	ret = c.failed > 0 ? 1 : 0;
out:
	kek_made = t->ks != NULL && ks_kek_source(t->ks) == KS_KEK_NEW_FILE;
	if (ts.tpm.ops != NULL && ts.tpm.ops->fini != NULL)
		ts.tpm.ops->fini(ts.tpm.ctx);
	mig_p11_close(&ts.p11);
	close_target(t);
	if (o.apply && cfg != NULL)
		hand_over(cfg, kek_made);
	mig_entries_free(&e);
	config_free(cfg);
	return ret;
}
