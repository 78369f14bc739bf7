/* The software provider's key derivation (the kdf_* hooks): HKDF, TLS 1.2
 * PRF and PSK-to-MS, against published vectors and OpenSSL's EVP_KDF. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "providers/software/software-priv.h"

#define SECRET       0x0101u
#define OTHER_SECRET 0x0102u
#define LABEL        0x0201u
#define SALT         0x0202u
#define INFO         0x0203u
#define SEED         0x0204u

enum { HKDF = 1, TLS12_PRF = 2, PSK_TO_MS = 3 };

static void *ctx;

static void setup_ctx(void)
{
	cr_assert_eq(sw_init(&ctx), TS_OK);
}

static void teardown_ctx(void)
{
	sw_fini(ctx);
}

TestSuite(sw_kdf, .init = setup_ctx, .fini = teardown_ctx);

static struct psa_alg kdf_alg(uint8_t kind, uint8_t hash)
{
	struct psa_alg a = {.cls = PSA_AC_KDF, .kind = kind, .hash = hash};

	return a;
}

static void fill(uint8_t *p, size_t len, uint8_t first)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(first + i);
}

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;

	for (; hex[0] && hex[1]; hex += 2) {
		unsigned v;

		cr_assert_eq(sscanf(hex, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
	}
	return n;
}

/* Read len bytes in pieces of `step` (0: at once). */
static void read_out(void *st, uint8_t *out, size_t len, size_t step)
{
	size_t off = 0;

	while (off < len) {
		size_t n = step == 0 || step > len - off ? len - off : step;

		cr_assert_eq(sw_kdf_output(ctx, st, out + off, n), TS_OK);
		off += n;
	}
}

/* OpenSSL's one-shot HKDF. */
static void oracle_hkdf(const EVP_MD *md, const uint8_t *ikm, size_t ikm_len, const uint8_t *salt,
                        size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                        size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *kx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[5], *q = p;

	*q++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
	                                        0);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
	if (salt_len > 0)
		*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
		                                         salt_len);
	*q++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
	*q = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_KDF_derive(kx, out, len, p), 1);
	EVP_KDF_CTX_free(kx);
	EVP_KDF_free(kdf);
}

/* OpenSSL's one-shot TLS 1.2 PRF: PRF(secret, label, seed). */
static void oracle_prf(const EVP_MD *md, const uint8_t *secret, size_t secret_len,
                       const uint8_t *label, size_t label_len, const uint8_t *seed, size_t seed_len,
                       uint8_t *out, size_t len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "TLS1-PRF", NULL);
	EVP_KDF_CTX *kx = EVP_KDF_CTX_new(kdf);
	OSSL_PARAM p[5];

	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md),
	                                        0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, (void *)secret, secret_len);
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, label_len);
	p[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed, seed_len);
	p[4] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_KDF_derive(kx, out, len, p), 1);
	EVP_KDF_CTX_free(kx);
	EVP_KDF_free(kdf);
}

struct hkdf_vector {
	uint8_t hash;
	size_t ikm_len;
	uint8_t ikm_first; /* 0x0b: all 0x0b, else a counting sequence */
	size_t salt_len, info_len;
	uint8_t salt_first, info_first;
	const char *okm;
};

