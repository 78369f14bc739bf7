/*
 * The Trusted Services provider's own rules, called directly over its libts
 * transport and the test endpoint's libts stand-in: the key-ID allocator in
 * a namespace shared with other clients (a second endpoint session on the
 * same store plays the other client), start-up adoption, recovery, the
 * payload cap and the status of each failure.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"
#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-priv.h"
#include "tsfake.h"

#define FAKE_LIBTS TESSERA_BUILD_DIR "/tests/tsfake/libtsfake-libts.so"

static const struct prov_ops *ops = &prov_trusted_services_ops;
static void *ctx;
static struct tsfake *other; /* another normal-world client of the partition */
static char dir[64], store[128];

static void setup(void)
{
	char err[512] = "";

	strcpy(dir, "/tmp/tsprov.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(store, sizeof(store), "%s/keys", dir);
	cr_assert_eq(setenv("TSFAKE_STORE", store, 1), 0);
	unsetenv("TSFAKE_FAULT");
	unsetenv("TSFAKE_RESPONSE");
	cr_assert_eq(ops->init("{\"transport\": \"libts\", \"libts_path\": \"" FAKE_LIBTS "\"}",
	                       "providers[0]", &ctx, err, sizeof(err)),
	             TS_OK, "%s", err);
	other = tsfake_new(store);
	cr_assert_not_null(other);
}

static void teardown(void)
{
	char tmp[160];

	ops->fini(ctx);
	tsfake_free(other);
	unlink(store);
	snprintf(tmp, sizeof(tmp), "%s.tmp", store);
	unlink(tmp);
	snprintf(tmp, sizeof(tmp), "%s.purges", store);
	unlink(tmp);
	rmdir(dir);
}

TestSuite(ts_provider, .init = setup, .fini = teardown);

static const struct psa_attrs p256 = {
        .type = PSA_KT_ECC_PAIR,
        .family = PSA_ECC_SECP_R1,
        .bits = 256,
        .usage = PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH,
        .alg = {.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash = PSA_HASH_SHA_256}};

static uint32_t id_of(const uint8_t *ref)
{
	return (uint32_t)ref[0] << 24 | (uint32_t)ref[1] << 16 | (uint32_t)ref[2] << 8 | ref[3];
}

static void ref_of(uint32_t id, uint8_t ref[4])
{
	ref[0] = (uint8_t)(id >> 24);
	ref[1] = (uint8_t)(id >> 16);
	ref[2] = (uint8_t)(id >> 8);
	ref[3] = (uint8_t)id;
}

/* The other client makes a persistent P-256 key with this ID. */
static int64_t other_creates(uint32_t id)
{
	static uint8_t buf[TSFAKE_BUFFER];
	const struct tsc_attrs a = {.type = 0x7112,
	                            .bits = 256,
	                            .lifetime = 1,
	                            .id = id,
	                            .usage = 0x1000,
	                            .alg = 0x06000609};
	size_t n = 0, rn = 0;
	int64_t service = 0;

	cr_assert_eq(tsc_req_generate(buf, sizeof(buf), &a, &n), TS_OK);
	cr_assert_eq(tsfake_call(other, TSC_OP_GENERATE_KEY, buf, sizeof(buf), n, &rn, &service),
	             0);
	return service;
}

static bool partition_has(uint32_t id)
{
	static uint8_t buf[TSFAKE_BUFFER];
	size_t n = 0, rn = 0;
	int64_t service = 0;

	cr_assert_eq(tsc_req_key_id(buf, sizeof(buf), id, &n), TS_OK);
	cr_assert_eq(
	        tsfake_call(other, TSC_OP_GET_KEY_ATTRIBUTES, buf, sizeof(buf), n, &rn, &service),
	        0);
	return service == 0;
}

static uint32_t reserve(void)
{
	uint8_t *ref = NULL;
	size_t len = 0;
	uint32_t id;

	cr_assert_eq(ops->reserve_ref(ctx, &p256, &ref, &len), TS_OK);
	cr_assert_eq(len, 4);
	id = id_of(ref);
	free(ref);
	return id;
}

static enum ts_err generate(uint32_t id)
{
	uint8_t ref[4], *mat = (uint8_t *)1;
	size_t len = 1;
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};
	enum ts_err err;

	ref_of(id, ref);
	err = ops->generate_key(ctx, &k, &mat, &len);
	if (err == TS_OK) {
		cr_assert_null(mat, "nothing of the key leaves the partition");
		cr_assert_eq(len, 0);
	}
	return err;
}

Test(ts_provider, ids_come_from_the_reserved_range_and_skip_another_clients_key)
{
	uint32_t first;

	cr_assert_eq(other_creates(TSP_KEY_ID_MIN), 0);
	cr_assert_eq(other_creates(TSP_KEY_ID_MIN + 1), 0);
	first = reserve();
	cr_assert_eq(first, TSP_KEY_ID_MIN + 2, "the two taken IDs are skipped");
	cr_assert_eq(generate(first), TS_OK);
	cr_assert(partition_has(first));
	cr_assert_eq(reserve(), TSP_KEY_ID_MIN + 3);
}

