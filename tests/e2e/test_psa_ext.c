/*
 * The PSA C API's extension opcodes on the real tesserad with the software
 * provider, in raw protobuf over persistent connections: multipart hash,
 * MAC, cipher and AEAD against the one-shot operations; the per-tenant cap;
 * handles bound to their tenant and connection; what a closed or killed
 * client leaves behind (nothing); volatile keys; the idle limit and a
 * connection that holds operations; the purge of volatile records at start.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "harness.h"
#include "list_keys.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "psa_aead_encrypt.pb-c.h"
#include "psa_cipher_decrypt.pb-c.h"
#include "psa_cipher_encrypt.pb-c.h"
#include "psa_hash_compute.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_kdf_capacity.pb-c.h"
#include "psa_kdf_input.pb-c.h"
#include "psa_kdf_output.pb-c.h"
#include "psa_mac_compute.pb-c.h"
#include "psa_op_abort.pb-c.h"
#include "psa_op_finish.pb-c.h"
#include "psa_op_set_iv.pb-c.h"
#include "psa_op_setup.pb-c.h"
#include "psa_op_update.pb-c.h"

#define CAP 4

/* A short idle limit, so that holding a connection open is tested. */
#define CONFIG                                                                                \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000, "                   \
	"\"idle_timeout_ms\": 400},"                                                          \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                      \
	" \"psa\": {\"max_operations_per_tenant\": 4},"                                       \
	" \"providers\": [{\"type\": \"Software\"}]}"

static struct td d;

static void setup(void)
{
	td_start(&d, CONFIG);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(psa_ext, .init = setup, .fini = teardown, .timeout = 180);

/* ---- requests ---- */

/* One request on a persistent connection as Direct `who` to the software
 * provider; its status (-1: transport), the body in *r when r is given. */
static int xchg(int fd, uint32_t opcode, const char *who, const ProtobufCMessage *m,
                struct td_resp *r)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n + 1);
	struct td_resp tmp = {0};
	int rc;

	protobuf_c_message_pack(m, buf);
	rc = td_exchange(fd, opcode, opcode == WIRE_OP_LIST_KEYS ? 0 : 1, 1, buf, n, who,
	                 strlen(who), r != NULL ? r : &tmp);
	free(buf);
	if (rc != 0)
		return -1;
	rc = (r != NULL ? r : &tmp)->h.status;
	td_resp_free(&tmp);
	return rc;
}

static PsaAlgorithm__Algorithm__Mac__FullLength__Hmac hmac_sha256 = {
        PROTOBUF_C_MESSAGE_INIT(&psa_algorithm__algorithm__mac__full_length__hmac__descriptor),
        PSA_ALGORITHM__ALGORITHM__HASH__SHA_256};
static PsaAlgorithm__Algorithm__Mac__FullLength full_hmac = {
        PROTOBUF_C_MESSAGE_INIT(&psa_algorithm__algorithm__mac__full_length__descriptor),
        PSA_ALGORITHM__ALGORITHM__MAC__FULL_LENGTH__VARIANT_HMAC,
        {.hmac = &hmac_sha256}};
static PsaAlgorithm__Algorithm__Mac mac_alg = {
        PROTOBUF_C_MESSAGE_INIT(&psa_algorithm__algorithm__mac__descriptor),
        PSA_ALGORITHM__ALGORITHM__MAC__VARIANT_FULL_LENGTH,
        {.full_length = &full_hmac}};
static PsaAlgorithm__Algorithm__Aead gcm_alg = {
        PROTOBUF_C_MESSAGE_INIT(&psa_algorithm__algorithm__aead__descriptor),
        PSA_ALGORITHM__ALGORITHM__AEAD__VARIANT_AEAD_WITH_DEFAULT_LENGTH_TAG,
        {.aead_with_default_length_tag =
                 PSA_ALGORITHM__ALGORITHM__AEAD__AEAD_WITH_DEFAULT_LENGTH_TAG__GCM}};

static PsaAlgorithm__Algorithm alg_hash(void)
{
	PsaAlgorithm__Algorithm a = PSA_ALGORITHM__ALGORITHM__INIT;

	a.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_HASH;
	a.hash = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	return a;
}

static PsaAlgorithm__Algorithm alg_mac(void)
{
	PsaAlgorithm__Algorithm a = PSA_ALGORITHM__ALGORITHM__INIT;

	a.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_MAC;
	a.mac = &mac_alg;
	return a;
}

static PsaAlgorithm__Algorithm alg_cbc(void)
{
	PsaAlgorithm__Algorithm a = PSA_ALGORITHM__ALGORITHM__INIT;

	a.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_CIPHER;
	a.cipher = PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7;
	return a;
}

