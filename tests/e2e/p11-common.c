/*
 * The PKCS#11 e2e suites' shared helpers (p11-common.h).
 */
#include "p11-common.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>

const char *p11t_softhsm_module(void)
{
	static const char *const paths[] = {
	        "/usr/lib/softhsm/libsofthsm2.so",
	        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
	        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
	        "/usr/local/lib/softhsm/libsofthsm2.so",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], R_OK) == 0)
			return paths[i];
	cr_assert_fail("SoftHSM2 is not installed (tools/install-deps.sh installs it)");
	return NULL;
}

void p11t_write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

void p11t_make_token(char hsm[64])
{
	char path[160], text[256], cmd[512];

	snprintf(hsm, 64, "%s", "/tmp/tsp11.XXXXXX");
	cr_assert_not_null(mkdtemp(hsm));
	snprintf(path, sizeof(path), "%s/tokens", hsm);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(text, sizeof(text),
	         "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	         "log.level = ERROR\nslots.removable = false\n",
	         hsm);
	snprintf(path, sizeof(path), "%s/softhsm2.conf", hsm);
	p11t_write_file(path, text, 0600);
	setenv("SOFTHSM2_CONF", path, 1);
	snprintf(cmd, sizeof(cmd),
	         "softhsm2-util --init-token --free --label '" P11T_LABEL
	         "' --so-pin 12345678 --pin " P11T_PIN " >/dev/null");
	cr_assert_eq(system(cmd), 0, "softhsm2-util --init-token failed");
	snprintf(path, sizeof(path), "%s/pin", hsm);
	p11t_write_file(path, P11T_PIN "\n", 0600);
}

EVP_PKEY *p11t_ec_public(const char *curve, const uint8_t *pt, size_t len)
{
	OSSL_PARAM ps[3];
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pk = NULL;

	ps[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	ps[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, len);
	ps[2] = OSSL_PARAM_construct_end();
	cr_assert_eq(EVP_PKEY_fromdata_init(pc), 1);
	cr_assert_eq(EVP_PKEY_fromdata(pc, &pk, EVP_PKEY_PUBLIC_KEY, ps), 1);
	EVP_PKEY_CTX_free(pc);
	return pk;
}

/* OpenSSL's verdict on an ECDSA signature in PSA's r || s form. */
int p11t_verify_ecdsa(EVP_PKEY *pk, const uint8_t *h, size_t hlen, const uint8_t *sig, size_t len)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	unsigned char *der = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);
	int dlen, ok;

	ECDSA_SIG_set0(s, BN_bin2bn(sig, (int)len / 2, NULL),
	               BN_bin2bn(sig + len / 2, (int)len / 2, NULL));
	dlen = i2d_ECDSA_SIG(s, &der);
	cr_assert_eq(EVP_PKEY_verify_init(pc), 1);
	ok = EVP_PKEY_verify(pc, der, (size_t)dlen, h, hlen) == 1;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_PKEY_CTX_free(pc);
	return ok;
}