Test(ts_provider, adoption_moves_the_allocator_past_the_stores_keys)
{
	uint8_t ref[4];
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_eq(generate(TSP_KEY_ID_MIN + 40), TS_OK);
	ref_of(TSP_KEY_ID_MIN + 40, ref);
	cr_assert_eq(ops->adopt_key(ctx, &k), TS_OK);
	cr_assert_eq(reserve(), TSP_KEY_ID_MIN + 41);
	/* A key the store knows and the partition lost: reported, and the
	 * allocator still steps over it so that no other key gets its ID. */
	ref_of(TSP_KEY_ID_MIN + 90, ref);
	cr_assert_eq(ops->adopt_key(ctx, &k), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(reserve(), TSP_KEY_ID_MIN + 91);
	/* A reference that is not one of ours. */
	ref_of(5, ref);
	cr_assert_eq(ops->adopt_key(ctx, &k), TS_E_PSA_DATA_CORRUPT);
	k.ref_len = 3;
	cr_assert_eq(ops->adopt_key(ctx, &k), TS_E_PSA_DATA_CORRUPT);
}

Test(ts_provider, an_id_taken_after_the_probe_fails_and_its_owner_keeps_it)
{
	uint32_t id = reserve();
	uint8_t ref[4];
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_eq(other_creates(id), 0); /* between our probe and our creation */
	cr_assert_eq(generate(id), TS_E_PSA_ALREADY_EXISTS);
	/* The core cleans up a failed creation with destroy_key: it must
	 * spare the other client's key. */
	ref_of(id, ref);
	cr_assert_eq(ops->destroy_key(ctx, &k), TS_OK);
	cr_assert(partition_has(id));
	cr_assert_neq(reserve(), id);
}

Test(ts_provider, recovery_destroys_what_an_interrupted_creation_left)
{
	uint32_t made = reserve(), never = reserve();
	uint8_t ref[4];
	struct prov_key k = {.attrs = NULL, .ref = ref, .ref_len = 4};

	cr_assert_eq(generate(made), TS_OK);
	ref_of(made, ref);
	ops->recover_key(ctx, &k);
	cr_assert(!partition_has(made));
	ref_of(never, ref);
	ops->recover_key(ctx, &k); /* nothing there: nothing happens */
	cr_assert_eq(ops->destroy_key(ctx, &k), TS_OK, "destroying what is gone succeeds");
	k.ref = NULL;
	k.ref_len = 0;
	cr_assert_eq(ops->destroy_key(ctx, &k), TS_OK);
}

Test(ts_provider, limits_and_scheduling)
{
	/* No cap for the core: the provider splits what it can and refuses
	 * the rest itself. */
	cr_assert_eq(ops->max_payload(ctx), 0);
	cr_assert_eq(ops->max_concurrent(ctx), 1);
	cr_assert_eq(ops->id, 4);
	cr_assert_str_eq(ops->uuid, "71129441-508a-4da6-b6e8-7b98a777e4c0");
	cr_assert_null(ops->sign_message, "messages are hashed in the daemon");
	cr_assert_not_null(ops->hash_compute);
}

Test(ts_provider, oversized_inputs_are_insufficient_memory_and_random_is_chunked)
{
	static uint8_t big[9000], rnd[20000];
	uint32_t id = reserve();
	uint8_t ref[4], *out = NULL;
	size_t len = 0;
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_eq(generate(id), TS_OK);
	ref_of(id, ref);
	cr_assert_eq(ops->sign_hash(ctx, &k, &p256.alg, big, sizeof(big), &out, &len),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(ops->generate_random(ctx, rnd, sizeof(rnd)), TS_OK);
	cr_assert_neq(memcmp(rnd, rnd + 10000, 32), 0);
	cr_assert_neq(memcmp(rnd + 8000, rnd + 19968, 32), 0);
}

Test(ts_provider, statuses_of_the_partition_reach_the_caller)
{
	uint32_t id = reserve();
	uint8_t ref[4], h[32] = {0}, *out = NULL, *sig = NULL;
	size_t len = 0, slen = 0;
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_eq(generate(id), TS_OK);
	ref_of(id, ref);
	cr_assert_eq(ops->export_key(ctx, &k, &out, &len), TS_E_PSA_NOT_PERMITTED,
	             "no export usage");
	cr_assert_eq(ops->sign_hash(ctx, &k, &p256.alg, h, 32, &sig, &slen), TS_OK);
	cr_assert_eq(ops->verify_hash(ctx, &k, &p256.alg, h, 32, sig, slen), TS_OK);
	sig[1] ^= 1;
	cr_assert_eq(ops->verify_hash(ctx, &k, &p256.alg, h, 32, sig, slen),
	             TS_E_PSA_INVALID_SIGNATURE);
	free(sig);
	/* Destroyed behind the daemon's back: INVALID_HANDLE becomes DoesNotExist. */
	cr_assert_eq(ops->destroy_key(ctx, &k), TS_OK);
	cr_assert_eq(ops->sign_hash(ctx, &k, &p256.alg, h, 32, &sig, &slen),
	             TS_E_PSA_DOES_NOT_EXIST);
	setenv("TSFAKE_FAULT", "-8,0", 1);
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_E_PSA_INSUFFICIENT_MEMORY);
	setenv("TSFAKE_FAULT", "-3,0", 1);
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_E_PSA_COMMUNICATION_FAILURE);
	setenv("TSFAKE_FAULT", "0,-146", 1);
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_E_PSA_STORAGE_FAILURE);
	unsetenv("TSFAKE_FAULT");
}

Test(ts_provider, only_the_keys_it_serves_are_made)
{
	struct psa_attrs raw = {.type = PSA_KT_CAMELLIA, .bits = 128, .alg = {.cls = PSA_AC_NONE}};
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 128,
	                        .usage = PSA_USAGE_ENCRYPT,
	                        .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}};
	struct psa_attrs ecdh = p256;
	uint8_t ref[4], *mat = NULL;
	size_t len = 0;
	struct prov_key k = {.attrs = &raw, .ref = ref, .ref_len = 4};

	ref_of(reserve(), ref);
	cr_assert_eq(ops->generate_key(ctx, &k, &mat, &len), TS_E_PSA_NOT_SUPPORTED);
	cr_assert_eq(ops->can_do(ctx, &raw, 2), TS_E_PSA_NOT_SUPPORTED);
	cr_assert_eq(ops->can_do(ctx, &aes, 2), TS_OK);
	aes.alg.kind = PSA_AEAD_CHACHA20_POLY1305;
	cr_assert_eq(ops->can_do(ctx, &aes, 1), TS_E_PSA_NOT_SUPPORTED);
	cr_assert_eq(ops->can_do(ctx, &p256, 2), TS_OK);
	cr_assert_eq(ops->can_do(ctx, &p256, 4), TS_E_PSA_NOT_SUPPORTED);
	ecdh.alg = (struct psa_alg){.cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH};
	cr_assert_eq(ops->can_do(ctx, &ecdh, 1), TS_OK);
	ecdh.alg.kdf = 1; /* followed by HKDF: derived in the partition */
	ecdh.alg.kdf_hash = PSA_HASH_SHA_256;
	cr_assert_eq(ops->can_do(ctx, &ecdh, 1), TS_OK);
	ecdh.alg.kind = PSA_KA_FFDH;
	cr_assert_eq(ops->can_do(ctx, &ecdh, 1), TS_E_PSA_NOT_SUPPORTED);
}

Test(ts_provider, aead_runs_in_pieces_and_a_failed_one_does_not_break_the_next)
{
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 256,
	                        .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT,
	                        .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}};
	uint8_t ref[4], nonce[12] = {0}, *out = NULL, *back = NULL;
	static uint8_t data[20000];
	size_t len = 0, blen = 0;
	struct prov_key k = {.attrs = &aes, .ref = ref, .ref_len = 4};

	ref_of(reserve(), ref);
	cr_assert_eq(ops->generate_key(ctx, &k, &out, &len), TS_OK);
	/* More failed operations in a row than the partition's pool holds
	 * (each is aborted), then data over the buffer in pieces. */
	for (int i = 0; i < 12; i++)
		cr_assert_eq(
		        ops->aead(ctx, &k, &aes.alg, true, nonce, 0, NULL, 0, data, 10, &out, &len),
		        TS_E_PSA_INVALID_ARGUMENT, "an empty nonce");
	cr_assert_eq(ops->aead(ctx, &k, &aes.alg, true, nonce, 12, data, 5000, data, sizeof(data),
	                       &out, &len),
	             TS_OK);
	cr_assert_eq(len, sizeof(data) + 16);
	cr_assert_eq(
	        ops->aead(ctx, &k, &aes.alg, false, nonce, 12, data, 5000, out, len, &back, &blen),
	        TS_OK);
	cr_assert_eq(blen, sizeof(data));
	out[100] ^= 1;
	free(back);
	cr_assert_eq(
	        ops->aead(ctx, &k, &aes.alg, false, nonce, 12, data, 5000, out, len, &back, &blen),
	        TS_E_PSA_INVALID_SIGNATURE);
	free(out);
}