static PsaAlgorithm__Algorithm alg_gcm(void)
{
	PsaAlgorithm__Algorithm a = PSA_ALGORITHM__ALGORITHM__INIT;

	a.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_AEAD;
	a.aead = &gcm_alg;
	return a;
}

/* Import a key (AES or HMAC, by `type`) with encrypt+decrypt or
 * sign+verify usage and the policy algorithm alg. */
static int import(int fd, const char *who, const char *name, bool vol, int type,
                  PsaAlgorithm__Algorithm *alg, const uint8_t *data, size_t len)
{
	PsaKeyAttributes__KeyAttributes a = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType t = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__Aes empty = PSA_KEY_ATTRIBUTES__KEY_TYPE__AES__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags u = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	PsaImportKey__Operation op = PSA_IMPORT_KEY__OPERATION__INIT;

	t.variant_case = type;
	t.aes = (void *)&empty; /* every variant used here is an empty message */
	u.encrypt = u.decrypt = true;
	u.sign_message = u.verify_message = true;
	pol.key_usage_flags = &u;
	pol.key_algorithm = alg;
	a.key_type = &t;
	a.key_policy = &pol;
	op.key_name = (char *)name;
	op.attributes = &a;
	op.data.data = (uint8_t *)data;
	op.data.len = len;
	op.volatile_key = vol;
	return xchg(fd, WIRE_OP_PSA_IMPORT_KEY, who, &op.base, NULL);
}

static const uint8_t aes_key[16] = "0123456789abcdef";
static const uint8_t hmac_key[20] = "an hmac key of 20 b.";

/* Set up an operation; its handle, or 0 with the status in *ret_status. */
static uint32_t op_setup(int fd, const char *who, int kind, const char *key,
                         PsaAlgorithm__Algorithm *alg, int *ret_status)
{
	PsaOpSetup__Operation op = PSA_OP_SETUP__OPERATION__INIT;
	struct td_resp r = {0};
	uint32_t h = 0;
	int st;

	op.kind = kind;
	op.key_name = (char *)(key != NULL ? key : "");
	op.alg = alg;
	st = xchg(fd, WIRE_OP_PSA_OP_SETUP, who, &op.base, &r);
	if (st == 0) {
		PsaOpSetup__Result *res = psa_op_setup__result__unpack(NULL, r.body_len, r.body);

		cr_assert_not_null(res);
		h = res->handle;
		psa_op_setup__result__free_unpacked(res, NULL);
		cr_assert_neq(h, 0);
	}
	td_resp_free(&r);
	if (ret_status != NULL)
		*ret_status = st;
	return h;
}

static uint32_t hash_op(int fd, const char *who)
{
	PsaAlgorithm__Algorithm a = alg_hash();
	int st;
	uint32_t h = op_setup(fd, who, PSA_OP_SETUP__OPERATION__KIND__HASH, NULL, &a, &st);

	cr_assert_eq(st, 0, "hash setup: %d", st);
	return h;
}

