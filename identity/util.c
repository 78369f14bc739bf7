/* Small helpers shared by tessera-idp and tessera-orchestrator. */
#include "identity/identity-priv.h"

#include <signal.h>
#include <string.h>
#include <time.h>

bool client_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

void identity_harden(void)
{
	/* The root and intermediate private keys live only in this process. */
	ts_harden_process();
	/* Nothing to reload (the command line is the configuration): a hang-up
	 * of the controlling terminal must not stop us. */
	signal(SIGHUP, SIG_IGN);
}

int64_t now_s(void)
{
	return (int64_t)time(NULL);
}
