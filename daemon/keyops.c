/*
 * Key life: generate, import, destroy, export. Creation is crash-safe in
 * steps: the provider picks the key's reference, the key store records the
 * reservation with it, the provider makes the key, the key store commits;
 * a failure destroys what was made and drops the reservation, and a crash
 * anywhere is finished at the next start (main.c hands unfinished records
 * to the provider's recover_key).
 */
#include "daemon/daemon-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/secmem.h"
#include "keystore/keystore.h"

#include "psa_destroy_key.pb-c.h"
#include "psa_export_key.pb-c.h"
#include "psa_copy_key.pb-c.h"
#include "psa_export_public_key.pb-c.h"
#include "psa_generate_key.pb-c.h"
#include "psa_get_key_attributes.pb-c.h"
#include "psa_import_key.pb-c.h"
#include "psa_purge_key.pb-c.h"

enum ts_err key_from_record(const struct ks_record *rec, struct psa_attrs *a, struct prov_key *k)
{
	bool have = psa_attrs_unpack(rec->attrs, rec->attrs_len, a) == TS_OK;

	*k = (struct prov_key){.attrs = have ? a : NULL,
	                       .material = rec->material,
	                       .material_len = rec->material_len,
	                       .ref = rec->ref,
	                       .ref_len = rec->ref_len};
	return have ? TS_OK : TS_E_PSA_DATA_CORRUPT;
}

enum ts_err key_get(const struct svc_state *st, const struct svc_provider *p,
                    const struct auth_identity *id, const char *name, struct ks_record *rec,
                    struct psa_attrs *a, struct prov_key *k)
{
	struct ks_key_id kid = {.auth_type = id->auth_type, .app = id->name, .name = name};
	enum ts_err err = ks_get(st->ks, &kid, p->name, rec);

	if (err == TS_OK)
		err = key_from_record(rec, a, k);
	if (err == TS_E_PSA_CORRUPTION_DETECTED || err == TS_E_PSA_DATA_CORRUPT)
		key_report_damaged(st->ks, &kid, p->name);
	return err;
}

void key_report_damaged(struct ks *ks, const struct ks_key_id *kid, const char *instance)
{
	char app[200], name[200];
	bool full;

	if (!ks_first_report(ks, kid, &full))
		return;
	if (full) {
		ts_error("key store: more records do not open; no more are reported until "
		         "restart");
		return;
	}
	/* Names are the tenant's: escaped, never the record's bytes. */
	ts_error("key store: the record of key \"%s\" of tenant (auth type %u, \"%s\") in "
	         "instance \"%s\" does not open (altered or damaged); that key answers "
	         "PsaErrorCorruptionDetected, the rest of the store works (reported once)",
	         ts_log_escape(kid->name, strlen(kid->name), 64, name, sizeof(name)),
	         kid->auth_type, ts_log_escape(kid->app, strlen(kid->app), 64, app, sizeof(app)),
	         instance);
}

/* Make the caller's key `name` in r->prov with attributes a (pb as they
 * came, stored so with the size import found): from data (import), as a
 * copy of the key `from` inside the device (the provider's copy_key), or
 * new (data and from NULL). */
