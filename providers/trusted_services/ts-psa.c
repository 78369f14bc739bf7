/* Raw PSA encodings of key types, usage flags and algorithms. */
#include "providers/trusted_services/ts-psa.h"

#include <string.h>

/* Our hash values (1 MD2 .. 15 SHA3-512) → the low byte of PSA_ALG_xxx. */
static const uint8_t hash_bytes[PSA_HASH_MAX + 1] = {
        [1] = 0x01,  [2] = 0x02,  [3] = 0x03,  [4] = 0x04,  [5] = 0x05,
        [6] = 0x08,  [7] = 0x09,  [8] = 0x0a,  [9] = 0x0b,  [10] = 0x0c,
        [11] = 0x0d, [12] = 0x10, [13] = 0x11, [14] = 0x12, [15] = 0x13,
};

/* Our ECC families (enum psa_ecc_family) → PSA_ECC_FAMILY_xxx. */
static const uint8_t ecc_families[PSA_ECC_MONTGOMERY + 1] = {
        [PSA_ECC_SECP_K1] = 0x17, [PSA_ECC_SECP_R1] = 0x12,        [PSA_ECC_SECP_R2] = 0x1b,
        [PSA_ECC_SECT_K1] = 0x27, [PSA_ECC_SECT_R1] = 0x22,        [PSA_ECC_SECT_R2] = 0x2b,
        [PSA_ECC_FRP] = 0x33,     [PSA_ECC_BRAINPOOL_P_R1] = 0x30, [PSA_ECC_MONTGOMERY] = 0x41,
};

/* Our cipher values (the Cipher enum, 1..8) → PSA_ALG_xxx. */
static const uint32_t ciphers[9] = {
        [1] = 0x04800100u, [2] = 0x04c01000u, [3] = 0x04c01100u, [4] = 0x04c01200u,
        [5] = 0x0440ff00u, [6] = 0x04404400u, [7] = 0x04404000u, [8] = 0x04404100u,
};

static enum ts_err hash_of(unsigned h, bool any, uint32_t *ret)
{
	if (any) {
		*ret = 0xff;
		return TS_OK;
	}
	if (h == 0 || h > PSA_HASH_MAX || hash_bytes[h] == 0)
		return TS_E_PSA_NOT_SUPPORTED;
	*ret = hash_bytes[h];
	return TS_OK;
}

enum ts_err tsp_key_type(const struct psa_attrs *a, uint32_t *ret)
{
	uint32_t t;

	switch (a->type) {
	case PSA_KT_RAW_DATA:
		t = 0x1001;
		break;
	case PSA_KT_HMAC:
		t = 0x1100;
		break;
	case PSA_KT_DERIVE:
		t = 0x1200;
		break;
	case PSA_KT_AES:
		t = 0x2400;
		break;
	case PSA_KT_DES:
		t = 0x2301;
		break;
	case PSA_KT_CAMELLIA:
		t = 0x2403;
		break;
	case PSA_KT_CHACHA20:
		t = 0x2004;
		break;
	case PSA_KT_RSA_PUBLIC:
		t = TSP_KEY_TYPE_RSA_PUBLIC;
		break;
	case PSA_KT_RSA_PAIR:
		t = TSP_KEY_TYPE_RSA_PAIR;
		break;
	case PSA_KT_ECC_PAIR:
	case PSA_KT_ECC_PUBLIC:
		if (a->family > PSA_ECC_MONTGOMERY || ecc_families[a->family] == 0)
			return TS_E_PSA_NOT_SUPPORTED;
		t = (a->type == PSA_KT_ECC_PAIR ? TSP_KEY_TYPE_ECC_PAIR : TSP_KEY_TYPE_ECC_PUBLIC) |
		    ecc_families[a->family];
		break;
	case PSA_KT_DH_PAIR:
	case PSA_KT_DH_PUBLIC:
		if (a->family != 0) /* only RFC 7919's groups */
			return TS_E_PSA_NOT_SUPPORTED;
		t = (a->type == PSA_KT_DH_PAIR ? 0x7200u : 0x4200u) | 0x03u;
		break;
	default:
		return TS_E_PSA_NOT_SUPPORTED; /* ARC4 */
	}
	*ret = t;
	return TS_OK;
}

/* HKDF, the TLS 1.2 PRF and PSK-to-MS: 0x080001hh, 0x080002hh, 0x080003hh. */
static enum ts_err kdf_value(uint8_t kind, uint8_t hash, uint32_t *ret)
{
	uint32_t h = 0;
	enum ts_err err;

