/*
 * Two real Unix users (made with useradd when the tests run as root) share
 * one daemon through UnixPeerCredentials: neither can see or touch the
 * other's keys; root, the configured admin, lists and deletes clients.
 */
#include <criterion/criterion.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/tessera.h"
#include "harness.h"

#define CONFIG_UNIX                                                                          \
	"{\"core\": {\"allow_root\": true},"                                                 \
	" \"listener\": {\"socket_path\": \"%1$s\"},"                                        \
	" \"authenticators\": [{\"type\": \"UnixPeerCredentials\", \"admins\": [{\"name\": " \
	"\"0\"}]}]}"

static struct td d;

static uid_t ensure_user(const char *name)
{
	struct passwd *pw = getpwnam(name);
	char cmd[256];

	if (pw == NULL) {
		snprintf(cmd, sizeof(cmd),
		         "useradd --system --no-create-home --shell /usr/sbin/nologin %s", name);
		cr_assert_eq(system(cmd), 0, "useradd %s failed", name);
		pw = getpwnam(name);
	}
	cr_assert_not_null(pw);
	return pw->pw_uid;
}

static struct tessera_client *client(void)
{
	struct tessera_options o;
	struct tessera_client *c;
	static char ep[160];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_UNIX_PEER;
	if (tessera_open(&o, &c) != TESSERA_OK)
		_exit(90);
	return c;
}

/* Run fn as uid in a child; returns its exit status (0 = all checks held). */
static int as_user(uid_t uid, int (*fn)(void))
{
	pid_t pid = td_fork();
	int st;

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (setgid(uid) != 0 && setgid(65534) != 0)
			_exit(91);
		if (setuid(uid) != 0)
			_exit(92);
		_exit(fn());
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static const struct tessera_key_spec signer = {
        .type = "ecc",
        .bits = 256,
        .alg = "ecdsa-sha256",
        .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_VERIFY_HASH | TESSERA_USAGE_SIGN_MESSAGE,
};

static int first_user_creates(void)
{
	struct tessera_client *c = client();
	struct tessera_key_info *k;
	uint8_t *sig;
	size_t n, len;

	if (tessera_generate_key(c, 1, "mine", &signer) != 0)
		return 1;
	if (tessera_sign_message(c, 1, "mine", "ecdsa-sha256", (const uint8_t *)"m", 1, &sig,
	                         &len) != 0)
		return 2;
	free(sig);
	if (tessera_list_keys(c, &k, &n) != 0 || n != 1)
		return 3;
	tessera_key_info_free(k, n);
	tessera_close(c);
	return 0;
}

static int second_user_is_kept_out(void)
{
	struct tessera_client *c = client();
	struct tessera_key_info *k;
	char **names;
	uint8_t *out;
	size_t n, len;

	if (tessera_sign_message(c, 1, "mine", "ecdsa-sha256", (const uint8_t *)"m", 1, &out,
	                         &len) != 1140)
		return 1;
	if (tessera_export_public_key(c, 1, "mine", &out, &len) != 1140)
		return 2;
	if (tessera_destroy_key(c, 1, "mine") != 1140)
		return 3;
	if (tessera_list_keys(c, &k, &n) != 0 || n != 0)
		return 4;
	tessera_key_info_free(k, n);
	if (tessera_list_clients(c, &names, &n) != 21)
		return 5;
	if (tessera_delete_client(c, "0") != 21)
		return 6;
	/* The same name is free for this user. */
	if (tessera_generate_key(c, 1, "mine", &signer) != 0)
		return 7;
	tessera_close(c);
	return 0;
}

static int first_user_has_nothing_left(void)
{
	struct tessera_client *c = client();
	struct tessera_key_info *k;
	size_t n;

	if (tessera_list_keys(c, &k, &n) != 0)
		return 1;
	tessera_key_info_free(k, n);
	tessera_close(c);
	return n == 0 ? 0 : 2;
}

Test(users, unix_users_are_separate_tenants, .timeout = 120)
{
	struct tessera_client *c;
	char **names, uid1s[16];
	size_t n;
	uid_t u1, u2;

	if (geteuid() != 0)
		cr_skip_test("needs root to create users and switch to them");
	u1 = ensure_user("tessera-test1");
	u2 = ensure_user("tessera-test2");
	td_start(&d, CONFIG_UNIX);
	/* Let the other users reach the socket inside the private temp dir. */
	cr_assert_eq(chmod(d.dir, 0711), 0);

	cr_assert_eq(as_user(u1, first_user_creates), 0);
	cr_assert_eq(as_user(u2, second_user_is_kept_out), 0);

	/* Root is the admin of this authenticator. */
	c = client();
	cr_assert_eq(tessera_list_clients(c, &names, &n), 0);
	cr_assert_eq(n, 2);
	snprintf(uid1s, sizeof(uid1s), "%u", (unsigned)u1);
	cr_assert(strcmp(names[0], uid1s) == 0 || strcmp(names[1], uid1s) == 0);
	tessera_strv_free(names, n);
	cr_assert_eq(tessera_delete_client(c, uid1s), 0);
	tessera_close(c);
	cr_assert_eq(as_user(u1, first_user_has_nothing_left), 0);
	cr_assert_eq(td_stop(&d), 0);
}