/* Update; the output appended to out (may be NULL) at *len. */
static int op_update(int fd, const char *who, uint32_t h, bool ad, const void *in, size_t n,
                     uint8_t *out, size_t *len)
{
	PsaOpUpdate__Operation op = PSA_OP_UPDATE__OPERATION__INIT;
	struct td_resp r = {0};
	int st;

	op.handle = h;
	op.input.data = (uint8_t *)in;
	op.input.len = n;
	op.additional_data = ad;
	st = xchg(fd, WIRE_OP_PSA_OP_UPDATE, who, &op.base, &r);
	if (st == 0 && out != NULL) {
		PsaOpUpdate__Result *res = psa_op_update__result__unpack(NULL, r.body_len, r.body);

		cr_assert_not_null(res);
		if (res->output.len > 0)
			memcpy(out + *len, res->output.data, res->output.len);
		*len += res->output.len;
		psa_op_update__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

static int op_set_iv(int fd, const char *who, uint32_t h, const uint8_t *iv, size_t n)
{
	PsaOpSetIv__Operation op = PSA_OP_SET_IV__OPERATION__INIT;

	op.handle = h;
	op.iv.data = (uint8_t *)iv;
	op.iv.len = n;
	return xchg(fd, WIRE_OP_PSA_OP_SET_IV, who, &op.base, NULL);
}

/* Finish (check: verify against expected); output then tag appended to
 * out at *len. */
static int op_finish(int fd, const char *who, uint32_t h, bool check, const uint8_t *expected,
                     size_t elen, uint8_t *out, size_t *len)
{
	PsaOpFinish__Operation op = PSA_OP_FINISH__OPERATION__INIT;
	struct td_resp r = {0};
	int st;

	op.handle = h;
	op.check = check;
	op.expected.data = (uint8_t *)expected;
	op.expected.len = elen;
	st = xchg(fd, WIRE_OP_PSA_OP_FINISH, who, &op.base, &r);
	if (st == 0 && out != NULL) {
		PsaOpFinish__Result *res = psa_op_finish__result__unpack(NULL, r.body_len, r.body);

		cr_assert_not_null(res);
		if (res->output.len > 0)
			memcpy(out + *len, res->output.data, res->output.len);
		*len += res->output.len;
		if (res->tag.len > 0)
			memcpy(out + *len, res->tag.data, res->tag.len);
		*len += res->tag.len;
		psa_op_finish__result__free_unpacked(res, NULL);
	}
	td_resp_free(&r);
	return st;
}

static int op_abort(int fd, const char *who, uint32_t h)
{
	PsaOpAbort__Operation op = PSA_OP_ABORT__OPERATION__INIT;

	op.handle = h;
	return xchg(fd, WIRE_OP_PSA_OP_ABORT, who, &op.base, NULL);
}

/* A one-shot result's first bytes field, copied to out; its length. */
static size_t first_bytes(const struct td_resp *r, uint8_t *out)
{
	PsaHashCompute__Result *res = psa_hash_compute__result__unpack(NULL, r->body_len, r->body);
	size_t n;

	cr_assert_not_null(res);
	n = res->hash.len;
	memcpy(out, res->hash.data, n);
	psa_hash_compute__result__free_unpacked(res, NULL);
	return n;
}

/* How many key names of tenant `who` ListKeys shows. */
static size_t list_keys(int fd, const char *who)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	struct td_resp r = {0};
	ListKeys__Result *res;
	size_t n;

	cr_assert_eq(xchg(fd, WIRE_OP_LIST_KEYS, who, &op.base, &r), 0);
	res = list_keys__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	n = res->n_keys;
	list_keys__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return n;
}

/* Records in the key store whose name is a volatile one. */
static int volatile_records(void)
{
	char db[192];
	sqlite3 *h;
	sqlite3_stmt *st;
	int n = -1;

	snprintf(db, sizeof(db), "%s/keystore.sqlite3", d.dir);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h,
	                                "SELECT count(*) FROM keys WHERE substr(name, 1, 10) = "
	                                "'.volatile/'",
	                                -1, &st, NULL),
	             SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* Open `want` hash operations of `who` on fd, retrying (up to about 10 s)
 * while the daemon has not yet seen another connection of the tenant
 * close. The number opened. */
static int open_all(int fd, const char *who, int want, uint32_t *handles)
{
	PsaAlgorithm__Algorithm a = alg_hash();
	int got = 0;

	for (int tries = 0; got < want && tries < 200; tries++) {
		int st;
		uint32_t h = op_setup(fd, who, PSA_OP_SETUP__OPERATION__KIND__HASH, NULL, &a, &st);

		if (st == 0) {
			if (handles != NULL)
				handles[got] = h;
			got++;
			continue;
		}
		cr_assert_eq(st, 1141, "setup: %d", st);
		usleep(50000);
	}
	return got;
}

/* ---- tests ---- */

Test(psa_ext, multipart_hash_equals_hash_compute)
{
	PsaHashCompute__Operation hc = PSA_HASH_COMPUTE__OPERATION__INIT;
	const char *msg = "The quick brown fox jumps over the lazy dog";
	uint8_t one[64], multi[64];
	size_t n1, n2 = 0;
	struct td_resp r = {0};
	int fd = td_connect(&d);
	uint32_t h = hash_op(fd, "alice");

	hc.alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	hc.input.data = (uint8_t *)msg;
	hc.input.len = strlen(msg);
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_HASH_COMPUTE, "alice", &hc.base, &r), 0);
	n1 = first_bytes(&r, one);
	td_resp_free(&r);
	cr_assert_eq(op_update(fd, "alice", h, false, msg, 10, NULL, NULL), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg + 10, strlen(msg) - 10, NULL, NULL), 0);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, multi, &n2), 0);
	cr_assert_eq(n1, 32);
	cr_assert_eq(n2, n1);
	cr_assert_arr_eq(one, multi, n1);
	/* Verify against the one-shot digest, and a wrong one. */
	h = hash_op(fd, "alice");
	cr_assert_eq(op_update(fd, "alice", h, false, msg, strlen(msg), NULL, NULL), 0);
	cr_assert_eq(op_finish(fd, "alice", h, true, one, n1, NULL, NULL), 0);
	h = hash_op(fd, "alice");
	cr_assert_eq(op_finish(fd, "alice", h, true, one, n1, NULL, NULL), 1149);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, NULL, NULL), 1137, "finished once");
	close(fd);
}

