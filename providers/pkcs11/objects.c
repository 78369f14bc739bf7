/*
 * PKCS#11 key objects: finding them by CKA_ID (with a cache of handles),
 * choosing the CKA_ID of a new key, and destroying every object of a key.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <string.h>

#include <openssl/rand.h>

#include "common/secmem.h"

/* ---- finding objects ---- */

static enum ts_err find_objects(struct p11 *p, CK_SESSION_HANDLE s, const uint8_t *id,
                                size_t id_len, const CK_OBJECT_CLASS *cls, CK_OBJECT_HANDLE *ret,
                                CK_ULONG max, CK_ULONG *ret_n)
{
	CK_ATTRIBUTE t[] = {
	        {CKA_ID, (void *)id, id_len},
	        {CKA_CLASS, (void *)cls, sizeof(*cls)},
	};
	CK_RV rv = p->f->C_FindObjectsInit(s, t, cls != NULL ? 2 : 1);

	if (rv != CKR_OK)
		return p11_status(rv);
	rv = p->f->C_FindObjects(s, ret, max, ret_n);
	(void)p->f->C_FindObjectsFinal(s);
	return p11_status(rv);
}

/* ---- the handle cache: CKA_ID and class -> object handle ---- */

static struct p11_handle *cache_slot(struct p11 *p, const uint8_t *id, CK_OBJECT_CLASS cls)
{
	/* The IDs are random: their first bytes are a hash already. */
	unsigned h = ((unsigned)id[0] | (unsigned)id[1] << 8) + (unsigned)cls;

	return &p->handles[h % P11_HANDLE_SLOTS];
}

static bool cache_get(struct p11 *p, const uint8_t *id, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *ret)
{
	struct p11_handle *e;
	bool hit;

	pthread_mutex_lock(&p->lock);
	e = cache_slot(p, id, cls);
	hit = e->used && e->cls == cls && memcmp(e->id, id, P11_ID_LEN) == 0;
	if (hit)
		*ret = e->h;
	pthread_mutex_unlock(&p->lock);
	return hit;
}

static void cache_put(struct p11 *p, const uint8_t *id, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE h)
{
	struct p11_handle *e;

	pthread_mutex_lock(&p->lock);
	e = cache_slot(p, id, cls);
	memcpy(e->id, id, P11_ID_LEN);
	e->cls = cls;
	e->h = h;
	e->used = true;
	pthread_mutex_unlock(&p->lock);
}

static void cache_forget(struct p11 *p, const uint8_t *id)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PUBLIC_KEY, CKO_PRIVATE_KEY, CKO_SECRET_KEY};

	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		struct p11_handle *e = cache_slot(p, id, classes[i]);

		if (e->used && memcmp(e->id, id, P11_ID_LEN) == 0)
			e->used = false;
	}
	pthread_mutex_unlock(&p->lock);
}

/* Whether a cached handle still names the object: handles are the
 * module's, and a module may give a freed one to a new object. One call,
 * where a search takes three (and SoftHSM scans its token directory). */
static bool still_ours(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const uint8_t *id,
                       CK_OBJECT_CLASS cls)
{
	uint8_t got[P11_ID_LEN];
	CK_OBJECT_CLASS got_cls = (CK_OBJECT_CLASS)-1;
	CK_ATTRIBUTE t[] = {{CKA_ID, got, sizeof(got)}, {CKA_CLASS, &got_cls, sizeof(got_cls)}};

	return p->f->C_GetAttributeValue(s, h, t, 2) == CKR_OK && t[0].ulValueLen == P11_ID_LEN &&
	       memcmp(got, id, P11_ID_LEN) == 0 && got_cls == cls;
}

