/* The software provider's multipart MAC, cipher and AEAD (the mp_* hooks),
 * checked at the provider level against its one-shot calls and OpenSSL. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"

#define MAX_MSG 300

/* How a message is cut into updates. */
enum chunking { CH_WHOLE, CH_BYTES, CH_ODD, CH_BLOCKS, CH_EMPTY_BETWEEN, CH_COUNT };

static size_t chunk_len(enum chunking ch, size_t i, size_t left)
{
	static const size_t odd[] = {3, 5, 7, 11, 13, 1, 17};
	size_t n;

	switch (ch) {
	case CH_BYTES:
		n = 1;
		break;
	case CH_ODD:
		n = odd[i % (sizeof(odd) / sizeof(odd[0]))];
		break;
	case CH_BLOCKS:
		n = 16;
		break;
	case CH_EMPTY_BETWEEN:
		n = i % 2 ? 0 : 9;
		break;
	default:
		n = left;
		break;
	}
	return n > left ? left : n;
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 3));
}

struct key {
	struct psa_attrs attrs;
	uint8_t mat[64];
	struct prov_key k;
};

static void make_key(struct key *key, uint8_t type, uint32_t bits, unsigned seed)
{
	memset(key, 0, sizeof(*key));
	key->attrs.type = type;
	key->attrs.bits = bits;
	fill(key->mat, bits / 8, seed);
	key->k.attrs = &key->attrs;
	key->k.material = key->mat;
	key->k.material_len = bits / 8;
}

static void *ctx;

static void setup_ctx(void)
{
	cr_assert_eq(sw_init(&ctx), TS_OK);
}

static void teardown_ctx(void)
{
	sw_fini(ctx);
}

TestSuite(sw_multipart, .init = setup_ctx, .fini = teardown_ctx);

/* ---- MAC ---- */

static struct psa_alg mac_alg(uint8_t kind, uint8_t hash, uint32_t length)
{
	struct psa_alg a = {.cls = PSA_AC_MAC, .kind = kind, .hash = hash, .length = length};

	return a;
}

/* The multipart MAC of msg with the given chunking. */
static size_t mp_mac(const struct key *key, const struct psa_alg *alg, const uint8_t *msg,
                     size_t len, enum chunking ch, uint8_t *out)
{
	void *st = NULL;
	uint8_t *r = NULL, *tag = NULL;
	size_t rl = 0, tl = 0, off = 0, n;

	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key->k, alg, &st), TS_OK);
	for (size_t i = 0; off < len || (i == 0 && ch == CH_EMPTY_BETWEEN); i++) {
		n = chunk_len(ch, i, len - off);
		cr_assert_eq(sw_mp_update(ctx, st, false, msg + off, n, &r, &rl), TS_OK);
		cr_assert_eq(rl, 0);
		off += n;
	}
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_OK);
	cr_assert_eq(tl, 0);
	memcpy(out, r, rl);
	free(r);
	sw_mp_free(ctx, st);
	return rl;
}

static void check_mac(const struct key *key, const struct psa_alg *alg, const char *oracle_name,
                      const char *sub, size_t full_len)
{
	uint8_t msg[MAX_MSG], got[EVP_MAX_MD_SIZE], oracle[EVP_MAX_MD_SIZE];
	static const size_t lens[] = {0, 1, 15, 16, 17, 63, 64, 65, 129, 300};
	size_t want = alg->length ? alg->length : full_len;

	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li], ol = 0, one_len = 0;
		uint8_t *one = NULL;

		fill(msg, len, (unsigned)li);
		cr_assert_eq(sw_mac(ctx, &key->attrs, key->mat, key->k.material_len, alg, msg, len,
		                    &one, &one_len),
		             TS_OK);
		cr_assert_eq(one_len, want);
		cr_assert_not_null(EVP_Q_mac(NULL, oracle_name, NULL, sub, NULL, key->mat,
		                             key->k.material_len, msg, len, oracle, sizeof(oracle),
		                             &ol));
		cr_assert_eq(ol, full_len);
		cr_assert_arr_eq(one, oracle, want);
		for (int ch = 0; ch < CH_COUNT; ch++) {
			size_t gl = mp_mac(key, alg, msg, len, (enum chunking)ch, got);

			cr_assert_eq(gl, want, "%s/%s len %zu chunking %d", oracle_name, sub, len,
			             ch);
			cr_assert_arr_eq(got, oracle, want, "%s/%s len %zu chunking %d",
			                 oracle_name, sub, len, ch);
		}
		free(one);
	}
}

Test(sw_multipart, hmac_every_hash_any_chunking_equals_one_shot_and_openssl)
{
	struct key key;

	for (unsigned h = 1; h <= PSA_HASH_MAX; h++) {
		const EVP_MD *md = sw_md(h);
		struct psa_alg alg = mac_alg(PSA_MAC_HMAC, (uint8_t)h, 0);
		void *st = NULL;

		if (md == NULL) {
			cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st),
			             TS_E_PSA_NOT_SUPPORTED);
			continue;
		}
		make_key(&key, PSA_KT_HMAC, 8 * 20, h);
		check_mac(&key, &alg, "HMAC", EVP_MD_get0_name(md), (size_t)EVP_MD_get_size(md));
		/* A key longer than the block is hashed first. */
		make_key(&key, PSA_KT_HMAC, 8 * 64, h + 100);
		alg.length = 10;
		check_mac(&key, &alg, "HMAC", EVP_MD_get0_name(md), (size_t)EVP_MD_get_size(md));
	}
}

