/* The strict C99 probe of the PSA headers (psa_headers_c99.c). */
#ifndef TESSERA_TESTS_PSA_HEADERS_C99_H
#define TESSERA_TESTS_PSA_HEADERS_C99_H

#include <stddef.h>

/* A sum over what the probe expanded; nonzero and the same on every call. */
size_t psa_headers_c99_probe(void);

#endif