	if (kind < 1 || kind > 3)
		return TS_E_PSA_NOT_SUPPORTED;
	err = hash_of(hash, false, &h);
	if (err == TS_OK)
		*ret = 0x08000000u | (uint32_t)kind << 8 | h;
	return err;
}

enum ts_err tsp_alg(const struct psa_alg *alg, uint32_t *ret)
{
	uint32_t v = 0, h = 0;
	enum ts_err err = TS_OK;

	switch (alg->cls) {
	case PSA_AC_NONE:
		v = 0;
		break;
	case PSA_AC_HASH:
		err = hash_of(alg->kind, false, &h);
		v = 0x02000000u | h;
		break;
	case PSA_AC_SIGN:
		if (alg->kind != PSA_SIGN_RSA_PKCS1V15_RAW && alg->kind != PSA_SIGN_ECDSA_ANY)
			err = hash_of(alg->hash, alg->hash_any, &h);
		switch (alg->kind) {
		case PSA_SIGN_RSA_PKCS1V15:
		case PSA_SIGN_RSA_PKCS1V15_RAW:
			v = 0x06000200u | h;
			break;
		case PSA_SIGN_RSA_PSS:
			v = 0x06000300u | h;
			break;
		case PSA_SIGN_ECDSA:
		case PSA_SIGN_ECDSA_ANY:
			v = 0x06000600u | h;
			break;
		case PSA_SIGN_DETERMINISTIC_ECDSA:
			v = 0x06000700u | h;
			break;
		default:
			err = TS_E_PSA_NOT_SUPPORTED;
		}
		break;
	case PSA_AC_ASYM_ENC:
		if (alg->kind == PSA_ENC_RSA_PKCS1V15) {
			v = 0x07000200u;
		} else if (alg->kind == PSA_ENC_RSA_OAEP) {
			err = hash_of(alg->hash, false, &h);
			v = 0x07000300u | h;
		} else {
			err = TS_E_PSA_NOT_SUPPORTED;
		}
		break;
	case PSA_AC_MAC:
		if (alg->kind == PSA_MAC_HMAC) {
			err = hash_of(alg->hash, false, &h);
			v = 0x03800000u | h;
		} else if (alg->kind == PSA_MAC_CBC_MAC) {
			v = 0x03c00100u;
		} else if (alg->kind == PSA_MAC_CMAC) {
			v = 0x03c00200u;
		} else {
			err = TS_E_PSA_NOT_SUPPORTED;
		}
		if (alg->length > 0x3f)
			err = TS_E_PSA_NOT_SUPPORTED;
		v |= alg->length << 16;
		break;
	case PSA_AC_CIPHER:
		if (alg->kind == 0 || alg->kind > 8)
			return TS_E_PSA_NOT_SUPPORTED;
		v = ciphers[alg->kind];
		break;
	case PSA_AC_AEAD:
		if (alg->kind == PSA_AEAD_CCM)
			v = 0x05500100u;
		else if (alg->kind == PSA_AEAD_GCM)
			v = 0x05500200u;
		else if (alg->kind == PSA_AEAD_CHACHA20_POLY1305)
			v = 0x05100500u;
		else
			err = TS_E_PSA_NOT_SUPPORTED;
		if (alg->length > 0x3f)
			err = TS_E_PSA_NOT_SUPPORTED;
		else if (alg->length != 0)
			v = (v & ~0x003f0000u) | alg->length << 16;
		break;
	case PSA_AC_KEY_AGREEMENT:
		/* The agreement's value, or'ed with its KDF's when one follows:
		 * ECDH with HKDF-SHA-256 is 0x09020000 | 0x08000109. */
		if (alg->kind == PSA_KA_ECDH)
			v = 0x09020000u;
		else if (alg->kind == PSA_KA_FFDH)
			v = 0x09010000u;
		else
			err = TS_E_PSA_NOT_SUPPORTED;
		if (err == TS_OK && alg->kdf != 0) {
			err = kdf_value(alg->kdf, alg->kdf_hash, &h);
			v |= h;
		}
		break;
	case PSA_AC_KDF:
		err = kdf_value(alg->kind, alg->hash, &v);
		break;
	default:
		err = TS_E_PSA_NOT_SUPPORTED;
	}
	if (err == TS_OK)
		*ret = v;
	return err;
}