Test(psa_ext, multipart_mac_equals_mac_compute)
{
	PsaMacCompute__Operation mc = PSA_MAC_COMPUTE__OPERATION__INIT;
	PsaAlgorithm__Algorithm a = alg_mac();
	const char *msg = "a message in three parts";
	uint8_t one[64], multi[64];
	size_t n1, n2 = 0;
	struct td_resp r = {0};
	int fd = td_connect(&d), st;
	uint32_t h;

	cr_assert_eq(import(fd, "alice", "hk", false, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC,
	                    &a, hmac_key, sizeof(hmac_key)),
	             0);
	mc.key_name = "hk";
	mc.alg = &mac_alg;
	mc.input.data = (uint8_t *)msg;
	mc.input.len = strlen(msg);
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_MAC_COMPUTE, "alice", &mc.base, &r), 0);
	n1 = first_bytes(&r, one);
	td_resp_free(&r);
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN, "hk", &a, &st);
	cr_assert_eq(st, 0);
	for (size_t i = 0; i < strlen(msg); i += 9)
		cr_assert_eq(op_update(fd, "alice", h, false, msg + i,
		                       strlen(msg) - i < 9 ? strlen(msg) - i : 9, NULL, NULL),
		             0);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, multi, &n2), 0);
	cr_assert_eq(n2, n1);
	cr_assert_arr_eq(one, multi, n1);
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__MAC_VERIFY, "hk", &a, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg, strlen(msg), NULL, NULL), 0);
	cr_assert_eq(op_finish(fd, "alice", h, true, one, n1, NULL, NULL), 0);
	close(fd);
}

Test(psa_ext, multipart_cipher_matches_the_one_shot_operations)
{
	PsaCipherEncrypt__Operation ce = PSA_CIPHER_ENCRYPT__OPERATION__INIT;
	PsaCipherDecrypt__Operation cd = PSA_CIPHER_DECRYPT__OPERATION__INIT;
	PsaAlgorithm__Algorithm a = alg_cbc();
	const char *msg = "forty bytes of plaintext to encrypt ....";
	uint8_t iv[16] = "initial vector!", buf[128], one[128];
	size_t n = 0, n1;
	struct td_resp r = {0};
	int fd = td_connect(&d), st;
	uint32_t h;

	cr_assert_eq(import(fd, "alice", "aes", false, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES,
	                    &a, aes_key, sizeof(aes_key)),
	             0);
	/* Multipart encryption with our IV; the one-shot decrypts IV || ct. */
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__CIPHER_ENCRYPT, "aes", &a, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg, 5, NULL, NULL), 1137,
	             "data before the IV");
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__CIPHER_ENCRYPT, "aes", &a, &st);
	cr_assert_eq(op_set_iv(fd, "alice", h, iv, 16), 0);
	memcpy(buf, iv, 16);
	n = 16;
	cr_assert_eq(op_update(fd, "alice", h, false, msg, 7, buf, &n), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg + 7, strlen(msg) - 7, buf, &n), 0);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, buf, &n), 0);
	cr_assert_eq(n, 16 + 48, "PKCS#7 pads 40 bytes to 48");
	cd.key_name = "aes";
	cd.alg = PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7;
	cd.ciphertext.data = buf;
	cd.ciphertext.len = n;
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_CIPHER_DECRYPT, "alice", &cd.base, &r), 0);
	n1 = first_bytes(&r, one);
	td_resp_free(&r);
	cr_assert_eq(n1, strlen(msg));
	cr_assert_arr_eq(one, msg, n1);
	/* The one-shot encrypts; multipart decryption gives the text back. */
	ce.key_name = "aes";
	ce.alg = PSA_ALGORITHM__ALGORITHM__CIPHER__CBC_PKCS7;
	ce.plaintext.data = (uint8_t *)msg;
	ce.plaintext.len = strlen(msg);
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_CIPHER_ENCRYPT, "alice", &ce.base, &r), 0);
	n1 = first_bytes(&r, one);
	td_resp_free(&r);
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__CIPHER_DECRYPT, "aes", &a, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(op_set_iv(fd, "alice", h, one, 16), 0);
	n = 0;
	cr_assert_eq(op_update(fd, "alice", h, false, one + 16, n1 - 16, buf, &n), 0);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, buf, &n), 0);
	cr_assert_eq(n, strlen(msg));
	cr_assert_arr_eq(buf, msg, n);
	close(fd);
}