Test(sw_multipart, cmac_aes_and_camellia_full_and_truncated)
{
	static const uint32_t sizes[] = {128, 192, 256};
	struct key key;
	char sub[32];

	for (int t = 0; t < 2; t++) {
		uint8_t type = t ? PSA_KT_CAMELLIA : PSA_KT_AES;

		for (size_t i = 0; i < 3; i++) {
			struct psa_alg alg = mac_alg(PSA_MAC_CMAC, 0, 0);

			make_key(&key, type, sizes[i], (unsigned)i);
			snprintf(sub, sizeof(sub), "%s-%u-CBC", t ? "CAMELLIA" : "AES", sizes[i]);
			check_mac(&key, &alg, "CMAC", sub, 16);
			alg.length = 4;
			check_mac(&key, &alg, "CMAC", sub, 16);
		}
	}
}

Test(sw_multipart, mac_truncation_limits_and_cbc_mac_refused)
{
	struct key key;
	struct psa_alg alg = mac_alg(PSA_MAC_HMAC, PSA_HASH_SHA_256, 33);
	void *st = NULL;

	make_key(&key, PSA_KT_HMAC, 256, 1);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	alg.length = 3;
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	alg.length = 32;
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st), TS_OK);
	sw_mp_free(ctx, st);
	make_key(&key, PSA_KT_AES, 128, 1);
	alg = mac_alg(PSA_MAC_CBC_MAC, 0, 0);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st), TS_E_PSA_NOT_SUPPORTED);
	/* CMAC on a key that is no block cipher. */
	make_key(&key, PSA_KT_HMAC, 128, 1);
	alg = mac_alg(PSA_MAC_CMAC, 0, 0);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st), TS_E_PSA_NOT_SUPPORTED);
	/* An algorithm of another class. */
	alg.cls = PSA_AC_CIPHER;
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
}

static enum ts_err mac_verify(const struct key *key, const struct psa_alg *alg, const uint8_t *msg,
                              size_t len, const uint8_t *mac, size_t mac_len)
{
	void *st = NULL;
	uint8_t *r = NULL;
	size_t rl = 0;
	enum ts_err err;

	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_VERIFY, &key->k, alg, &st), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, msg, len / 2, &r, &rl), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, msg + len / 2, len - len / 2, &r, &rl), TS_OK);
	err = sw_mp_verify(ctx, st, mac, mac_len, &r, &rl);
	sw_mp_free(ctx, st);
	return err;
}

Test(sw_multipart, mac_verify_accepts_the_mac_and_refuses_any_other)
{
	struct key key;
	uint8_t msg[77], mac[EVP_MAX_MD_SIZE];
	struct psa_alg algs[] = {mac_alg(PSA_MAC_HMAC, PSA_HASH_SHA_256, 0),
	                         mac_alg(PSA_MAC_HMAC, PROV_HASH_SHA_512, 16),
	                         mac_alg(PSA_MAC_CMAC, 0, 0), mac_alg(PSA_MAC_CMAC, 0, 8)};

	fill(msg, sizeof(msg), 9);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		size_t ml;

		make_key(&key, algs[i].kind == PSA_MAC_CMAC ? PSA_KT_AES : PSA_KT_HMAC, 128,
		         (unsigned)i);
		ml = mp_mac(&key, &algs[i], msg, sizeof(msg), CH_ODD, mac);
		cr_assert_eq(mac_verify(&key, &algs[i], msg, sizeof(msg), mac, ml), TS_OK);
		for (size_t b = 0; b < ml; b += 3) {
			mac[b] ^= 0x01;
			cr_assert_eq(mac_verify(&key, &algs[i], msg, sizeof(msg), mac, ml),
			             TS_E_PSA_INVALID_SIGNATURE);
			mac[b] ^= 0x01;
		}
		cr_assert_eq(mac_verify(&key, &algs[i], msg, sizeof(msg), mac, ml - 1),
		             TS_E_PSA_INVALID_SIGNATURE);
		cr_assert_eq(mac_verify(&key, &algs[i], msg, sizeof(msg) - 1, mac, ml),
		             TS_E_PSA_INVALID_SIGNATURE);
	}
}

Test(sw_multipart, mac_clone_continues_independently)
{
	struct key key;
	struct psa_alg alg = mac_alg(PSA_MAC_HMAC, PROV_HASH_SHA_384, 0);
	uint8_t msg[100], *r = NULL, *a = NULL, *b = NULL, *one = NULL;
	size_t rl, al = 0, bl = 0, one_len;
	void *st = NULL, *cl = NULL;

	make_key(&key, PSA_KT_HMAC, 256, 3);
	fill(msg, sizeof(msg), 4);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, msg, 40, &r, &rl), TS_OK);
	cr_assert_eq(sw_mp_clone(ctx, st, &cl), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, msg + 40, 60, &r, &rl), TS_OK);
	cr_assert_eq(sw_mp_finish(ctx, st, &a, &al, NULL, NULL), TS_OK);
	/* The clone saw only the first 40 bytes. */
	cr_assert_eq(sw_mp_finish(ctx, cl, &b, &bl, NULL, NULL), TS_OK);
	cr_assert_eq(sw_mac(ctx, &key.attrs, key.mat, 32, &alg, msg, 100, &one, &one_len), TS_OK);
	cr_assert_arr_eq(a, one, one_len);
	free(one);
	cr_assert_eq(sw_mac(ctx, &key.attrs, key.mat, 32, &alg, msg, 40, &one, &one_len), TS_OK);
	cr_assert_arr_eq(b, one, one_len);
	cr_assert_eq(sw_mp_clone(ctx, st, &cl), TS_E_PSA_BAD_STATE, "finished: nothing to clone");
	free(one);
	free(a);
	free(b);
	sw_mp_free(ctx, st);
	sw_mp_free(ctx, cl);
}

