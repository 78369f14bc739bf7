/*
 * Adopting keys that live on a PKCS#11 token (pkcs11.h): Parsec's PKCS#11
 * mappings (CKA_ID = the u32 key ID big-endian, policy in the mapping's
 * bincode attributes) and keys an administrator provisioned.
 */
#include "migrate/pkcs11.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/errors.h"
#include "migrate/bincode.h"
#include "migrate/psamap.h"
#include "providers/pkcs11/pkcs11-adopt.h"
#include "wire/psa.h"

/* PSA usage flags. */
#define U_EXPORT      0x0001u
#define U_COPY        0x0002u
#define U_CACHE       0x0004u
#define U_ENCRYPT     0x0100u
#define U_DECRYPT     0x0200u
#define U_SIGN_MSG    0x0400u
#define U_VERIFY_MSG  0x0800u
#define U_SIGN_HASH   0x1000u
#define U_VERIFY_HASH 0x2000u
#define U_DERIVE      0x4000u

int mig_p11_open(struct mig_p11 *t, const struct ts_config *cfg)
{
	const struct cfg_provider *p = NULL;
	char path[32], err[512];

	if (t->tried)
		return t->ctx != NULL ? 0 : -1;
	t->tried = true;
	for (size_t i = 0; i < cfg->n_providers && p == NULL; i++) {
		const struct cfg_provider *c = &cfg->providers[i];

		if (c->provider_id == CFG_PROVIDER_PKCS11 &&
		    (t->want == NULL || strcmp(t->want, c->name) == 0)) {
			p = c;
			snprintf(path, sizeof(path), "providers[%zu]", i);
		}
	}
	if (p == NULL) {
		if (t->want != NULL)
			snprintf(t->err, sizeof(t->err),
			         "--pkcs11-instance %s: no Pkcs11 provider of that name in the "
			         "configuration",
			         t->want);
		else
			snprintf(t->err, sizeof(t->err),
			         "the configuration has no Pkcs11 provider for PKCS#11 keys");
		t->none = t->want == NULL;
		return -1;
	}
	t->instance = p->name;
	t->ops = prov_find(CFG_PROVIDER_PKCS11);
	if (t->ops == NULL || t->ops->init == NULL) {
		snprintf(t->err, sizeof(t->err), "this build has no PKCS#11 provider");
		return -1;
	}
	if ((t->ops->check_settings != NULL &&
	     t->ops->check_settings(p->settings, path, err, sizeof(err)) != TS_OK) ||
	    t->ops->init(p->settings, path, &t->ctx, err, sizeof(err)) != TS_OK) {
		t->ctx = NULL;
		snprintf(t->err, sizeof(t->err), "PKCS#11 instance \"%s\": %s", p->name, err);
		return -1;
	}
	return 0;
}

void mig_p11_close(struct mig_p11 *t)
{
	if (t->ctx != NULL && t->ops->fini != NULL)
		t->ops->fini(t->ctx);
	t->ctx = NULL;
}

/* ---- Parsec's bincode attributes, whole ---- */

/* A SignHash that must name a hash or "any" (anything else is a bad
 * mapping). */
static uint32_t sign_hash(struct mig_bc *r)
{
	unsigned h = mig_bc_sign_hash(r);

	r->bad = r->bad || h == 0;
	return h;
}

/* The PSA attributes of a Parsec PKCS#11 key from its mapping: type
 * (RSA or SECP-R1), bits, usage and the one algorithm. */
