/*
 * The software provider, on OpenSSL 3. It takes Parsec's "Mbed Crypto" slot
 * (ID 1) so that Parsec clients, which reject IDs they do not know, can use it.
 */
#include "providers/software/software-priv.h"

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

const struct prov_ops prov_software_ops = {
        .id = 1,
        .uuid = "1c1139dc-ad7c-47dc-ad6b-db6fdb466552",
        .description = "Software provider: PSA Crypto on OpenSSL 3",
        .vendor = "Tessera",
        .version_maj = 0,
        .version_min = 1,
        .version_rev = 0,
        .runs_on_loop = true,
        .generate_random = sw_generate_random,
        .hash_compute = sw_hash_compute,
        .generate_key = sw_generate_key,
        .import_key = sw_import_key,
        .export_key = sw_export_key,
        .export_public_key = sw_export_public_key,
        .sign_hash = sw_sign_hash,
        .verify_hash = sw_verify_hash,
        .aead = sw_aead,
        .cipher = sw_cipher,
        .mac = sw_mac,
        .asym_crypt = sw_asym_crypt,
        .key_agreement = sw_key_agreement,
        .can_do = sw_can_do,
        .init = sw_init,
        .fini = sw_fini,
        .destroy_key = sw_destroy_key,
};