Test(sw_multipart, mac_calls_out_of_order_are_bad_state)
{
	struct key key;
	struct psa_alg alg = mac_alg(PSA_MAC_HMAC, PSA_HASH_SHA_256, 0);
	uint8_t iv[16] = {0}, *r = NULL, mac[32] = {0};
	size_t rl;
	void *st = NULL;

	make_key(&key, PSA_KT_HMAC, 256, 3);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_SIGN, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 16), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 1, 1), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_update(ctx, st, true, iv, 1, &r, &rl), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_verify(ctx, st, mac, 32, &r, &rl), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_OK);
	free(r);
	cr_assert_eq(sw_mp_update(ctx, st, false, iv, 1, &r, &rl), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_E_PSA_BAD_STATE);
	sw_mp_free(ctx, st);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_MAC_VERIFY, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_E_PSA_BAD_STATE);
	sw_mp_free(ctx, st);
}

/* ---- ciphers ---- */

struct mode {
	uint8_t kind;
	bool stream; /* output as long as the input */
	bool pad;
	bool whole_blocks; /* messages must be whole blocks */
};

static const struct mode modes[] = {
        {SW_C_CTR, true, false, false},       {SW_C_CFB, true, false, false},
        {SW_C_OFB, true, false, false},       {SW_C_ECB, false, false, true},
        {SW_C_CBC_NOPAD, false, false, true}, {SW_C_CBC_PKCS7, false, true, false},
};

/* What PSA lets the operation have output after `total` bytes in. */
static size_t released(const struct mode *m, bool encrypt, size_t total)
{
	if (m->stream)
		return total;
	if (m->pad && !encrypt && total > 0 && total % 16 == 0)
		return total - 16;
	return total - total % 16;
}

static struct psa_alg cipher_alg(uint8_t kind)
{
	struct psa_alg a = {.cls = PSA_AC_CIPHER, .kind = kind};

	return a;
}

/* Multipart encryption or decryption of in; checks every update's output
 * length against PSA's rule. Returns the output length. */
static size_t mp_cipher(const struct key *key, const struct mode *m, bool encrypt,
                        const uint8_t *iv, size_t iv_len, const uint8_t *in, size_t len,
                        enum chunking ch, uint8_t *out)
{
	struct psa_alg alg = cipher_alg(m->kind);
	void *st = NULL;
	uint8_t *r = NULL;
	size_t rl = 0, off = 0, outn = 0, n;

	cr_assert_eq(sw_mp_setup(ctx, encrypt ? PROV_MP_CIPHER_ENCRYPT : PROV_MP_CIPHER_DECRYPT,
	                         &key->k, &alg, &st),
	             TS_OK);
	if (iv_len > 0)
		cr_assert_eq(sw_mp_set_iv(ctx, st, iv, iv_len), TS_OK);
	for (size_t i = 0; off < len || (i == 0 && ch == CH_EMPTY_BETWEEN); i++) {
		n = chunk_len(ch, i, len - off);
		cr_assert_eq(sw_mp_update(ctx, st, false, in + off, n, &r, &rl), TS_OK);
		off += n;
		cr_assert_eq(outn + rl, released(m, encrypt, off),
		             "mode %d %s: after %zu bytes in, %zu out", m->kind,
		             encrypt ? "enc" : "dec", off, outn + rl);
		if (rl > 0)
			memcpy(out + outn, r, rl);
		outn += rl;
		free(r);
		r = NULL;
	}
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_OK);
	if (rl > 0)
		memcpy(out + outn, r, rl);
	outn += rl;
	free(r);
	sw_mp_free(ctx, st);
	return outn;
}

static void check_cipher(const struct key *key, const struct mode *m)
{
	static const size_t lens[] = {0, 1, 15, 16, 17, 32, 33, 64, 100, 255};
	struct psa_alg alg = cipher_alg(m->kind);
	uint8_t msg[MAX_MSG], got[MAX_MSG + 32], back[MAX_MSG + 32];

	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li], one_len = 0, iv_len = m->kind == SW_C_ECB ? 0 : 16;
		uint8_t *one = NULL, *dec = NULL;
		size_t dec_len = 0;

		if (m->whole_blocks && len % 16)
			continue;
		fill(msg, len, (unsigned)(li + m->kind));
		/* The one-shot picks the IV: the multipart with that IV gives its bytes. */
		cr_assert_eq(sw_cipher(ctx, &key->attrs, key->mat, key->k.material_len, &alg, true,
		                       msg, len, &one, &one_len),
		             TS_OK);
		for (int ch = 0; ch < CH_COUNT; ch++) {
			size_t gl = mp_cipher(key, m, true, one, iv_len, msg, len,
			                      (enum chunking)ch, got);

			cr_assert_eq(gl, one_len - iv_len, "mode %d len %zu ch %d", m->kind, len,
			             ch);
			cr_assert_arr_eq(got, one + iv_len, gl, "mode %d len %zu ch %d", m->kind,
			                 len, ch);
			gl = mp_cipher(key, m, false, one, iv_len, one + iv_len, one_len - iv_len,
			               (enum chunking)ch, back);
			cr_assert_eq(gl, len);
			cr_assert_arr_eq(back, msg, len);
		}
		/* And the one-shot decrypts what the multipart made. */
		cr_assert_eq(sw_cipher(ctx, &key->attrs, key->mat, key->k.material_len, &alg, false,
		                       one, one_len, &dec, &dec_len),
		             TS_OK);
		cr_assert_eq(dec_len, len);
		cr_assert_arr_eq(dec, msg, len);
		free(dec);
		free(one);
	}
}