static int kim_policy(const struct mig_entry *m, struct mig_psa_attrs *a, char *why, size_t whylen)
{
	struct mig_bc r = {.p = m->kim_attrs_raw, .len = m->kim_attrs_raw_len};
	static const uint32_t flags[] = {U_EXPORT,      U_COPY,     U_CACHE,      U_ENCRYPT,
	                                 U_DECRYPT,     U_SIGN_MSG, U_VERIFY_MSG, U_SIGN_HASH,
	                                 U_VERIFY_HASH, U_DERIVE};
	uint32_t lifetime, type, family = 0, alg_v, sub, h;

	memset(a, 0, sizeof(*a));
	a->lifetime = 1;
	lifetime = (uint32_t)mig_bc_n(&r, 4);
	if (lifetime == 2)
		(void)mig_bc_n(&r, 4);
	type = (uint32_t)mig_bc_n(&r, 4);
	if (type == 10 || type == 11)
		family = (uint32_t)mig_bc_n(&r, 4);
	a->bits = (uint16_t)mig_bc_n(&r, 8);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (mig_bc_n(&r, 1) != 0)
			a->usage |= flags[i];
	alg_v = (uint32_t)mig_bc_n(&r, 4);
	if (r.bad || m->kim_attrs_raw == NULL) {
		snprintf(why, whylen, "the mapping's attributes do not decode");
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
			         "an ECC key of family variant %u (Parsec's PKCS#11 "
			         "provider makes SECP-R1 keys only)",
			         family);
			return -1;
		}
		a->type = type == 10 ? 0x7112 : 0x4112;
		break;
	default:
		snprintf(why, whylen,
		         "key type variant %u is no PKCS#11 key of Parsec's (RSA or "
		         "ECC)",
		         type);
		return -1;
	}
	switch (alg_v) {
	case 0: /* None */
		break;
	case 5: /* AsymmetricSignature */
		sub = (uint32_t)mig_bc_n(&r, 4);
		switch (sub) {
		case 0: /* RsaPkcs1v15Sign */
			a->alg = 0x06000200 | sign_hash(&r);
			break;
		case 1: /* RsaPkcs1v15SignRaw */
			a->alg = 0x06000200;
			break;
		case 2: /* RsaPss */
			a->alg = 0x06000300 | sign_hash(&r);
			break;
		case 3: /* Ecdsa */
			a->alg = 0x06000600 | sign_hash(&r);
			break;
		case 4: /* EcdsaAny */
			a->alg = 0x06000600;
			break;
		case 5: /* DeterministicEcdsa */
			a->alg = 0x06000700 | sign_hash(&r);
			break;
		default:
			r.bad = true;
		}
		break;
	case 6: /* AsymmetricEncryption */
		sub = (uint32_t)mig_bc_n(&r, 4);
		if (sub == 0) {
			a->alg = 0x07000200;
		} else if (sub == 1) {
			h = mig_bc_hash(mig_bc_n(&r, 4));
			a->alg = h != 0 ? 0x07000300 | h : 0;
			r.bad = r.bad || h == 0;
		} else {
			r.bad = true;
		}
		break;
	default:
		snprintf(why, whylen,
		         "permitted-algorithm variant %u is none Parsec's PKCS#11 provider uses",
		         alg_v);
		return -1;
	}
	if (r.bad) {
		snprintf(why, whylen, "the mapping's algorithm does not decode");
		return -1;
	}
	return 0;
}

static const char *type_name(uint16_t t)
{
	switch (t) {
	case 0x7001:
		return "RSA key pair";
	case 0x4001:
		return "RSA public key";
	case 0x7112:
		return "ECC key pair SECP_R1";
	case 0x4112:
		return "ECC public key SECP_R1";
	case 0x2400:
		return "AES";
	case 0x1100:
		return "HMAC";
	}
	return "unknown";
}

static void hex(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= outlen; i++)
		o += (size_t)snprintf(out + o, outlen - o, "%02x", p[i]);
}

/* attrs as the key store keeps them, checked by Tessera's own decoder. */
static int pack(const struct mig_psa_attrs *a, uint8_t **ret, size_t *ret_len, char *why,
                size_t whylen)
{
	struct psa_attrs pa;
	enum ts_err err;

	if (mig_psa_to_pb(a, a->bits, ret, ret_len, why, whylen) < 0)
		return -1;
	err = psa_attrs_unpack(*ret, *ret_len, &pa);
	if (err != TS_OK) {
		snprintf(why, whylen, "attributes Tessera does not take (%s)", ts_strerror(err));
		free(*ret);
		*ret = NULL;
		return -1;
	}
	return 0;
}

