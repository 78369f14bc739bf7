/*
 * tessera-migrate with Parsec's TPM keys, on a swtpm the test starts: keys
 * made as Parsec's TPM provider makes them (under a primary of Parsec's
 * template, with Parsec's attributes, through ESYS here), recorded in a
 * Parsec SQLite key info store in the documented format, migrated into the
 * Tpm provider, then used by the real tesserad; OpenSSL verifies the
 * signatures against the public part the TPM returned at creation.
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <sqlite3.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>

#include "client/tessera.h"
#include "harness.h"
#include "swtpm.h"

#define MIGRATE  TESSERA_BUILD_DIR "/migrate/tessera-migrate"
#define UUID_TPM "1e4954a4-ff21-46d3-ab0c-661eeb667e1d"
#define TPM_ID   3

static char tmp[64], dir_a[96], dir_b[96], sock_a[128], sock_b[128], state[128], kek[128], cfg[128],
        kim[160], credstore[128];
static pid_t pid_a, pid_b;
static struct td d;

/* A key as Parsec's provider made it. */
struct made {
	uint8_t auth[32];
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
};

static struct made ec_a, rsa_a, ec_b;

/* ---- making keys as Parsec does ---- */

/* Parsec's root key (tss-esapi create_restricted_decryption_rsa_public,
 * AES-256-CFB: swtpm has it) and, under it, a signing key of Parsec's
 * attributes (get_public_from_params). */
static void parsec_make_key(const char *sock, bool rsa, struct made *ret)
{
	TSS2_TCTI_CONTEXT *tcti = NULL;
	ESYS_CONTEXT *e = NULL;
	TPM2B_SENSITIVE_CREATE sens = {0}, ksens = {0};
	TPM2B_PUBLIC prim = {0}, tmpl = {0}, *out_pub = NULL;
	TPM2B_PRIVATE *out_priv = NULL;
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	ESYS_TR primary = ESYS_TR_NONE;
	char conf[160];

	snprintf(conf, sizeof(conf), "swtpm:path=%s", sock);
	cr_assert_eq(Tss2_TctiLdr_Initialize(conf, &tcti), TSS2_RC_SUCCESS);
	cr_assert_eq(Esys_Initialize(&e, tcti, NULL), TSS2_RC_SUCCESS);

	prim.publicArea.type = TPM2_ALG_RSA;
	prim.publicArea.nameAlg = TPM2_ALG_SHA256;
	prim.publicArea.objectAttributes =
	        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED;
	prim.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_AES;
	prim.publicArea.parameters.rsaDetail.symmetric.keyBits.aes = 256;
	prim.publicArea.parameters.rsaDetail.symmetric.mode.aes = TPM2_ALG_CFB;
	prim.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	prim.publicArea.parameters.rsaDetail.keyBits = 2048;
	sens.sensitive.userAuth.size = 32;
	cr_assert_eq(RAND_bytes(sens.sensitive.userAuth.buffer, 32), 1);
	cr_assert_eq(Esys_CreatePrimary(e, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                                ESYS_TR_NONE, &sens, &prim, &outside, &pcrs, &primary, NULL,
	                                NULL, NULL, NULL),
	             TSS2_RC_SUCCESS);
	cr_assert_eq(Esys_TR_SetAuth(e, primary, &sens.sensitive.userAuth), TSS2_RC_SUCCESS);

	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	                                   TPMA_OBJECT_SENSITIVEDATAORIGIN |
	                                   TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_SIGN_ENCRYPT;
	if (rsa) {
		tmpl.publicArea.type = TPM2_ALG_RSA;
		tmpl.publicArea.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		tmpl.publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
		tmpl.publicArea.parameters.rsaDetail.scheme.details.rsassa.hashAlg =
		        TPM2_ALG_SHA256;
		tmpl.publicArea.parameters.rsaDetail.keyBits = 2048;
	} else {
		tmpl.publicArea.type = TPM2_ALG_ECC;
		tmpl.publicArea.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		tmpl.publicArea.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		tmpl.publicArea.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
		tmpl.publicArea.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		tmpl.publicArea.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	}
	ksens.sensitive.userAuth.size = 32;
	cr_assert_eq(RAND_bytes(ksens.sensitive.userAuth.buffer, 32), 1);
	cr_assert_eq(Esys_Create(e, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &ksens,
	                         &tmpl, &outside, &pcrs, &out_priv, &out_pub, NULL, NULL, NULL),
	             TSS2_RC_SUCCESS);
	memcpy(ret->auth, ksens.sensitive.userAuth.buffer, 32);
	ret->pub = *out_pub;
	ret->priv = *out_priv;
	Esys_Free(out_pub);
	Esys_Free(out_priv);
	(void)Esys_FlushContext(e, primary);
	Esys_Finalize(&e);
	Tss2_TctiLdr_Finalize(&tcti);
}