Test(sw_multipart, block_cipher_modes_any_chunking_equal_one_shot)
{
	static const uint32_t sizes[] = {128, 192, 256};
	struct key key;

	for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++) {
		for (size_t si = 0; si < 3; si++) {
			make_key(&key, PSA_KT_AES, sizes[si], (unsigned)(mi * 3 + si));
			check_cipher(&key, &modes[mi]);
		}
		make_key(&key, PSA_KT_CAMELLIA, 128, (unsigned)mi);
		check_cipher(&key, &modes[mi]);
	}
}

/* SP 800-38A F.2.1 and F.5.1: AES-128 CBC and CTR, an independent check. */
Test(sw_multipart, aes_cbc_and_ctr_known_answers)
{
	static const uint8_t k[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	                              0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c};
	static const uint8_t pt[16] = {0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96,
	                               0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a};
	static const uint8_t cbc_iv[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	static const uint8_t cbc_ct[16] = {0x76, 0x49, 0xab, 0xac, 0x81, 0x19, 0xb2, 0x46,
	                                   0xce, 0xe9, 0x8e, 0x9b, 0x12, 0xe9, 0x19, 0x7d};
	static const uint8_t ctr_iv[16] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	                                   0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
	static const uint8_t ctr_ct[16] = {0x87, 0x4d, 0x61, 0x91, 0xb6, 0x20, 0xe3, 0x26,
	                                   0x1b, 0xef, 0x68, 0x64, 0x99, 0x0d, 0xb6, 0xce};
	struct key key;
	uint8_t out[32];

	make_key(&key, PSA_KT_AES, 128, 0);
	memcpy(key.mat, k, 16);
	cr_assert_eq(mp_cipher(&key, &modes[4], true, cbc_iv, 16, pt, 16, CH_BYTES, out), 16);
	cr_assert_arr_eq(out, cbc_ct, 16);
	cr_assert_eq(mp_cipher(&key, &modes[0], true, ctr_iv, 16, pt, 16, CH_ODD, out), 16);
	cr_assert_arr_eq(out, ctr_ct, 16);
}

Test(sw_multipart, chacha20_stream_with_16_and_12_byte_ivs)
{
	static const struct mode stream = {SW_C_STREAM, true, false, false};
	struct psa_alg alg = cipher_alg(SW_C_STREAM);
	struct key key;
	uint8_t msg[200], got[200], iv16[16] = {0}, ref[200];
	uint8_t *one = NULL;
	size_t one_len = 0;
	EVP_CIPHER_CTX *cx;
	int n1 = 0, n2 = 0;

	make_key(&key, PSA_KT_CHACHA20, 256, 5);
	fill(msg, sizeof(msg), 5);
	cr_assert_eq(sw_cipher(ctx, &key.attrs, key.mat, 32, &alg, true, msg, sizeof(msg), &one,
	                       &one_len),
	             TS_OK);
	cr_assert_eq(one_len, 16 + sizeof(msg));
	for (int ch = 0; ch < CH_COUNT; ch++) {
		cr_assert_eq(mp_cipher(&key, &stream, true, one, 16, msg, sizeof(msg),
		                       (enum chunking)ch, got),
		             sizeof(msg));
		cr_assert_arr_eq(got, one + 16, sizeof(msg));
	}
	/* A 12-byte nonce is RFC 8439's, with the block counter at 0. */
	memcpy(iv16 + 4, one + 4, 12);
	cx = EVP_CIPHER_CTX_new();
	cr_assert_eq(EVP_EncryptInit_ex2(cx, EVP_chacha20(), key.mat, iv16, NULL), 1);
	cr_assert_eq(EVP_EncryptUpdate(cx, ref, &n1, msg, sizeof(msg)), 1);
	cr_assert_eq(EVP_EncryptFinal_ex(cx, ref + n1, &n2), 1);
	EVP_CIPHER_CTX_free(cx);
	cr_assert_eq(mp_cipher(&key, &stream, true, one + 4, 12, msg, sizeof(msg), CH_ODD, got),
	             sizeof(msg));
	cr_assert_arr_eq(got, ref, sizeof(msg));
	free(one);
}

Test(sw_multipart, cipher_iv_rules)
{
	struct key key;
	struct psa_alg cbc = cipher_alg(SW_C_CBC_NOPAD), ecb = cipher_alg(SW_C_ECB);
	uint8_t iv[16] = {0}, *r = NULL;
	size_t rl = 0;
	void *st = NULL;

	make_key(&key, PSA_KT_AES, 128, 1);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &key.k, &cbc, &st), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, iv, 16, &r, &rl), TS_E_PSA_BAD_STATE,
	             "no IV yet");
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, NULL, NULL), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 15), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 17), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 16), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 16), TS_E_PSA_BAD_STATE, "IV set twice");
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 0, 0), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_update(ctx, st, true, iv, 16, &r, &rl), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_verify(ctx, st, iv, 16, &r, &rl), TS_E_PSA_BAD_STATE);
	sw_mp_free(ctx, st);
	/* ECB has no IV. */
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &key.k, &ecb, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 16), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_update(ctx, st, false, iv, 16, &r, &rl), TS_OK);
	cr_assert_eq(rl, 16);
	free(r);
	sw_mp_free(ctx, st);
	/* XTS and ciphers on a key that has none. */
	cbc = cipher_alg(SW_C_XTS);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &key.k, &cbc, &st),
	             TS_E_PSA_NOT_SUPPORTED);
	make_key(&key, PSA_KT_HMAC, 128, 1);
	cbc = cipher_alg(SW_C_CTR);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_CIPHER_ENCRYPT, &key.k, &cbc, &st),
	             TS_E_PSA_NOT_SUPPORTED);
}

