/* libFuzzer target: packed key attributes (as stored and as sent). */
#include <stdint.h>

#include "wire/psa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct psa_attrs a;

	if (psa_attrs_unpack(data, size, &a) == TS_OK) {
		(void)psa_alg_fits_type(&a);
		(void)psa_attrs_deprecated(&a);
		(void)psa_alg_permits(&a.alg, &a.alg);
	}
	return 0;
}