/* RFC 5869 appendix A, test cases 1 to 4 and 6. */
static const struct hkdf_vector rfc5869[] = {
        {7, 22, 0x0b, 13, 10, 0x00, 0xf0,
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
        {7, 80, 0x00, 80, 80, 0x60, 0xb0,
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c6"
         "5e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {7, 22, 0x0b, 0, 0, 0, 0,
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
        {5, 11, 0x0b, 13, 10, 0x00, 0xf0,
         "085a01ea1b10f36933068b56efa5ad81a4f14b822f5b091568a9cdd4f155fda2c22e422478d305f3f896"},
        {5, 22, 0x0b, 0, 0, 0, 0,
         "0ac1af7002b3d761d1e55298da9d0506b9ae52057220a306e07b6b87e8df21d0ea00033de03984d34918"},
};

Test(sw_kdf, hkdf_rfc5869_vectors_in_any_read_size)
{
	static const size_t steps[] = {0, 1, 7, 20, 33};

	for (size_t v = 0; v < sizeof(rfc5869) / sizeof(rfc5869[0]); v++) {
		const struct hkdf_vector *t = &rfc5869[v];
		uint8_t ikm[80], salt[80], info[80], want[100], got[100], oracle[100];
		size_t want_len = unhex(t->okm, want);

		if (t->ikm_first == 0x0b)
			memset(ikm, 0x0b, t->ikm_len);
		else
			fill(ikm, t->ikm_len, t->ikm_first);
		fill(salt, t->salt_len, t->salt_first);
		fill(info, t->info_len, t->info_first);
		oracle_hkdf(sw_md(t->hash), ikm, t->ikm_len, salt, t->salt_len, info, t->info_len,
		            oracle, want_len);
		cr_assert_arr_eq(oracle, want, want_len, "OpenSSL agrees with RFC 5869 #%zu", v);
		for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
			struct psa_alg alg = kdf_alg(HKDF, t->hash);
			uint64_t cap = 0;
			void *st = NULL;

			cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
			cr_assert_eq(cap, 255 * psa_hash_size(t->hash));
			/* An empty salt may be given or left out; info may come first. */
			if (s % 2)
				cr_assert_eq(sw_kdf_input(ctx, st, INFO, info, t->info_len), TS_OK);
			if (t->salt_len > 0 || s == 2)
				cr_assert_eq(sw_kdf_input(ctx, st, SALT, salt, t->salt_len), TS_OK);
			cr_assert_eq(sw_kdf_input(ctx, st, SECRET, ikm, t->ikm_len), TS_OK);
			if (s % 2 == 0)
				cr_assert_eq(sw_kdf_input(ctx, st, INFO, info, t->info_len), TS_OK);
			read_out(st, got, want_len, steps[s]);
			cr_assert_arr_eq(got, want, want_len, "RFC 5869 #%zu read by %zu", v,
			                 steps[s]);
			sw_kdf_free(ctx, st);
		}
	}
}

Test(sw_kdf, hkdf_whole_capacity_every_hash_equals_openssl)
{
	static uint8_t got[255 * 64], oracle[255 * 64];
	uint8_t ikm[40], salt[16], info[9], extra;

	fill(ikm, sizeof(ikm), 1);
	fill(salt, sizeof(salt), 50);
	fill(info, sizeof(info), 90);
	for (unsigned h = 1; h <= PSA_HASH_MAX; h++) {
		struct psa_alg alg = kdf_alg(HKDF, (uint8_t)h);
		uint64_t cap = 0;
		void *st = NULL;
		size_t total;

		if (sw_md(h) == NULL) {
			cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_E_PSA_NOT_SUPPORTED);
			continue;
		}
		total = 255 * (size_t)EVP_MD_get_size(sw_md(h));
		oracle_hkdf(sw_md(h), ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
		            oracle, total);
		cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(cap, total);
		cr_assert_eq(sw_kdf_input(ctx, st, SALT, salt, sizeof(salt)), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, ikm, sizeof(ikm)), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, INFO, info, sizeof(info)), TS_OK);
		read_out(st, got, total, 13 + h);
		cr_assert_arr_eq(got, oracle, total, "hash %u", h);
		cr_assert_eq(sw_kdf_output(ctx, st, &extra, 1), TS_E_PSA_INSUFFICIENT_DATA,
		             "past 255 blocks");
		sw_kdf_free(ctx, st);
	}
}

/* The vector that circulates for the TLS 1.2 PRF with SHA-256 (also in
 * Mbed TLS's PSA tests): 100 bytes. */
