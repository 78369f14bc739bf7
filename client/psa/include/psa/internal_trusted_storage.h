/*
 * PSA Internal Trusted Storage API 1.0, over tesserad (libtessera-psa):
 * each asset belongs to the calling application's identity; see
 * docs/storage.md for what is guaranteed and the limits.
 */
#ifndef PSA_INTERNAL_TRUSTED_STORAGE_H
#define PSA_INTERNAL_TRUSTED_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "psa/error.h"
#include "psa/storage_common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PSA_ITS_API_VERSION_MAJOR 1
#define PSA_ITS_API_VERSION_MINOR 0

/* Create or replace uid with data_length bytes and create_flags.
 * PSA_SUCCESS; PSA_ERROR_NOT_PERMITTED (a write-once asset);
 * PSA_ERROR_NOT_SUPPORTED (a flag this implementation does not know);
 * PSA_ERROR_INVALID_ARGUMENT (uid 0, NULL data with a length);
 * PSA_ERROR_INSUFFICIENT_STORAGE (the tenant's quota);
 * PSA_ERROR_STORAGE_FAILURE (also when tesserad cannot be reached). */
psa_status_t psa_its_set(psa_storage_uid_t uid, size_t data_length, const void *p_data,
                         psa_storage_create_flags_t create_flags);

/* Copy up to data_size bytes from data_offset into p_data and their number
 * into *p_data_length; fewer only at the end of the data, and bytes of
 * p_data past them (all of them on failure) are not touched. PSA_SUCCESS;
 * PSA_ERROR_DOES_NOT_EXIST; PSA_ERROR_INVALID_ARGUMENT (uid 0, NULL
 * pointers, data_offset past the size); PSA_ERROR_STORAGE_FAILURE. */
psa_status_t psa_its_get(psa_storage_uid_t uid, size_t data_offset, size_t data_size, void *p_data,
                         size_t *p_data_length);

/* The asset's capacity, size and flags. PSA_SUCCESS;
 * PSA_ERROR_DOES_NOT_EXIST; PSA_ERROR_INVALID_ARGUMENT (uid 0, NULL
 * p_info); PSA_ERROR_STORAGE_FAILURE. */
psa_status_t psa_its_get_info(psa_storage_uid_t uid, struct psa_storage_info_t *p_info);

/* Remove the asset. PSA_SUCCESS; PSA_ERROR_DOES_NOT_EXIST;
 * PSA_ERROR_NOT_PERMITTED (write-once); PSA_ERROR_INVALID_ARGUMENT (uid 0);
 * PSA_ERROR_STORAGE_FAILURE. */
psa_status_t psa_its_remove(psa_storage_uid_t uid);

#ifdef __cplusplus
}
#endif

#endif
