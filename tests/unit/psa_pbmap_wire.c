/*
 * The daemon's side of the mapping test: decodes bytes the client library
 * packed with the daemon's own decoders (wire/psa.h). A translation unit of
 * its own, because wire/psa.h's macros are not the PSA specification's and
 * must not meet psa/crypto.h.
 */
#include "wire/psa.h"

#include "psa_algorithm.pb-c.h"

int daemon_decodes_alg(const uint8_t *buf, size_t len);
int daemon_decodes_attrs(const uint8_t *buf, size_t len);

int daemon_decodes_alg(const uint8_t *buf, size_t len)
{
	PsaAlgorithm__Algorithm *m = psa_algorithm__algorithm__unpack(NULL, len, buf);
	struct psa_alg a;
	enum ts_err err;

	if (m == NULL)
		return 0;
	err = psa_alg_from_pb(m, &a);
	psa_algorithm__algorithm__free_unpacked(m, NULL);
	return err == TS_OK;
}

int daemon_decodes_attrs(const uint8_t *buf, size_t len)
{
	struct psa_attrs a;

	return psa_attrs_unpack(buf, len, &a) == TS_OK;
}