Test(sw_kdf, tls12_prf_published_vector_and_openssl)
{
	uint8_t secret[16], seed[16], want[100], got[100], oracle[100];
	static const uint8_t label[] = "test label";
	struct psa_alg alg = kdf_alg(TLS12_PRF, PSA_HASH_SHA_256);
	uint64_t cap = 0;
	void *st = NULL;

	unhex("9bbe436ba940f017b17652849a71db35", secret);
	unhex("a0ba9f936cda311827a6f796ffd5198c", seed);
	cr_assert_eq(unhex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b3017"
	                   "91e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9d"
	                   "ef9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66",
	                   want),
	             100);
	oracle_prf(EVP_sha256(), secret, 16, label, 10, seed, 16, oracle, 100);
	cr_assert_arr_eq(oracle, want, 100, "OpenSSL agrees with the vector");
	for (size_t step = 0; step < 40; step += 3) {
		cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(cap, UINT64_MAX, "unlimited");
		cr_assert_eq(sw_kdf_input(ctx, st, SEED, seed, 16), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, secret, 16), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, label, 10), TS_OK);
		read_out(st, got, 100, step);
		cr_assert_arr_eq(got, want, 100, "read by %zu", step);
		sw_kdf_free(ctx, st);
	}
}

Test(sw_kdf, tls12_prf_every_hash_long_output_equals_openssl)
{
	static uint8_t got[3000], oracle[3000];
	uint8_t secret[48], seed[64], label[13];

	fill(secret, sizeof(secret), 3);
	fill(seed, sizeof(seed), 100);
	memcpy(label, "master secret", 13);
	for (unsigned h = 1; h <= PSA_HASH_MAX; h++) {
		struct psa_alg alg = kdf_alg(TLS12_PRF, (uint8_t)h);
		uint64_t cap = 0;
		void *st = NULL;

		if (sw_md(h) == NULL)
			continue;
		oracle_prf(sw_md(h), secret, sizeof(secret), label, sizeof(label), seed,
		           sizeof(seed), oracle, sizeof(oracle));
		cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SEED, seed, sizeof(seed)), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, secret, sizeof(secret)), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, label, sizeof(label)), TS_OK);
		read_out(st, got, sizeof(got), 11 * h);
		cr_assert_arr_eq(got, oracle, sizeof(got), "hash %u", h);
		sw_kdf_free(ctx, st);
	}
	/* Empty inputs are allowed (OpenSSL wants label || seed not empty). */
	for (int t = 0; t < 2; t++) {
		struct psa_alg alg = kdf_alg(TLS12_PRF, PSA_HASH_SHA_256);
		size_t ll = t ? sizeof(label) : 0, sl = t ? 0 : sizeof(seed);
		uint64_t cap;
		void *st = NULL;

		oracle_prf(EVP_sha256(), secret, 0, label, ll, seed, sl, oracle, 64);
		cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SEED, t ? NULL : seed, sl), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, NULL, 0), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, t ? label : NULL, ll), TS_OK);
		read_out(st, got, 64, 5);
		cr_assert_arr_eq(got, oracle, 64, "case %d", t);
		sw_kdf_free(ctx, st);
	}
}

/* RFC 4279 2: other_secret (or zeros) with its length, then the PSK. */
static size_t premaster(const uint8_t *other, size_t olen, bool have_other, const uint8_t *psk,
                        size_t len, uint8_t *out)
{
	size_t o = have_other ? olen : len;

	out[0] = (uint8_t)(o >> 8);
	out[1] = (uint8_t)o;
	if (have_other)
		memcpy(out + 2, other, o);
	else
		memset(out + 2, 0, o);
	out[2 + o] = (uint8_t)(len >> 8);
	out[3 + o] = (uint8_t)len;
	memcpy(out + 4 + o, psk, len);
	return 4 + o + len;
}

