/*
 * The test endpoint's cipher, MAC and AEAD families: multipart operations
 * on OpenSSL's streaming interfaces, in pools of 10 per family where a full
 * pool silently recycles the least recently allocated context (the
 * service's behaviour). OpenSSL does not stream CCM: AES-CCM runs on the
 * software provider's own streaming CCM (its sw_mp_* hooks), as Mbed TLS
 * streams it in the service.
 */
#include "tsfake-priv.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/secmem.h"

static void fop_clear(struct fop *o)
{
	if (o->ccm != NULL)
		sw_mp_free(NULL, o->ccm);
	EVP_CIPHER_CTX_free(o->cctx);
	EVP_MAC_CTX_free(o->mctx);
	OPENSSL_cleanse(o, sizeof(*o));
}

void tsfake_multipart_free(struct tsfake *f)
{
	for (int fam = 0; fam < 3; fam++)
		for (int i = 0; i < POOL; i++)
			if (f->ops[fam][i].used)
				fop_clear(&f->ops[fam][i]);
}

static struct fop *fop_new(struct tsfake *f, int fam)
{
	struct fop *pick = NULL;

	for (int i = 0; i < POOL && pick == NULL; i++)
		if (!f->ops[fam][i].used)
			pick = &f->ops[fam][i];
	if (pick == NULL) { /* recycle the oldest, as the service does */
		pick = &f->ops[fam][0];
		for (int i = 1; i < POOL; i++)
			if (f->ops[fam][i].seq < pick->seq)
				pick = &f->ops[fam][i];
		fop_clear(pick);
	}
	pick->used = true;
	pick->handle = ++f->next_handle;
	pick->seq = ++f->seq;
	return pick;
}

static struct fop *fop_of(struct call *c, int fam)
{
	uint32_t h;

	if (!tsfake_u32_at(c, 0, &h))
		return NULL;
	for (int i = 0; i < POOL; i++)
		if (c->f->ops[fam][i].used && c->f->ops[fam][i].handle == h)
			return &c->f->ops[fam][i];
	c->service = TSC_PSA_ERROR_BAD_STATE;
	return NULL;
}

static const char *mode_name(unsigned kind)
{
	static const char *const names[9] = {
	        [2] = "CTR", [3] = "CFB", [4] = "OFB", [6] = "ECB", [7] = "CBC", [8] = "CBC"};

	return kind < 9 ? names[kind] : NULL;
}

static EVP_CIPHER *cipher_of(const struct fop *o, bool aead)
{
	char name[32];

	if (o->type == PSA_KT_CHACHA20)
		return EVP_CIPHER_fetch(NULL, aead ? "ChaCha20-Poly1305" : "ChaCha20", NULL);
	if (o->type != PSA_KT_AES)
		return NULL;
	if (aead) {
		if (o->alg.kind != PSA_AEAD_GCM)
			return NULL;
		snprintf(name, sizeof(name), "AES-%zu-GCM", o->key_len * 8);
	} else {
		if (mode_name(o->alg.kind) == NULL)
			return NULL;
		snprintf(name, sizeof(name), "AES-%zu-%s", o->key_len * 8, mode_name(o->alg.kind));
	}
	return EVP_CIPHER_fetch(NULL, name, NULL);
}

static const char *digest_name(unsigned hash)
{
	const EVP_MD *md = sw_md(hash);

	return md != NULL ? EVP_MD_get0_name(md) : NULL;
}

/* ---- AES-CCM on the software provider's streaming code ---- */

static bool ccm_setup(struct call *c, struct fop *o, const struct fkey *k)
{
	struct prov_key pk = {.attrs = &k->a, .material = k->mat, .material_len = k->mat_len};
	enum ts_err err;

	err = sw_mp_setup(NULL, o->encrypt ? PROV_MP_AEAD_ENCRYPT : PROV_MP_AEAD_DECRYPT, &pk,
	                  &o->alg, &o->ccm);
	if (err != TS_OK) {
		o->ccm = NULL;
		tsfake_set_err(c, err);
		return false;
	}
	return true;
}

