/* The tessera command's internals. */
#ifndef TESSERA_CLIENT_CLI_PRIV_H
#define TESSERA_CLIENT_CLI_PRIV_H

#include "client/tessera.h"

#define EXIT_OK      0
#define EXIT_STATUS  1 /* the daemon answered with a non-zero status */
#define EXIT_USAGE   2
#define EXIT_CONNECT 3 /* could not reach the daemon, or a transport error */

extern int cli_json;

/* Report a failed call; returns the exit code for it. */
int cli_failed(struct tessera_client *c, const char *cmd, int rc);

/* Key commands: argv[0] is the command name. Return an exit code. */
int cli_key_command(struct tessera_client *c, int argc, char **argv);

/* Whether cmd is one of the key commands. */
int cli_is_key_command(const char *cmd);

/* tessera storage set|get|info|remove (cli-storage.c): argv[0] is
 * "storage". Returns an exit code. */
int cli_storage_command(struct tessera_client *c, int argc, char **argv);

/* parsec-tool 0.5's spellings (cli-parsec.c): whether argv (argv[0] the
 * command) is one, given the program's name and whether parsec-tool's
 * global options were used; and running it. provider: the global -p, or -1. */
int cli_parsec_form(const char *prog, int globals, int argc, char **argv);
int cli_parsec_run(struct tessera_options *o, int auth_given, int provider, int argc, char **argv);

/* r || s (PSA's ECDSA signature) -> DER ECDSA-Sig-Value; OPENSSL_free it. */
int cli_ecdsa_raw_to_der(const uint8_t *rs, size_t len, uint8_t **ret, int *ret_len);

/* der as PEM with the label and line end eol. */
void cli_write_pem(const char *label, const uint8_t *der, size_t len, const char *eol);

enum { CLI_CSR_PEM, CLI_CSR_DER, CLI_CSR_PEM_CRLF };

/* A PKCS#10 request for a daemon-held key. Subject attributes may be NULL;
 * san: DNS names. alg NULL: the key's policy algorithm. */
struct cli_csr {
	const char *key, *alg;
	const char *cn, *ou, *o, *l, *st, *c, *serial;
	char **san;
	size_t n_san;
	int format; /* CLI_CSR_* */
};
int cli_create_csr(struct tessera_client *c, uint8_t prov, const struct cli_csr *r);

#endif
