/*
 * Parsec's TPM provider keys (parsec src/providers/tpm/, tss-esapi 7.7's
 * TransientKeyContext). Parsec stores per key a bincode PasswordContext:
 *
 *   context       TpmsContext: sequence u64, saved_handle u32, hierarchy u32,
 *                 context_blob (u64 length + bytes); all zero/empty since
 *                 Parsec stores wrapped blobs rather than saved contexts
 *   auth_value    u64 length + the key's userAuth (32 random bytes)
 *   key_material  public: PublicKey, a u32 variant: 0 Rsa(modulus),
 *                 1 Ecc{x, y} (each u64 length + bytes); private: u64
 *                 length + the TPM2B_PRIVATE's buffer (empty: a public key)
 *
 * Only the unique part of the public area is stored: Parsec rebuilds the
 * whole TPMT_PUBLIC from the PSA attributes on every use, and so does this
 * file, bit for bit, so that TPM2_Load finds the Name the private part is
 * bound to.
 */
#include "migrate/tpm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "common/secmem.h"
#include "migrate/bincode.h"

/* The whole bincode Attributes, for the types and algorithms Parsec's TPM
 * provider takes (RSA and ECC keys; asymmetric signature and encryption). */
static int decode_attrs(const uint8_t *p, size_t len, struct mig_psa_attrs *a, char *why,
                        size_t whylen)
{
	static const uint32_t usage_bits[] = {0x0001, 0x0002, 0x0004, 0x0100, 0x0200,
	                                      0x0400, 0x0800, 0x1000, 0x2000, 0x4000};
	struct mig_bc r = {.p = p, .len = len};
	uint64_t lifetime, type, family = 0, bits, cls, kind;
	unsigned h = 0;

	memset(a, 0, sizeof(*a));
	lifetime = mig_bc_n(&r, 4);
	if (lifetime == 2)
		(void)mig_bc_n(&r, 4);
	type = mig_bc_n(&r, 4);
	if (type == 10 || type == 11)
		family = mig_bc_n(&r, 4);
	bits = mig_bc_n(&r, 8);
	for (size_t i = 0; i < sizeof(usage_bits) / sizeof(usage_bits[0]); i++) {
		uint64_t b = mig_bc_n(&r, 1);

		if (b > 1)
			r.bad = true;
		if (b == 1)
			a->usage |= usage_bits[i];
	}
	cls = mig_bc_n(&r, 4);
	kind = mig_bc_n(&r, 4);
	if (r.bad || lifetime > 2) {
		snprintf(why, whylen, "TPM key: its mapping's attributes do not decode");
		return -1;
	}
	switch (type) {
	case 8:
		a->type = 0x4001;
		break;
	case 9:
		a->type = 0x7001;
		break;
	case 10:
	case 11:
		if (family != 1) {
			snprintf(why, whylen,
			         "TPM key: ECC family variant %llu (Parsec's TPM "
			         "provider has SECP_R1 only)",
			         (unsigned long long)family);
			return -1;
		}
		a->type = type == 10 ? 0x7112 : 0x4112;
		break;
	default:
		snprintf(why, whylen, "TPM key: key type variant %llu is not an RSA or ECC key",
		         (unsigned long long)type);
		return -1;
	}
	if (bits == 0 || bits > 4096) {
		snprintf(why, whylen, "TPM key: a size of %llu bits", (unsigned long long)bits);
		return -1;
	}
	a->bits = (uint16_t)bits;
	a->lifetime = 1;
	if (cls == 5 && (kind == 0 || kind == 2 || kind == 3 || kind == 5)) {
		static const uint32_t base[] = {0x06000200, 0, 0x06000300,
		                                0x06000600, 0, 0x06000700};

		h = mig_bc_sign_hash(&r);
		a->alg = base[kind] | h;
	} else if (cls == 5 && (kind == 1 || kind == 4)) {
		a->alg = kind == 1 ? 0x06000200 : 0x06000600;
		h = 0xff; /* no hash to check */
	} else if (cls == 6 && kind == 0) {
		a->alg = 0x07000200;
		h = 0xff;
	} else if (cls == 6 && kind == 1) {
		h = mig_bc_hash(mig_bc_n(&r, 4));
		a->alg = 0x07000300 | h;
	} else {
		snprintf(why, whylen,
		         "TPM key: algorithm variant %llu.%llu is not one Parsec's TPM provider "
		         "makes keys for",
		         (unsigned long long)cls, (unsigned long long)kind);
		return -1;
	}
	if (r.bad || h == 0 || r.off != r.len) {
		snprintf(why, whylen, "TPM key: its mapping's algorithm does not decode");
		return -1;
	}
	return 0;
}