/* FINISH: T1 the last ciphertext (none: CCM's update gives every byte), T2 the tag. */
static void ccm_finish(struct call *c, struct fop *o)
{
	uint8_t *out = NULL, *tag = NULL;
	size_t out_len = 0, tag_len = 0;
	struct tsc_writer w;
	enum ts_err err = sw_mp_finish(NULL, o->ccm, &out, &out_len, &tag, &tag_len);

	if (err != TS_OK) {
		tsfake_set_err(c, err);
		return;
	}
	tsc_w_init(&w, c->buf, c->cap);
	tsc_w_tlv(&w, TSC_TAG_1, out != NULL ? out : (const uint8_t *)"", out_len);
	tsc_w_tlv(&w, TSC_TAG_2, tag, tag_len);
	if (tsc_w_finish(&w, &c->resp_len) != 0)
		c->rpc = TSC_RPC_INTERNAL;
	ts_free_secret(out, out_len);
	ts_free_secret(tag, tag_len);
}

/* The AEAD steps of a CCM operation; the operation ends at finish, verify
 * and abort (and on a failed finish or verify, as in the service). */
static void ccm_step(struct call *c, struct fop *o, uint32_t opcode)
{
	const uint8_t *in;
	size_t in_len, out_len = 0;
	uint8_t *out = NULL;
	uint32_t ad, text;
	enum ts_err err = TS_OK;
	bool done = false;

	switch (opcode) {
	case TSC_OP_AEAD_SET_LENGTHS:
		if (tsfake_u32_at(c, 4, &ad) && tsfake_u32_at(c, 8, &text))
			err = sw_mp_set_lengths(NULL, o->ccm, ad, text);
		break;
	case TSC_OP_AEAD_SET_NONCE:
		if (tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			err = sw_mp_set_iv(NULL, o->ccm, in, in_len);
		break;
	case TSC_OP_AEAD_UPDATE_AD:
	case TSC_OP_AEAD_UPDATE:
		if (!tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			break;
		err = sw_mp_update(NULL, o->ccm, opcode == TSC_OP_AEAD_UPDATE_AD, in, in_len, &out,
		                   &out_len);
		if (err == TS_OK && opcode == TSC_OP_AEAD_UPDATE)
			tsfake_answer_data(c, out != NULL ? out : (const uint8_t *)"", out_len);
		ts_free_secret(out, out_len);
		break;
	case TSC_OP_AEAD_FINISH:
		if (!o->encrypt)
			c->service = TSC_PSA_ERROR_BAD_STATE;
		else
			ccm_finish(c, o);
		done = true;
		break;
	case TSC_OP_AEAD_VERIFY:
		if (o->encrypt) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
		} else if (tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len)) {
			err = sw_mp_verify(NULL, o->ccm, in, in_len, &out, &out_len);
			if (err == TS_OK)
				tsfake_answer_data(c, out != NULL ? out : (const uint8_t *)"",
				                   out_len);
			ts_free_secret(out, out_len);
		}
		done = true;
		break;
	case TSC_OP_AEAD_ABORT:
		done = true;
		break;
	default:
		c->rpc = TSC_RPC_INVALID_VALUE; /* GENERATE_NONCE: not used by the provider */
	}
	if (err != TS_OK)
		tsfake_set_err(c, err);
	if (done)
		fop_clear(o);
}

