/*
 * tessera-migrate's PKCS#11 part: Parsec PKCS#11 key mappings, and keys an
 * HSM administrator put on a token, recorded for a tenant as keys of a
 * Pkcs11 provider instance (ref = the objects' CKA_ID, no material). The
 * token is only read. Reference: docs/pkcs11.md, "Adopting keys".
 */
#ifndef TESSERA_MIGRATE_PKCS11_H
#define TESSERA_MIGRATE_PKCS11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "keystore/keystore.h"
#include "migrate/parsec.h"
#include "providers/provider.h"

/* The Pkcs11 instance keys go to, opened at first use. */
struct mig_p11 {
	const char *want;     /* --pkcs11-instance, NULL: the first Pkcs11 provider */
	const char *instance; /* the one found */
	const struct prov_ops *ops;
	void *ctx;
	bool tried;
	bool none;      /* the configuration has no Pkcs11 provider at all */
	char err[1024]; /* why it could not be opened */
};

/* Open the instance (once); 0, or -1 with t->err. */
int mig_p11_open(struct mig_p11 *t, const struct ts_config *cfg);
void mig_p11_close(struct mig_p11 *t);

/* Outcomes, as main.c counts them. */
enum mig_p11_outcome { MIG_P11_IMPORTED, MIG_P11_PRESENT, MIG_P11_SKIPPED, MIG_P11_FAILED };

/* One Parsec PKCS#11 mapping: checked against the token, recorded in ks
 * when apply (ks NULL: a dry run on a store that does not exist). */
enum mig_p11_outcome mig_p11_migrate(struct mig_p11 *t, const struct ts_config *cfg, struct ks *ks,
                                     bool apply, const struct mig_entry *m, char *what,
                                     size_t whatlen);

/* The admin adoption: the key on the token with that CKA_ID (hex) or
 * label, used with the algorithm alg (a name or a PSA number), recorded
 * for (auth, app, name). 0, or -1 with why. */
struct mig_p11_adopt {
	unsigned auth;
	const char *app, *name;
	const char *cka_id_hex, *label;
	const char *alg;
};
int mig_p11_adopt(struct mig_p11 *t, const struct ts_config *cfg, struct ks *ks,
                  const struct mig_p11_adopt *a, char *msg, size_t msglen);

#endif