/* ---- the public area, as tss-esapi's get_public_from_params builds it ---- */

static TPMI_ALG_HASH tpm_hash_of(unsigned h)
{
	switch (h) {
	case 0x05:
		return TPM2_ALG_SHA1;
	case 0x09:
		return TPM2_ALG_SHA256;
	case 0x0a:
		return TPM2_ALG_SHA384;
	case 0x0b:
		return TPM2_ALG_SHA512;
	case 0x11:
		return TPM2_ALG_SHA3_256;
	case 0x12:
		return TPM2_ALG_SHA3_384;
	case 0x13:
		return TPM2_ALG_SHA3_512;
	}
	return TPM2_ALG_ERROR;
}

static int rebuild(const struct mig_psa_attrs *a, bool rsa, const uint8_t *n, size_t n_len,
                   const uint8_t *x, size_t x_len, const uint8_t *y, size_t y_len,
                   TPM2B_PUBLIC *ret, char *why, size_t whylen)
{
	TPMT_PUBLIC *p = &ret->publicArea;
	unsigned h = a->alg & 0xff;
	uint32_t kind = a->alg & 0xffffff00;
	bool encrypt = (a->alg >> 24) == 0x07;
	TPMI_ALG_HASH th = tpm_hash_of(h);

	memset(ret, 0, sizeof(*ret));
	if (rsa != ((a->type & 0xff00) == 0x7000 || a->type == 0x4001)) {
		snprintf(why, whylen, "TPM key: its public part is not the mapping's key type");
		return -1;
	}
	/* Parsec refuses "any hash", raw PKCS#1, ecdsa_any and deterministic
	 * ECDSA for TPM keys: it cannot have made one. */
	if ((!encrypt || kind == 0x07000300) && th == TPM2_ALG_ERROR) {
		snprintf(why, whylen,
		         "TPM key: algorithm 0x%08x is not one Parsec's TPM provider "
		         "makes keys for",
		         a->alg);
		return -1;
	}
	p->nameAlg = TPM2_ALG_SHA256;
	p->objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
	                      TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
	                      TPMA_OBJECT_SIGN_ENCRYPT | (encrypt ? TPMA_OBJECT_DECRYPT : 0);
	if (rsa) {
		if ((kind != 0x06000200 && kind != 0x06000300 && !encrypt) ||
		    n_len != a->bits / 8u || n_len > sizeof(p->unique.rsa.buffer)) {
			snprintf(
			        why, whylen,
			        "TPM key: an RSA key of %zu bytes for %u bits and algorithm 0x%08x",
			        n_len, (unsigned)a->bits, a->alg);
			return -1;
		}
		p->type = TPM2_ALG_RSA;
		p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.rsaDetail.scheme.scheme = encrypt              ? TPM2_ALG_NULL
		                                        : kind == 0x06000200 ? TPM2_ALG_RSASSA
		                                                             : TPM2_ALG_RSAPSS;
		if (!encrypt)
			p->parameters.rsaDetail.scheme.details.anySig.hashAlg = th;
		p->parameters.rsaDetail.keyBits = a->bits;
		p->parameters.rsaDetail.exponent = 0;
		p->unique.rsa.size = (uint16_t)n_len;
		memcpy(p->unique.rsa.buffer, n, n_len);
	} else {
		static const struct {
			uint16_t bits;
			TPMI_ECC_CURVE curve;
		} curves[] = {{192, TPM2_ECC_NIST_P192},
		              {224, TPM2_ECC_NIST_P224},
		              {256, TPM2_ECC_NIST_P256},
		              {384, TPM2_ECC_NIST_P384},
		              {521, TPM2_ECC_NIST_P521}};
		TPMI_ECC_CURVE curve = TPM2_ECC_NONE;

		for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
			if (curves[i].bits == a->bits)
				curve = curves[i].curve;
		if (curve == TPM2_ECC_NONE || kind != 0x06000600 ||
		    x_len > sizeof(p->unique.ecc.x.buffer) ||
		    y_len > sizeof(p->unique.ecc.y.buffer)) {
			snprintf(why, whylen, "TPM key: an ECC key of %u bits and algorithm 0x%08x",
			         (unsigned)a->bits, a->alg);
			return -1;
		}
		p->type = TPM2_ALG_ECC;
		p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
		p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
		p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = th;
		p->parameters.eccDetail.curveID = curve;
		p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		p->unique.ecc.x.size = (uint16_t)x_len;
		memcpy(p->unique.ecc.x.buffer, x, x_len);
		p->unique.ecc.y.size = (uint16_t)y_len;
		memcpy(p->unique.ecc.y.buffer, y, y_len);
	}
	return 0;
}

