/*
 * A program outside the tree, built by check-install.sh against the
 * installed <tessera/tessera.h> and libtessera.so with pkg-config's flags.
 * It needs no daemon: it checks the options' defaults, tessera_strerror
 * (whose Parsec names come from wire/ code inside the library), argument
 * checking in tessera_open, and a connect error on a socket that is not
 * there. Exit 0 when all hold; otherwise 1, naming the first that failed.
 */
#include <stdio.h>
#include <string.h>

#include <tessera/tessera.h>

static int failed(const char *what)
{
	fprintf(stderr, "consumer: %s\n", what);
	return 1;
}

int main(int argc, char **argv)
{
	struct tessera_options o;
	struct tessera_client *c = NULL;
	char endpoint[256];
	uint32_t maj, min;
	int rc;

	if (argc != 2)
		return failed("usage: consumer SOCKET-PATH-THAT-DOES-NOT-EXIST");

	tessera_options_init(&o);
	if (o.auth_type != TESSERA_AUTH_UNIX_PEER || o.persistent != 1 || o.endpoint != NULL)
		return failed("tessera_options_init: unexpected defaults");

	if (strcmp(tessera_strerror(TESSERA_OK), "success") != 0)
		return failed("tessera_strerror(TESSERA_OK) is not \"success\"");
	if (strcmp(tessera_strerror(1140), "PsaErrorDoesNotExist") != 0)
		return failed("tessera_strerror(1140) is not \"PsaErrorDoesNotExist\"");

	o.endpoint = "tcp:localhost:1";
	if (tessera_open(&o, &c) != TESSERA_ERR_ARG || c != NULL)
		return failed("tessera_open accepted a tcp: endpoint");

	snprintf(endpoint, sizeof(endpoint), "unix:%s", argv[1]);
	o.endpoint = endpoint;
	o.timeout_ms = 2000;
	if ((rc = tessera_open(&o, &c)) != TESSERA_OK)
		return failed(tessera_strerror(rc));
	if (strcmp(tessera_endpoint(c), endpoint) != 0) {
		tessera_close(c);
		return failed("tessera_endpoint does not name the endpoint");
	}
	rc = tessera_ping(c, &maj, &min);
	tessera_close(c);
	if (rc != TESSERA_ERR_CONNECT)
		return failed("tessera_ping on a missing socket is not TESSERA_ERR_CONNECT");

	printf("consumer: ok\n");
	return 0;
}
