/*
 * Inspecting keys that others put on the token, for adoption by
 * tessera-migrate (pkcs11-adopt.h). Nothing here changes an object.
 */
#include "providers/pkcs11/pkcs11-adopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/pkcs11/pkcs11-priv.h"

/* At most this many objects per search: more is ambiguous anyway. */
#define MAX_HITS 8

static enum ts_err search(struct p11 *p, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n_t,
                          CK_OBJECT_HANDLE *ret, CK_ULONG *ret_n)
{
	CK_RV rv = p->f->C_FindObjectsInit(s, t, n_t);

	*ret_n = 0;
	if (rv != CKR_OK)
		return p11_status(rv);
	rv = p->f->C_FindObjects(s, ret, MAX_HITS, ret_n);
	(void)p->f->C_FindObjectsFinal(s);
	return p11_status(rv);
}

/* A CK_BBOOL attribute; false when the object does not have it. */
static bool flag(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {t, &v, sizeof(v)};

	return p->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK && v == CK_TRUE;
}

static bool ulong_attr(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE t,
                       CK_ULONG *ret)
{
	CK_ATTRIBUTE a = {t, ret, sizeof(*ret)};

	return p->f->C_GetAttributeValue(s, o, &a, 1) == CKR_OK;
}

/* The SECP-R1 size of a CKA_EC_PARAMS value, 0 if none. */
static uint32_t ec_bits(const uint8_t *params, size_t len)
{
	static const uint32_t sizes[] = {192, 224, 256, 384, 521};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t oid_len = 0;
		const uint8_t *oid = p11_ec_oid(sizes[i], &oid_len);

		if (oid != NULL && oid_len == len && memcmp(oid, params, len) == 0)
			return sizes[i];
	}
	return 0;
}

/* Type and size from the key object o. */
static enum ts_err key_type(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                            struct pkcs11_found *f, char *why, size_t whylen)
{
	CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
	CK_ULONG vlen = 0;
	uint8_t *v = NULL;
	size_t len = 0;
	enum ts_err err;

	if (!ulong_attr(p, s, o, CKA_KEY_TYPE, &kt)) {
		snprintf(why, whylen, "the object has no readable CKA_KEY_TYPE");
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	switch (kt) {
	case CKK_RSA:
		err = p11_get_attr(p, s, o, CKA_MODULUS, &v, &len);
		if (err != TS_OK) {
			snprintf(why, whylen, "the RSA key's CKA_MODULUS does not read (%s)",
			         ts_strerror(err));
			return err;
		}
		while (len > 0 && v[0] == 0) { /* a leading zero byte is no bit */
			memmove(v, v + 1, len - 1);
			len--;
		}
		f->bits = (uint32_t)len * 8;
		free(v);
		f->psa_type = f->has_private ? 0x7001 : 0x4001;
		return TS_OK;
	case CKK_EC:
		err = p11_get_attr(p, s, o, CKA_EC_PARAMS, &v, &len);
		if (err != TS_OK) {
			snprintf(why, whylen, "the EC key's CKA_EC_PARAMS does not read (%s)",
			         ts_strerror(err));
			return err;
		}
		f->bits = ec_bits(v, len);
		free(v);
		if (f->bits == 0) {
			snprintf(why, whylen,
			         "an EC key on a curve other than SECP-R1 192/224/256/384/521");
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		f->psa_type = f->has_private ? 0x7112 : 0x4112;
		return TS_OK;
	case CKK_AES:
	case CKK_GENERIC_SECRET:
		if (!ulong_attr(p, s, o, CKA_VALUE_LEN, &vlen) || vlen == 0 || vlen > 512) {
			snprintf(why, whylen, "the secret key has no readable CKA_VALUE_LEN");
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		f->bits = (uint32_t)vlen * 8;
		f->psa_type = kt == CKK_AES ? 0x2400 : 0x1100;
		return TS_OK;
	}
	snprintf(why, whylen,
	         "CKA_KEY_TYPE 0x%lx is none Tessera serves (RSA, EC, AES, generic "
	         "secret)",
	         (unsigned long)kt);
	return TS_E_PSA_INVALID_ARGUMENT;
}

/* The key objects with f->id: at most one of each class. */
static enum ts_err by_id(struct p11 *p, CK_SESSION_HANDLE s, struct pkcs11_found *f, char *why,
                         size_t whylen)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY};
	static const char *const names[] = {"private keys", "public keys", "secret keys"};
	CK_OBJECT_HANDLE h[3] = {0}, hits[MAX_HITS];
	CK_ULONG n;
	enum ts_err err;

	for (size_t i = 0; i < 3; i++) {
		CK_OBJECT_CLASS cls = classes[i];
		CK_ATTRIBUTE t[] = {{CKA_ID, f->id, f->id_len}, {CKA_CLASS, &cls, sizeof(cls)}};

		err = search(p, s, t, 2, hits, &n);
		if (err != TS_OK) {
			snprintf(why, whylen, "C_FindObjects failed (%s)", ts_strerror(err));
			return err;
		}
		if (n > 1) {
			snprintf(why, whylen, "%lu %s have this CKA_ID: ambiguous",
			         (unsigned long)n, names[i]);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		if (n == 1)
			h[i] = hits[0];
	}
	f->has_private = h[0] != 0;
	f->has_public = h[1] != 0;
	f->has_secret = h[2] != 0;
	if (!f->has_private && !f->has_public && !f->has_secret) {
		snprintf(why, whylen, "no key object has this CKA_ID");
		return TS_E_PSA_DOES_NOT_EXIST;
	}
	if (f->has_secret && (f->has_private || f->has_public)) {
		snprintf(why, whylen, "a secret key and a key pair object share this CKA_ID");
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	if (f->has_private && !f->has_public) {
		/* The provider reads the public key from its own object. */
		snprintf(why, whylen, "a private key without its public key object");
		return TS_E_PSA_DOES_NOT_EXIST;
	}
	if (f->has_secret) {
		err = key_type(p, s, h[2], f, why, whylen);
		f->sign = flag(p, s, h[2], CKA_SIGN);
		f->verify = flag(p, s, h[2], CKA_VERIFY);
		f->encrypt = flag(p, s, h[2], CKA_ENCRYPT);
		f->decrypt = flag(p, s, h[2], CKA_DECRYPT);
		f->derive = flag(p, s, h[2], CKA_DERIVE);
		f->exportable =
		        flag(p, s, h[2], CKA_EXTRACTABLE) && !flag(p, s, h[2], CKA_SENSITIVE);
		return err;
	}
	err = key_type(p, s, h[1], f, why, whylen);
	if (err != TS_OK)
		return err;
	if (f->has_private) {
		CK_KEY_TYPE a = 0, b = 1;

		if (!ulong_attr(p, s, h[0], CKA_KEY_TYPE, &a) ||
		    !ulong_attr(p, s, h[1], CKA_KEY_TYPE, &b) || a != b) {
			snprintf(why, whylen, "the private and public objects differ in key type");
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		f->sign = flag(p, s, h[0], CKA_SIGN);
		f->decrypt = flag(p, s, h[0], CKA_DECRYPT);
		f->derive = flag(p, s, h[0], CKA_DERIVE);
		f->exportable =
		        flag(p, s, h[0], CKA_EXTRACTABLE) && !flag(p, s, h[0], CKA_SENSITIVE);
	}
	f->verify = flag(p, s, h[1], CKA_VERIFY);
	f->encrypt = flag(p, s, h[1], CKA_ENCRYPT);
	return TS_OK;
}

/* The one CKA_ID the key objects labelled label have. */
static enum ts_err id_of_label(struct p11 *p, CK_SESSION_HANDLE s, const char *label,
                               struct pkcs11_found *f, char *why, size_t whylen)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY, CKO_SECRET_KEY};
	CK_OBJECT_HANDLE hits[MAX_HITS];
	size_t total = 0;
	enum ts_err err;

	f->id_len = 0;
	for (size_t i = 0; i < 3; i++) {
		CK_OBJECT_CLASS cls = classes[i];
		CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)label, strlen(label)},
		                    {CKA_CLASS, &cls, sizeof(cls)}};
		CK_ULONG n;