static enum ts_err create(struct request *r, const char *name, const struct psa_attrs *a,
                          PsaKeyAttributes__KeyAttributes *pb, const uint8_t *data, size_t data_len,
                          const struct prov_key *from)
{
	const struct svc_provider *p = r->prov;
	struct ks_key_id kid = {.auth_type = r->id.auth_type, .app = r->id.name, .name = name};
	struct prov_key k = {.attrs = a};
	uint8_t *attrs = NULL, *mat = NULL, *ref = NULL;
	size_t attrs_len = 0, mat_len = 0, ref_len = 0;
	uint32_t bits = 0, asked = pb->key_bits;
	bool reserved = false;
	char *label = NULL;
	enum ts_err err;

	/* What a device may show on its object; the key is found by its ref. */
	if (asprintf(&label, "%u:%s/%s", r->id.auth_type, r->id.name != NULL ? r->id.name : "",
	             name) < 0) {
		label = NULL;
		return TS_E_NOMEM;
	}
	k.label = label;
	err = wire_pack(&pb->base, &attrs, &attrs_len);
	if (err != TS_OK)
		goto out;
	if (p->ops->reserve_ref != NULL) {
		err = p->ops->reserve_ref(p->ctx, a, &ref, &ref_len);
		if (err != TS_OK)
			goto out;
	}
	err = ks_reserve(r->st->ks, &kid, p->name, ref, ref_len, attrs, attrs_len);
	if (err != TS_OK)
		goto out;
	reserved = true;
	k.ref = ref;
	k.ref_len = ref_len;
	if (from != NULL) {
		err = p->ops->copy_key(p->ctx, from, &k, &mat, &mat_len);
	} else if (data == NULL) {
		err = p->ops->generate_key(p->ctx, &k, &mat, &mat_len);
	} else {
		err = p->ops->import_key(p->ctx, &k, data, data_len, &mat, &mat_len, &bits);
		if (err == TS_OK) {
			/* Store the size the data really has (an import may say 0). */
			free(attrs);
			attrs = NULL;
			pb->key_bits = bits;
			err = wire_pack(&pb->base, &attrs, &attrs_len);
			pb->key_bits = asked;
		}
	}
	if (err != TS_OK)
		goto out;
	err = ks_commit(r->st->ks, &kid, NULL, 0, attrs, attrs_len, mat, mat_len);
	if (err == TS_OK)
		r->key_made = true;
out:
	if (err != TS_OK && reserved) {
		k.material = mat;
		k.material_len = mat_len;
		if ((mat != NULL || ref != NULL) && p->ops->destroy_key != NULL)
			(void)p->ops->destroy_key(p->ctx, &k);
		if (ks_abort(r->st->ks, &kid) != TS_OK)
			ts_warn("a failed key creation left its reservation (%s); the key store "
			        "drops it at the next chance",
			        ts_strerror(err));
	}
	free(attrs);
	free(ref);
	free(label);
	ts_free_secret(mat, mat_len);
	return err;
}

enum ts_err key_create(struct request *r, const char *name, const struct psa_attrs *a,
                       PsaKeyAttributes__KeyAttributes *pb, const uint8_t *data, size_t len)
{
	return create(r, name, a, pb, data, len, NULL);
}

enum ts_err keyop_generate(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaGenerateKey__Operation *op = (PsaGenerateKey__Operation *)r->msg;
	enum ts_err err =
	        create(r, r->args.key_name, &r->args.attrs, op->attributes, NULL, 0, NULL);

	if (err != TS_OK)
		return err;
	return wire_pack(&(PsaGenerateKey__Result)PSA_GENERATE_KEY__RESULT__INIT.base, ret_body,
	                 ret_len);
}

enum ts_err keyop_import(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaImportKey__Operation *op = (PsaImportKey__Operation *)r->msg;
	enum ts_err err;

	/* Parsec only logs deprecated imports; so do we (nothing to refuse). */
	err = create(r, r->args.key_name, &r->args.attrs, op->attributes,
	             op->data.data != NULL ? op->data.data : (const uint8_t *)"", op->data.len,
	             NULL);
	if (err != TS_OK)
		return err;
	return wire_pack(&(PsaImportKey__Result)PSA_IMPORT_KEY__RESULT__INIT.base, ret_body,
	                 ret_len);
}

enum ts_err key_destroy(struct svc_state *st, const struct svc_provider *p, uint8_t auth_type,
                        const char *app, const char *name)
{
	struct ks_key_id kid = {.auth_type = auth_type, .app = app, .name = name};
	struct ks_record rec = {0};
	enum ts_err err;

	err = ks_begin_destroy(st->ks, &kid, p->name, &rec);
	if (err != TS_OK)
		return err;
	if (p->ops->destroy_key != NULL) {
		struct psa_attrs a;
		struct prov_key k;

		(void)key_from_record(&rec, &a, &k); /* attributes that no longer decode: NULL */
		err = p->ops->destroy_key(p->ctx, &k);
		if (err != TS_OK) {
			/* Left "destroying": recovery at the next start retries. */
			ks_record_clear(&rec);
			return err;
		}
	}
	ks_record_clear(&rec);
	return ks_remove(st->ks, &kid);
}

