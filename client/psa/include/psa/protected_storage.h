/*
 * PSA Protected Storage API 1.0, over tesserad (libtessera-psa), with the
 * optional psa_ps_create() and psa_ps_set_extended(): each asset belongs to
 * the calling application's identity; see docs/storage.md for what is
 * guaranteed and the limits.
 */
#ifndef PSA_PROTECTED_STORAGE_H
#define PSA_PROTECTED_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "psa/error.h"
#include "psa/storage_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PSA_PS_API_VERSION_MAJOR 1
#define PSA_PS_API_VERSION_MINOR 0

/* As psa_its_set(), and the capacity becomes data_length. Transport
 * failures are PSA_ERROR_GENERIC_ERROR. */
psa_status_t psa_ps_set(psa_storage_uid_t uid, size_t data_length, const void *p_data,
                        psa_storage_create_flags_t create_flags);

/* As psa_its_get(); also PSA_ERROR_INVALID_SIGNATURE (the record does not
 * authenticate, or is an older copy of itself) and PSA_ERROR_DATA_CORRUPT
 * (a broken record); transport failures are PSA_ERROR_GENERIC_ERROR. */
psa_status_t psa_ps_get(psa_storage_uid_t uid, size_t data_offset, size_t data_size, void *p_data,
                        size_t *p_data_length);

/* As psa_its_get_info(), with psa_ps_get()'s extra statuses. */
psa_status_t psa_ps_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info);

/* As psa_its_remove(). */
psa_status_t psa_ps_remove(psa_storage_uid_t uid);

/* Reserve an empty asset of capacity bytes. PSA_SUCCESS;
 * PSA_ERROR_NOT_SUPPORTED (PSA_STORAGE_FLAG_WRITE_ONCE or an unknown flag,
 * checked first); PSA_ERROR_INSUFFICIENT_STORAGE (the quota, checked next);
 * PSA_ERROR_ALREADY_EXISTS; PSA_ERROR_INVALID_ARGUMENT (uid 0);
 * PSA_ERROR_GENERIC_ERROR, PSA_ERROR_STORAGE_FAILURE. */
psa_status_t psa_ps_create(psa_storage_uid_t uid, size_t capacity,
                           psa_storage_create_flags_t create_flags);

/* Write data_length bytes at data_offset: no gap after the data, nothing
 * past the capacity (PSA_ERROR_INVALID_ARGUMENT otherwise). PSA_SUCCESS;
 * PSA_ERROR_DOES_NOT_EXIST; PSA_ERROR_NOT_PERMITTED (write-once);
 * psa_ps_get()'s failures. */
psa_status_t psa_ps_set_extended(psa_storage_uid_t uid, size_t data_offset, size_t data_length,
                                 const void *p_data);

/* PSA_STORAGE_SUPPORT_SET_EXTENDED, or 0 when tesserad cannot be reached
 * (asked once, then remembered). */
uint32_t psa_ps_get_support(void);

#ifdef __cplusplus
}
#endif

#endif