Test(sw_kdf, tls12_psk_to_ms_with_and_without_other_secret)
{
	uint8_t psk[128], other[48], seed[64], pms[4 + 128 + 128], got[48], oracle[48];
	static const uint8_t label[] = "master secret";
	static const size_t psk_lens[] = {0, 1, 16, 64, 65, 128};

	fill(psk, sizeof(psk), 7);
	fill(other, sizeof(other), 200);
	fill(seed, sizeof(seed), 1);
	for (unsigned h = 7; h <= 8; h++) {
		for (size_t pi = 0; pi < sizeof(psk_lens) / sizeof(psk_lens[0]); pi++) {
			for (int with_other = 0; with_other < 2; with_other++) {
				struct psa_alg alg = kdf_alg(PSK_TO_MS, (uint8_t)h);
				size_t len = psk_lens[pi];
				size_t pl =
				        premaster(other, sizeof(other), with_other, psk, len, pms);
				uint64_t cap = 0;
				void *st = NULL;

				oracle_prf(sw_md(h), pms, pl, label, 13, seed, sizeof(seed), oracle,
				           48);
				cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
				cr_assert_eq(cap, 48);
				cr_assert_eq(sw_kdf_input(ctx, st, SEED, seed, sizeof(seed)),
				             TS_OK);
				if (with_other)
					cr_assert_eq(sw_kdf_input(ctx, st, OTHER_SECRET, other,
					                          sizeof(other)),
					             TS_OK);
				cr_assert_eq(sw_kdf_input(ctx, st, SECRET, psk, len), TS_OK);
				cr_assert_eq(sw_kdf_input(ctx, st, LABEL, label, 13), TS_OK);
				read_out(st, got, 48, 5);
				cr_assert_arr_eq(got, oracle, 48, "hash %u psk %zu other %d", h,
				                 len, with_other);
				sw_kdf_free(ctx, st);
			}
		}
	}
}

Test(sw_kdf, psk_over_128_bytes_is_refused)
{
	struct psa_alg alg = kdf_alg(PSK_TO_MS, PSA_HASH_SHA_256);
	uint8_t psk[129] = {0};
	uint64_t cap;
	void *st = NULL;

	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SEED, psk, 32), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SECRET, psk, 129), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_kdf_input(ctx, st, SECRET, psk, 128), TS_OK);
	sw_kdf_free(ctx, st);
}

Test(sw_kdf, hkdf_steps_out_of_order)
{
	struct psa_alg alg = kdf_alg(HKDF, PSA_HASH_SHA_256);
	uint8_t b[16] = {0}, out[8];
	uint64_t cap;
	void *st = NULL;

	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_E_PSA_BAD_STATE, "no input");
	cr_assert_eq(sw_kdf_input(ctx, st, LABEL, b, 4), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_kdf_input(ctx, st, SEED, b, 4), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_kdf_input(ctx, st, OTHER_SECRET, b, 4), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_kdf_input_integer(ctx, st, 0x1002, 1000), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_kdf_input(ctx, st, SALT, b, 4), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SALT, b, 4), TS_E_PSA_BAD_STATE, "salt twice");
	cr_assert_eq(sw_kdf_input(ctx, st, SECRET, b, 16), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SECRET, b, 16), TS_E_PSA_BAD_STATE, "secret twice");
	cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_E_PSA_BAD_STATE, "no info yet");
	cr_assert_eq(sw_kdf_input(ctx, st, INFO, b, 3), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, INFO, b, 3), TS_E_PSA_BAD_STATE, "info twice");
	cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, INFO, b, 3), TS_E_PSA_BAD_STATE, "input after output");
	sw_kdf_free(ctx, st);
	/* The salt after the secret. */
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SECRET, b, 16), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, SALT, b, 4), TS_E_PSA_BAD_STATE);
	sw_kdf_free(ctx, st);
}

Test(sw_kdf, tls_steps_out_of_order)
{
	uint8_t b[16] = {0}, out[8];
	uint64_t cap;
	void *st = NULL;

	for (uint8_t kind = TLS12_PRF; kind <= PSK_TO_MS; kind++) {
		struct psa_alg alg = kdf_alg(kind, PSA_HASH_SHA_256);

		cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, b, 16), TS_E_PSA_BAD_STATE,
		             "secret before seed");
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, b, 16), TS_E_PSA_BAD_STATE);
		cr_assert_eq(sw_kdf_input(ctx, st, SALT, b, 16), TS_E_PSA_INVALID_ARGUMENT);
		cr_assert_eq(sw_kdf_input(ctx, st, INFO, b, 16), TS_E_PSA_INVALID_ARGUMENT);
		cr_assert_eq(sw_kdf_input(ctx, st, SEED, b, 16), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, SEED, b, 16), TS_E_PSA_BAD_STATE, "seed twice");
		cr_assert_eq(sw_kdf_input(ctx, st, OTHER_SECRET, b, 16),
		             kind == PSK_TO_MS ? TS_OK : TS_E_PSA_INVALID_ARGUMENT);
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, b, 16), TS_E_PSA_BAD_STATE,
		             "label before secret");
		cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_E_PSA_BAD_STATE);
		cr_assert_eq(sw_kdf_input(ctx, st, SECRET, b, 16), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, OTHER_SECRET, b, 16),
		             kind == PSK_TO_MS ? TS_E_PSA_BAD_STATE : TS_E_PSA_INVALID_ARGUMENT,
		             "other secret after the secret");
		cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_E_PSA_BAD_STATE, "no label");
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, b, 16), TS_OK);
		cr_assert_eq(sw_kdf_output(ctx, st, out, 8), TS_OK);
		cr_assert_eq(sw_kdf_input(ctx, st, LABEL, b, 16), TS_E_PSA_BAD_STATE);
		sw_kdf_free(ctx, st);
	}
}