/* ---- Parsec's key info store ---- */

struct buf {
	uint8_t b[2048];
	size_t n;
};

static void put_n(struct buf *b, uint64_t v, int n)
{
	cr_assert_leq(b->n + (size_t)n, sizeof(b->b));
	for (int i = 0; i < n; i++)
		b->b[b->n++] = (uint8_t)(v >> (8 * i));
}

static void put_vec(struct buf *b, const uint8_t *p, size_t len)
{
	put_n(b, len, 8);
	cr_assert_leq(b->n + len, sizeof(b->b));
	if (len > 0)
		memcpy(b->b + b->n, p, len);
	b->n += len;
}

/* bincode PasswordContext {context: empty TpmsContext, auth_value,
 * key_material {public: PublicKey, private}}. */
static void password_context(const struct made *k, struct buf *b)
{
	const TPMT_PUBLIC *p = &k->pub.publicArea;

	b->n = 0;
	put_n(b, 0, 8); /* sequence */
	put_n(b, 0, 4); /* saved_handle */
	put_n(b, 0, 4); /* hierarchy */
	put_vec(b, NULL, 0);
	put_vec(b, k->auth, 32);
	if (p->type == TPM2_ALG_RSA) {
		put_n(b, 0, 4);
		put_vec(b, p->unique.rsa.buffer, p->unique.rsa.size);
	} else {
		put_n(b, 1, 4);
		put_vec(b, p->unique.ecc.x.buffer, p->unique.ecc.x.size);
		put_vec(b, p->unique.ecc.y.buffer, p->unique.ecc.y.size);
	}
	put_vec(b, k->priv.buffer, k->priv.size);
}

/* bincode Attributes: Persistent, RsaKeyPair (9) or EccKeyPair{SecpR1}
 * (10, 1), bits, the sign/verify usages, AsymmetricSignature (5) of
 * RsaPkcs1v15Sign (0) or Ecdsa (3) with SignHash::Specific(Sha256). */
static void attributes(bool rsa, struct buf *b)
{
	static const uint8_t usage[10] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0};

	b->n = 0;
	put_n(b, 1, 4);
	put_n(b, rsa ? 9 : 10, 4);
	if (!rsa)
		put_n(b, 1, 4);
	put_n(b, rsa ? 2048 : 256, 8);
	for (size_t i = 0; i < sizeof(usage); i++)
		put_n(b, usage[i], 1);
	put_n(b, 5, 4);
	put_n(b, rsa ? 0 : 3, 4);
	put_n(b, 0, 4);
	put_n(b, 6, 4);
}

static void sql(sqlite3 *db, const char *s)
{
	char *msg = NULL;

	cr_assert_eq(sqlite3_exec(db, s, NULL, NULL, &msg), SQLITE_OK, "%s: %s", s, msg);
}

