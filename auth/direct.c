/*
 * Direct authenticator: the auth bytes are the application name itself. It
 * proves nothing; it is for mutually trusted clients and for tests.
 */
#include "auth/auth-priv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static enum ts_err direct_authenticate(void *ctx, const uint8_t *auth, size_t len,
                                       const struct auth_peer *peer, char **ret_name)
{
	char *name;

	(void)ctx;
	(void)peer;
	if (len == 0 || !ts_utf8_valid(auth, len) || memchr(auth, '\0', len) != NULL)
		return TS_E_AUTHENTICATION_ERROR;
	name = malloc(len + 1);
	if (name == NULL)
		return TS_E_NOMEM;
	memcpy(name, auth, len);
	name[len] = '\0';
	*ret_name = name;
	return TS_OK;
}

const struct auth_ops auth_direct_ops = {
        .name = "Direct",
        .description = "Direct authentication: the auth field is the application name",
        .auth_type = 1,
        .authenticate = direct_authenticate,
};