/* Who else holds the objects (a record of the instance with the same
 * reference): one object shared by two tenants would be destroyed by
 * either. */
struct holder {
	const struct ks_key_id *self;
	const uint8_t *ref;
	size_t ref_len;
	char *who;
	size_t wholen;
	bool found;
};

static int holder_cb(void *ctx, const struct ks_key_id *id, const uint8_t *ref, size_t ref_len,
                     const uint8_t *attrs, size_t attrs_len)
{
	struct holder *h = ctx;

	(void)attrs;
	(void)attrs_len;
	if (ref_len != h->ref_len || memcmp(ref, h->ref, ref_len) != 0)
		return 0;
	if (id->auth_type == h->self->auth_type && strcmp(id->app, h->self->app) == 0 &&
	    strcmp(id->name, h->self->name) == 0)
		return 0;
	snprintf(h->who, h->wholen,
	         "the token's objects are already Tessera key \"%s\" of tenant %u:\"%s\"; one "
	         "object is never two keys",
	         id->name, (unsigned)id->auth_type, id->app);
	h->found = true;
	return 1;
}

/* Record the key: 0 imported, 1 present (the same key), 2 another key of
 * that name, -1 the store refused (why). */
static int record(struct ks *ks, const char *instance, const struct ks_key_id *kid,
                  const uint8_t *ref, size_t ref_len, const uint8_t *attrs, size_t attrs_len,
                  bool apply, char *why, size_t whylen)
{
	struct ks_record rec = {0};
	enum ts_err err;

	if (ks != NULL) {
		err = ks_get(ks, kid, instance, &rec);
		if (err == TS_OK) {
			bool same = rec.ref_len == ref_len && memcmp(rec.ref, ref, ref_len) == 0 &&
			            rec.attrs_len == attrs_len &&
			            memcmp(rec.attrs, attrs, attrs_len) == 0;

			ks_record_clear(&rec);
			if (same)
				return 1;
			snprintf(why, whylen,
			         "a different Tessera key of that name exists in \"%s\"; not "
			         "overwritten",
			         instance);
			return 2;
		}
		if (err != TS_E_PSA_DOES_NOT_EXIST) {
			snprintf(why, whylen,
			         "a Tessera key of that name exists and does not open (%s); left "
			         "as it is",
			         ts_strerror(err));
			return 2;
		}
	}
	if (ks != NULL) {
		struct holder h = {
		        .self = kid, .ref = ref, .ref_len = ref_len, .who = why, .wholen = whylen};

		err = ks_each_key(ks, instance, holder_cb, &h);
		if (err != TS_OK) {
			snprintf(why, whylen, "the key store does not list its keys (%s)",
			         ts_strerror(err));
			return -1;
		}
		if (h.found)
			return -1;
	}
	if (!apply)
		return 0;
	err = ks_reserve(ks, kid, instance, ref, ref_len, attrs, attrs_len);
	if (err == TS_E_PSA_ALREADY_EXISTS) {
		snprintf(why, whylen,
		         "a Tessera key of that name exists (another instance, or being created "
		         "or destroyed); not overwritten");
		return 2;
	}
	if (err == TS_OK) {
		err = ks_commit(ks, kid, NULL, 0, attrs, attrs_len, NULL, 0);
		if (err != TS_OK)
			(void)ks_abort(ks, kid);
	}
	if (err != TS_OK) {
		snprintf(why, whylen, "the key store refuses it (%s)", ts_strerror(err));
		return -1;
	}
	return 0;
}