/* Setup: key, policy, context. */
static void op_setup(struct call *c, int fam, bool encrypt)
{
	struct fkey *k = tsfake_key_of(c, NULL);
	uint32_t raw_alg, need;
	struct psa_alg alg;
	struct fop *o;
	EVP_CIPHER *ciph = NULL;

	if (k == NULL || !tsfake_u32_at(c, 4, &raw_alg))
		return;
	if (fam == FOP_MAC)
		need = encrypt ? 0x0400u : 0x0800u;
	else
		need = encrypt ? 0x0100u : 0x0200u;
	if (!(k->raw.usage & need) || !tsfake_alg_permitted(k, raw_alg)) {
		c->service = TSC_PSA_ERROR_NOT_PERMITTED;
		return;
	}
	if (tsp_alg_back(raw_alg, &alg) != 0 ||
	    alg.cls != (fam == FOP_MAC    ? PSA_AC_MAC
	                : fam == FOP_AEAD ? PSA_AC_AEAD
	                                  : PSA_AC_CIPHER) ||
	    k->mat_len > sizeof(o->key)) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	/* Mbed TLS refuses at setup a tag length PSA does not allow. */
	if (fam == FOP_AEAD &&
	    !psa_aead_tag_length_valid(alg.kind, alg.length != 0 ? alg.length : 16)) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return;
	}
	o = fop_new(c->f, fam);
	o->encrypt = encrypt;
	o->alg = alg;
	o->type = k->a.type;
	memcpy(o->key, k->mat, k->mat_len);
	o->key_len = k->mat_len;
	if (fam == FOP_AEAD && alg.kind == PSA_AEAD_CCM) {
		if (ccm_setup(c, o, k))
			tsfake_answer_id(c, o->handle);
		else
			fop_clear(o);
		return;
	}
	if (fam == FOP_MAC) {
		OSSL_PARAM params[2];
		EVP_MAC *mac =
		        EVP_MAC_fetch(NULL, alg.kind == PSA_MAC_HMAC ? "HMAC" : "CMAC", NULL);
		char cname[32];
		const char *dn = digest_name(alg.hash);

		if (alg.kind == PSA_MAC_HMAC && dn != NULL && k->a.type == PSA_KT_HMAC) {
			params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			                                             (char *)dn, 0);
		} else if (alg.kind == PSA_MAC_CMAC && k->a.type == PSA_KT_AES) {
			snprintf(cname, sizeof(cname), "AES-%zu-CBC", o->key_len * 8);
			params[0] =
			        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cname, 0);
		} else {
			EVP_MAC_free(mac);
			fop_clear(o);
			c->service = TSC_PSA_ERROR_NOT_SUPPORTED;
			return;
		}
		params[1] = OSSL_PARAM_construct_end();
		o->mctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		if (o->mctx == NULL || EVP_MAC_init(o->mctx, o->key, o->key_len, params) != 1) {
			fop_clear(o);
			c->service = TSC_PSA_ERROR_GENERIC;
			return;
		}
	} else {
		ciph = cipher_of(o, fam == FOP_AEAD);
		o->cctx = EVP_CIPHER_CTX_new();
		if (ciph == NULL || o->cctx == NULL ||
		    EVP_CipherInit_ex2(o->cctx, ciph, NULL, NULL, encrypt ? 1 : 0, NULL) != 1) {
			EVP_CIPHER_free(ciph);
			fop_clear(o);
			c->service = TSC_PSA_ERROR_NOT_SUPPORTED;
			return;
		}
		EVP_CIPHER_free(ciph);
		if (fam == FOP_CIPHER)
			EVP_CIPHER_CTX_set_padding(o->cctx, alg.kind == 8 ? 1 : 0);
		o->tag_len = alg.length != 0 ? alg.length : 16;
		if (fam == FOP_CIPHER && alg.kind == 6) { /* ECB: no IV */
			if (EVP_CipherInit_ex2(o->cctx, NULL, o->key, NULL, -1, NULL) != 1) {
				fop_clear(o);
				c->service = TSC_PSA_ERROR_GENERIC;
				return;
			}
			o->iv_set = true;
		}
	}
	tsfake_answer_id(c, o->handle);
}