Test(psa_ext, multipart_aead_equals_aead_encrypt)
{
	PsaAeadEncrypt__Operation ae = PSA_AEAD_ENCRYPT__OPERATION__INIT;
	PsaAlgorithm__Algorithm a = alg_gcm();
	const char *msg = "authenticated and encrypted", *ad = "header";
	uint8_t nonce[12] = "twelve byte", one[128], multi[128], plain[128];
	size_t n1, n2 = 0, np = 0;
	struct td_resp r = {0};
	int fd = td_connect(&d), st;
	uint32_t h;

	cr_assert_eq(import(fd, "alice", "gcm", false, PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES,
	                    &a, aes_key, sizeof(aes_key)),
	             0);
	ae.key_name = "gcm";
	ae.alg = &gcm_alg;
	ae.nonce.data = nonce;
	ae.nonce.len = 12;
	ae.additional_data.data = (uint8_t *)ad;
	ae.additional_data.len = strlen(ad);
	ae.plaintext.data = (uint8_t *)msg;
	ae.plaintext.len = strlen(msg);
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_AEAD_ENCRYPT, "alice", &ae.base, &r), 0);
	n1 = first_bytes(&r, one);
	td_resp_free(&r);
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__AEAD_ENCRYPT, "gcm", &a, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(op_set_iv(fd, "alice", h, nonce, 12), 0);
	cr_assert_eq(op_update(fd, "alice", h, true, ad, strlen(ad), multi, &n2), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg, 10, multi, &n2), 0);
	cr_assert_eq(op_update(fd, "alice", h, true, ad, 1, NULL, NULL), 1137,
	             "additional data after text");
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__AEAD_ENCRYPT, "gcm", &a, &st);
	n2 = 0;
	cr_assert_eq(op_set_iv(fd, "alice", h, nonce, 12), 0);
	cr_assert_eq(op_update(fd, "alice", h, true, ad, strlen(ad), multi, &n2), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg, 10, multi, &n2), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, msg + 10, strlen(msg) - 10, multi, &n2), 0);
	cr_assert_eq(op_finish(fd, "alice", h, false, NULL, 0, multi, &n2), 0);
	cr_assert_eq(n2, n1);
	cr_assert_arr_eq(one, multi, n1);
	/* Decryption checks the tag. */
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__AEAD_DECRYPT, "gcm", &a, &st);
	cr_assert_eq(st, 0);
	cr_assert_eq(op_set_iv(fd, "alice", h, nonce, 12), 0);
	cr_assert_eq(op_update(fd, "alice", h, true, ad, strlen(ad), plain, &np), 0);
	cr_assert_eq(op_update(fd, "alice", h, false, one, n1 - 16, plain, &np), 0);
	cr_assert_eq(op_finish(fd, "alice", h, true, one + n1 - 16, 16, plain, &np), 0);
	cr_assert_eq(np, strlen(msg));
	cr_assert_arr_eq(plain, msg, np);
	close(fd);
}

Test(psa_ext, the_cap_is_per_tenant_and_another_tenant_is_unaffected)
{
	PsaAlgorithm__Algorithm a = alg_hash();
	int fd1 = td_connect(&d), fd2 = td_connect(&d), st;
	uint32_t h[CAP];

	cr_assert_eq(open_all(fd1, "alice", 2, h), 2);
	cr_assert_eq(open_all(fd2, "alice", 2, h + 2), 2);
	(void)op_setup(fd1, "alice", PSA_OP_SETUP__OPERATION__KIND__HASH, NULL, &a, &st);
	cr_assert_eq(st, 1141, "past the cap");
	(void)op_setup(fd2, "alice", PSA_OP_SETUP__OPERATION__KIND__HASH, NULL, &a, &st);
	cr_assert_eq(st, 1141);
	cr_assert_eq(open_all(fd1, "bob", CAP, NULL), CAP, "bob has his own cap");
	/* alice's operations are all still there. */
	for (int i = 0; i < CAP; i++)
		cr_assert_eq(op_update(i < 2 ? fd1 : fd2, "alice", h[i], false, "x", 1, NULL, NULL),
		             0);
	cr_assert_eq(op_abort(fd2, "alice", h[3]), 0);
	cr_assert_eq(open_all(fd1, "alice", 1, NULL), 1);
	close(fd1);
	close(fd2);
}

