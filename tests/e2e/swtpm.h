/*
 * swtpm for the end-to-end tests: a TPM of its own per test, on Unix
 * sockets in the test's directory, killed with the test (td_fork).
 */
#ifndef TESSERA_TESTS_E2E_SWTPM_H
#define TESSERA_TESTS_E2E_SWTPM_H

#include <sys/types.h>

/* Start swtpm listening on sock (control socket sock.ctrl) with its state
 * in dir/state<gen> (a new gen is a new TPM: new seeds), its log in
 * dir/swtpm.log; returns once it accepts. The test fails if it does not. */
pid_t td_swtpm_start(const char *dir, const char *sock, int gen);
/* SIGTERM and wait; *pid becomes 0. A pid of 0 is ignored. */
void td_swtpm_stop(pid_t *pid);

#endif
