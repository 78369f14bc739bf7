#ifndef TESSERA_PROVIDERS_TS_PRIV_H
#define TESSERA_PROVIDERS_TS_PRIV_H

#include "providers/provider.h"

extern const struct prov_ops prov_trusted_services_ops;

/*
 * The persistent key IDs this daemon gives its keys in the secure
 * partition, whose key namespace every normal-world client shares: the top
 * 1/64 of PSA's user range, so that other clients counting up from 1 (as
 * Parsec does) meet them last.
 */
#define TSP_KEY_ID_MIN 0x3f000000u
#define TSP_KEY_ID_MAX 0x3fffffffu

#endif