Test(psa_ext, another_tenant_or_connection_cannot_use_a_handle)
{
	int fd1 = td_connect(&d), fd2 = td_connect(&d);
	uint32_t h = hash_op(fd1, "alice");

	cr_assert_eq(op_update(fd2, "alice", h, false, "x", 1, NULL, NULL), 1137);
	cr_assert_eq(op_abort(fd2, "alice", h), 0, "abort of a handle this connection lacks");
	cr_assert_eq(op_update(fd1, "bob", h, false, "x", 1, NULL, NULL), 1137);
	cr_assert_eq(op_abort(fd1, "bob", h), 1137);
	cr_assert_eq(op_finish(fd1, "bob", h, false, NULL, 0, NULL, NULL), 1137);
	cr_assert_eq(op_update(fd1, "alice", h, false, "x", 1, NULL, NULL), 0, "untouched");
	cr_assert_eq(op_finish(fd1, "alice", h, false, NULL, 0, NULL, NULL), 0);
	close(fd1);
	close(fd2);
}

Test(psa_ext, a_closed_connection_frees_its_operations)
{
	int fd1 = td_connect(&d), fd2;

	cr_assert_eq(open_all(fd1, "alice", CAP, NULL), CAP);
	close(fd1);
	fd2 = td_connect(&d);
	cr_assert_eq(open_all(fd2, "alice", CAP, NULL), CAP, "the whole cap again");
	close(fd2);
}

Test(psa_ext, a_killed_client_leaves_nothing_behind)
{
	PsaAlgorithm__Algorithm a = alg_mac();
	int pipefd[2], status, fd;
	char c;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = td_fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int cfd = td_connect(&d), st;
		uint32_t mh;

		close(pipefd[0]);
		/* In the middle of operations, with a volatile key. */
		if (import(cfd, "alice", ".volatile/k", true,
		           PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
		           sizeof(hmac_key)) != 0)
			_exit(2);
		mh = op_setup(cfd, "alice", PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN, ".volatile/k",
		              &a, &st);
		if (st != 0 || op_update(cfd, "alice", mh, false, "x", 1, NULL, NULL) != 0 ||
		    open_all(cfd, "alice", CAP - 1, NULL) != CAP - 1)
			_exit(3);
		if (write(pipefd[1], "r", 1) != 1)
			_exit(4);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], &c, 1), 1, "the client got ready");
	close(pipefd[0]);
	cr_assert_eq(volatile_records(), 1);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	fd = td_connect(&d);
	cr_assert_eq(open_all(fd, "alice", CAP, NULL), CAP);
	/* The key goes on a worker soon after the close. */
	for (int i = 0; i < 200 && volatile_records() != 0; i++)
		usleep(50000);
	cr_assert_eq(volatile_records(), 0);
	close(fd);
}

Test(psa_ext, volatile_keys_are_the_connections_own)
{
	PsaAlgorithm__Algorithm a = alg_mac();
	int fd1 = td_connect(&d), fd2 = td_connect(&d), st;

	cr_assert_eq(import(fd1, "alice", ".volatile/k", false,
	                    PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
	                    sizeof(hmac_key)),
	             1135, "a volatile name needs the flag");
	cr_assert_eq(import(fd1, "alice", ".volatile/k", true,
	                    PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
	                    sizeof(hmac_key)),
	             0);
	cr_assert_eq(import(fd1, "alice", "persistent", false,
	                    PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
	                    sizeof(hmac_key)),
	             0);
	(void)op_setup(fd1, "alice", PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN, ".volatile/k", &a,
	               &st);
	cr_assert_eq(st, 0, "usable on its connection");
	(void)op_setup(fd2, "alice", PSA_OP_SETUP__OPERATION__KIND__MAC_SIGN, ".volatile/k", &a,
	               &st);
	cr_assert_eq(st, 1140, "another connection has no such key");
	cr_assert_eq(list_keys(fd1, "alice"), 1, "ListKeys shows only the persistent key");
	cr_assert_eq(list_keys(fd2, "alice"), 1);
	cr_assert_eq(volatile_records(), 1);
	close(fd1);
	for (int i = 0; i < 200 && volatile_records() != 0; i++)
		usleep(50000);
	cr_assert_eq(volatile_records(), 0, "destroyed with its connection");
	cr_assert_eq(list_keys(fd2, "alice"), 1);
	close(fd2);
}

Test(psa_ext, a_connection_holding_an_operation_outlives_the_idle_limit)
{
	int idle = td_connect(&d), busy = td_connect(&d);
	uint32_t h = hash_op(busy, "alice");
	struct td_resp r = {0};

	/* A plain connection goes after 400 ms of idleness... */
	cr_assert_eq(td_exchange(idle, WIRE_OP_PING, 0, 0, NULL, 0, NULL, 0, &r), 0);
	td_resp_free(&r);
	cr_assert(td_wait_closed(idle, td_scale(10000)), "idle connection closed");
	/* ... by then the one holding an operation had been idle as long. */
	usleep((useconds_t)td_scale(600) * 1000);
	cr_assert_eq(op_update(busy, "alice", h, false, "x", 1, NULL, NULL), 0);
	cr_assert_eq(op_finish(busy, "alice", h, false, NULL, 0, NULL, NULL), 0);
	/* With nothing held, the idle limit applies again. */
	cr_assert(td_wait_closed(busy, td_scale(10000)), "released, then closed for idleness");
	close(idle);
	close(busy);
}