enum mig_p11_outcome mig_p11_migrate(struct mig_p11 *t, const struct ts_config *cfg, struct ks *ks,
                                     bool apply, const struct mig_entry *m, char *what,
                                     size_t whatlen)
{
	struct ks_key_id kid = {.auth_type = (uint8_t)m->auth, .app = m->app, .name = m->name};
	struct mig_psa_attrs a;
	struct pkcs11_found f;
	uint8_t id[4], *attrs = NULL;
	size_t attrs_len = 0;
	char why[512], desc[200], idhex[16];
	enum ts_err err;
	int rc;

	if (mig_p11_open(t, cfg) < 0 && t->none) {
		snprintf(what, whatlen,
		         "Pkcs11 key (provider \"%s\"): the configuration has no Pkcs11 provider "
		         "to take it; it stays on the token",
		         m->provider_name);
		return MIG_P11_SKIPPED;
	}
	if (m->key_id_len != 4) {
		snprintf(what, whatlen, "PKCS#11 key ID of %zu bytes (a u32 is 4)", m->key_id_len);
		return MIG_P11_FAILED;
	}
	/* The KIM holds the u32 little-endian (bincode); the token's CKA_ID
	 * is the same u32 big-endian. */
	for (int i = 0; i < 4; i++)
		id[i] = m->key_id[3 - i];
	hex(id, 4, idhex, sizeof(idhex));
	if (kim_policy(m, &a, why, sizeof(why)) < 0) {
		snprintf(what, whatlen, "PKCS#11 key (CKA_ID %s): %s", idhex, why);
		return MIG_P11_FAILED;
	}
	if (mig_p11_open(t, cfg) < 0) {
		snprintf(what, whatlen, "PKCS#11 key (CKA_ID %s): %s", idhex, t->err);
		return MIG_P11_FAILED;
	}
	err = pkcs11_inspect(t->ctx, id, 4, NULL, &f, why, sizeof(why));
	if (err != TS_OK) {
		snprintf(what, whatlen, "PKCS#11 key (CKA_ID %s) on instance \"%s\": %s (%s)",
		         idhex, t->instance, why, ts_strerror(err));
		return MIG_P11_FAILED;
	}
	if (f.psa_type != a.type || (a.bits != 0 && a.bits != f.bits)) {
		snprintf(what, whatlen,
		         "PKCS#11 key (CKA_ID %s): the token holds a %s of %u bits, the mapping "
		         "records a %s of %u bits",
		         idhex, type_name(f.psa_type), (unsigned)f.bits, type_name(a.type),
		         (unsigned)a.bits);
		return MIG_P11_FAILED;
	}
	a.bits = (uint16_t)f.bits;
	snprintf(desc, sizeof(desc), "%s, %u bits (PKCS#11 CKA_ID %s, instance \"%s\")",
	         type_name(a.type), (unsigned)a.bits, idhex, t->instance);
	if (pack(&a, &attrs, &attrs_len, why, sizeof(why)) < 0) {
		snprintf(what, whatlen, "%s: %s", desc, why);
		return MIG_P11_FAILED;
	}
	rc = record(ks, t->instance, &kid, id, 4, attrs, attrs_len, apply, why, sizeof(why));
	free(attrs);
	switch (rc) {
	case 0:
		snprintf(what, whatlen, "%s", desc);
		return MIG_P11_IMPORTED;
	case 1:
		snprintf(what, whatlen, "%s: already in Tessera (migrated before)", desc);
		return MIG_P11_PRESENT;
	case 2:
		snprintf(what, whatlen, "%s: %s", desc, why);
		return MIG_P11_SKIPPED;
	}
	snprintf(what, whatlen, "%s: %s", desc, why);
	return MIG_P11_FAILED;
}

/* ---- the admin adoption ---- */