enum ts_err keyop_destroy(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	enum ts_err err =
	        key_destroy(r->st, r->prov, r->id.auth_type, r->id.name, r->args.key_name);

	if (err != TS_OK)
		return err;
	return wire_pack(&(PsaDestroyKey__Result)PSA_DESTROY_KEY__RESULT__INIT.base, ret_body,
	                 ret_len);
}

enum ts_err keyop_export(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaExportKey__Result res = PSA_EXPORT_KEY__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = r->prov->ops->export_key(r->prov->ctx, &r->pkey, &out, &out_len);

	if (err != TS_OK)
		return err;
	res.data.data = out;
	res.data.len = out_len;
	err = wire_pack(&res.base, ret_body, ret_len);
	ts_free_secret(out, out_len);
	return err;
}

enum ts_err keyop_export_public(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaExportPublicKey__Result res = PSA_EXPORT_PUBLIC_KEY__RESULT__INIT;
	uint8_t *out = NULL;
	size_t out_len = 0;
	enum ts_err err = r->prov->ops->export_public_key(r->prov->ctx, &r->pkey, &out, &out_len);

	if (err != TS_OK)
		return err;
	res.data.data = out;
	res.data.len = out_len;
	err = wire_pack(&res.base, ret_body, ret_len);
	free(out);
	return err;
}

/* ---- the PSA C API's key operations (docs/psa-api.md) ---- */

enum ts_err keyop_get_attributes(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaGetKeyAttributes__Result res = PSA_GET_KEY_ATTRIBUTES__RESULT__INIT;
	enum ts_err err;

	/* The stored attributes are the KeyAttributes message as it was made
	 * (with the size an import found): hand it back as it is. */
	res.attributes =
	        psa_key_attributes__key_attributes__unpack(NULL, r->key.attrs_len, r->key.attrs);
	if (res.attributes == NULL)
		return TS_E_PSA_DATA_CORRUPT;
	err = wire_pack(&res.base, ret_body, ret_len);
	psa_key_attributes__key_attributes__free_unpacked(res.attributes, NULL);
	return err;
}

enum ts_err keyop_purge(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	/* The key exists for the caller (the request path loaded it). Nothing
	 * of it stays in the daemon's memory between requests; a provider
	 * whose device caches keys drops its copies. */
	if (r->prov->ops->purge_key != NULL) {
		enum ts_err err = r->prov->ops->purge_key(r->prov->ctx, &r->pkey);

		if (err != TS_OK)
			return err;
	}
	return wire_pack(&(PsaPurgeKey__Result)PSA_PURGE_KEY__RESULT__INIT.base, ret_body, ret_len);
}

/* PSA's intersection of two algorithm policies: equal ones; a sign policy
 * with any hash and the same scheme with one hash gives the latter; no
 * algorithm on either side gives none. *ret_second tells which side's
 * message to keep. false: nothing in common. */
static bool alg_intersect(const struct psa_alg *src, const struct psa_alg *req, bool *ret_req)
{
	*ret_req = false;
	if (src->cls == PSA_AC_NONE)
		return true;
	if (req->cls == PSA_AC_NONE) {
		*ret_req = true;
		return true;
	}
	if (src->cls != req->cls || src->kind != req->kind)
		return false;
	if (src->cls == PSA_AC_SIGN && src->hash_any != req->hash_any) {
		*ret_req = src->hash_any;
		return true;
	}
	return src->hash == req->hash && src->hash_any == req->hash_any &&
	       src->length == req->length && src->kdf == req->kdf && src->kdf_hash == req->kdf_hash;
}

static void usage_and(PsaKeyAttributes__UsageFlags *d, const PsaKeyAttributes__UsageFlags *s)
{
	d->export = d->export && s->export;
	d->copy = d->copy && s->copy;
	d->cache = d->cache && s->cache;
	d->encrypt = d->encrypt && s->encrypt;
	d->decrypt = d->decrypt && s->decrypt;
	d->sign_message = d->sign_message && s->sign_message;
	d->verify_message = d->verify_message && s->verify_message;
	d->sign_hash = d->sign_hash && s->sign_hash;
	d->verify_hash = d->verify_hash && s->verify_hash;
	d->derive = d->derive && s->derive;
}

