/*
 * What the two halves of the PSA <-> protobuf mapping share (pbmap.c: the
 * arena, key types, usage flags and attributes; pbmap-alg.c: algorithms).
 */
#ifndef TESSERA_CLIENT_PSA_PBMAP_PRIV_H
#define TESSERA_CLIENT_PSA_PBMAP_PRIV_H

#include "client/psa/pbmap.h"

/* A new message of the named protobuf-c type in arena a (NULL when out of memory). */
#define NEW_MSG(a, name) tpsa_pbarena_msg((a), &name##__descriptor)

/* A malformed message from the daemon: its reply cannot be read. */
#define MALFORMED PSA_ERROR_COMMUNICATION_FAILURE

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

#endif
