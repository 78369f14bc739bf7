#ifndef TESSERA_AUTH_PRIV_H
#define TESSERA_AUTH_PRIV_H

#include "auth/auth.h"

extern const struct auth_ops auth_direct_ops;
extern const struct auth_ops auth_unix_peer_ops;
extern const struct auth_ops auth_jwt_ops;

/* The current intermediate: kid, public key PEM (malloc'd) and generation.
 * TS_E_AUTHENTICATION_ERROR when there is none; TS_E_NOMEM. */
enum ts_err trust_store_current(struct trust_store *ts, char ret_kid[TRUST_KID_LEN], char **ret_pem,
                                size_t *ret_pem_len, uint64_t *ret_generation);

#endif