/*
 * psa_copy_key within one instance: the source needs the COPY flag (the
 * policy check did that), the target's type and size are the source's
 * (a request may leave the size 0), its usage is both policies' and its
 * algorithm their intersection (none in common: InvalidArgument). A
 * provider with copy_key copies inside the device; otherwise the key travels
 * as the provider exports it and is imported under the new name, so such a
 * device that will not release a key cannot copy it (its export error).
 */
enum ts_err keyop_copy(struct request *r, uint8_t **ret_body, size_t *ret_len)
{
	PsaCopyKey__Operation *op = (PsaCopyKey__Operation *)r->msg;
	PsaKeyAttributes__KeyAttributes *src;
	PsaAlgorithm__Algorithm *keep;
	const struct psa_attrs *sa = &r->key_attrs, *ta = &r->args.attrs;
	struct psa_attrs target;
	uint8_t *data = NULL;
	size_t data_len = 0;
	bool take_req, added = false;
	const char *to;
	enum ts_err err = TS_OK;

	/* The target's name obeys the rules the request path applies to key_name,
	 * a volatile one is the session's, and volatile_key says which it is. */
	if (op->target_key_name == NULL || op->target_key_name[0] == '\0' ||
	    wire_string_has_nul(r->payload, r->h.body_len, 2))
		return TS_E_INVALID_ENCODING;
	if (strlen(op->target_key_name) > OP_KEY_NAME_MAX ||
	    session_name_is_volatile(op->target_key_name) != op->volatile_key)
		return TS_E_PSA_INVALID_ARGUMENT;
	to = session_key_name(r, op->target_key_name, &err);
	if (to == NULL)
		return err;
	if (ta->type != sa->type || ta->family != sa->family ||
	    (ta->bits != 0 && ta->bits != sa->bits))
		return TS_E_PSA_INVALID_ARGUMENT;
	if (!alg_intersect(&sa->alg, &ta->alg, &take_req))
		return TS_E_PSA_INVALID_ARGUMENT;
	src = psa_key_attributes__key_attributes__unpack(NULL, r->key.attrs_len, r->key.attrs);
	if (src == NULL)
		return TS_E_PSA_DATA_CORRUPT;
	/* The target's message: the source's, with the usage narrowed and the
	 * algorithm of the side the intersection kept. */
	if (src->key_policy->key_usage_flags != NULL &&
	    op->attributes->key_policy->key_usage_flags != NULL)
		usage_and(src->key_policy->key_usage_flags,
		          op->attributes->key_policy->key_usage_flags);
	else if (src->key_policy->key_usage_flags != NULL)
		usage_and(src->key_policy->key_usage_flags,
		          &(PsaKeyAttributes__UsageFlags)PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT);
	target = *sa;
	target.usage = sa->usage & ta->usage;
	keep = src->key_policy->key_algorithm;
	if (take_req) {
		/* Borrowed from the request for packing, given back before the free. */
		src->key_policy->key_algorithm = op->attributes->key_policy->key_algorithm;
		target.alg = ta->alg;
	}
	if (op->volatile_key)
		err = session_add_vkey(r->sess, r->prov, r->id.auth_type, r->id.name, to, &added);
	if (err == TS_OK && r->prov->ops->copy_key != NULL) {
		err = create(r, to, &target, src, NULL, 0, &r->pkey);
	} else if (err == TS_OK) {
		err = r->prov->ops->export_key(r->prov->ctx, &r->pkey, &data, &data_len);
		if (err == TS_OK)
			err = create(r, to, &target, src, data, data_len, NULL);
	}
	if (err != TS_OK && added)
		session_forget_vkey(r->sess, r->prov, r->id.auth_type, r->id.name, to);
	ts_free_secret(data, data_len);
	src->key_policy->key_algorithm = keep;
	psa_key_attributes__key_attributes__free_unpacked(src, NULL);
	if (err != TS_OK)
		return err;
	return wire_pack(&(PsaCopyKey__Result)PSA_COPY_KEY__RESULT__INIT.base, ret_body, ret_len);
}