static bool set_iv(struct call *c, struct fop *o, const uint8_t *iv, size_t len, bool aead)
{
	uint8_t iv16[16];
	OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
	size_t ivlen = len;

	if (o->iv_set) {
		c->service = TSC_PSA_ERROR_BAD_STATE;
		return false;
	}
	if (!aead && o->type == PSA_KT_CHACHA20) {
		/* PSA's 12-byte nonce, counter 0; OpenSSL takes counter || nonce. */
		if (len != 12) {
			c->service = TSC_PSA_ERROR_INVALID_ARG;
			return false;
		}
		memset(iv16, 0, 4);
		memcpy(iv16 + 4, iv, 12);
		iv = iv16;
	} else if (!aead && len != 16) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return false;
	} else if (aead) {
		if (len == 0 || len > 64 || (o->type == PSA_KT_CHACHA20 && len != 12)) {
			c->service = TSC_PSA_ERROR_INVALID_ARG;
			return false;
		}
		params[0] = OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen);
	}
	if (EVP_CipherInit_ex2(o->cctx, NULL, o->key, iv, -1, aead ? params : NULL) != 1) {
		c->service = TSC_PSA_ERROR_INVALID_ARG;
		return false;
	}
	o->iv_set = true;
	return true;
}

static void free_op(struct fop *o)
{
	fop_clear(o);
}

/* The service gives an update's output the input's length rounded up to a
 * block (Mbed TLS's PSA_CIPHER_UPDATE_OUTPUT_MAX_SIZE), and Mbed TLS answers
 * BUFFER_TOO_SMALL when the block-mode input it holds plus this input make
 * more whole blocks than that; a CBC-PKCS7 decryption holds its last whole
 * block back, so whole blocks after whole blocks do not fit. */
static bool update_fits(struct fop *o, size_t in_len)
{
	size_t held = (size_t)(o->fed % 16);

	if (o->alg.kind == 2 || o->alg.kind == 3 || o->alg.kind == 4 || o->type == PSA_KT_CHACHA20)
		return true; /* CTR, CFB, OFB and ChaCha20 are stream ciphers there */
	if (o->alg.kind == 8 && !o->encrypt && o->fed > 0 && held == 0)
		held = 16;
	if ((held + in_len) / 16 * 16 > (in_len + 15) / 16 * 16)
		return false;
	o->fed += in_len;
	return true;
}

static void cipher_step(struct call *c, uint32_t opcode)
{
	struct fop *o = fop_of(c, FOP_CIPHER);
	const uint8_t *in;
	size_t in_len;
	uint8_t iv[16], *out;
	int outl = 0;

	if (o == NULL)
		return;
	switch (opcode) {
	case TSC_OP_CIPHER_GENERATE_IV: {
		size_t n = o->type == PSA_KT_CHACHA20 ? 12 : 16;

		if (!o->encrypt || RAND_bytes(iv, (int)n) != 1) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
			return;
		}
		if (set_iv(c, o, iv, n, false))
			tsfake_answer_data(c, iv, n);
		return;
	}
	case TSC_OP_CIPHER_SET_IV:
		if (tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			(void)set_iv(c, o, in, in_len, false);
		return;
	case TSC_OP_CIPHER_UPDATE:
	case TSC_OP_CIPHER_FINISH:
		if (!o->iv_set) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
			return;
		}
		if (opcode == TSC_OP_CIPHER_UPDATE && !tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			return;
		if (opcode == TSC_OP_CIPHER_FINISH)
			in_len = 0;
		if (opcode == TSC_OP_CIPHER_UPDATE && !update_fits(o, in_len)) {
			c->service = TSC_PSA_ERROR_BUFFER_SMALL;
			return;
		}
		out = malloc(in_len + 32);
		if (out == NULL) {
			c->rpc = TSC_RPC_RESOURCE_FAILURE;
			return;
		}
		if ((opcode == TSC_OP_CIPHER_UPDATE &&
		     EVP_CipherUpdate(o->cctx, out, &outl, in, (int)in_len) != 1) ||
		    (opcode == TSC_OP_CIPHER_FINISH &&
		     EVP_CipherFinal_ex(o->cctx, out, &outl) != 1))
			c->service =
			        opcode != TSC_OP_CIPHER_FINISH ? TSC_PSA_ERROR_GENERIC
			        /* a partial block without padding (ECB, CBC): Mbed TLS's answer */
			        : o->alg.kind == 6 || o->alg.kind == 7
			                ? TSC_PSA_ERROR_INVALID_ARG
			                : TSC_PSA_ERROR_INVALID_PADDING;
		else
			tsfake_answer_data(c, out, (size_t)outl);
		OPENSSL_cleanse(out, in_len + 32);
		free(out);
		if (opcode == TSC_OP_CIPHER_FINISH)
			free_op(o);
		return;
	case TSC_OP_CIPHER_ABORT:
		free_op(o);
		return;
	default:
		c->rpc = TSC_RPC_INVALID_VALUE;
	}
}