Test(psa_ext, a_restart_destroys_leftover_volatile_records)
{
	PsaAlgorithm__Algorithm a = alg_mac();
	int fd = td_connect(&d);

	cr_assert_eq(import(fd, "alice", ".volatile/k", true,
	                    PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
	                    sizeof(hmac_key)),
	             0);
	cr_assert_eq(volatile_records(), 1);
	td_restart(&d, SIGKILL); /* no close ran: the record is left */
	cr_assert_eq(volatile_records(), 0, "purged before serving");
	cr_assert_geq(td_log_count(&d, "volatile key(s) left by the last run destroyed"), 1);
	close(fd);
}

Test(psa_ext, list_opcodes_shows_them_only_with_extensions)
{
	ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
	int fd = td_connect(&d);

	for (int ext = 0; ext < 2; ext++) {
		struct td_resp r = {0};
		ListOpcodes__Result *res;
		bool seen = false;
		size_t n = 0;
		uint8_t buf[16];

		op.provider_id = 1;
		op.include_extensions = ext;
		n = protobuf_c_message_pack(&op.base, buf);
		cr_assert_eq(td_exchange(fd, WIRE_OP_LIST_OPCODES, 0, 0, buf, n, NULL, 0, &r), 0);
		cr_assert_eq(r.h.status, 0);
		res = list_opcodes__result__unpack(NULL, r.body_len, r.body);
		cr_assert_not_null(res);
		for (size_t i = 0; i < res->n_opcodes; i++)
			seen |= res->opcodes[i] >= WIRE_OP_PSA_OP_SETUP &&
			        res->opcodes[i] <= WIRE_OP_PSA_KDF_OUTPUT;
		cr_assert_eq(seen, ext == 1);
		list_opcodes__result__free_unpacked(res, NULL);
		td_resp_free(&r);
	}
	close(fd);
}

static int kdf_bytes(int fd, uint32_t h, uint32_t step, const char *data)
{
	PsaKdfInput__Operation op = PSA_KDF_INPUT__OPERATION__INIT;

	op.handle = h;
	op.step = step;
	op.data.data = (uint8_t *)data;
	op.data.len = strlen(data);
	return xchg(fd, WIRE_OP_PSA_KDF_INPUT, "alice", &op.base, NULL);
}

static uint64_t kdf_capacity(int fd, uint32_t h)
{
	PsaKdfCapacity__Operation op = PSA_KDF_CAPACITY__OPERATION__INIT;
	struct td_resp r = {0};
	PsaKdfCapacity__Result *res;
	uint64_t cap;

	op.handle = h;
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_KDF_CAPACITY, "alice", &op.base, &r), 0);
	res = psa_kdf_capacity__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	cap = res->capacity;
	psa_kdf_capacity__result__free_unpacked(res, NULL);
	td_resp_free(&r);
	return cap;
}