static enum ts_err finish_after(const struct key *key, uint8_t kind, bool encrypt,
                                const uint8_t *in, size_t len)
{
	struct psa_alg alg = cipher_alg(kind);
	uint8_t iv[16] = {0}, *r = NULL;
	size_t rl = 0;
	void *st = NULL;
	enum ts_err err;

	cr_assert_eq(sw_mp_setup(ctx, encrypt ? PROV_MP_CIPHER_ENCRYPT : PROV_MP_CIPHER_DECRYPT,
	                         &key->k, &alg, &st),
	             TS_OK);
	if (kind != SW_C_ECB)
		cr_assert_eq(sw_mp_set_iv(ctx, st, iv, 16), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, in, len, &r, &rl), TS_OK);
	free(r);
	r = NULL;
	err = sw_mp_finish(ctx, st, &r, &rl, NULL, NULL);
	free(r);
	sw_mp_free(ctx, st);
	return err;
}

Test(sw_multipart, partial_blocks_and_bad_padding)
{
	struct key key;
	uint8_t in[48] = {0}, ct[48];
	uint8_t iv[16] = {0};

	make_key(&key, PSA_KT_AES, 256, 7);
	cr_assert_eq(finish_after(&key, SW_C_CBC_NOPAD, true, in, 17), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_CBC_NOPAD, false, in, 31), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_ECB, true, in, 1), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_ECB, false, in, 47), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_CBC_PKCS7, false, in, 17), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_CBC_PKCS7, false, in, 0), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(finish_after(&key, SW_C_CBC_PKCS7, true, in, 0), TS_OK);
	cr_assert_eq(finish_after(&key, SW_C_CTR, true, in, 17), TS_OK);
	/* Plaintexts whose last byte is no PKCS#7 padding: 0, 17, or a wrong run. */
	for (int t = 0; t < 3; t++) {
		memset(in, 0, sizeof(in));
		in[31] = t == 0 ? 0 : t == 1 ? 17 : 3;
		in[30] = 2;
		cr_assert_eq(mp_cipher(&key, &modes[4], true, iv, 16, in, 32, CH_WHOLE, ct), 32);
		cr_assert_eq(finish_after(&key, SW_C_CBC_PKCS7, false, ct, 32),
		             TS_E_PSA_INVALID_PADDING, "case %d", t);
	}
}

/* ---- AEAD ---- */

static struct psa_alg aead_alg(uint8_t kind, uint32_t tag_len)
{
	struct psa_alg a = {.cls = PSA_AC_AEAD, .kind = kind, .length = tag_len};

	return a;
}

struct aead_case {
	const struct key *key;
	struct psa_alg alg;
	const uint8_t *nonce;
	size_t nonce_len;
	const uint8_t *ad;
	size_t ad_len;
	bool set_lengths;
};

/* Feed data in the chunking's pieces; text output appended to out. */
static size_t feed(void *st, bool ad, const uint8_t *in, size_t len, enum chunking ch, uint8_t *out)
{
	size_t off = 0, outn = 0, n, rl = 0;
	uint8_t *r = NULL;

	for (size_t i = 0; off < len || (i == 0 && ch == CH_EMPTY_BETWEEN); i++) {
		n = chunk_len(ch, i, len - off);
		cr_assert_eq(sw_mp_update(ctx, st, ad, in + off, n, &r, &rl), TS_OK);
		off += n;
		if (ad)
			cr_assert_eq(rl, 0);
		else
			cr_assert_eq(outn + rl, off, "AEAD text comes out as it goes in");
		if (rl > 0)
			memcpy(out + outn, r, rl);
		outn += rl;
		free(r);
		r = NULL;
	}
	return outn;
}

static void *aead_start(const struct aead_case *c, bool encrypt, size_t text_len)
{
	void *st = NULL;

	cr_assert_eq(sw_mp_setup(ctx, encrypt ? PROV_MP_AEAD_ENCRYPT : PROV_MP_AEAD_DECRYPT,
	                         &c->key->k, &c->alg, &st),
	             TS_OK);
	/* Lengths before or after the nonce: both are allowed. */
	if (c->set_lengths && text_len % 2)
		cr_assert_eq(sw_mp_set_lengths(ctx, st, c->ad_len, text_len), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, c->nonce, c->nonce_len), TS_OK);
	if (c->set_lengths && text_len % 2 == 0)
		cr_assert_eq(sw_mp_set_lengths(ctx, st, c->ad_len, text_len), TS_OK);
	return st;
}

/* Multipart encryption: ciphertext || tag into out; returns its length. */
static size_t mp_aead_encrypt(const struct aead_case *c, const uint8_t *msg, size_t len,
                              enum chunking ch, uint8_t *out)
{
	void *st = aead_start(c, true, len);
	uint8_t *r = NULL, *tag = NULL;
	size_t outn, rl = 0, tl = 0;