static void row(sqlite3 *db, int auth, const char *app, const char *name, const struct buf *id,
                const struct buf *attrs)
{
	sqlite3_stmt *st;

	cr_assert_eq(sqlite3_prepare_v2(db,
	                                "INSERT INTO key_mapping VALUES (?1, ?2, ?3, ?4, "
	                                "'tpm-provider', ?5, 1, ?6, 1)",
	                                -1, &st, NULL),
	             SQLITE_OK);
	sqlite3_bind_int(st, 1, auth);
	sqlite3_bind_text(st, 2, app, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, UUID_TPM, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 5, id->b, (int)id->n, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, attrs->b, (int)attrs->n, SQLITE_STATIC);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static void write_kim(void)
{
	struct buf id, attrs;
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(kim, &db), SQLITE_OK);
	sql(db, "CREATE TABLE kim_metadata (id TEXT NOT NULL, int_value INTEGER NOT NULL, "
	        "PRIMARY KEY (id))");
	sql(db, "INSERT INTO kim_metadata (id, int_value) VALUES ('schema_version', 1)");
	sql(db,
	    "CREATE TABLE key_mapping (authenticator_id INTEGER NOT NULL, application_name "
	    "TEXT NOT NULL, key_name TEXT NOT NULL, provider_uuid TEXT NOT NULL, provider_name "
	    "TEXT NOT NULL, key_id BLOB NOT NULL, key_id_version INTEGER NOT NULL, "
	    "key_attributes BLOB NOT NULL, key_attributes_version INTEGER NOT NULL, PRIMARY KEY "
	    "(authenticator_id, application_name, key_name))");
	password_context(&ec_a, &id);
	attributes(false, &attrs);
	row(db, 1, "alice", "parsec-ec", &id, &attrs);
	password_context(&rsa_a, &id);
	attributes(true, &attrs);
	row(db, 1, "alice", "parsec-rsa", &id, &attrs);
	password_context(&ec_b, &id);
	attributes(false, &attrs);
	row(db, 1, "alice", "other-tpm", &id, &attrs);
	/* The mapping's attributes say RSA, the key is ECC. */
	password_context(&ec_a, &id);
	attributes(true, &attrs);
	row(db, 1, "bob", "mislabelled", &id, &attrs);
	/* Parsec's record of its root key's Name (a Vec<u8>): not a client's. */
	id.n = 0;
	put_vec(&id, (const uint8_t *)"0123456789abcdef0123456789abcdef01", 34);
	row(db, 255, "", "RootKeyTPM", &id, &attrs);
	sqlite3_close(db);
}

/* ---- set-up ---- */

static void setup(void)
{
	FILE *f;

	strcpy(tmp, "/tmp/tsmtpm.XXXXXX");
	cr_assert_not_null(mkdtemp(tmp));
	snprintf(dir_a, sizeof(dir_a), "%s/a", tmp);
	snprintf(dir_b, sizeof(dir_b), "%s/b", tmp);
	snprintf(sock_a, sizeof(sock_a), "%s/tpm.sock", dir_a);
	snprintf(sock_b, sizeof(sock_b), "%s/tpm.sock", dir_b);
	snprintf(state, sizeof(state), "%s/state", tmp);
	snprintf(kek, sizeof(kek), "%s/state.kek", tmp);
	snprintf(cfg, sizeof(cfg), "%s/tesserad.json", tmp);
	snprintf(kim, sizeof(kim), "%s/sqlite-key-info-manager.sqlite3", tmp);
	snprintf(credstore, sizeof(credstore), "%s/credstore", tmp);
	setenv("TESSERA_CREDSTORE", credstore, 1);
	unsetenv("CREDENTIALS_DIRECTORY");
	cr_assert_eq(mkdir(dir_a, 0700), 0);
	cr_assert_eq(mkdir(dir_b, 0700), 0);
	cr_assert_eq(mkdir(state, 0700), 0);
	pid_a = td_swtpm_start(dir_a, sock_a, 0);
	pid_b = td_swtpm_start(dir_b, sock_b, 0);
	f = fopen(cfg, "w");
	cr_assert_not_null(f);
	fprintf(f,
	        "{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"
	        " \"listener\": {\"socket_path\": \"/nonexistent/unused.sock\"},"
	        " \"authenticators\": [{\"type\": \"Direct\"}],"
	        " \"providers\": [{\"type\": \"Software\"},"
	        " {\"type\": \"Tpm\", \"name\": \"tpm0\", \"tcti\": \"swtpm:path=%s\"}]}",
	        sock_a);
	fclose(f);
	parsec_make_key(sock_a, false, &ec_a);
	parsec_make_key(sock_a, true, &rsa_a);
	parsec_make_key(sock_b, false, &ec_b);
	/* swtpm B goes: nothing of its keys may load in A. */
	td_swtpm_stop(&pid_b);
	write_kim();
}

static void teardown(void)
{
	char cmd[128];

	if (d.pid > 0)
		td_stop(&d);
	td_swtpm_stop(&pid_a);
	td_swtpm_stop(&pid_b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmp);
}

TestSuite(migrate_tpm, .init = setup, .fini = teardown, .timeout = 240);

/* ---- running things ---- */

static char out[16384];

