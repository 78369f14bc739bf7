#include "common/secmem.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void ts_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0)
		explicit_bzero(p, len);
}

void ts_free_secret(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

int ts_consttime_eq(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= x[i] ^ y[i];
	return acc == 0;
}

void ts_harden_process(void)
{
	struct rlimit rl = {0, 0};

	umask(077);
	setrlimit(RLIMIT_CORE, &rl);
#if !defined(__SANITIZE_ADDRESS__)
	/* LeakSanitizer stops the world with ptrace, which a non-dumpable
	 * process refuses; sanitizer builds are test builds only. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	signal(SIGPIPE, SIG_IGN);
}
