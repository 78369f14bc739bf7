/*
 * The software provider, on OpenSSL 3. It takes Parsec's "Mbed Crypto" slot
 * (ID 1) so that Parsec clients, which reject IDs they do not know, can use it.
 */
#include "providers/software/software-priv.h"

#include <stdio.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static enum ts_err sw_generate_random(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	while (len > 0) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;

		if (RAND_bytes(out, chunk) != 1)
			return TS_E_PSA_INSUFFICIENT_ENTROPY;
		out += chunk;
		len -= (size_t)chunk;
	}
	return TS_OK;
}

static const char *hash_name(enum prov_hash alg)
{
	switch (alg) {
	case PROV_HASH_MD5:
		return "MD5";
	case PROV_HASH_RIPEMD160:
		return "RIPEMD160";
	case PROV_HASH_SHA_1:
		return "SHA1";
	case PROV_HASH_SHA_224:
		return "SHA224";
	case PROV_HASH_SHA_256:
		return "SHA256";
	case PROV_HASH_SHA_384:
		return "SHA384";
	case PROV_HASH_SHA_512:
		return "SHA512";
	case PROV_HASH_SHA_512_224:
		return "SHA512-224";
	case PROV_HASH_SHA_512_256:
		return "SHA512-256";
	case PROV_HASH_SHA3_224:
		return "SHA3-224";
	case PROV_HASH_SHA3_256:
		return "SHA3-256";
	case PROV_HASH_SHA3_384:
		return "SHA3-384";
	case PROV_HASH_SHA3_512:
		return "SHA3-512";
	default:
		return NULL; /* MD2, MD4: OpenSSL 3 has them only in the legacy provider */
	}
}

static enum ts_err sw_hash_compute(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                                   uint8_t *out, size_t outsize, size_t *ret_len)
{
	const char *name = hash_name(alg);
	EVP_MD *md = NULL;
	unsigned int n = 0;
	enum ts_err err = TS_E_PSA_NOT_SUPPORTED;

	(void)ctx;
	if (name == NULL)
		goto out;
	md = EVP_MD_fetch(NULL, name, NULL);
	if (md == NULL)
		goto out;
	err = TS_E_PSA_BUFFER_TOO_SMALL;
	if ((size_t)EVP_MD_get_size(md) > outsize)
		goto out;
	err = TS_E_PSA_GENERIC_ERROR;
	if (EVP_Digest(in, len, out, &n, md, NULL) != 1)
		goto out;
	*ret_len = n;
	err = TS_OK;
out:
	EVP_MD_free(md);
	return err;
}

/* ---- interface v2 adapters: the OpenSSL code takes attributes and material ---- */

static enum ts_err sw_check_settings(const char *settings, const char *path, char *err,
                                     size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(settings, 0, &jerr);
	const char *key;
	json_t *v;
	enum ts_err rc = TS_OK;

	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "%s: settings are not a JSON object", path);
		json_decref(o);
		return TS_E_CONFIG;
	}
	/* The software provider has nothing to set. */
	json_object_foreach(o, key, v)
	{
		(void)v;
		snprintf(err, errlen,
		         "%s.%.64s: unknown key (the Software provider takes no settings)", path,
		         key);
		rc = TS_E_CONFIG;
		break;
	}
	json_decref(o);
	return rc;
}

static enum ts_err sw_start(const char *settings, const char *path, void **ret_ctx, char *err,
                            size_t errlen)
{
	enum ts_err rc;

	(void)settings; /* checked already (prov_ops.init's contract): there are none */
	rc = sw_init(ret_ctx);
	if (rc != TS_OK)
		snprintf(err, errlen, "%s: %s", path, ts_strerror(rc));
	return rc;
}

/* Everything here computes in process; only RSA private-key and
 * finite-field Diffie-Hellman operations take milliseconds. */
static bool sw_is_short(void *ctx, uint32_t opcode, const struct psa_attrs *a)
{
	(void)ctx;
	(void)opcode;
	return a == NULL || (a->type != PSA_KT_RSA_PAIR && a->type != PSA_KT_DH_PAIR);
}

static enum ts_err a_generate(void *ctx, const struct prov_key *k, uint8_t **ret_mat,
                              size_t *ret_len)
{
	return sw_generate_key(ctx, k->attrs, ret_mat, ret_len);
}

