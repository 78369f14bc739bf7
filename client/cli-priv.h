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

#endif
