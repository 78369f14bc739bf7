/* libtessera internals shared by its files. */
#ifndef TESSERA_CLIENT_PRIV_H
#define TESSERA_CLIENT_PRIV_H

#include <protobuf-c/protobuf-c.h>

#include "client/tessera.h"

/* Pack op, send it to provider, and unpack the result with desc into
 * *ret_result (desc NULL: the result is not read). TESSERA_OK, a Parsec
 * status, or a TESSERA_ERR_*. */
int tessera_call(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                 const ProtobufCMessage *op, const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **ret_result);

#include "psa_key_attributes.pb-c.h"

/* Names for ListKeys: the policy algorithm (malloc'd, NULL when unnamed)
 * and the key type (static). */
char *tessera_alg_name(const PsaAlgorithm__Algorithm *a);
const char *tessera_type_name(const PsaKeyAttributes__KeyType *t);

#endif