/* An algorithm name (Tessera's spellings) or a PSA number. 0 if unknown. */
static uint32_t parse_alg(const char *s)
{
	static const struct {
		const char *name;
		uint32_t base;
	} fam[] = {
	        {"ecdsa-", 0x06000600},    {"rsa-pkcs1-", 0x06000200}, {"rsa-pss-", 0x06000300},
	        {"rsa-oaep-", 0x07000300}, {"hmac-", 0x03800000},
	};
	static const struct {
		const char *name;
		uint32_t v;
	} hashes[] = {{"sha1", 0x05},
	              {"sha224", 0x08},
	              {"sha256", 0x09},
	              {"sha384", 0x0a},
	              {"sha512", 0x0b}};
	char *end;

	if (strncasecmp(s, "0x", 2) == 0) {
		unsigned long v = strtoul(s, &end, 16);

		return *end == '\0' && v <= 0xffffffffu ? (uint32_t)v : 0;
	}
	if (strcasecmp(s, "rsa-pkcs1-crypt") == 0 || strcasecmp(s, "rsa-pkcs1v15-crypt") == 0)
		return 0x07000200;
	if (strcasecmp(s, "aes-gcm") == 0)
		return 0x05500200;
	if (strcasecmp(s, "ecdh") == 0)
		return 0x09020000;
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		size_t n = strlen(fam[i].name);

		if (strncasecmp(s, fam[i].name, n) != 0)
			continue;
		for (size_t j = 0; j < sizeof(hashes) / sizeof(hashes[0]); j++)
			if (strcasecmp(s + n, hashes[j].name) == 0)
				return fam[i].base | hashes[j].v;
	}
	return 0;
}

/* Whether alg fits the key type, and the objects allow some use of it. */
static int alg_fits(uint32_t alg, const struct pkcs11_found *f, char *why, size_t whylen)
{
	bool rsa = (f->psa_type & 0xcfff) == 0x4001, ecc = (f->psa_type & 0xcf00) == 0x4100;
	bool fits, usable;

	if ((alg & 0xffffff00) == 0x06000600) {
		fits = ecc;
		usable = f->sign || f->verify;
	} else if ((alg & 0xffffff00) == 0x06000200 || (alg & 0xffffff00) == 0x06000300) {
		fits = rsa;
		usable = f->sign || f->verify;
	} else if (alg == 0x07000200 || (alg & 0xffffff00) == 0x07000300) {
		fits = rsa;
		usable = f->encrypt || f->decrypt;
	} else if ((alg & 0xffffff00) == 0x03800000) {
		fits = f->psa_type == 0x1100;
		usable = f->sign || f->verify;
	} else if (alg == 0x05500200) {
		fits = f->psa_type == 0x2400;
		usable = f->encrypt || f->decrypt;
	} else if (alg == 0x09020000) {
		fits = f->psa_type == 0x7112;
		usable = f->derive;
	} else {
		snprintf(why, whylen, "algorithm 0x%08x is none the PKCS#11 provider serves",
		         (unsigned)alg);
		return -1;
	}
	if (!fits) {
		snprintf(why, whylen, "algorithm 0x%08x does not fit the key, a %s", (unsigned)alg,
		         type_name(f->psa_type));
		return -1;
	}
	if (!usable) {
		snprintf(
		        why, whylen,
		        "the key's objects allow no use of algorithm 0x%08x (CKA_SIGN, CKA_VERIFY, "
		        "CKA_ENCRYPT, CKA_DECRYPT or CKA_DERIVE are false)",
		        (unsigned)alg);
		return -1;
	}
	return 0;
}

static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *ret_len)
{
	size_t n = 0;

	if (strncasecmp(s, "0x", 2) == 0)
		s += 2;
	while (s[0] != '\0') {
		unsigned v;

		if (s[0] == ':') {
			s++;
			continue;
		}
		if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) || n == max ||
		    sscanf(s, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
		s += 2;
	}
	*ret_len = n;
	return n > 0 ? 0 : -1;
}