static int migrate(const char *args)
{
	char cmd[2048];
	size_t got;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd),
	         "timeout 300 %s %s --config %s --state-dir %s --kek-file %s %s 2>&1",
	         td_under_valgrind() ? "valgrind --quiet --error-exitcode=99 --leak-check=full "
	                               "--errors-for-leak-kinds=definite,indirect "
	                               "--track-origins=yes"
	                             : "",
	         MIGRATE, cfg, state, kek, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	got = fread(out, 1, sizeof(out) - 1, p);
	out[got] = '\0';
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#define assert_out(needle) cr_assert_not_null(strstr(out, needle), "no '%s' in:\n%s", needle, out)

/* OpenSSL's copy of a key's public part, from the TPM's public area. */
static EVP_PKEY *openssl_public(const struct made *k)
{
	const TPMT_PUBLIC *p = &k->pub.publicArea;
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *pc;
	OSSL_PARAM *params;
	EVP_PKEY *pk = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[65];

	if (p->type == TPM2_ALG_RSA) {
		n = BN_bin2bn(p->unique.rsa.buffer, p->unique.rsa.size, NULL);
		e = BN_new();
		BN_set_word(e, 65537);
		OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e);
		pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		cr_assert_eq(p->unique.ecc.x.size, 32);
		cr_assert_eq(p->unique.ecc.y.size, 32);
		point[0] = 0x04;
		memcpy(point + 1, p->unique.ecc.x.buffer, 32);
		memcpy(point + 33, p->unique.ecc.y.buffer, 32);
		OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
		OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
		pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(b);
	cr_assert_eq(EVP_PKEY_fromdata_init(pc), 1);
	cr_assert_eq(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, params), 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	EVP_PKEY_CTX_free(pc);
	BN_free(n);
	BN_free(e);
	return pk;
}

static void assert_signs(struct tessera_client *cl, const char *name, const char *alg,
                         const struct made *k)
{
	uint8_t h[32], *sig = NULL, *der = NULL;
	size_t sig_len = 0, der_len;
	EVP_PKEY *pk = openssl_public(k);
	EVP_PKEY_CTX *vc;

	SHA256((const uint8_t *)"signed by a key Parsec made", 27, h);
	cr_assert_eq(tessera_sign_hash(cl, TPM_ID, name, alg, h, sizeof(h), &sig, &sig_len),
	             TESSERA_OK, "%s signs", name);
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC) {
		ECDSA_SIG *es = ECDSA_SIG_new();

		cr_assert_eq(sig_len, 64);
		ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
		der_len = (size_t)i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
	} else {
		der = OPENSSL_memdup(sig, sig_len);
		der_len = sig_len;
	}
	vc = EVP_PKEY_CTX_new(pk, NULL);
	cr_assert_eq(EVP_PKEY_verify_init(vc), 1);
	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA)
		cr_assert_eq(EVP_PKEY_CTX_set_rsa_padding(vc, RSA_PKCS1_PADDING), 1);
	cr_assert_eq(EVP_PKEY_CTX_set_signature_md(vc, EVP_sha256()), 1);
	cr_assert_eq(EVP_PKEY_verify(vc, der, der_len, h, sizeof(h)), 1,
	             "the signature of %s verifies with the public part the TPM made", name);
	EVP_PKEY_CTX_free(vc);
	EVP_PKEY_free(pk);
	OPENSSL_free(der);
	free(sig);
}

static struct tessera_client *client(const char *app)
{
	struct tessera_options o;
	struct tessera_client *cl;
	char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cl), TESSERA_OK);
	return cl;
}

/* ---- tests ---- */