Test(ts_provider, settings_are_checked_with_their_key_path)
{
	char err[512];

	cr_assert_eq(ops->check_settings("{}", "providers[2]", err, sizeof(err)), TS_OK);
	cr_assert_eq(ops->check_settings("{\"transport\": \"auto\", \"device\": \"/dev/tee3\","
	                                 " \"service\": \"sn:trustedfirmware.org:crypto:0\"}",
	                                 "providers[2]", err, sizeof(err)),
	             TS_OK);
	cr_assert_eq(ops->check_settings("{\"transport\": 1}", "providers[2]", err, sizeof(err)),
	             TS_E_CONFIG);
	cr_assert_not_null(strstr(err, "providers[2].transport"), "%s", err);
	cr_assert_eq(ops->check_settings("{\"pin\": \"1\"}", "providers[2]", err, sizeof(err)),
	             TS_E_CONFIG);
	cr_assert_not_null(strstr(err, "providers[2].pin"), "%s", err);
	cr_assert_eq(ops->check_settings("{\"transport\": \"tstee\", \"libts_path\": \"x\"}",
	                                 "providers[2]", err, sizeof(err)),
	             TS_E_CONFIG);
	cr_assert_not_null(strstr(err, "providers[2].libts_path"), "%s", err);
	cr_assert_eq(ops->check_settings("{\"transport\": \"tstee\", \"service\":"
	                                 " \"sn:trustedfirmware.org:crypto-protobuf:0\"}",
	                                 "providers[2]", err, sizeof(err)),
	             TS_E_CONFIG);
	cr_assert_not_null(strstr(err, "providers[2].service"), "%s", err);
	cr_assert_eq(ops->check_settings("[]", "providers[2]", err, sizeof(err)), TS_E_CONFIG);
}

Test(ts_provider, auto_falls_back_to_libts_when_no_tee_device_answers)
{
	char err[512] = "";
	void *c2 = NULL;

	if (access("/dev/tee0", F_OK) == 0)
		cr_skip_test("this machine has a TEE device");
	cr_assert_eq(ops->init("{\"libts_path\": \"" FAKE_LIBTS "\"}", "providers[1]", &c2, err,
	                       sizeof(err)),
	             TS_OK, "%s", err);
	ops->fini(c2);
	cr_assert_neq(ops->init("{\"libts_path\": \"/nonexistent/libtsd.so.2\"}", "providers[1]",
	                        &c2, err, sizeof(err)),
	              TS_OK);
	cr_assert_not_null(strstr(err, "providers[1].libts_path"), "%s", err);
	cr_assert_not_null(strstr(err, "providers[1].device"), "both transports are named: %s",
	                   err);
	cr_assert_neq(ops->init("{\"transport\": \"libts\", \"libts_path\": \"libc.so.6\"}",
	                        "providers[1]", &c2, err, sizeof(err)),
	              TS_OK);
	cr_assert_not_null(strstr(err, "not libts 2.x"), "%s", err);
}

Test(ts_provider, imported_aes_key_runs_gcm)
{
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 0,
	                        .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT |
	                                 PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH |
	                                 PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_VERIFY_MESSAGE,
	                        .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}};
	uint8_t ref[4], key[32] = {1}, nonce[12] = {0}, *out = NULL, *mat = NULL;
	size_t len = 0, mlen = 0;
	uint32_t bits = 0;
	struct prov_key k = {.attrs = &aes, .ref = ref, .ref_len = 4};

	ref_of(reserve(), ref);
	cr_assert_eq(ops->import_key(ctx, &k, key, 32, &mat, &mlen, &bits), TS_OK);
	cr_assert_eq(bits, 256);
	aes.bits = 256;
	cr_assert_eq(ops->aead(ctx, &k, &aes.alg, true, nonce, 12, NULL, 0, key, 10, &out, &len),
	             TS_OK);
	free(out);
}

Test(ts_provider, a_truncated_or_oversized_answer_is_a_communication_failure)
{
	uint32_t id = reserve();
	uint8_t ref[4], h[32] = {0}, *out = NULL;
	size_t len = 0;
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_eq(generate(id), TS_OK);
	ref_of(id, ref);
	setenv("TSFAKE_RESPONSE", "truncate", 1);
	cr_assert_eq(ops->sign_hash(ctx, &k, &p256.alg, h, 32, &out, &len),
	             TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_E_PSA_COMMUNICATION_FAILURE);
	setenv("TSFAKE_RESPONSE", "oversize", 1);
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_E_PSA_COMMUNICATION_FAILURE);
	unsetenv("TSFAKE_RESPONSE");
	cr_assert_eq(ops->export_public_key(ctx, &k, &out, &len), TS_OK, "and then it works again");
	cr_assert_eq(len, 65);
	free(out);
}

/* ---- multipart operations across requests (the PSA C API's) ---- */

static void make_key(struct psa_attrs *a, uint8_t ref[4], struct prov_key *k)
{
	uint8_t *mat = NULL;
	size_t mlen = 0;

	ref_of(reserve(), ref);
	*k = (struct prov_key){.attrs = a, .ref = ref, .ref_len = 4};
	cr_assert_eq(ops->generate_key(ctx, k, &mat, &mlen), TS_OK);
	free(mat);
}

/* Feed in, in pieces of `piece` bytes, appending what each update releases. */
static void feed(void *st, bool ad, const uint8_t *in, size_t len, size_t piece, uint8_t *out,
                 size_t *out_len)
{
	for (size_t off = 0; off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece, rl = 0;
		uint8_t *r = NULL;

		cr_assert_eq(ops->mp_update(ctx, st, ad, in + off, n, &r, &rl), TS_OK);
		if (out != NULL && rl > 0) {
			memcpy(out + *out_len, r, rl);
			*out_len += rl;
		}
		free(r);
	}
}