static void mac_step(struct call *c, uint32_t opcode)
{
	struct fop *o = fop_of(c, FOP_MAC);
	const uint8_t *in;
	size_t in_len, n = 0;
	uint8_t mac[64];

	if (o == NULL)
		return;
	switch (opcode) {
	case TSC_OP_MAC_UPDATE:
		if (tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len) &&
		    EVP_MAC_update(o->mctx, in, in_len) != 1)
			c->service = TSC_PSA_ERROR_GENERIC;
		return;
	case TSC_OP_MAC_SIGN_FINISH:
	case TSC_OP_MAC_VERIFY_FINISH:
		if ((opcode == TSC_OP_MAC_SIGN_FINISH) != o->encrypt) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
			return;
		}
		if (EVP_MAC_final(o->mctx, mac, &n, sizeof(mac)) != 1) {
			c->service = TSC_PSA_ERROR_GENERIC;
		} else {
			if (o->alg.length != 0 && o->alg.length < n)
				n = o->alg.length;
			if (opcode == TSC_OP_MAC_SIGN_FINISH)
				tsfake_answer_data(c, mac, n);
			else if (!tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
				; /* c->rpc set */
			else if (in_len != n || CRYPTO_memcmp(in, mac, n) != 0)
				c->service = TSC_PSA_ERROR_INVALID_SIG;
		}
		OPENSSL_cleanse(mac, sizeof(mac));
		free_op(o);
		return;
	case TSC_OP_MAC_ABORT:
		free_op(o);
		return;
	default:
		c->rpc = TSC_RPC_INVALID_VALUE;
	}
}