Test(psa_ext, hkdf_output_equals_openssl_and_makes_a_volatile_key)
{
	PsaAlgorithm__Algorithm__KeyDerivation__Hkdf hk =
	        PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__HKDF__INIT;
	PsaAlgorithm__Algorithm__KeyDerivation kd = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__INIT;
	PsaAlgorithm__Algorithm a = PSA_ALGORITHM__ALGORITHM__INIT,
	                        none = PSA_ALGORITHM__ALGORITHM__INIT;
	PsaAlgorithm__Algorithm__None nothing = PSA_ALGORITHM__ALGORITHM__NONE__INIT;
	PsaKdfOutput__Operation out = PSA_KDF_OUTPUT__OPERATION__INIT;
	PsaKeyAttributes__KeyAttributes ka = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
	PsaKeyAttributes__KeyType t = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
	PsaKeyAttributes__KeyType__Aes aes = PSA_KEY_ATTRIBUTES__KEY_TYPE__AES__INIT;
	PsaKeyAttributes__KeyPolicy pol = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
	PsaKeyAttributes__UsageFlags u = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
	uint8_t want[42], got[64];
	size_t n;
	struct td_resp r = {0};
	int fd = td_connect(&d), st;
	uint32_t h;

	hk.hash_alg = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
	kd.variant_case = PSA_ALGORITHM__ALGORITHM__KEY_DERIVATION__VARIANT_HKDF;
	kd.hkdf = &hk;
	a.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_KEY_DERIVATION;
	a.key_derivation = &kd;
	{
		EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
		EVP_KDF_CTX *kc = EVP_KDF_CTX_new(kdf);
		OSSL_PARAM p[] = {
		        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0),
		        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, "salt", 4),
		        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, "secret", 6),
		        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, "info", 4),
		        OSSL_PARAM_construct_end()};

		cr_assert_eq(EVP_KDF_derive(kc, want, sizeof(want), p), 1);
		EVP_KDF_CTX_free(kc);
		EVP_KDF_free(kdf);
	}
	h = op_setup(fd, "alice", PSA_OP_SETUP__OPERATION__KIND__KEY_DERIVATION, NULL, &a, &st);
	cr_assert_eq(st, 0, "setup: %d", st);
	cr_assert_eq(kdf_capacity(fd, h), 255 * 32);
	cr_assert_eq(kdf_bytes(fd, h, 0x0202, "salt"), 0);
	cr_assert_eq(kdf_bytes(fd, h, 0x0101, "secret"), 0);
	cr_assert_eq(kdf_bytes(fd, h, 0x0203, "info"), 0);
	out.handle = h;
	out.length = sizeof(want);
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_KDF_OUTPUT, "alice", &out.base, &r), 0);
	n = first_bytes(&r, got);
	td_resp_free(&r);
	cr_assert_eq(n, sizeof(want));
	cr_assert_arr_eq(got, want, n);
	cr_assert_eq(kdf_capacity(fd, h), 255 * 32 - 42);
	/* The next 16 bytes as a volatile AES key. */
	none.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_NONE;
	none.none = &nothing;
	t.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_AES;
	t.aes = &aes;
	u.encrypt = true;
	pol.key_usage_flags = &u;
	pol.key_algorithm = &none;
	ka.key_type = &t;
	ka.key_bits = 128;
	ka.key_policy = &pol;
	out = (PsaKdfOutput__Operation)PSA_KDF_OUTPUT__OPERATION__INIT;
	out.handle = h;
	out.key_name = ".volatile/derived";
	out.attributes = &ka;
	out.volatile_key = true;
	cr_assert_eq(xchg(fd, WIRE_OP_PSA_KDF_OUTPUT, "alice", &out.base, NULL), 0);
	cr_assert_eq(kdf_capacity(fd, h), 255 * 32 - 58);
	cr_assert_eq(volatile_records(), 1);
	cr_assert_eq(op_abort(fd, "alice", h), 0);
	close(fd);
	for (int i = 0; i < 200 && volatile_records() != 0; i++)
		usleep(50000);
	cr_assert_eq(volatile_records(), 0);
}

Test(psa_ext, a_drain_destroys_the_volatile_keys_of_open_connections)
{
	PsaAlgorithm__Algorithm a = alg_mac();
	int fd = td_connect(&d);

	cr_assert_eq(import(fd, "alice", ".volatile/k", true,
	                    PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_HMAC, &a, hmac_key,
	                    sizeof(hmac_key)),
	             0);
	(void)hash_op(fd, "alice");
	cr_assert_eq(volatile_records(), 1);
	cr_assert_eq(td_halt(&d, SIGTERM), 0, "a clean drain");
	cr_assert_eq(volatile_records(), 0, "destroyed before the daemon exited");
	td_resume(&d);
	close(fd);
}

/* A short operation idle limit, a long connection one. */
#define CONFIG_SHORT_OPS                                                                      \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": " \
	"true},"                                                                              \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000, "                   \
	"\"idle_timeout_ms\": 60000},"                                                        \
	" \"authenticators\": [{\"type\": \"Direct\"}],"                                      \
	" \"psa\": {\"max_operations_per_tenant\": 4, \"operation_idle_ms\": 300},"           \
	" \"providers\": [{\"type\": \"Software\"}]}"

Test(psa_ext, the_sweep_frees_idle_operations)
{
	uint32_t h[CAP];
	int fd1, fd2;

	cr_assert_eq(td_stop(&d), 0);
	td_start(&d, CONFIG_SHORT_OPS);
	fd1 = td_connect(&d);
	fd2 = td_connect(&d);
	cr_assert_eq(open_all(fd1, "alice", CAP, h), CAP);
	/* Nothing on fd1 looks its operations up: only the sweep can free
	 * them, and then the cap has room on fd2. */
	cr_assert_eq(open_all(fd2, "alice", CAP, NULL), CAP);
	for (int i = 0; i < CAP; i++)
		cr_assert_eq(op_update(fd1, "alice", h[i], false, "x", 1, NULL, NULL), 1137);
	close(fd1);
	close(fd2);
}
