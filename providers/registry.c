/* The provider types this build has. */
#include "providers/provider.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "providers/pkcs11/pkcs11-priv.h"
#include "providers/software/software-priv.h"
#include "providers/tpm/tpm-priv.h"
#include "providers/trusted_services/ts-priv.h"

static const struct prov_ops *const registry[] = {
        &prov_software_ops,
        &prov_pkcs11_ops,
        &prov_tpm_ops,
        &prov_trusted_services_ops,
};

const struct prov_ops *prov_find(uint8_t id)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(registry); i++)
		if (registry[i]->id == id)
			return registry[i];
	return NULL;
}

const struct prov_ops *prov_find_type(const char *type)
{
	for (size_t i = 0; i < TS_ARRAY_LEN(registry); i++)
		if (strcmp(registry[i]->type, type) == 0)
			return registry[i];
	return NULL;
}

void prov_attest_prep_clear(struct prov_attest_prep *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->public_area);
	free(p->attesting_pub);
	memset(p, 0, sizeof(*p));
}