static const struct {
	uint32_t ours, psa;
} usages[] = {
        {PSA_USAGE_EXPORT, 0x0001},         {PSA_USAGE_COPY, 0x0002},
        {PSA_USAGE_CACHE, 0x0004},          {PSA_USAGE_ENCRYPT, 0x0100},
        {PSA_USAGE_DECRYPT, 0x0200},        {PSA_USAGE_SIGN_MESSAGE, 0x0400},
        {PSA_USAGE_VERIFY_MESSAGE, 0x0800}, {PSA_USAGE_SIGN_HASH, 0x1000},
        {PSA_USAGE_VERIFY_HASH, 0x2000},    {PSA_USAGE_DERIVE, 0x4000},
};

uint32_t tsp_usage(uint32_t usage)
{
	uint32_t v = 0;

	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (usage & usages[i].ours)
			v |= usages[i].psa;
	return v;
}

/* The partition's usage for a key: the client's, and the hash usage with a
 * message one. The daemon signs and verifies messages by hashing them and
 * sending SIGN_HASH / VERIFY_HASH (the partition's SIGN_MESSAGE takes 64
 * bytes at most), which Mbed TLS refuses for a key that permits only the
 * message usage; the client's own policy is the daemon's to check, before
 * any call. */
static uint32_t partition_usage(uint32_t usage)
{
	uint32_t v = tsp_usage(usage);

	if (v & 0x0400u)
		v |= 0x1000u;
	if (v & 0x0800u)
		v |= 0x2000u;
	return v;
}

enum ts_err tsp_attrs(const struct psa_attrs *a, uint32_t id, struct tsc_attrs *ret)
{
	struct tsc_attrs t = {.bits = a->bits,
	                      .lifetime = TSC_LIFETIME_PERSISTENT,
	                      .id = id,
	                      .usage = partition_usage(a->usage)};
	enum ts_err err = tsp_key_type(a, &t.type);

	if (err == TS_OK)
		err = tsp_alg(&a->alg, &t.alg);
	if (err == TS_OK)
		*ret = t;
	return err;
}

/* ---- the reverse, for the test endpoint ---- */

static enum ts_err hash_back(uint32_t b, uint8_t *ret_hash, bool *ret_any)
{
	*ret_any = b == 0xff;
	*ret_hash = 0;
	if (*ret_any)
		return TS_OK;
	for (unsigned h = 1; h <= PSA_HASH_MAX; h++)
		if (hash_bytes[h] == b) {
			*ret_hash = (uint8_t)h;
			return TS_OK;
		}
	return TS_E_PSA_NOT_SUPPORTED;
}

enum ts_err tsp_alg_back(uint32_t alg, struct psa_alg *ret)
{
	struct psa_alg a = {0};
	uint32_t base = alg & 0xffffff00u, low = alg & 0xffu;
	enum ts_err err = TS_OK;

