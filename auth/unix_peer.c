/*
 * UnixPeerCredentials authenticator: the client states its UID (4 bytes,
 * little-endian) and the kernel's SO_PEERCRED record, taken at accept, must
 * agree. The identity is the UID in decimal.
 */
#include "auth/auth-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum ts_err unix_peer_authenticate(void *ctx, const uint8_t *auth, size_t len,
                                          const struct auth_peer *peer, char **ret_name)
{
	uint32_t claimed;
	char buf[16];
	char *name;

	(void)ctx;
	if (len != 4 || peer == NULL || !peer->valid)
		return TS_E_AUTHENTICATION_ERROR;
	claimed = (uint32_t)auth[0] | ((uint32_t)auth[1] << 8) | ((uint32_t)auth[2] << 16) |
	          ((uint32_t)auth[3] << 24);
	if (claimed != (uint32_t)peer->uid)
		return TS_E_AUTHENTICATION_ERROR;
	snprintf(buf, sizeof(buf), "%u", claimed);
	name = strdup(buf);
	if (name == NULL)
		return TS_E_NOMEM;
	*ret_name = name;
	return TS_OK;
}

const struct auth_ops auth_unix_peer_ops = {
        .name = "UnixPeerCredentials",
        .description = "Unix peer credentials: the caller's UID, checked against SO_PEERCRED",
        .auth_type = 3,
        .authenticate = unix_peer_authenticate,
};
