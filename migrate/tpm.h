/*
 * Parsec's TPM provider keys: its key reference (a bincode PasswordContext)
 * and the mapping's attributes, turned into the native form that Tessera's
 * TPM provider takes over with import_native. Formats:
 * docs/migrating-from-parsec.md, "TPM keys".
 */
#ifndef TESSERA_MIGRATE_TPM_H
#define TESSERA_MIGRATE_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "migrate/parsec.h"
#include "migrate/psamap.h"

/*
 * Decode the mapping's attributes (the whole bincode psa-crypto Attributes)
 * and its PasswordContext, and rebuild the key's public area the way
 * Parsec's provider does on each use. 0 with the PSA attributes in
 * *ret_attrs and the native form (TPM2B_PUBLIC | TPM2B_PRIVATE | auth value,
 * a secret: release with ts_free_secret) in *ret_native; -1 with why (a
 * blob that does not decode, an older Parsec's saved-context record, an
 * algorithm Parsec's TPM provider cannot have made).
 */
int mig_tpm_convert(const struct mig_entry *m, struct mig_psa_attrs *ret_attrs,
                    uint8_t **ret_native, size_t *ret_len, char *why, size_t whylen);

#endif