		err = search(p, s, t, 2, hits, &n);
		if (err != TS_OK) {
			snprintf(why, whylen, "C_FindObjects failed (%s)", ts_strerror(err));
			return err;
		}
		if (n > 1) {
			snprintf(why, whylen,
			         "%lu key objects of one class have this label: ambiguous",
			         (unsigned long)n);
			return TS_E_PSA_INVALID_ARGUMENT;
		}
		for (CK_ULONG j = 0; j < n; j++) {
			uint8_t id[PKCS11_ADOPT_ID_MAX];
			CK_ATTRIBUTE a = {CKA_ID, id, sizeof(id)};

			if (p->f->C_GetAttributeValue(s, hits[j], &a, 1) != CKR_OK ||
			    a.ulValueLen == 0 || a.ulValueLen > sizeof(id)) {
				snprintf(why, whylen,
				         "a key object with this label has no CKA_ID of 1 to %d "
				         "bytes",
				         PKCS11_ADOPT_ID_MAX);
				return TS_E_PSA_INVALID_ARGUMENT;
			}
			if (total > 0 &&
			    (a.ulValueLen != f->id_len || memcmp(id, f->id, f->id_len))) {
				snprintf(why, whylen,
				         "key objects with this label have different CKA_IDs: "
				         "ambiguous");
				return TS_E_PSA_INVALID_ARGUMENT;
			}
			memcpy(f->id, id, a.ulValueLen);
			f->id_len = a.ulValueLen;
			total++;
		}
	}
	if (total == 0) {
		snprintf(why, whylen, "no key object has this label");
		return TS_E_PSA_DOES_NOT_EXIST;
	}
	return TS_OK;
}

enum ts_err pkcs11_inspect(void *ctx, const uint8_t *id, size_t id_len, const char *label,
                           struct pkcs11_found *ret, char *why, size_t whylen)
{
	struct p11 *p = ctx;
	CK_SESSION_HANDLE s;
	enum ts_err err;

	memset(ret, 0, sizeof(*ret));
	snprintf(why, whylen, "found");
	if (id_len > PKCS11_ADOPT_ID_MAX || (id_len == 0 && (label == NULL || label[0] == '\0'))) {
		snprintf(why, whylen, "a CKA_ID of 1 to %d bytes or a label is needed",
		         PKCS11_ADOPT_ID_MAX);
		return TS_E_PSA_INVALID_ARGUMENT;
	}
	s = p11_session_get(p);
	if (id_len > 0) {
		memcpy(ret->id, id, id_len);
		ret->id_len = id_len;
		err = TS_OK;
	} else {
		err = id_of_label(p, s, label, ret, why, whylen);
	}
	if (err == TS_OK)
		err = by_id(p, s, ret, why, whylen);
	p11_session_put(p, s, err);
	return err;
}
