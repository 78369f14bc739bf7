/* The tessera command against the real daemon, checked with OpenSSL's command line. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define TESSERA TESSERA_BUILD_DIR "/client/tessera"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 120);

/* Run "tessera --endpoint ... ARGS" as Direct "dave"; output in out. */
static int tessera(char *out, size_t outlen, const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), TESSERA " --endpoint unix:%s --auth direct --app-name dave %s",
	         d.sock, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

Test(cli, rsa_sign_verifies_with_openssl_command)
{
	char out[8192];

	cr_assert_eq(tessera(out, sizeof(out), "create-rsa-key signer --bits 2048"), 0, "%s", out);
	cr_assert_eq(tessera(out, sizeof(out), "export-public-key signer > %s/pub.pem", d.dir), 0);
	cr_assert_eq(tessera(out, sizeof(out), "sign signer --message 'to be signed' > %s/sig.b64",
	                     d.dir),
	             0);
	cr_assert_eq(sh("base64 -d %s/sig.b64 > %s/sig.bin && printf 'to be signed' > %s/msg",
	                d.dir, d.dir, d.dir),
	             0);
	cr_assert_eq(sh("openssl dgst -sha256 -verify %s/pub.pem -signature %s/sig.bin %s/msg "
	                ">/dev/null",
	                d.dir, d.dir, d.dir),
	             0, "OpenSSL must accept the daemon's signature");
	cr_assert_eq(sh("printf 'to be signeD' > %s/msg && openssl dgst -sha256 -verify %s/pub.pem "
	                "-signature %s/sig.bin %s/msg >/dev/null 2>&1",
	                d.dir, d.dir, d.dir, d.dir),
	             256, "and reject it for another message");
}

Test(cli, ecc_sign_verify_and_exit_codes)
{
	char out[8192], sig[512];

	cr_assert_eq(tessera(out, sizeof(out), "create-ecc-key ec"), 0);
	cr_assert_eq(tessera(sig, sizeof(sig), "sign ec --message abc"), 0);
	sig[strcspn(sig, "\n")] = '\0';
	cr_assert_eq(tessera(out, sizeof(out), "verify ec --message abc --signature %s", sig), 0);
	cr_assert_eq(tessera(out, sizeof(out), "verify ec --message abd --signature %s 2>&1", sig),
	             1, "the daemon said no");
	cr_assert(strstr(out, "PsaErrorInvalidSignature") != NULL, "%s", out);
	cr_assert_eq(tessera(out, sizeof(out), "sign nokey --message abc --alg ecdsa-sha256 2>&1"),
	             1);
	cr_assert(strstr(out, "PsaErrorDoesNotExist") != NULL, "%s", out);
	cr_assert_eq(tessera(out, sizeof(out), "create-ecc-key x --curve p999 2>&1"), 2);
	cr_assert_eq(tessera(out, sizeof(out), "list-keys"), 0);
	cr_assert(strstr(out, "ec: ecc 256 bits, ecdsa-sha256") != NULL, "%s", out);
}

Test(cli, encrypt_decrypt_random_delete)
{
	char out[8192], ct[1024];

	cr_assert_eq(tessera(out, sizeof(out), "create-rsa-key box --for encrypt"), 0);
	cr_assert_eq(tessera(ct, sizeof(ct), "encrypt box --message 'a secret'"), 0);
	ct[strcspn(ct, "\n")] = '\0';
	cr_assert_eq(tessera(out, sizeof(out), "decrypt box --ciphertext %s", ct), 0);
	cr_assert_str_eq(out, "a secret");
	cr_assert_eq(tessera(out, sizeof(out), "generate-random 24"), 0);
	cr_assert_eq(strlen(out), 49, "48 hex digits and a newline: %s", out);
	cr_assert_eq(tessera(out, sizeof(out), "delete-key box"), 0);
	cr_assert_eq(tessera(out, sizeof(out), "delete-key box 2>&1"), 1);
	cr_assert_eq(tessera(out, sizeof(out), "--json list-keys"), 0);
	cr_assert(strstr(out, "\"keys\"") != NULL && strstr(out, "box") == NULL, "%s", out);
}

Test(cli, create_csr_verifies_with_openssl)
{
	char out[8192];

	cr_assert_eq(tessera(out, sizeof(out), "create-ecc-key dev --curve p384"), 0);
	cr_assert_eq(tessera(out, sizeof(out), "create-csr dev --cn device-7 > %s/dev.csr", d.dir),
	             0);
	cr_assert_eq(sh("openssl req -in %s/dev.csr -verify -noout 2>/dev/null", d.dir), 0,
	             "OpenSSL verifies the request's self-signature");
	cr_assert_eq(
	        sh("openssl req -in %s/dev.csr -noout -subject | grep -q 'CN = device-7'", d.dir),
	        0);
	cr_assert_eq(tessera(out, sizeof(out), "create-rsa-key rsa"), 0);
	cr_assert_eq(tessera(out, sizeof(out), "create-csr rsa --cn r --der > %s/r.der", d.dir), 0);
	cr_assert_eq(sh("openssl req -inform DER -in %s/r.der -verify -noout 2>/dev/null", d.dir),
	             0);
	cr_assert_eq(tessera(out, sizeof(out), "create-csr dev 2>&1"), 2, "--cn is needed");
}