	feed(st, true, c->ad, c->ad_len, ch, NULL);
	outn = feed(st, false, msg, len, ch, out);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_OK);
	cr_assert_eq(rl, 0);
	cr_assert_eq(tl, c->alg.length ? c->alg.length : 16);
	memcpy(out + outn, tag, tl);
	free(tag);
	sw_mp_free(ctx, st);
	return outn + tl;
}

static enum ts_err mp_aead_decrypt(const struct aead_case *c, const uint8_t *in, size_t len,
                                   size_t tag_len, enum chunking ch, uint8_t *out)
{
	void *st = aead_start(c, false, len - tag_len);
	uint8_t *r = NULL;
	size_t rl = 0;
	enum ts_err err;

	feed(st, true, c->ad, c->ad_len, ch, NULL);
	cr_assert_eq(feed(st, false, in, len - tag_len, ch, out), len - tag_len);
	err = sw_mp_verify(ctx, st, in + len - tag_len, tag_len, &r, &rl);
	if (err == TS_OK)
		cr_assert_eq(rl, 0);
	sw_mp_free(ctx, st);
	return err;
}

/* Every chunking of every message equals the one-shot, decrypts, and
 * refuses a changed tag. */
static void check_aead(struct aead_case *c, int chunkings)
{
	static const size_t ad_lens[] = {0, 1, 17, 40};
	static const size_t lens[] = {0, 1, 15, 16, 33, 100};
	static uint8_t ad[64];
	uint8_t msg[MAX_MSG], got[MAX_MSG + 16], back[MAX_MSG];
	size_t tag_len = c->alg.length ? c->alg.length : 16;

	fill(ad, sizeof(ad), 77);
	c->ad = ad;
	for (size_t ai = 0; ai < sizeof(ad_lens) / sizeof(ad_lens[0]); ai++) {
		c->ad_len = ad_lens[ai];
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			size_t len = lens[li], one_len = 0, dec_len = 0;
			uint8_t *one = NULL, *dec = NULL;

			fill(msg, len, (unsigned)(ai * 10 + li));
			cr_assert_eq(sw_aead(ctx, &c->key->attrs, c->key->mat,
			                     c->key->k.material_len, &c->alg, true, c->nonce,
			                     c->nonce_len, ad, c->ad_len, msg, len, &one, &one_len),
			             TS_OK);
			cr_assert_eq(one_len, len + tag_len);
			for (int ch = 0; ch < chunkings; ch++) {
				size_t gl = mp_aead_encrypt(c, msg, len, (enum chunking)ch, got);

				cr_assert_eq(gl, one_len);
				cr_assert_arr_eq(got, one, gl,
				                 "kind %d nonce %zu tag %zu ad %zu len %zu ch %d",
				                 c->alg.kind, c->nonce_len, tag_len, c->ad_len, len,
				                 ch);
				cr_assert_eq(mp_aead_decrypt(c, one, one_len, tag_len,
				                             (enum chunking)ch, back),
				             TS_OK);
				cr_assert_arr_eq(back, msg, len);
			}
			cr_assert_eq(sw_aead(ctx, &c->key->attrs, c->key->mat,
			                     c->key->k.material_len, &c->alg, false, c->nonce,
			                     c->nonce_len, ad, c->ad_len, one, one_len, &dec,
			                     &dec_len),
			             TS_OK);
			cr_assert_eq(dec_len, len);
			cr_assert_arr_eq(dec, msg, len);
			free(dec);
			one[one_len - 1] ^= 0x80;
			cr_assert_eq(mp_aead_decrypt(c, one, one_len, tag_len, CH_ODD, back),
			             TS_E_PSA_INVALID_SIGNATURE);
			one[one_len - 1] ^= 0x80;
			if (len > 0) {
				one[0] ^= 1;
				cr_assert_eq(
				        mp_aead_decrypt(c, one, one_len, tag_len, CH_WHOLE, back),
				        TS_E_PSA_INVALID_SIGNATURE);
			}
			free(one);
		}
	}
}

Test(sw_multipart, gcm_any_chunking_nonce_and_tag_equals_one_shot)
{
	static const uint32_t sizes[] = {128, 192, 256};
	static const size_t nonces[] = {12, 1, 8, 16, 60};
	static const uint32_t tags[] = {0, 4, 8, 12, 13, 15, 16};
	uint8_t nonce[64];
	struct key key;

	fill(nonce, sizeof(nonce), 3);
	for (size_t si = 0; si < 3; si++) {
		make_key(&key, PSA_KT_AES, sizes[si], (unsigned)si);
		for (size_t ni = 0; ni < sizeof(nonces) / sizeof(nonces[0]); ni++) {
			for (size_t ti = 0; ti < sizeof(tags) / sizeof(tags[0]); ti++) {
				struct aead_case c = {.key = &key,
				                      .alg = aead_alg(PSA_AEAD_GCM, tags[ti]),
				                      .nonce = nonce,
				                      .nonce_len = nonces[ni],
				                      .set_lengths = ti % 2};

				check_aead(&c, ti == 0 ? CH_COUNT : 2);
			}
		}
	}
}