Test(sw_kdf, keys_as_inputs)
{
	struct psa_attrs derive = {.type = PSA_KT_DERIVE, .bits = 22 * 8};
	struct psa_attrs raw = {.type = PSA_KT_RAW_DATA, .bits = 13 * 8};
	struct psa_attrs aes = {.type = PSA_KT_AES, .bits = 128};
	uint8_t ikm[22], salt[13], info[10], want[42], got[42];
	struct prov_key secret = {.attrs = &derive, .material = ikm, .material_len = 22};
	struct prov_key salt_key = {.attrs = &raw, .material = salt, .material_len = 13};
	struct prov_key aes_key = {.attrs = &aes, .material = ikm, .material_len = 16};
	struct psa_alg alg = kdf_alg(HKDF, PSA_HASH_SHA_256);
	uint64_t cap;
	void *st = NULL;

	memset(ikm, 0x0b, sizeof(ikm));
	fill(salt, sizeof(salt), 0);
	fill(info, sizeof(info), 0xf0);
	unhex(rfc5869[0].okm, want);
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(sw_kdf_input_key(ctx, st, SALT, &secret), TS_E_PSA_INVALID_ARGUMENT,
	             "a DERIVE key is no salt");
	cr_assert_eq(sw_kdf_input_key(ctx, st, SALT, &salt_key), TS_OK);
	cr_assert_eq(sw_kdf_input_key(ctx, st, SECRET, &aes_key), TS_E_PSA_INVALID_ARGUMENT,
	             "an AES key is no secret");
	cr_assert_eq(sw_kdf_input_key(ctx, st, SECRET, &salt_key), TS_E_PSA_INVALID_ARGUMENT,
	             "nor a RAW_DATA key");
	cr_assert_eq(sw_kdf_input_key(ctx, st, SECRET, &secret), TS_OK);
	cr_assert_eq(sw_kdf_input(ctx, st, INFO, info, 10), TS_OK);
	read_out(st, got, 42, 0);
	cr_assert_arr_eq(got, want, 42);
	sw_kdf_free(ctx, st);
}

Test(sw_kdf, setup_refuses_what_it_cannot_derive)
{
	struct psa_alg alg = kdf_alg(HKDF, 1 /* MD2 */);
	uint64_t cap = 0;
	void *st = NULL;

	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_E_PSA_NOT_SUPPORTED);
	alg = kdf_alg(4, PSA_HASH_SHA_256);
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_E_PSA_NOT_SUPPORTED);
	alg.cls = PSA_AC_MAC;
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_E_PSA_INVALID_ARGUMENT);
	/* A key agreement followed by HKDF: the KDF is the agreement's. */
	alg = (struct psa_alg){.cls = PSA_AC_KEY_AGREEMENT,
	                       .kind = PSA_KA_ECDH,
	                       .kdf = HKDF,
	                       .kdf_hash = PSA_HASH_SHA_256};
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_OK);
	cr_assert_eq(cap, 255 * 32);
	sw_kdf_free(ctx, st);
	alg.kdf = 0;
	cr_assert_eq(sw_kdf_setup(ctx, &alg, &st, &cap), TS_E_PSA_INVALID_ARGUMENT,
	             "a raw agreement has no KDF");
}
