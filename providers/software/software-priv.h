#ifndef TESSERA_PROVIDERS_SOFTWARE_PRIV_H
#define TESSERA_PROVIDERS_SOFTWARE_PRIV_H

#include "providers/provider.h"

extern const struct prov_ops prov_software_ops;

#endif
