/*
 * End-to-end test harness: starts the real tesserad on a temporary socket
 * with a temporary configuration, and talks to it with raw bytes.
 */
#ifndef TESSERA_TESTS_HARNESS_H
#define TESSERA_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire/wire.h"

struct td {
	pid_t pid;
	char dir[64];
	char sock[128];
	char cfg[128];
	char log[128];
	char kek[128]; /* the key-encryption key: dir/secrets/keystore.kek */
	/* The extra arguments of td_start_args, used again by td_restart
	 * (the caller keeps them alive). */
	const char *const *extra;
};

/* A configuration template: every "%1$s" becomes the socket path. */
#define TD_CONFIG_DEFAULT                                                                         \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\", \"log_error_details\": "     \
	"true},"                                                                                  \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                       \
	" \"authenticators\": [{\"type\": \"Direct\", \"admins\": [{\"name\": \"admin_priv\"}]}," \
	"                      {\"type\": \"UnixPeerCredentials\", \"admins\": [{\"name\": "      \
	"\"0\"}]}],"                                                                              \
	" \"providers\": [{\"type\": \"Software\"}]}"

/* Write the configuration, start tesserad, wait until it accepts (the test
 * fails if it does not within 10 s). */
void td_start(struct td *d, const char *config_template);
/* Same, on a state directory holding a copy of the key store files
 * (keystore.sqlite3*) of state_src. */
void td_start_with_state(struct td *d, const char *config_template, const char *state_src);
/* Same, with extra command-line arguments (NULL-terminated list). */
void td_start_args(struct td *d, const char *config_template, const char *const *extra_args);
/* Stop the daemon with sig, wait, start it again on the same files and
 * arguments; returns
 * the exit status it had (128 + signal when killed). */
int td_restart(struct td *d, int sig);
/* Stop the daemon with sig and wait, keeping its files (to change them
 * before td_resume); returns the exit status as td_restart does. */
int td_halt(struct td *d, int sig);
/* Start the daemon again on d's files and arguments after td_halt. */
void td_resume(struct td *d);
/* Start the daemon again on the same files and arguments, after it was
 * stopped with td_wait_exit (or exited). */
void td_respawn(struct td *d);
/* SIGTERM, wait; returns the exit status (-1 if it had to be killed). Removes the temp dir. */
int td_stop(struct td *d);
/* Replace the configuration file. */
void td_write_config(struct td *d, const char *config_template);
/* Print the daemon's log to stderr (for failures). */
void td_dump_log(const struct td *d);
/* Count the lines of the log that contain needle. */
int td_log_count(const struct td *d, const char *needle);

/* A connected socket to the daemon (fails the test on error). */
int td_connect(const struct td *d);
int td_send_all(int fd, const void *buf, size_t len);
/* Read exactly len bytes within timeout_ms. 0 ok, -1 on EOF/error/timeout. */
int td_recv_exact(int fd, void *buf, size_t len, int timeout_ms);
/* True when the peer has closed (EOF within timeout_ms). */
int td_wait_closed(int fd, int timeout_ms);

struct td_resp {
	struct wire_header h;
	uint8_t *body;
	size_t body_len;
};
void td_resp_free(struct td_resp *r);

/* Read one response (header + body). 0 ok, -1 on error. */
int td_read_response(int fd, struct td_resp *r, int timeout_ms);

/* Send a request on fd (with WIRE_FLAG_KEEP_OPEN, so fd may be used again)
 * and read the response. 0 ok, -1 on error. */
int td_exchange(int fd, uint32_t opcode, uint8_t provider, uint8_t auth_type, const void *body,
                size_t body_len, const void *auth, size_t auth_len, struct td_resp *r);

/* One request on its own connection (Parsec style); returns the status, or
 * -1 on a transport error. r may be NULL. */
int td_call(const struct td *d, uint32_t opcode, uint8_t provider, uint8_t auth_type,
            const void *body, size_t body_len, const void *auth, size_t auth_len,
            struct td_resp *r);

/* Send raw bytes on a new connection and read one response; the status, or -1. */
int td_raw(const struct td *d, const void *bytes, size_t len, struct td_resp *r);

/* Open n connections and check the last is served (retrying while the
 * daemon still counts older ones). 0, or -1 after 5 s. */
int td_fill_connections(const struct td *d, int *fds, int n);

/* True when the daemons run under valgrind (TESSERA_VALGRIND=1): memory
 * figures are then valgrind's, and time limits are longer. */
int td_under_valgrind(void);

/* How much the machine's load stretches waits: the one-minute load average
 * per CPU when it is above 1 (at most 8), else 1; read once per test. */
double td_load_factor(void);

/* A wait in milliseconds, stretched when the daemon runs under valgrind and
 * when the machine is loaded. */
int td_scale(int ms);

/* fork(), for a process the test starts: when called from the test's main
 * thread, the child is killed when the test process ends, even if the test
 * failed in its set-up and never ran its clean-up. */
pid_t td_fork(void);

/* Wait (up to timeout_ms) for a daemon that was told to stop by the test
 * itself; returns its exit status as td_stop does (-1 if it had to be
 * killed). td_stop afterwards only removes the files. */
int td_wait_exit(struct td *d, int timeout_ms);

/* Hex string to bytes (malloc'd); returns the length. */
size_t td_unhex(const char *hex, uint8_t **ret);

#endif