Test(ts_provider, multipart_gcm_in_any_pieces_equals_the_one_shot)
{
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 128,
	                        .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT,
	                        .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}};
	static uint8_t text[9000], ct[9100], pt[9100];
	uint8_t ref[4], nonce[12] = {7}, ad[40] = {1}, *one = NULL, *last = NULL, *tag = NULL;
	size_t one_len = 0, ct_len = 0, pt_len = 0, last_len = 0, tag_len = 0;
	struct prov_key k;
	void *st = NULL;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (uint8_t)(i * 7);
	make_key(&aes, ref, &k);
	cr_assert_eq(ops->aead(ctx, &k, &aes.alg, true, nonce, 12, ad, sizeof(ad), text,
	                       sizeof(text), &one, &one_len),
	             TS_OK);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &k, &aes.alg, &st), TS_OK);
	cr_assert_eq(ops->mp_set_lengths(ctx, st, sizeof(ad), sizeof(text)), TS_OK);
	cr_assert_eq(ops->mp_set_iv(ctx, st, nonce, 12), TS_OK);
	feed(st, true, ad, sizeof(ad), 7, NULL, NULL);
	feed(st, false, text, sizeof(text), 333, ct, &ct_len); /* also over the 4 KiB chunk */
	cr_assert_eq(ops->mp_finish(ctx, st, &last, &last_len, &tag, &tag_len), TS_OK);
	ops->mp_free(ctx, st);
	if (last_len > 0)
		memcpy(ct + ct_len, last, last_len);
	ct_len += last_len;
	cr_assert_eq(tag_len, 16);
	cr_assert_eq(ct_len + tag_len, one_len);
	cr_assert_eq(memcmp(ct, one, ct_len), 0);
	cr_assert_eq(memcmp(tag, one + ct_len, 16), 0);
	free(last);

	/* Decrypt: the plaintext comes back; a changed tag does not verify. */
	for (int bad = 0; bad < 2; bad++) {
		cr_assert_eq(ops->mp_setup(ctx, PROV_MP_AEAD_DECRYPT, &k, &aes.alg, &st), TS_OK);
		cr_assert_eq(ops->mp_set_lengths(ctx, st, sizeof(ad), ct_len), TS_OK);
		cr_assert_eq(ops->mp_set_iv(ctx, st, nonce, 12), TS_OK);
		feed(st, true, ad, sizeof(ad), 40, NULL, NULL);
		pt_len = 0;
		feed(st, false, ct, ct_len, 1000, pt, &pt_len);
		tag[0] ^= (uint8_t)bad;
		last = NULL;
		last_len = 0;
		cr_assert_eq(ops->mp_verify(ctx, st, tag, tag_len, &last, &last_len),
		             bad ? TS_E_PSA_INVALID_SIGNATURE : TS_OK);
		ops->mp_free(ctx, st);
		if (!bad) {
			if (last_len > 0)
				memcpy(pt + pt_len, last, last_len);
			pt_len += last_len;
			cr_assert_eq(pt_len, sizeof(text));
			cr_assert_eq(memcmp(pt, text, sizeof(text)), 0);
		}
		free(last);
	}
	free(tag);
	free(one);
}

Test(ts_provider, multipart_cbc_and_hmac_equal_the_one_shots)
{
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 256,
	                        .usage = PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT,
	                        .alg = {.cls = PSA_AC_CIPHER, .kind = 8 /* CBC_PKCS7 */}};
	struct psa_attrs hmac = {
	        .type = PSA_KT_HMAC,
	        .bits = 256,
	        .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_VERIFY_MESSAGE,
	        .alg = {.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = PSA_HASH_SHA_256}};
	uint8_t ref[4], ref2[4], iv[16] = {3}, text[100], ct[200], *back = NULL, *r = NULL,
	                         *mac = NULL;
	size_t ct_len = 16, back_len = 0, rl = 0, mac_len = 0;
	struct prov_key k, hk;
	void *st = NULL;

	memset(text, 'x', sizeof(text));
	make_key(&aes, ref, &k);
	memcpy(ct, iv, 16); /* the one-shot's form: IV || ciphertext */
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &k, &aes.alg, &st), TS_OK);
	cr_assert_eq(ops->mp_set_iv(ctx, st, iv, 5), TS_E_PSA_INVALID_ARGUMENT);
	ops->mp_free(ctx, st); /* a failed step ends the operation */
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &k, &aes.alg, &st), TS_OK);
	cr_assert_eq(ops->mp_set_iv(ctx, st, iv, 16), TS_OK);
	feed(st, false, text, sizeof(text), 17, ct, &ct_len);
	cr_assert_eq(ct_len, 16 + 96, "whole blocks only before finish");
	cr_assert_eq(ops->mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_OK);
	ops->mp_free(ctx, st);
	cr_assert_eq(rl, 16);
	memcpy(ct + ct_len, r, rl);
	ct_len += rl;
	free(r);
	cr_assert_eq(ops->cipher(ctx, &k, &aes.alg, false, ct, ct_len, &back, &back_len), TS_OK);
	cr_assert_eq(back_len, sizeof(text));
	cr_assert_eq(memcmp(back, text, sizeof(text)), 0);
	free(back);

	make_key(&hmac, ref2, &hk);
	cr_assert_eq(ops->mac(ctx, &hk, &hmac.alg, text, sizeof(text), &mac, &mac_len), TS_OK);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &hk, &hmac.alg, &st), TS_OK);
	feed(st, false, text, sizeof(text), 9, NULL, NULL);
	cr_assert_eq(ops->mp_verify(ctx, st, mac, mac_len, NULL, NULL), TS_E_PSA_BAD_STATE,
	             "a sign operation does not verify");
	cr_assert_eq(ops->mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_OK);
	ops->mp_free(ctx, st);
	cr_assert_eq(rl, mac_len);
	cr_assert_eq(memcmp(r, mac, rl), 0);
	free(r);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_VERIFY, &hk, &hmac.alg, &st), TS_OK);
	feed(st, false, text, sizeof(text), 100, NULL, NULL);
	mac[3] ^= 1;
	cr_assert_eq(ops->mp_verify(ctx, st, mac, mac_len, NULL, NULL), TS_E_PSA_INVALID_SIGNATURE);
	ops->mp_free(ctx, st);
	free(mac);
}

Test(ts_provider, open_operations_are_capped_below_the_pool_and_never_recycled)
{
	struct psa_attrs hmac = {
	        .type = PSA_KT_HMAC,
	        .bits = 256,
	        .usage = PSA_USAGE_SIGN_MESSAGE | PSA_USAGE_VERIFY_MESSAGE,
	        .alg = {.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = PSA_HASH_SHA_256}};
	void *st[TSP_MP_PER_FAMILY], *extra = NULL;
	uint8_t ref[4], *mac = NULL, *r = NULL;
	size_t mac_len = 0, rl = 0;
	struct prov_key k;

	make_key(&hmac, ref, &k);
	for (unsigned i = 0; i < TSP_MP_PER_FAMILY; i++) {
		cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &k, &hmac.alg, &st[i]), TS_OK);
		feed(st[i], false, (const uint8_t *)"abc", 3, 3, NULL, NULL);
	}
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &k, &hmac.alg, &extra),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	/* One-shot requests still find a context, even several of them. */
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(
		        ops->mac(ctx, &k, &hmac.alg, (const uint8_t *)"abc", 3, &mac, &mac_len),
		        TS_OK);
		if (i < 2)
			free(mac);
	}
	/* Every open operation is still the one it was: none was recycled. */
	for (unsigned i = 0; i < TSP_MP_PER_FAMILY; i++) {
		cr_assert_eq(ops->mp_finish(ctx, st[i], &r, &rl, NULL, NULL), TS_OK, "op %u", i);
		cr_assert_eq(rl, mac_len);
		cr_assert_eq(memcmp(r, mac, rl), 0);
		free(r);
		ops->mp_free(ctx, st[i]);
	}
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &k, &hmac.alg, &extra), TS_OK);
	/* A session lost under an open operation: the operation is gone (BadState),
	 * the next setup works in the new session. */
	((struct tsp *)ctx)->broken = true;
	cr_assert_eq(ops->mp_update(ctx, extra, false, (const uint8_t *)"a", 1, &r, &rl),
	             TS_E_PSA_BAD_STATE);
	cr_assert_eq(ops->mac(ctx, &k, &hmac.alg, (const uint8_t *)"abc", 3, &r, &rl), TS_OK);
	free(r);
	cr_assert_eq(ops->mp_update(ctx, extra, false, (const uint8_t *)"a", 1, &r, &rl),
	             TS_E_PSA_BAD_STATE);
	ops->mp_free(ctx, extra);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &k, &hmac.alg, &extra), TS_OK);
	ops->mp_free(ctx, extra);
	free(mac);
}