int mig_tpm_convert(const struct mig_entry *m, struct mig_psa_attrs *ret_attrs,
                    uint8_t **ret_native, size_t *ret_len, char *why, size_t whylen)
{
	struct mig_bc r = {.p = m->key_id, .len = m->key_id_len};
	const uint8_t *auth, *n = NULL, *x = NULL, *y = NULL, *priv;
	size_t auth_len, n_len = 0, x_len = 0, y_len = 0, priv_len, ctx_len, off = 0, cap;
	struct mig_psa_attrs a;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE tpriv;
	uint64_t variant;
	uint8_t *out = NULL;
	int ret = -1;

	memset(&tpriv, 0, sizeof(tpriv));
	if (decode_attrs(m->kim_attrs_raw, m->kim_attrs_raw_len, &a, why, whylen) < 0)
		return -1;
	(void)mig_bc_n(&r, 8); /* context: sequence */
	(void)mig_bc_n(&r, 4); /* saved handle */
	(void)mig_bc_n(&r, 4); /* hierarchy */
	(void)mig_bc_bytes(&r, &ctx_len);
	auth = mig_bc_bytes(&r, &auth_len);
	if (!r.bad && r.off == r.len) {
		snprintf(why, whylen,
		         "TPM key in an older Parsec's format (a saved context of %zu bytes, which "
		         "a TPM reset invalidates): use it once with Parsec 1.x, which rewrites it "
		         "as a wrapped key, then migrate",
		         ctx_len);
		return -1;
	}
	variant = mig_bc_n(&r, 4);
	if (variant == 0) {
		n = mig_bc_bytes(&r, &n_len);
	} else if (variant == 1) {
		x = mig_bc_bytes(&r, &x_len);
		y = mig_bc_bytes(&r, &y_len);
	} else {
		r.bad = true;
	}
	priv = mig_bc_bytes(&r, &priv_len);
	if (r.bad || r.off != r.len || auth_len > sizeof(((TPM2B_AUTH *)0)->buffer) ||
	    priv_len > sizeof(tpriv.buffer)) {
		snprintf(why, whylen,
		         "TPM key: its reference (%zu bytes) is not a PasswordContext "
		         "as Parsec writes it",
		         m->key_id_len);
		return -1;
	}
	if (((a.type & 0xff00) == 0x7000 || (a.type & 0xff00) == 0x7100) != (priv_len > 0)) {
		snprintf(why, whylen, "%s",
		         priv_len > 0 ? "TPM key: a public key with a private part"
		                      : "TPM key: a key pair without its private part");
		return -1;
	}
	if (rebuild(&a, variant == 0, n, n_len, x, x_len, y, y_len, &pub, why, whylen) < 0)
		return -1;
	tpriv.size = (uint16_t)priv_len;
	if (priv_len > 0)
		memcpy(tpriv.buffer, priv, priv_len);
	cap = sizeof(pub) + sizeof(tpriv) + auth_len;
	out = malloc(cap);
	if (out == NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, out, cap, &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(&tpriv, out, cap, &off) != TSS2_RC_SUCCESS) {
		snprintf(why, whylen, "TPM key: its public area does not marshal");
		goto out;
	}
	if (auth_len > 0)
		memcpy(out + off, auth, auth_len);
	off += auth_len;
	*ret_attrs = a;
	*ret_native = out;
	*ret_len = off;
	out = NULL;
	ret = 0;
out:
	if (out != NULL)
		ts_free_secret(out, cap);
	ts_wipe(&tpriv, sizeof(tpriv));
	return ret;
}