int mig_p11_adopt(struct mig_p11 *t, const struct ts_config *cfg, struct ks *ks,
                  const struct mig_p11_adopt *ad, char *msg, size_t msglen)
{
	struct ks_key_id kid = {.auth_type = (uint8_t)ad->auth, .app = ad->app, .name = ad->name};
	struct mig_psa_attrs a = {.lifetime = 1};
	struct pkcs11_found f;
	uint8_t id[PKCS11_ADOPT_ID_MAX], *attrs = NULL;
	size_t id_len = 0, attrs_len = 0;
	char why[512], idhex[2 * PKCS11_ADOPT_ID_MAX + 1];
	uint32_t alg = parse_alg(ad->alg);
	enum ts_err err;
	int rc;

	if (alg == 0) {
		snprintf(msg, msglen,
		         "--alg %s: expected ecdsa-sha256, rsa-pkcs1-sha256, rsa-pss-sha256, "
		         "rsa-pkcs1-crypt, rsa-oaep-sha1, hmac-sha256, aes-gcm, ecdh (other "
		         "hashes: sha1, sha224, sha384, sha512) or a PSA number 0x...",
		         ad->alg);
		return -1;
	}
	if (ad->cka_id_hex != NULL && parse_hex(ad->cka_id_hex, id, sizeof(id), &id_len) < 0) {
		snprintf(msg, msglen, "--cka-id %s: expected 1 to %d bytes in hex", ad->cka_id_hex,
		         PKCS11_ADOPT_ID_MAX);
		return -1;
	}
	if (mig_p11_open(t, cfg) < 0) {
		snprintf(msg, msglen, "%s", t->err);
		return -1;
	}
	err = pkcs11_inspect(t->ctx, id, id_len, ad->label, &f, why, sizeof(why));
	if (err != TS_OK) {
		snprintf(msg, msglen, "%s %s on instance \"%s\": %s (%s)",
		         ad->label != NULL ? "label" : "CKA_ID",
		         ad->label != NULL ? ad->label : ad->cka_id_hex, t->instance, why,
		         ts_strerror(err));
		return -1;
	}
	if (alg_fits(alg, &f, why, sizeof(why)) < 0) {
		snprintf(msg, msglen, "%s", why);
		return -1;
	}
	a.type = f.psa_type;
	a.bits = (uint16_t)f.bits;
	a.alg = alg;
	if (f.sign)
		a.usage |= U_SIGN_HASH | U_SIGN_MSG;
	if (f.verify)
		a.usage |= U_VERIFY_HASH | U_VERIFY_MSG;
	if (f.encrypt)
		a.usage |= U_ENCRYPT;
	if (f.decrypt)
		a.usage |= U_DECRYPT;
	if (f.derive)
		a.usage |= U_DERIVE;
	if (f.exportable)
		a.usage |= U_EXPORT;
	/* Only what the key type can do in PSA (tokens set CKA_ENCRYPT on EC
	 * keys by default, for instance). */
	if ((a.type & 0xcf00) == 0x4100)
		a.usage &= ~(U_ENCRYPT | U_DECRYPT);
	else if ((a.type & 0xcfff) == 0x4001 || a.type == 0x1100)
		a.usage &= ~U_DERIVE;
	if (a.type == 0x2400)
		a.usage &= ~(U_SIGN_HASH | U_SIGN_MSG | U_VERIFY_HASH | U_VERIFY_MSG | U_DERIVE);
	if (a.type == 0x1100)
		a.usage &= ~(U_ENCRYPT | U_DECRYPT);
	if (pack(&a, &attrs, &attrs_len, why, sizeof(why)) < 0) {
		snprintf(msg, msglen, "%s", why);
		return -1;
	}
	hex(f.id, f.id_len, idhex, sizeof(idhex));
	rc = record(ks, t->instance, &kid, f.id, f.id_len, attrs, attrs_len, true, why,
	            sizeof(why));
	free(attrs);
	if (rc < 0 || rc == 2) {
		snprintf(msg, msglen, "%s", why);
		return -1;
	}
	snprintf(msg, msglen, "%s %s, %u bits, CKA_ID %s, usage 0x%04x, algorithm 0x%08x%s",
	         rc == 1 ? "already adopted:" : "adopted", type_name(a.type), (unsigned)a.bits,
	         idhex, (unsigned)a.usage, (unsigned)alg, "");
	return 0;
}