Test(ts_provider, a_key_that_may_not_leave_the_partition_is_copied_inside_it)
{
	struct psa_attrs src_a = p256, dst_a = p256;
	uint8_t sref[4], dref[4], dref2[4], h[32] = {5}, *sig = NULL, *mat = NULL, *out = NULL;
	size_t slen = 0, mlen = 0, olen = 0;
	struct prov_key src, dst = {.attrs = &dst_a, .ref = dref, .ref_len = 4};

	src_a.usage |= PSA_USAGE_COPY; /* and no EXPORT */
	make_key(&src_a, sref, &src);
	cr_assert_eq(ops->export_key(ctx, &src, &out, &olen), TS_E_PSA_NOT_PERMITTED);
	dst_a.usage = PSA_USAGE_SIGN_HASH;
	ref_of(reserve(), dref);
	cr_assert_eq(ops->copy_key(ctx, &src, &dst, &mat, &mlen), TS_OK);
	cr_assert_eq(mlen, 0);
	free(mat);
	cr_assert(partition_has(id_of(dref)));
	/* The copy signs, the source verifies: the same key. */
	cr_assert_eq(ops->sign_hash(ctx, &dst, &dst_a.alg, h, 32, &sig, &slen), TS_OK);
	cr_assert_eq(ops->verify_hash(ctx, &src, &src_a.alg, h, 32, sig, slen), TS_OK);
	free(sig);
	/* The target ID is taken now; a key without the COPY flag is not copied. */
	cr_assert_eq(ops->copy_key(ctx, &src, &dst, &mat, &mlen), TS_E_PSA_ALREADY_EXISTS);
	ref_of(reserve(), dref2);
	{
		struct prov_key dst2 = {.attrs = &dst_a, .ref = dref2, .ref_len = 4};

		cr_assert_eq(ops->copy_key(ctx, &dst, &dst2, &mat, &mlen), TS_E_PSA_NOT_PERMITTED);
		cr_assert_not(partition_has(id_of(dref2)));
	}
}

/* psa_purge_key reaches the partition's PURGE_KEY (after a read, which puts
 * the key in a slot as Mbed TLS wants it there), and the key works after;
 * a key the partition does not hold is DoesNotExist, as for every other
 * operation, and sends no PURGE_KEY. */
Test(ts_provider, purge_reaches_the_partition_and_the_key_still_signs)
{
	uint32_t id = reserve();
	uint8_t ref[4], h[32] = {1, 2, 3}, *sig = NULL;
	size_t sig_len = 0;
	struct prov_key k = {.attrs = &p256, .ref = ref, .ref_len = 4};

	cr_assert_not_null(ops->purge_key);
	cr_assert_eq(generate(id), TS_OK);
	ref_of(id, ref);
	cr_assert_eq(tsfake_purges_in(store), 0);
	cr_assert_eq(ops->purge_key(ctx, &k), TS_OK);
	cr_assert_eq(tsfake_purges_in(store), 1, "one PURGE_KEY reached the partition");
	cr_assert_eq(ops->purge_key(ctx, &k), TS_OK, "purging twice is no error");
	cr_assert_eq(tsfake_purges_in(store), 2);
	cr_assert_eq(ops->sign_hash(ctx, &k, &p256.alg, h, sizeof(h), &sig, &sig_len), TS_OK);
	cr_assert_eq(sig_len, 64);
	free(sig);
	cr_assert(partition_has(id), "the stored key stays");

	ref_of(id + 1, ref); /* ours by range, never made */
	cr_assert_eq(ops->purge_key(ctx, &k), TS_E_PSA_DOES_NOT_EXIST);
	ref_of(0x1234, ref); /* outside the provider's range: not one of ours */
	cr_assert_eq(ops->purge_key(ctx, &k), TS_E_PSA_DOES_NOT_EXIST);
	cr_assert_eq(tsfake_purges_in(store), 2, "no PURGE_KEY for a key not held");

	/* A status the partition forces reaches the caller. */
	ref_of(id, ref);
	cr_assert_eq(setenv("TSFAKE_FAULT", "0,-146", 1), 0);
	cr_assert_eq(ops->purge_key(ctx, &k), TS_E_PSA_STORAGE_FAILURE);
	unsetenv("TSFAKE_FAULT");
	cr_assert_eq(ops->purge_key(ctx, &k), TS_OK);
}

/* ---- key derivation in the partition ---- */

static const struct psa_alg hkdf256 = {.cls = PSA_AC_KDF, .kind = 1, .hash = PSA_HASH_SHA_256};

/* RFC 5869 A.1: HKDF-SHA-256, 22-byte IKM, 13-byte salt, 10-byte info. */
static const uint8_t rfc_ikm[22] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                    0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t rfc_salt[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
static const uint8_t rfc_info[10] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9};
static const uint8_t rfc_okm[42] = {
        0x3c, 0xb2, 0x5f, 0x25, 0xfa, 0xac, 0xd5, 0x7a, 0x90, 0x43, 0x4f, 0x64, 0xd0, 0x36,
        0x2f, 0x2a, 0x2d, 0x2d, 0x0a, 0x90, 0xcf, 0x1a, 0x5a, 0x4c, 0x5d, 0xb0, 0x2d, 0x56,
        0xec, 0xc4, 0xc5, 0xbf, 0x34, 0x00, 0x72, 0x08, 0xd5, 0xb8, 0x87, 0x18, 0x58, 0x65};

static void import_derive(struct psa_attrs *a, const uint8_t *data, size_t len, uint8_t ref[4],
                          struct prov_key *k)
{
	uint8_t *mat = NULL;
	size_t mlen = 0;
	uint32_t bits = 0;