	if (alg == 0) {
		a.cls = PSA_AC_NONE;
	} else if (base == 0x06000200u || base == 0x06000300u || base == 0x06000600u ||
	           base == 0x06000700u) {
		a.cls = PSA_AC_SIGN;
		if (base == 0x06000200u)
			a.kind = low == 0 ? PSA_SIGN_RSA_PKCS1V15_RAW : PSA_SIGN_RSA_PKCS1V15;
		else if (base == 0x06000300u)
			a.kind = PSA_SIGN_RSA_PSS;
		else if (base == 0x06000600u)
			a.kind = low == 0 ? PSA_SIGN_ECDSA_ANY : PSA_SIGN_ECDSA;
		else
			a.kind = PSA_SIGN_DETERMINISTIC_ECDSA;
		if (low != 0)
			err = hash_back(low, &a.hash, &a.hash_any);
		else if (base == 0x06000300u || base == 0x06000700u)
			err = TS_E_PSA_NOT_SUPPORTED;
	} else if ((alg & 0xffff0000u) == 0x09020000u || (alg & 0xffff0000u) == 0x09010000u) {
		a.cls = PSA_AC_KEY_AGREEMENT;
		a.kind = (alg & 0xffff0000u) == 0x09020000u ? PSA_KA_ECDH : PSA_KA_FFDH;
		if ((alg & 0xffffu) != 0) {
			struct psa_alg k = {0};

			/* The KDF that follows: the low half with the KDF class. */
			err = tsp_alg_back(0x08000000u | (alg & 0xffffu), &k);
			if (err == TS_OK && k.cls != PSA_AC_KDF)
				err = TS_E_PSA_NOT_SUPPORTED;
			a.kdf = k.kind;
			a.kdf_hash = k.hash;
		}
	} else if (base == 0x08000100u || base == 0x08000200u || base == 0x08000300u) {
		bool any;

		a.cls = PSA_AC_KDF;
		a.kind = (uint8_t)((alg >> 8) & 0xffu);
		err = hash_back(low, &a.hash, &any);
		if (err == TS_OK && any)
			err = TS_E_PSA_NOT_SUPPORTED;
	} else if (alg == 0x07000200u) {
		a.cls = PSA_AC_ASYM_ENC;
		a.kind = PSA_ENC_RSA_PKCS1V15;
	} else if (base == 0x07000300u) {
		bool any;

		a.cls = PSA_AC_ASYM_ENC;
		a.kind = PSA_ENC_RSA_OAEP;
		err = hash_back(low, &a.hash, &any);
		if (err == TS_OK && any)
			err = TS_E_PSA_NOT_SUPPORTED;
	} else if ((alg & 0xffc0ff00u) == 0x03800000u) {
		a.cls = PSA_AC_MAC;
		a.kind = PSA_MAC_HMAC;
		a.length = (alg >> 16) & 0x3fu;
		err = hash_back(low, &a.hash, &a.hash_any);
	} else if ((alg & 0xffc0ffffu) == 0x03c00200u || (alg & 0xffc0ffffu) == 0x03c00100u) {
		a.cls = PSA_AC_MAC;
		a.kind = (alg & 0xffu) == 0 && (alg & 0xff00u) == 0x0200u ? PSA_MAC_CMAC
		                                                          : PSA_MAC_CBC_MAC;
		a.length = (alg >> 16) & 0x3fu;
	} else if ((alg & 0xffc0ffffu) == 0x05400100u || (alg & 0xffc0ffffu) == 0x05400200u ||
	           (alg & 0xffc0ffffu) == 0x05000500u) {
		uint32_t base_aead = alg & 0xffc0ffffu, tag = (alg >> 16) & 0x3fu;

		a.cls = PSA_AC_AEAD;
		a.kind = base_aead == 0x05400100u   ? PSA_AEAD_CCM
		         : base_aead == 0x05400200u ? PSA_AEAD_GCM
		                                    : PSA_AEAD_CHACHA20_POLY1305;
		a.length = tag == 16 ? 0 : tag;
	} else {
		err = TS_E_PSA_NOT_SUPPORTED;
		for (uint8_t m = 1; m <= 8; m++)
			if (ciphers[m] == alg) {
				a.cls = PSA_AC_CIPHER;
				a.kind = m;
				err = TS_OK;
			}
	}
	if (err == TS_OK)
		*ret = a;
	return err;
}

enum ts_err tsp_attrs_back(const struct tsc_attrs *t, struct psa_attrs *ret)
{
	struct psa_attrs a = {.bits = t->bits};
	enum ts_err err;

	if (t->type == TSP_KEY_TYPE_RSA_PAIR) {
		a.type = PSA_KT_RSA_PAIR;
	} else if (t->type == TSP_KEY_TYPE_RSA_PUBLIC) {
		a.type = PSA_KT_RSA_PUBLIC;
	} else if ((t->type & 0xff00u) == TSP_KEY_TYPE_ECC_PAIR ||
	           (t->type & 0xff00u) == TSP_KEY_TYPE_ECC_PUBLIC) {
		a.type = (t->type & 0xff00u) == TSP_KEY_TYPE_ECC_PAIR ? PSA_KT_ECC_PAIR
		                                                      : PSA_KT_ECC_PUBLIC;
		for (uint8_t f = 1; f <= PSA_ECC_MONTGOMERY; f++)
			if (ecc_families[f] == (t->type & 0xffu))
				a.family = f;
		if (a.family == 0)
			return TS_E_PSA_NOT_SUPPORTED;
	} else if (t->type == 0x2400u) {
		a.type = PSA_KT_AES;
	} else if (t->type == 0x2004u) {
		a.type = PSA_KT_CHACHA20;
	} else if (t->type == 0x1100u) {
		a.type = PSA_KT_HMAC;
	} else if (t->type == 0x1200u) {
		a.type = PSA_KT_DERIVE;
	} else if (t->type == 0x1001u) {
		a.type = PSA_KT_RAW_DATA;
	} else {
		return TS_E_PSA_NOT_SUPPORTED;
	}
	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (t->usage & usages[i].psa)
			a.usage |= usages[i].ours;
	err = tsp_alg_back(t->alg, &a.alg);
	if (err == TS_OK)
		*ret = a;
	return err;
}
