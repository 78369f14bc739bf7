/*
 * Types and flags shared by the PSA Internal Trusted Storage and Protected
 * Storage APIs (PSA Certified Secure Storage API 1.0; the values are the
 * specification's, the text is ours).
 */
#ifndef PSA_STORAGE_COMMON_H
#define PSA_STORAGE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Names an asset within the caller's storage; 0 is never valid. */
typedef uint64_t psa_storage_uid_t;

typedef uint32_t psa_storage_create_flags_t;

struct psa_storage_info_t {
	size_t capacity;                  /* bytes the asset may hold */
	size_t size;                      /* bytes it holds */
	psa_storage_create_flags_t flags; /* as given when it was made */
};

#define PSA_STORAGE_FLAG_NONE                 0u
#define PSA_STORAGE_FLAG_WRITE_ONCE           (1u << 0)
#define PSA_STORAGE_FLAG_NO_CONFIDENTIALITY   (1u << 1)
#define PSA_STORAGE_FLAG_NO_REPLAY_PROTECTION (1u << 2)

/* psa_ps_get_support(): psa_ps_create() and psa_ps_set_extended() exist. */
#define PSA_STORAGE_SUPPORT_SET_EXTENDED (1u << 0)

#ifdef __cplusplus
}
#endif

#endif