	ref_of(reserve(), ref);
	*k = (struct prov_key){.attrs = a, .ref = ref, .ref_len = 4};
	cr_assert_eq(ops->import_key(ctx, k, data, len, &mat, &mlen, &bits), TS_OK);
	cr_assert_eq(bits, len * 8);
	a->bits = bits;
	free(mat);
}

Test(ts_provider, hkdf_from_a_derive_key_in_the_partition_is_rfc_5869_a1)
{
	struct psa_attrs dk = {.type = PSA_KT_DERIVE, .usage = PSA_USAGE_DERIVE, .alg = hkdf256};
	uint8_t ref[4], out[42];
	uint64_t cap = 0;
	struct prov_key k;
	void *st = NULL;

	import_derive(&dk, rfc_ikm, sizeof(rfc_ikm), ref, &k);
	cr_assert(!partition_has(0) && partition_has(id_of(ref)), "the key is in the partition");
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(cap, 255 * 32, "the partition's initial capacity");
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0202, rfc_salt, sizeof(rfc_salt)), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0101, &k), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0203, rfc_info, sizeof(rfc_info)), TS_OK);
	/* Output continues across calls. */
	cr_assert_eq(ops->kdf_output(ctx, st, out, 10), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, out + 10, 32), TS_OK);
	cr_assert_eq(memcmp(out, rfc_okm, sizeof(out)), 0);
	ops->kdf_free(ctx, st);

	/* The same with the secret as bytes. */
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0202, rfc_salt, sizeof(rfc_salt)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0101, rfc_ikm, sizeof(rfc_ikm)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0203, rfc_info, sizeof(rfc_info)), TS_OK);
	memset(out, 0, sizeof(out));
	cr_assert_eq(ops->kdf_output(ctx, st, out, sizeof(out)), TS_OK);
	cr_assert_eq(memcmp(out, rfc_okm, sizeof(out)), 0);
	/* Past the partition's capacity: INSUFFICIENT_DATA. */
	{
		uint8_t *big = malloc(255 * 32);

		cr_assert_not_null(big);
		cr_assert_eq(ops->kdf_output(ctx, st, big, 255 * 32 - 42 + 1),
		             TS_E_PSA_INSUFFICIENT_DATA);
		free(big);
	}
	ops->kdf_free(ctx, st);
}

Test(ts_provider, tls12_prf_sha256_from_the_partition)
{
	/* The TLS 1.2 PRF (SHA-256) vector widely used for RFC 5246 5: secret,
	 * seed, "test label", the first 100 bytes. */
	static const uint8_t secret[] = {0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17,
	                                 0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71, 0xdb, 0x35};
	static const uint8_t seed[] = {0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18,
	                               0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5, 0x19, 0x8c};
	static const uint8_t want[100] = {
	        0xe3, 0xf2, 0x29, 0xba, 0x72, 0x7b, 0xe1, 0x7b, 0x8d, 0x12, 0x26, 0x20, 0x55,
	        0x7c, 0xd4, 0x53, 0xc2, 0xaa, 0xb2, 0x1d, 0x07, 0xc3, 0xd4, 0x95, 0x32, 0x9b,
	        0x52, 0xd4, 0xe6, 0x1e, 0xdb, 0x5a, 0x6b, 0x30, 0x17, 0x91, 0xe9, 0x0d, 0x35,
	        0xc9, 0xc9, 0xa4, 0x6b, 0x4e, 0x14, 0xba, 0xf9, 0xaf, 0x0f, 0xa0, 0x22, 0xf7,
	        0x07, 0x7d, 0xef, 0x17, 0xab, 0xfd, 0x37, 0x97, 0xc0, 0x56, 0x4b, 0xab, 0x4f,
	        0xbc, 0x91, 0x66, 0x6e, 0x9d, 0xef, 0x9b, 0x97, 0xfc, 0xe3, 0x4f, 0x79, 0x67,
	        0x89, 0xba, 0xa4, 0x80, 0x82, 0xd1, 0x22, 0xee, 0x42, 0xc5, 0xa7, 0x2e, 0x5a,
	        0x51, 0x10, 0xff, 0xf7, 0x01, 0x87, 0x34, 0x7b, 0x66};
	const struct psa_alg prf = {.cls = PSA_AC_KDF, .kind = 2, .hash = PSA_HASH_SHA_256};
	uint8_t out[100];
	uint64_t cap = 0;
	void *st = NULL;

	cr_assert_eq(ops->kdf_setup(ctx, &prf, &st, &cap), TS_OK);
	cr_assert_geq(cap, sizeof(out));
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0204, seed, sizeof(seed)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0101, secret, sizeof(secret)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0201, (const uint8_t *)"test label", 10), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, out, 1), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, out + 1, 99), TS_OK);
	cr_assert_eq(memcmp(out, want, sizeof(out)), 0);
	ops->kdf_free(ctx, st);
}

Test(ts_provider, derivation_steps_out_of_order_and_wrong_keys_are_refused)
{
	struct psa_attrs dk = {.type = PSA_KT_DERIVE, .usage = PSA_USAGE_DERIVE, .alg = hkdf256};
	struct psa_attrs nd = {.type = PSA_KT_DERIVE, .usage = PSA_USAGE_EXPORT, .alg = hkdf256};
	uint8_t ref[4], ref2[4], foreign[4] = {0, 0, 0, 9}, out[8];
	struct prov_key k, k2, kf;
	uint64_t cap = 0;
	void *st = NULL;

	import_derive(&dk, rfc_ikm, sizeof(rfc_ikm), ref, &k);
	import_derive(&nd, rfc_ikm, sizeof(rfc_ikm), ref2, &k2);
	/* No info yet: no output. */
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0101, &k), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, out, 8), TS_E_PSA_BAD_STATE);
	ops->kdf_free(ctx, st);
	/* The salt after the secret. */
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0101, &k), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0202, rfc_salt, 3), TS_E_PSA_BAD_STATE);
	ops->kdf_free(ctx, st);
	/* A number, a step HKDF does not take, a key without DERIVE usage, a
	 * DERIVE key as the info, a reference not ours. */
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_integer(ctx, st, 0x1002, 1000), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0204, rfc_salt, 3), TS_E_PSA_INVALID_ARGUMENT);
	ops->kdf_free(ctx, st);
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0101, &k2), TS_E_PSA_NOT_PERMITTED);
	ops->kdf_free(ctx, st);
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0203, &k), TS_E_PSA_INVALID_ARGUMENT);
	ops->kdf_free(ctx, st);
	kf = (struct prov_key){.attrs = &dk, .ref = foreign, .ref_len = 4};
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0101, &kf), TS_E_PSA_DOES_NOT_EXIST);
	ops->kdf_free(ctx, st);
	/* A raw agreement is no derivation; a hash the partition lacks. */
	cr_assert_eq(
	        ops->kdf_setup(ctx,
	                       &(struct psa_alg){.cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH},
	                       &st, &cap),
	        TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(ops->kdf_setup(ctx, &(struct psa_alg){.cls = PSA_AC_KDF, .kind = 2, .hash = 3},
	                            &st, &cap),
	             TS_E_PSA_NOT_SUPPORTED, "TLS 1.2 PRF with MD5");
}