Test(migrate_tpm, parsec_tpm_keys_are_taken_over_and_tesserad_signs_with_them)
{
	static const char *extra[5];
	struct tessera_client *alice;
	char args[512], tpl[1024];
	uint8_t *pub = NULL;
	size_t pub_len = 0;
	FILE *f;

	snprintf(args, sizeof(args), "--sqlite %s", kim);
	cr_assert_eq(migrate(args), 1, "a key failed: exit 1\n%s", out);
	assert_out("import   Direct \"alice\" key \"parsec-ec\": ECC key pair SECP_R1, 256 bits "
	           "(TPM key, into Tpm instance \"tpm0\")");
	assert_out("import   Direct \"alice\" key \"parsec-rsa\": RSA key pair, 2048 bits (TPM "
	           "key, into Tpm instance \"tpm0\")");
	assert_out("would import 2, already present 0, skipped 1, failed 2");

	snprintf(args, sizeof(args), "--sqlite %s --apply", kim);
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("imported Direct \"alice\" key \"parsec-ec\"");
	assert_out("imported Direct \"alice\" key \"parsec-rsa\"");
	/* Made on another TPM: it does not load under this one's root key. */
	assert_out("failed   Direct \"alice\" key \"other-tpm\": ECC key pair SECP_R1, 256 bits "
	           "(TPM key, into Tpm instance \"tpm0\"): the TPM does not load it under its root "
	           "key");
	assert_out("failed   Direct \"bob\" key \"mislabelled\": TPM key: its public part is not "
	           "the mapping's key type");
	assert_out("skipped  Internal \"\" key \"RootKeyTPM\": Parsec's own key");
	assert_out("imported 2, already present 0, skipped 1, failed 2");

	/* Idempotent: nothing new the second time. */
	cr_assert_eq(migrate(args), 1, "%s", out);
	assert_out("present  Direct \"alice\" key \"parsec-ec\": ECC key pair SECP_R1, 256 bits "
	           "(TPM key, into Tpm instance \"tpm0\"): already in Tessera (migrated before)");
	assert_out("imported 0, already present 2, skipped 1, failed 2");
	assert_out("nothing new to import");

	/* The real tesserad on the migrated store and the same TPM. */
	f = fopen(cfg, "r");
	cr_assert_not_null(f);
	tpl[fread(tpl, 1, sizeof(tpl) - 1, f)] = '\0';
	fclose(f);
	{
		char *p = strstr(tpl, "/nonexistent/unused.sock");
		char fixed[1100];

		cr_assert_not_null(p);
		snprintf(fixed, sizeof(fixed), "%.*s%%1$s%s", (int)(p - tpl), tpl,
		         p + strlen("/nonexistent/unused.sock"));
		extra[0] = "--state-dir";
		extra[1] = state;
		extra[2] = "--kek-file";
		extra[3] = kek;
		extra[4] = NULL;
		td_start_args(&d, fixed, extra);
	}
	alice = client("alice");
	assert_signs(alice, "parsec-ec", "ecdsa-sha256", &ec_a);
	assert_signs(alice, "parsec-rsa", "rsa-pkcs1-sha256", &rsa_a);
	cr_assert_eq(tessera_export_public_key(alice, TPM_ID, "parsec-ec", &pub, &pub_len),
	             TESSERA_OK);
	cr_assert_eq(pub_len, 65);
	cr_assert_eq(memcmp(pub + 1, ec_a.pub.publicArea.unique.ecc.x.buffer, 32), 0);
	free(pub);
	cr_assert_neq(tessera_sign_hash(alice, TPM_ID, "other-tpm", "ecdsa-sha256",
	                                (const uint8_t *)"0123456789abcdef0123456789abcdef", 32,
	                                &pub, &pub_len),
	              TESSERA_OK, "the failed key was not imported");
	tessera_close(alice);
}

Test(migrate_tpm, without_a_tpm_provider_the_tpm_keys_are_skipped_with_the_reason)
{
	char args[512];
	FILE *f = fopen(cfg, "w");

	cr_assert_not_null(f);
	fprintf(f, "{\"core\": {\"allow_root\": true},"
	           " \"listener\": {\"socket_path\": \"/nonexistent/unused.sock\"},"
	           " \"authenticators\": [{\"type\": \"Direct\"}],"
	           " \"providers\": [{\"type\": \"Software\"}]}");
	fclose(f);
	snprintf(args, sizeof(args), "--sqlite %s --apply", kim);
	cr_assert_eq(migrate(args), 0, "%s", out);
	assert_out("skipped  Direct \"alice\" key \"parsec-ec\": Tpm key (provider "
	           "\"tpm-provider\"): the configuration has no Tpm provider to take it");
	assert_out("imported 0, already present 0, skipped 5, failed 0");
	snprintf(args, sizeof(args), "--sqlite %s --tpm-instance nope", kim);
	cr_assert_eq(migrate(args), 0, "%s", out);
	assert_out("--tpm-instance nope: no Tpm provider of that name");
}
