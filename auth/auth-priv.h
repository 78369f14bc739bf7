#ifndef TESSERA_AUTH_PRIV_H
#define TESSERA_AUTH_PRIV_H

#include "auth/auth.h"

extern const struct auth_ops auth_direct_ops;
extern const struct auth_ops auth_unix_peer_ops;

#endif