Test(ts_provider, derivations_are_capped_below_the_pool_and_die_with_the_session)
{
	void *st[TSP_MP_PER_FAMILY], *extra = NULL, *mac = NULL;
	struct psa_attrs hmac = {
	        .type = PSA_KT_HMAC,
	        .bits = 256,
	        .usage = PSA_USAGE_SIGN_MESSAGE,
	        .alg = {.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = PSA_HASH_SHA_256}};
	uint8_t ref[4], out[42], first[42];
	uint64_t cap = 0;
	struct prov_key k;

	for (unsigned i = 0; i < TSP_MP_PER_FAMILY; i++) {
		cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st[i], &cap), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st[i], 0x0101, rfc_ikm, sizeof(rfc_ikm)), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st[i], 0x0203, rfc_info, i + 1), TS_OK);
	}
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &extra, &cap), TS_E_PSA_INSUFFICIENT_MEMORY);
	/* The MAC family has its own count. */
	make_key(&hmac, ref, &k);
	cr_assert_eq(ops->mp_setup(ctx, PROV_MP_MAC_SIGN, &k, &hmac.alg, &mac), TS_OK);
	ops->mp_free(ctx, mac);
	/* None was recycled: each still answers its own output. */
	for (unsigned i = 0; i < TSP_MP_PER_FAMILY; i++) {
		cr_assert_eq(ops->kdf_output(ctx, st[i], out, sizeof(out)), TS_OK, "op %u", i);
		if (i == 0)
			memcpy(first, out, sizeof(out));
		else
			cr_assert_neq(memcmp(first, out, sizeof(out)), 0, "op %u", i);
		ops->kdf_free(ctx, st[i]);
	}
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &extra, &cap), TS_OK);
	((struct tsp *)ctx)->broken = true;
	cr_assert_eq(ops->kdf_input(ctx, extra, 0x0101, rfc_ikm, 4), TS_E_PSA_BAD_STATE);
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st[0], &cap), TS_OK, "a new session");
	cr_assert_eq(ops->kdf_input(ctx, extra, 0x0101, rfc_ikm, 4), TS_E_PSA_BAD_STATE);
	cr_assert_eq(ops->kdf_output(ctx, extra, out, 1), TS_E_PSA_BAD_STATE);
	ops->kdf_free(ctx, extra);
	ops->kdf_free(ctx, st[0]);
}

Test(ts_provider, derive_and_raw_data_keys_and_can_do_for_derivation)
{
	struct psa_attrs dk = {.type = PSA_KT_DERIVE,
	                       .bits = 256,
	                       .usage = PSA_USAGE_DERIVE | PSA_USAGE_EXPORT,
	                       .alg = hkdf256};
	struct psa_attrs raw = {.type = PSA_KT_RAW_DATA,
	                        .bits = 128,
	                        .usage = PSA_USAGE_DERIVE | PSA_USAGE_EXPORT,
	                        .alg = {.cls = PSA_AC_NONE}};
	struct psa_attrs aes = {.type = PSA_KT_AES,
	                        .bits = 128,
	                        .usage = PSA_USAGE_ENCRYPT,
	                        .alg = {.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}};
	uint8_t ref[4], ref2[4], *out = NULL;
	size_t len = 0;
	struct prov_key k;

	for (int check = 1; check <= 3; check++) {
		cr_assert_eq(ops->can_do(ctx, &dk, check), TS_OK, "derive, check %d", check);
		cr_assert_eq(ops->can_do(ctx, &raw, check), TS_OK, "raw data, check %d", check);
	}
	cr_assert_eq(ops->can_do(ctx, &aes, 4), TS_OK, "derived into an AES key");
	cr_assert_eq(ops->can_do(ctx, &dk, 4), TS_OK);
	cr_assert_eq(ops->can_do(ctx, &p256, 4), TS_E_PSA_NOT_SUPPORTED);
	dk.bits = 12;
	cr_assert_eq(ops->can_do(ctx, &dk, 2), TS_E_PSA_NOT_SUPPORTED);
	dk.bits = 256;
	dk.alg = (struct psa_alg){.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = 7};
	cr_assert_eq(ops->can_do(ctx, &dk, 1), TS_E_PSA_NOT_SUPPORTED);
	dk.alg = hkdf256;
	/* Generated in the partition, both; exported again as they are. */
	make_key(&dk, ref, &k);
	cr_assert_eq(ops->export_key(ctx, &k, &out, &len), TS_OK);
	cr_assert_eq(len, 32);
	free(out);
	make_key(&raw, ref2, &k);
	cr_assert_eq(ops->export_key(ctx, &k, &out, &len), TS_OK);
	cr_assert_eq(len, 16);
	free(out);
}

/* One derivation on the provider (ts) or the software provider's own HMAC
 * streaming code (!ts), inputs as (step, bytes) pairs, 48 bytes out. */
struct kin {
	uint32_t step;
	const uint8_t *v;
	size_t len;
};

static void derive_on(bool ts, const struct psa_alg *alg, const struct kin *in, size_t n,
                      uint8_t out[48])
{
	uint64_t cap = 0;
	void *st = NULL;

	cr_assert_eq(ts ? ops->kdf_setup(ctx, alg, &st, &cap) : sw_kdf_setup(NULL, alg, &st, &cap),
	             TS_OK);
	cr_assert_geq(cap, 48);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ts ? ops->kdf_input(ctx, st, in[i].step, in[i].v, in[i].len)
		                : sw_kdf_input(NULL, st, in[i].step, in[i].v, in[i].len),
		             TS_OK, "input %zu", i);
	cr_assert_eq(ts ? ops->kdf_output(ctx, st, out, 48) : sw_kdf_output(NULL, st, out, 48),
	             TS_OK);
	if (ts)
		ops->kdf_free(ctx, st);
	else
		sw_kdf_free(NULL, st);
}