Test(sw_multipart, chacha20_poly1305_any_chunking_equals_one_shot)
{
	uint8_t nonce[12];
	struct key key;

	fill(nonce, sizeof(nonce), 8);
	make_key(&key, PSA_KT_CHACHA20, 256, 8);
	for (int sl = 0; sl < 2; sl++) {
		struct aead_case c = {.key = &key,
		                      .alg = aead_alg(PSA_AEAD_CHACHA20_POLY1305, 0),
		                      .nonce = nonce,
		                      .nonce_len = 12,
		                      .set_lengths = sl};

		check_aead(&c, CH_COUNT);
	}
}

/* Our streaming CCM against OpenSSL's one-shot CCM (which sw_aead uses), for
 * every nonce and tag length PSA allows. */
Test(sw_multipart, ccm_streaming_equals_openssl_for_every_nonce_and_tag_length)
{
	static const uint32_t sizes[] = {128, 192, 256};
	uint8_t nonce[13];
	struct key key;

	fill(nonce, sizeof(nonce), 13);
	for (size_t si = 0; si < 3; si++) {
		make_key(&key, PSA_KT_AES, sizes[si], (unsigned)si + 20);
		for (size_t n = 7; n <= 13; n++) {
			for (uint32_t t = 4; t <= 16; t += 2) {
				struct aead_case c = {
				        .key = &key,
				        .alg = aead_alg(PSA_AEAD_CCM, t == 16 ? 0 : t),
				        .nonce = nonce,
				        .nonce_len = n,
				        .set_lengths = true};

				check_aead(&c, si == 0 ? CH_COUNT : 2);
			}
		}
	}
}

/* RFC 3610 packet vector #1: AES-128, 13-byte nonce, 8 bytes of AD, 8-byte tag. */
Test(sw_multipart, ccm_rfc3610_packet_vector_1)
{
	static const uint8_t k[16] = {0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
	                              0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf};
	static const uint8_t nonce[13] = {0x00, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00,
	                                  0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5};
	static const uint8_t ad[8] = {0, 1, 2, 3, 4, 5, 6, 7};
	static const uint8_t ct[31] = {0x58, 0x8c, 0x97, 0x9a, 0x61, 0xc6, 0x63, 0xd2,
	                               0xf0, 0x66, 0xd0, 0xc2, 0xc0, 0xf9, 0x89, 0x80,
	                               0x6d, 0x5f, 0x6b, 0x61, 0xda, 0xc3, 0x84, 0x17,
	                               0xe8, 0xd1, 0x2c, 0xfd, 0xf9, 0x26, 0xe0};
	uint8_t pt[23], out[40];
	struct key key;
	struct aead_case c = {.key = &key,
	                      .alg = aead_alg(PSA_AEAD_CCM, 8),
	                      .nonce = nonce,
	                      .nonce_len = 13,
	                      .ad = ad,
	                      .ad_len = 8,
	                      .set_lengths = true};

	for (int i = 0; i < 23; i++)
		pt[i] = (uint8_t)(8 + i);
	make_key(&key, PSA_KT_AES, 128, 0);
	memcpy(key.mat, k, 16);
	cr_assert_eq(mp_aead_encrypt(&c, pt, 23, CH_BYTES, out), 31);
	cr_assert_arr_eq(out, ct, 31);
}

Test(sw_multipart, ccm_needs_lengths_first_and_data_that_matches_them)
{
	struct key key;
	struct psa_alg alg = aead_alg(PSA_AEAD_CCM, 0);
	uint8_t nonce[13] = {0}, buf[32] = {0}, *r = NULL, *tag = NULL;
	size_t rl = 0, tl = 0;
	void *st = NULL;

	make_key(&key, PSA_KT_AES, 128, 1);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 6), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 14), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 13), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 13), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 4, &r, &rl), TS_E_PSA_BAD_STATE,
	             "CCM: AD before the lengths");
	cr_assert_eq(sw_mp_update(ctx, st, false, buf, 4, &r, &rl), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_E_PSA_BAD_STATE);
	/* A 13-byte nonce leaves 2 bytes for the length. */
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 4, 65536), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 4, 8), TS_OK);
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 4, 8), TS_E_PSA_BAD_STATE);
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 5, &r, &rl), TS_E_PSA_INVALID_ARGUMENT,
	             "more AD than declared");
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 2, &r, &rl), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, buf, 2, &r, &rl), TS_E_PSA_INVALID_ARGUMENT,
	             "text before all the AD");
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 2, &r, &rl), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, buf, 3, &r, &rl), TS_OK);
	free(r);
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 0, &r, &rl), TS_E_PSA_BAD_STATE,
	             "AD after text");
	cr_assert_eq(sw_mp_update(ctx, st, false, buf, 6, &r, &rl), TS_E_PSA_INVALID_ARGUMENT,
	             "more text than declared");
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_E_PSA_INVALID_ARGUMENT,
	             "3 of 8 bytes of text");
	sw_mp_free(ctx, st);
	/* An 8-byte nonce: lengths over 2^56 do not fit. */
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 0, (uint64_t)1 << 56), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 8), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 7), TS_OK);
	sw_mp_free(ctx, st);
}