enum ts_err p11_find(struct p11 *p, CK_SESSION_HANDLE s, const struct prov_key *k,
                     CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *ret)
{
	bool cacheable = k->ref_len == P11_ID_LEN;
	CK_OBJECT_HANDLE h;
	CK_ULONG n = 0;
	enum ts_err err;

	if (k->ref_len == 0)
		return TS_E_PSA_DOES_NOT_EXIST;
	if (cacheable && cache_get(p, k->ref, cls, &h) && still_ours(p, s, h, k->ref, cls)) {
		*ret = h;
		return TS_OK;
	}
	err = find_objects(p, s, k->ref, k->ref_len, &cls, &h, 1, &n);
	if (err != TS_OK)
		return err;
	if (n != 1)
		return TS_E_PSA_DOES_NOT_EXIST;
	if (cacheable)
		cache_put(p, k->ref, cls, h);
	*ret = h;
	return TS_OK;
}

enum ts_err p11_get_attr(struct p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                         CK_ATTRIBUTE_TYPE t, uint8_t **ret, size_t *ret_len)
{
	CK_ATTRIBUTE a = {t, NULL, 0};
	CK_RV rv = p->f->C_GetAttributeValue(s, o, &a, 1);
	uint8_t *v;

	if (rv != CKR_OK)
		return p11_status(rv);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 65536)
		return TS_E_PSA_NOT_PERMITTED;
	v = malloc(a.ulValueLen ? a.ulValueLen : 1);
	if (v == NULL)
		return TS_E_NOMEM;
	a.pValue = v;
	rv = p->f->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK) {
		ts_free_secret(v, a.ulValueLen);
		return p11_status(rv);
	}
	*ret = v;
	*ret_len = a.ulValueLen;
	return TS_OK;
}

/* ---- reservation and recovery ---- */

enum ts_err p11_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret_ref,
                            size_t *ret_len)
{
	struct p11 *p = ctx;
	CK_SESSION_HANDLE s;
	uint8_t *id = malloc(P11_ID_LEN);
	enum ts_err err = TS_E_PSA_GENERIC_ERROR;

	(void)a;
	if (id == NULL)
		return TS_E_NOMEM;
	s = p11_session_get(p);
	/* 128 random bits; an ID the token already has (another application's
	 * object) is drawn again. */
	for (int tries = 0; tries < 8; tries++) {
		CK_OBJECT_HANDLE o;
		CK_ULONG n = 0;

		if (RAND_bytes(id, P11_ID_LEN) != 1) {
			err = TS_E_PSA_INSUFFICIENT_ENTROPY;
			break;
		}
		err = find_objects(p, s, id, P11_ID_LEN, NULL, &o, 1, &n);
		if (err != TS_OK || n == 0)
			break;
		err = TS_E_PSA_GENERIC_ERROR;
	}
	p11_session_put(p, s, err);
	if (err != TS_OK) {
		free(id);
		return err;
	}
	*ret_ref = id;
	*ret_len = P11_ID_LEN;
	return TS_OK;
}

/* Destroy every object with the key's CKA_ID. */
static enum ts_err destroy_all(struct p11 *p, const struct prov_key *k)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE o[4];
	CK_ULONG n = 0;
	enum ts_err err;

	if (k->ref_len == 0)
		return TS_OK;
	if (k->ref_len == P11_ID_LEN)
		cache_forget(p, k->ref);
	s = p11_session_get(p);
	do {
		err = find_objects(p, s, k->ref, k->ref_len, NULL, o, 4, &n);
		for (CK_ULONG i = 0; err == TS_OK && i < n; i++) {
			CK_RV rv = p->f->C_DestroyObject(s, o[i]);

			if (rv != CKR_OK && rv != CKR_OBJECT_HANDLE_INVALID)
				err = p11_status(rv);
		}
	} while (err == TS_OK && n > 0);
	p11_session_put(p, s, err);
	return err;
}

void p11_recover_key(void *ctx, const struct prov_key *k)
{
	(void)destroy_all(ctx, k);
}

enum ts_err p11_destroy_key(void *ctx, const struct prov_key *k)
{
	return destroy_all(ctx, k);
}