Test(ts_provider, psk_to_ms_in_the_partition_equals_the_software_providers)
{
	const struct psa_alg alg = {.cls = PSA_AC_KDF, .kind = 3, .hash = PSA_HASH_SHA_256};
	static const uint8_t seed[64] = {1, 2, 3, 4, 5}, psk[16] = {0x50, 0x53, 0x4b},
	                     other[32] = {0x0e, 0xc0};
	const struct kin plain[] = {{0x0204, seed, sizeof(seed)},
	                            {0x0101, psk, sizeof(psk)},
	                            {0x0201, (const uint8_t *)"master secret", 13}};
	uint8_t a[48], b[48];
	uint8_t big[129] = {0};
	uint64_t cap = 0;
	void *st = NULL;

	derive_on(true, &alg, plain, 3, a);
	derive_on(false, &alg, plain, 3, b);
	cr_assert_eq(memcmp(a, b, 48), 0, "PSK-to-MS without an other secret");
	/* TS v1.2.0's partition refuses the other secret (RFC 5489's ECDHE-PSK),
	 * as bytes and as a DERIVE key alike: InvalidArgument. */
	{
		struct psa_attrs ok = {
		        .type = PSA_KT_DERIVE, .usage = PSA_USAGE_DERIVE, .alg = alg};
		uint8_t ref[4];
		struct prov_key k;

		import_derive(&ok, other, sizeof(other), ref, &k);
		cr_assert_eq(ops->kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st, 0x0204, seed, sizeof(seed)), TS_OK);
		cr_assert_eq(ops->kdf_input_key(ctx, st, 0x0102, &k), TS_E_PSA_INVALID_ARGUMENT);
		ops->kdf_free(ctx, st);
		cr_assert_eq(ops->kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st, 0x0204, seed, sizeof(seed)), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st, 0x0102, other, sizeof(other)),
		             TS_E_PSA_INVALID_ARGUMENT);
		ops->kdf_free(ctx, st);
	}
	/* A PSK over 128 bytes is refused (PSA_TLS12_PSK_TO_MS_PSK_MAX_SIZE). */
	cr_assert_eq(ops->kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0204, seed, sizeof(seed)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0101, big, sizeof(big)), TS_E_PSA_INVALID_ARGUMENT);
	ops->kdf_free(ctx, st);
	/* An input past the 8 KiB buffer is refused before anything is sent. */
	{
		static uint8_t huge[9000];

		cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
		cr_assert_eq(ops->kdf_input(ctx, st, 0x0203, huge, sizeof(huge)),
		             TS_E_PSA_INSUFFICIENT_MEMORY);
		ops->kdf_free(ctx, st);
	}
}

/* ---- a key agreement followed by a KDF ---- */

static const struct psa_alg ecdh_hkdf = {
        .cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH, .kdf = 1, .kdf_hash = PSA_HASH_SHA_256};

static void import_p256(struct psa_attrs *a, const uint8_t scalar[32], uint8_t ref[4],
                        struct prov_key *k)
{
	uint8_t *mat = NULL;
	size_t mlen = 0;
	uint32_t bits = 0;

	ref_of(reserve(), ref);
	*k = (struct prov_key){.attrs = a, .ref = ref, .ref_len = 4};
	cr_assert_eq(ops->import_key(ctx, k, scalar, 32, &mat, &mlen, &bits), TS_OK);
	cr_assert_eq(bits, 256);
	free(mat);
}

/* kdf_key_agreement runs ECDH in the partition into the derivation: the
 * output is that of HKDF over the secret a raw-ECDH key with the same scalar
 * answers; the key's policy is checked there (no raw agreement with it, no
 * agreement without DERIVE), and a plain KDF takes no agreement. */
Test(ts_provider, ecdh_then_hkdf_agrees_in_the_partition)
{
	static const uint8_t s1[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	                               1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	static const uint8_t s2[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 9, 8, 7, 6, 5, 4, 3,
	                               9, 8, 7, 6, 5, 4, 3, 2, 1, 9, 8, 7, 6, 5, 4, 3};
	struct psa_attrs a = {.type = PSA_KT_ECC_PAIR,
	                      .family = PSA_ECC_SECP_R1,
	                      .bits = 256,
	                      .usage = PSA_USAGE_DERIVE,
	                      .alg = ecdh_hkdf};
	struct psa_attrs b = a, raw = a, nd = a;
	const struct psa_alg ecdh = {.cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH};
	uint8_t ra[4], rb[4], rr[4], rn[4], *pub = NULL, *secret = NULL, *none = NULL, out[40],
	                                    want[40];
	size_t pub_len = 0, slen = 0, nlen = 0;
	struct prov_key ka, kb, kr, kn;
	uint64_t cap = 0;
	void *st = NULL;

	raw.alg = ecdh;
	nd.usage = PSA_USAGE_EXPORT;
	import_p256(&a, s1, ra, &ka);
	import_p256(&b, s2, rb, &kb);
	import_p256(&raw, s1, rr, &kr);
	import_p256(&nd, s1, rn, &kn);
	cr_assert_eq(ops->export_public_key(ctx, &kb, &pub, &pub_len), TS_OK);
	cr_assert_eq(pub_len, 65);
	cr_assert_eq(ops->key_agreement(ctx, &kr, &ecdh, pub, pub_len, &secret, &slen), TS_OK);
	cr_assert_eq(slen, 32);
	cr_assert_eq(ops->key_agreement(ctx, &ka, &ecdh, pub, pub_len, &none, &nlen),
	             TS_E_PSA_NOT_PERMITTED, "the key's algorithm is the agreement with HKDF");

	/* The expected bytes: the raw secret through HKDF as bytes. */
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0202, rfc_salt, sizeof(rfc_salt)), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0101, secret, slen), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0203, rfc_info, sizeof(rfc_info)), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, want, sizeof(want)), TS_OK);
	ops->kdf_free(ctx, st);

	cr_assert_not_null(ops->kdf_key_agreement);
	cr_assert_eq(ops->kdf_setup(ctx, &ecdh_hkdf, &st, &cap), TS_OK);
	cr_assert_eq(cap, 255 * 32);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0202, rfc_salt, sizeof(rfc_salt)), TS_OK);
	cr_assert_eq(ops->kdf_key_agreement(ctx, st, 0x0101, &ka, pub, pub_len), TS_OK);
	cr_assert_eq(ops->kdf_input(ctx, st, 0x0203, rfc_info, sizeof(rfc_info)), TS_OK);
	cr_assert_eq(ops->kdf_output(ctx, st, out, sizeof(out)), TS_OK);
	cr_assert_eq(memcmp(out, want, sizeof(out)), 0);
	ops->kdf_free(ctx, st);

	/* Without DERIVE usage; a raw-ECDH key; on a plain KDF. */
	cr_assert_eq(ops->kdf_setup(ctx, &ecdh_hkdf, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_key_agreement(ctx, st, 0x0101, &kn, pub, pub_len),
	             TS_E_PSA_NOT_PERMITTED);
	ops->kdf_free(ctx, st);
	cr_assert_eq(ops->kdf_setup(ctx, &ecdh_hkdf, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_key_agreement(ctx, st, 0x0101, &kr, pub, pub_len),
	             TS_E_PSA_NOT_PERMITTED);
	ops->kdf_free(ctx, st);
	cr_assert_eq(ops->kdf_setup(ctx, &hkdf256, &st, &cap), TS_OK);
	cr_assert_eq(ops->kdf_key_agreement(ctx, st, 0x0101, &ka, pub, pub_len),
	             TS_E_PSA_INVALID_ARGUMENT);
	ops->kdf_free(ctx, st);
	ts_free_secret(secret, slen);
	free(pub);
}