Test(sw_multipart, aead_state_and_argument_rules)
{
	struct key key;
	struct psa_alg alg = aead_alg(PSA_AEAD_GCM, 0);
	uint8_t nonce[12] = {0}, buf[32] = {0}, *r = NULL, *tag = NULL;
	size_t rl = 0, tl = 0;
	void *st = NULL, *cl = NULL;

	make_key(&key, PSA_KT_AES, 256, 1);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 4, &r, &rl), TS_E_PSA_BAD_STATE, "no nonce");
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 0), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 12), TS_OK);
	cr_assert_eq(sw_mp_update(ctx, st, false, buf, 4, &r, &rl), TS_OK);
	free(r);
	cr_assert_eq(sw_mp_update(ctx, st, true, buf, 4, &r, &rl), TS_E_PSA_BAD_STATE,
	             "AD after text");
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 0, 4), TS_E_PSA_BAD_STATE, "lengths after text");
	cr_assert_eq(sw_mp_verify(ctx, st, buf, 16, &r, &rl), TS_E_PSA_BAD_STATE,
	             "verify on encryption");
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_OK);
	cr_assert_eq(tl, 16);
	free(tag);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_E_PSA_BAD_STATE);
	sw_mp_free(ctx, st);
	/* GCM with lengths: the data must match them. */
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_DECRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 12), TS_OK);
	cr_assert_eq(sw_mp_set_lengths(ctx, st, 1, 1), TS_OK);
	cr_assert_eq(sw_mp_finish(ctx, st, &r, &rl, &tag, &tl), TS_E_PSA_BAD_STATE,
	             "finish on decryption");
	cr_assert_eq(sw_mp_verify(ctx, st, buf, 16, &r, &rl), TS_E_PSA_INVALID_ARGUMENT);
	sw_mp_free(ctx, st);
	/* A wrong tag length verifies nothing. */
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_DECRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 12), TS_OK);
	cr_assert_eq(sw_mp_verify(ctx, st, buf, 15, &r, &rl), TS_E_PSA_INVALID_SIGNATURE);
	sw_mp_free(ctx, st);
	/* Tag lengths and nonces PSA does not allow (GCM: 4, 8, 12..16 only);
	 * keys with no such AEAD. */
	for (uint32_t t = 1; t <= 17; t++) {
		bool allowed = t == 4 || t == 8 || (t >= 12 && t <= 16);
		uint8_t *one = NULL;
		size_t one_len = 0;

		alg.length = t;
		cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st),
		             allowed ? TS_OK : TS_E_PSA_INVALID_ARGUMENT, "GCM tag of %u", t);
		if (allowed)
			sw_mp_free(ctx, st);
		cr_assert_eq(prov_software_ops.aead(ctx, &key.k, &alg, true, nonce, 12, NULL, 0,
		                                    buf, 4, &one, &one_len),
		             allowed ? TS_OK : TS_E_PSA_INVALID_ARGUMENT, "one-shot GCM tag of %u",
		             t);
		free(one);
	}
	alg = aead_alg(PSA_AEAD_CCM, 5);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	alg = aead_alg(PSA_AEAD_CHACHA20_POLY1305, 0);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st),
	             TS_E_PSA_NOT_SUPPORTED);
	make_key(&key, PSA_KT_CHACHA20, 256, 1);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st), TS_OK);
	cr_assert_eq(sw_mp_set_iv(ctx, st, nonce, 8), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(sw_mp_clone(ctx, st, &cl), TS_E_PSA_NOT_SUPPORTED);
	sw_mp_free(ctx, st);
	alg.length = 12;
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st),
	             TS_E_PSA_INVALID_ARGUMENT);
	make_key(&key, PSA_KT_CAMELLIA, 128, 1);
	alg = aead_alg(PSA_AEAD_GCM, 0);
	cr_assert_eq(sw_mp_setup(ctx, PROV_MP_AEAD_ENCRYPT, &key.k, &alg, &st),
	             TS_E_PSA_NOT_SUPPORTED);
}

/* Past 255 counter blocks the CCM counter carries into its next byte. */
Test(sw_multipart, ccm_long_text_carries_the_counter)
{
	static uint8_t msg[9000], got[9000 + 16];
	uint8_t nonce[13], ad[300];
	struct key key;

	fill(msg, sizeof(msg), 1);
	fill(ad, sizeof(ad), 2);
	fill(nonce, sizeof(nonce), 3);
	make_key(&key, PSA_KT_AES, 256, 4);
	for (size_t n = 7; n <= 13; n += 3) {
		struct aead_case c = {.key = &key,
		                      .alg = aead_alg(PSA_AEAD_CCM, 12),
		                      .nonce = nonce,
		                      .nonce_len = n,
		                      .ad = ad,
		                      .ad_len = sizeof(ad),
		                      .set_lengths = true};
		uint8_t *one = NULL;
		size_t one_len = 0;

		cr_assert_eq(sw_aead(ctx, &key.attrs, key.mat, 32, &c.alg, true, nonce, n, ad,
		                     sizeof(ad), msg, sizeof(msg), &one, &one_len),
		             TS_OK);
		cr_assert_eq(mp_aead_encrypt(&c, msg, sizeof(msg), CH_ODD, got), one_len);
		cr_assert_arr_eq(got, one, one_len, "nonce %zu", n);
		cr_assert_eq(mp_aead_decrypt(&c, one, one_len, 12, CH_BLOCKS, got), TS_OK);
		cr_assert_arr_eq(got, msg, sizeof(msg));
		free(one);
	}
}

Test(sw_multipart, provider_table_offers_the_hooks)
{
	const struct prov_ops *o = &prov_software_ops;

	cr_assert(o->mp_setup && o->mp_set_iv && o->mp_set_lengths && o->mp_update &&
	          o->mp_finish && o->mp_verify && o->mp_clone && o->mp_free);
	cr_assert(o->kdf_setup && o->kdf_input && o->kdf_input_key && o->kdf_input_integer &&
	          o->kdf_output && o->kdf_free);
}
