/* Wiping memory that held secrets (keys, tokens, auth bytes), and keeping a
 * process that holds them from leaking them. */
#ifndef TESSERA_COMMON_SECMEM_H
#define TESSERA_COMMON_SECMEM_H

#include <stddef.h>

/* Overwrite len bytes at p with zeros in a way the compiler cannot drop. NULL ok. */
void ts_wipe(void *p, size_t len);

/* Wipe len bytes at p, then free(p). NULL ok. */
void ts_free_secret(void *p, size_t len);

/* Compare two buffers of equal length in time that does not depend on where
 * they differ. Returns 1 when equal, 0 otherwise. */
int ts_consttime_eq(const void *a, const void *b, size_t len);

/* For a process that holds secrets in memory: private files (umask 077), no
 * core dumps, not ptrace-attachable by its own user (except in sanitizer
 * builds, whose leak checker needs ptrace), SIGPIPE ignored. */
void ts_harden_process(void);

#endif
