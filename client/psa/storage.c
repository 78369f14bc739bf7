/*
 * psa_its_* and psa_ps_* (PSA Secure Storage API 1.0) over tesserad, on
 * libtessera-psa's one client (client.c: configured by the environment,
 * one call at a time). There is no init call in the Storage API (and
 * programs such as psa-arch-tests' storage suites call none): the first
 * call of any PSA function opens the client.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "client/psa/psa-priv.h"
#include "client/tessera.h"
#include "psa/internal_trusted_storage.h"
#include "psa/protected_storage.h"

static bool support_known; /* between tpsa_enter and tpsa_leave */
static uint32_t support_bits;

/* The library's one client, opened at the first call of any PSA function
 * (tpsa_enter); NULL when it cannot be made (tried again at the next call).
 * tpsa_leave() must follow in any case. */
static struct tessera_client *get_client(void)
{
	return tpsa_enter() == PSA_SUCCESS ? tpsa_client() : NULL;
}

/* A libtessera result as a PSA status: 1000 + N is -N; a transport or
 * service failure is the one generic status each API lists for it. */
static psa_status_t status_of(int rc, bool ps)
{
	if (rc == TESSERA_OK)
		return PSA_SUCCESS;
	if (rc > 1000 && rc < 1256)
		return (psa_status_t)(1000 - rc);
	return ps ? PSA_ERROR_GENERIC_ERROR : PSA_ERROR_STORAGE_FAILURE;
}

static int store_of(bool ps)
{
	return ps ? TESSERA_STORAGE_PS : TESSERA_STORAGE_ITS;
}

static psa_status_t do_set(bool ps, psa_storage_uid_t uid, size_t len, const void *data,
                           psa_storage_create_flags_t flags)
{
	struct tessera_client *c;
	int rc;

	if (data == NULL && len != 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	c = get_client();
	rc = c != NULL ? tessera_storage_set(c, store_of(ps), uid, data, len, flags)
	               : TESSERA_ERR_CONNECT;
	tpsa_leave();
	return status_of(rc, ps);
}

static psa_status_t do_get(bool ps, psa_storage_uid_t uid, size_t offset, size_t size, void *out,
                           size_t *ret_len)
{
	struct tessera_client *c;
	uint8_t *got = NULL;
	size_t len = 0;
	int rc;

	if (ret_len == NULL || (out == NULL && size != 0))
		return PSA_ERROR_INVALID_ARGUMENT;
	c = get_client();
	rc = c != NULL ? tessera_storage_get(c, store_of(ps), uid, offset, size, &got, &len)
	               : TESSERA_ERR_CONNECT;
	tpsa_leave();
	if (rc != TESSERA_OK)
		return status_of(rc, ps); /* the caller's buffer untouched */
	/* libtessera never returns more than asked; only what came is
	 * copied, and the rest of the buffer is left as it was. */
	if (len > size) {
		rc = TESSERA_ERR_PROTOCOL;
	} else {
		if (len > 0)
			memcpy(out, got, len);
		*ret_len = len;
	}
	memset(got, 0, len);
	free(got);
	return status_of(rc, ps);
}

static psa_status_t do_get_info(bool ps, psa_storage_uid_t uid, struct psa_storage_info_t *ret)
{
	struct tessera_storage_info info;
	struct tessera_client *c;
	int rc;

	if (ret == NULL)
		return PSA_ERROR_INVALID_ARGUMENT;
	c = get_client();
	rc = c != NULL ? tessera_storage_info(c, store_of(ps), uid, &info) : TESSERA_ERR_CONNECT;
	tpsa_leave();
	if (rc == TESSERA_OK) {
		if (info.capacity > SIZE_MAX || info.size > SIZE_MAX)
			return ps ? PSA_ERROR_GENERIC_ERROR : PSA_ERROR_STORAGE_FAILURE;
		ret->capacity = (size_t)info.capacity;
		ret->size = (size_t)info.size;
		ret->flags = info.flags;
	}
	return status_of(rc, ps);
}

static psa_status_t do_remove(bool ps, psa_storage_uid_t uid)
{
	struct tessera_client *c;
	int rc;

	c = get_client();
	rc = c != NULL ? tessera_storage_remove(c, store_of(ps), uid) : TESSERA_ERR_CONNECT;
	tpsa_leave();
	return status_of(rc, ps);
}

psa_status_t psa_its_set(psa_storage_uid_t uid, size_t data_length, const void *p_data,
                         psa_storage_create_flags_t create_flags)
{
	return do_set(false, uid, data_length, p_data, create_flags);
}

psa_status_t psa_its_get(psa_storage_uid_t uid, size_t data_offset, size_t data_size, void *p_data,
                         size_t *p_data_length)
{
	return do_get(false, uid, data_offset, data_size, p_data, p_data_length);
}

psa_status_t psa_its_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info)
{
	return do_get_info(false, uid, p_info);
}

psa_status_t psa_its_remove(psa_storage_uid_t uid)
{
	return do_remove(false, uid);
}

psa_status_t psa_ps_set(psa_storage_uid_t uid, size_t data_length, const void *p_data,
                        psa_storage_create_flags_t create_flags)
{
	return do_set(true, uid, data_length, p_data, create_flags);
}

psa_status_t psa_ps_get(psa_storage_uid_t uid, size_t data_offset, size_t data_size, void *p_data,
                        size_t *p_data_length)
{
	return do_get(true, uid, data_offset, data_size, p_data, p_data_length);
}

psa_status_t psa_ps_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info)
{
	return do_get_info(true, uid, p_info);
}

psa_status_t psa_ps_remove(psa_storage_uid_t uid)
{
	return do_remove(true, uid);
}

psa_status_t psa_ps_create(psa_storage_uid_t uid, size_t capacity,
                           psa_storage_create_flags_t create_flags)
{
	struct tessera_client *c;
	int rc;

	c = get_client();
	rc = c != NULL ? tessera_storage_create(c, TESSERA_STORAGE_PS, uid, capacity, create_flags)
	               : TESSERA_ERR_CONNECT;
	tpsa_leave();
	return status_of(rc, true);
}

psa_status_t psa_ps_set_extended(psa_storage_uid_t uid, size_t data_offset, size_t data_length,
                                 const void *p_data)
{
	struct tessera_client *c;
	int rc;

	if (p_data == NULL && data_length != 0)
		return PSA_ERROR_INVALID_ARGUMENT;
	c = get_client();
	rc = c != NULL ? tessera_storage_set_extended(c, TESSERA_STORAGE_PS, uid, data_offset,
	                                              p_data, data_length)
	               : TESSERA_ERR_CONNECT;
	tpsa_leave();
	return status_of(rc, true);
}

uint32_t psa_ps_get_support(void)
{
	struct tessera_client *c;
	uint32_t bits = 0;

	/* Asked once: the answer cannot change while the daemon runs, and
	 * the function has no way to report a failure (then 0, and asked
	 * again next time). */
	c = get_client();
	if (!support_known) {
		if (c != NULL &&
		    tessera_storage_support(c, TESSERA_STORAGE_PS, &bits) == TESSERA_OK) {
			support_bits = bits;
			support_known = true;
		}
	}
	bits = support_known ? support_bits : 0;
	tpsa_leave();
	return bits;
}
