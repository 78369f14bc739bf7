/* libtessera: Tessera's identity operations (docs/identity.md). */
#include "client/tessera.h"
#include "client/client-priv.h"

#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

#include "add_client.pb-c.h"
#include "get_token.pb-c.h"
#include "prove_client.pb-c.h"
#include "remove_client.pb-c.h"
#include "report_client.pb-c.h"
#include "share_trust_bundle.pb-c.h"

int tessera_get_token(struct tessera_client *c, char **ret_token, uint64_t *ret_expires_at,
                      char **ret_identity)
{
	GetToken__Operation op = GET_TOKEN__OPERATION__INIT;
	GetToken__Result *r;
	char *tok, *ident;
	int rc = tessera_call(c, 0, WIRE_OP_GET_TOKEN, &op.base, &get_token__result__descriptor,
	                      (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	if (r->token == NULL || r->token[0] == '\0') {
		get_token__result__free_unpacked(r, NULL);
		return TESSERA_ERR_PROTOCOL;
	}
	tok = strdup(r->token);
	ident = strdup(r->identity != NULL ? r->identity : "");
	*ret_expires_at = r->expires_at;
	/* protobuf-c frees without wiping: clear the token's copy first. */
	memset(r->token, 0, strlen(r->token));
	get_token__result__free_unpacked(r, NULL);
	if (tok == NULL || ident == NULL) {
		free(tok);
		free(ident);
		return TESSERA_ERR_NOMEM;
	}
	*ret_token = tok;
	if (ret_identity != NULL)
		*ret_identity = ident;
	else
		free(ident);
	return TESSERA_OK;
}

int tessera_share_trust_bundle(struct tessera_client *c, const uint8_t *der, size_t len, int root)
{
	ShareTrustBundle__Operation op = SHARE_TRUST_BUNDLE__OPERATION__INIT;

	op.certificate.data = (uint8_t *)der;
	op.certificate.len = len;
	op.root = root != 0;
	return tessera_call(c, 0, WIRE_OP_SHARE_TRUST_BUNDLE, &op.base, NULL, NULL);
}

int tessera_add_client(struct tessera_client *c, const char *definition_jws)
{
	AddClient__Operation op = ADD_CLIENT__OPERATION__INIT;

	op.definition = (char *)definition_jws;
	return tessera_call(c, 0, WIRE_OP_ADD_CLIENT, &op.base, NULL, NULL);
}

int tessera_prove_client(struct tessera_client *c, const char *proofs_jws)
{
	ProveClient__Operation op = PROVE_CLIENT__OPERATION__INIT;

	op.proofs = (char *)proofs_jws;
	return tessera_call(c, 0, WIRE_OP_PROVE_CLIENT, &op.base, NULL, NULL);
}

int tessera_remove_client(struct tessera_client *c, const char *statement_jws)
{
	RemoveClient__Operation op = REMOVE_CLIENT__OPERATION__INIT;

	op.statement = (char *)statement_jws;
	return tessera_call(c, 0, WIRE_OP_REMOVE_CLIENT, &op.base, NULL, NULL);
}

int tessera_report_client(struct tessera_client *c, const char *name, uint32_t pid,
                          const char *executable, int stopped, const char *container_id)
{
	ReportClient__Operation op = REPORT_CLIENT__OPERATION__INIT;

	op.name = (char *)name;
	op.pid = pid;
	op.executable = (char *)(executable != NULL ? executable : "");
	op.stopped = stopped != 0;
	op.container_id = (char *)(container_id != NULL ? container_id : "");
	return tessera_call(c, 0, WIRE_OP_REPORT_CLIENT, &op.base, NULL, NULL);
}