static enum ts_err a_import(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                            uint8_t **ret_mat, size_t *ret_len, uint32_t *ret_bits)
{
	return sw_import_key(ctx, k->attrs, data, len, ret_mat, ret_len, ret_bits);
}

static enum ts_err a_export(void *ctx, const struct prov_key *k, uint8_t **ret, size_t *ret_len)
{
	return sw_export_key(ctx, k->attrs, k->material, k->material_len, ret, ret_len);
}

static enum ts_err a_export_public(void *ctx, const struct prov_key *k, uint8_t **ret,
                                   size_t *ret_len)
{
	return sw_export_public_key(ctx, k->attrs, k->material, k->material_len, ret, ret_len);
}

static enum ts_err a_destroy(void *ctx, const struct prov_key *k)
{
	return sw_destroy_key(ctx, k->attrs, k->material, k->material_len);
}

static void a_recover(void *ctx, const struct prov_key *k)
{
	if (k->material_len > 0)
		(void)sw_destroy_key(ctx, k->attrs, k->material, k->material_len);
}

static enum ts_err a_sign(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret_sig, size_t *ret_len)
{
	return sw_sign_hash(ctx, k->attrs, k->material, k->material_len, alg, hash, hash_len,
	                    ret_sig, ret_len);
}

static enum ts_err a_verify(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len)
{
	return sw_verify_hash(ctx, k->attrs, k->material, k->material_len, alg, hash, hash_len, sig,
	                      sig_len);
}

static enum ts_err a_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          bool encrypt, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t **ret,
                          size_t *ret_len)
{
	return sw_aead(ctx, k->attrs, k->material, k->material_len, alg, encrypt, nonce, nonce_len,
	               ad, ad_len, in, in_len, ret, ret_len);
}

static enum ts_err a_cipher(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            bool encrypt, const uint8_t *in, size_t in_len, uint8_t **ret,
                            size_t *ret_len)
{
	return sw_cipher(ctx, k->attrs, k->material, k->material_len, alg, encrypt, in, in_len, ret,
	                 ret_len);
}

static enum ts_err a_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                         const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	return sw_mac(ctx, k->attrs, k->material, k->material_len, alg, in, in_len, ret, ret_len);
}

static enum ts_err a_asym(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                          size_t label_len, uint8_t **ret, size_t *ret_len)
{
	return sw_asym_crypt(ctx, k->attrs, k->material, k->material_len, alg, encrypt, in, in_len,
	                     label, label_len, ret, ret_len);
}

static enum ts_err a_agree(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           const uint8_t *peer, size_t peer_len, uint8_t **ret, size_t *ret_len)
{
	return sw_key_agreement(ctx, k->attrs, k->material, k->material_len, alg, peer, peer_len,
	                        ret, ret_len);
}

const struct prov_ops prov_software_ops = {
        .type = "Software",
        .id = 1,
        .uuid = "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
        .description = "Software provider: PSA Crypto on OpenSSL 3",
        .vendor = "Tessera",
        .version_maj = 0,
        .version_min = 2,
        .version_rev = 0,
        .check_settings = sw_check_settings,
        .init = sw_start,
        .fini = sw_fini,
        .is_short = sw_is_short,
        .recover_key = a_recover,
        .generate_random = sw_generate_random,
        .hash_compute = sw_hash_compute,
        .generate_key = a_generate,
        .import_key = a_import,
        .export_key = a_export,
        .export_public_key = a_export_public,
        .destroy_key = a_destroy,
        .sign_hash = a_sign,
        .verify_hash = a_verify,
        .aead = a_aead,
        .cipher = a_cipher,
        .mac = a_mac,
        .asym_crypt = a_asym,
        .key_agreement = a_agree,
        .can_do = sw_can_do,
        .mp_setup = sw_mp_setup,
        .mp_set_iv = sw_mp_set_iv,
        .mp_set_lengths = sw_mp_set_lengths,
        .mp_update = sw_mp_update,
        .mp_finish = sw_mp_finish,
        .mp_verify = sw_mp_verify,
        .mp_clone = sw_mp_clone,
        .mp_free = sw_mp_free,
        .kdf_setup = sw_kdf_setup,
        .kdf_input = sw_kdf_input,
        .kdf_input_key = sw_kdf_input_key,
        .kdf_input_integer = sw_kdf_input_integer,
        .kdf_output = sw_kdf_output,
        .kdf_free = sw_kdf_free,
};