static void aead_step(struct call *c, uint32_t opcode)
{
	struct fop *o = fop_of(c, FOP_AEAD);
	const uint8_t *in;
	size_t in_len;
	uint8_t *out, tag[16];
	int outl = 0;

	if (o == NULL)
		return;
	if (o->ccm != NULL) {
		ccm_step(c, o, opcode);
		return;
	}
	switch (opcode) {
	case TSC_OP_AEAD_SET_LENGTHS: {
		uint32_t ad, text;

		/* Only CCM needs them (ccm_step). */
		(void)(tsfake_u32_at(c, 4, &ad) && tsfake_u32_at(c, 8, &text));
		return;
	}
	case TSC_OP_AEAD_SET_NONCE:
		if (tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			(void)set_iv(c, o, in, in_len, true);
		return;
	case TSC_OP_AEAD_UPDATE_AD:
	case TSC_OP_AEAD_UPDATE:
		if (!o->iv_set) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
			return;
		}
		if (!tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len))
			return;
		if (opcode == TSC_OP_AEAD_UPDATE_AD) {
			if (in_len > 0 &&
			    EVP_CipherUpdate(o->cctx, NULL, &outl, in, (int)in_len) != 1)
				c->service = TSC_PSA_ERROR_GENERIC;
			return;
		}
		out = malloc(in_len + 16);
		if (out == NULL) {
			c->rpc = TSC_RPC_RESOURCE_FAILURE;
			return;
		}
		if (EVP_CipherUpdate(o->cctx, out, &outl, in, (int)in_len) != 1)
			c->service = TSC_PSA_ERROR_GENERIC;
		else
			tsfake_answer_data(c, out, (size_t)outl);
		OPENSSL_cleanse(out, in_len + 16);
		free(out);
		return;
	case TSC_OP_AEAD_FINISH:
	case TSC_OP_AEAD_VERIFY: {
		uint8_t last[16];
		struct tsc_writer w;

		if (!o->iv_set || (opcode == TSC_OP_AEAD_FINISH) != o->encrypt || o->tag_len > 16) {
			c->service = TSC_PSA_ERROR_BAD_STATE;
			free_op(o);
			return;
		}
		if (opcode == TSC_OP_AEAD_VERIFY) {
			if (!tsfake_tlv(c, 4, TSC_TAG_1, &in, &in_len)) {
				free_op(o);
				return;
			}
			if (in_len != o->tag_len ||
			    EVP_CIPHER_CTX_ctrl(o->cctx, EVP_CTRL_AEAD_SET_TAG, (int)in_len,
			                        (void *)in) != 1 ||
			    EVP_CipherFinal_ex(o->cctx, last, &outl) != 1)
				c->service = TSC_PSA_ERROR_INVALID_SIG;
			else
				tsfake_answer_data(c, last, (size_t)outl);
		} else if (EVP_CipherFinal_ex(o->cctx, last, &outl) != 1 ||
		           EVP_CIPHER_CTX_ctrl(o->cctx, EVP_CTRL_AEAD_GET_TAG, (int)o->tag_len,
		                               tag) != 1) {
			c->service = TSC_PSA_ERROR_GENERIC;
		} else {
			tsc_w_init(&w, c->buf, c->cap);
			tsc_w_tlv(&w, TSC_TAG_1, last, (size_t)outl);
			tsc_w_tlv(&w, TSC_TAG_2, tag, o->tag_len);
			if (tsc_w_finish(&w, &c->resp_len) != 0)
				c->rpc = TSC_RPC_INTERNAL;
		}
		free_op(o);
		return;
	}
	case TSC_OP_AEAD_ABORT:
		free_op(o);
		return;
	default:
		c->rpc = TSC_RPC_INVALID_VALUE; /* GENERATE_NONCE: not used by the provider */
	}
}

bool tsfake_multipart(struct call *c, uint32_t opcode)
{
	switch (opcode) {
	case TSC_OP_CIPHER_ENCRYPT_SETUP:
	case TSC_OP_CIPHER_DECRYPT_SETUP:
		op_setup(c, FOP_CIPHER, opcode == TSC_OP_CIPHER_ENCRYPT_SETUP);
		return true;
	case TSC_OP_MAC_SIGN_SETUP:
	case TSC_OP_MAC_VERIFY_SETUP:
		op_setup(c, FOP_MAC, opcode == TSC_OP_MAC_SIGN_SETUP);
		return true;
	case TSC_OP_AEAD_ENCRYPT_SETUP:
	case TSC_OP_AEAD_DECRYPT_SETUP:
		op_setup(c, FOP_AEAD, opcode == TSC_OP_AEAD_ENCRYPT_SETUP);
		return true;
	default:
		break;
	}
	if (opcode > TSC_OP_CIPHER_ENCRYPT_SETUP && opcode <= TSC_OP_CIPHER_ABORT)
		cipher_step(c, opcode);
	else if (opcode > TSC_OP_MAC_VERIFY_SETUP && opcode <= TSC_OP_MAC_ABORT)
		mac_step(c, opcode);
	else if (opcode > TSC_OP_AEAD_DECRYPT_SETUP && opcode <= TSC_OP_AEAD_ABORT)
		aead_step(c, opcode);
	else
		return false;
	return true;
}
