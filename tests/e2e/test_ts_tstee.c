/*
 * The Trusted Services provider's tstee transport end to end: tesserad's own
 * ioctl code on /dev/tee0 emulated by tests/tsfake's libtsfake-tee.so, which
 * the tests preload into the daemon (LD_PRELOAD), in front of the same test
 * endpoint as the libts tests use.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ts-e2e.h"

#define TSTEE_CONFIG                                                                            \
	CONFIG_HEAD " \"providers\": [{\"type\": \"TrustedService\", \"transport\": \"tstee\"," \
	            " \"device\": \"/dev/tee0\"}]}"

static void tstee_setup(void)
{
	make_store();
	ts_preload_tee();
	td_start(&d, TSTEE_CONFIG);
	c = client_as("alice");
}

static void tstee_teardown(void)
{
	unsetenv("LD_PRELOAD");
	unsetenv("TSFAKE_TEE");
	ts_teardown();
}

TestSuite(ts_tstee, .init = tstee_setup, .fini = tstee_teardown, .timeout = 600);

Test(ts_tstee, a_p256_signature_made_through_the_tee_device_verifies_in_openssl)
{
	ecdsa_round_trip(256, "ecdsa-sha256", EVP_sha256(), "prime256v1");
}

Test(ts_tstee, rsa_oaep_and_keys_that_survive_a_restart)
{
	uint8_t h[32] = {9}, *sig, *pub1, *pub2;
	size_t siglen, len1, len2;

	cr_assert_eq(tessera_generate_key(c, TS, "kept", &p256), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, TS, "kept", &pub1, &len1), TESSERA_OK);
	cr_assert_eq(tessera_sign_hash(c, TS, "kept", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	tessera_close(c);
	c = NULL;
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_export_public_key(c, TS, "kept", &pub2, &len2), TESSERA_OK);
	cr_assert_eq(len1, len2);
	cr_assert_eq(memcmp(pub1, pub2, len1), 0);
	cr_assert_eq(tessera_verify_hash(c, TS, "kept", "ecdsa-sha256", h, 32, sig, siglen),
	             TESSERA_OK);
	free(pub1);
	free(pub2);
	free(sig);
}

Test(ts_tstee, aes_gcm_over_the_shared_buffer_matches_openssl)
{
	aead_matches_openssl("aes", "aes-gcm", "AES-256-GCM", 50000);
}

Test(ts_tstee, an_rpc_failure_reads_as_communication_failure_and_the_daemon_recovers)
{
	uint8_t h[32] = {3}, *sig = NULL;
	size_t siglen;

	cr_assert_eq(tessera_generate_key(c, TS, "f", &p256), TESSERA_OK);
	tessera_close(c);
	c = NULL;
	/* invalid request body in the partition: the driver says EINVAL only */
	setenv("TSFAKE_FAULT", "-6,0", 1);
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen), 1145);
	tessera_close(c);
	c = NULL;
	unsetenv("TSFAKE_FAULT");
	cr_assert_eq(td_restart(&d, SIGTERM), 0);
	c = client_as("alice");
	cr_assert_eq(tessera_sign_hash(c, TS, "f", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK);
	free(sig);
}

Test(ts_tstee, after_the_partition_restarts_the_session_is_reopened)
{
	char flag[160];
	uint8_t h[32] = {5}, *sig = NULL;
	size_t siglen;
	FILE *f;

	cr_assert_eq(tessera_generate_key(c, TS, "r", &p256), TESSERA_OK);
	snprintf(flag, sizeof(flag), "%s.down", store);
	f = fopen(flag, "w");
	cr_assert_not_null(f);
	fclose(f);
	cr_assert_eq(tessera_sign_hash(c, TS, "r", "ecdsa-sha256", h, 32, &sig, &siglen), 1145);
	cr_assert_eq(tessera_sign_hash(c, TS, "r", "ecdsa-sha256", h, 32, &sig, &siglen), 1145,
	             "still down: the reopening fails and is tried again");
	unlink(flag);
	cr_assert_eq(tessera_sign_hash(c, TS, "r", "ecdsa-sha256", h, 32, &sig, &siglen),
	             TESSERA_OK, "a new session, and the persistent key is still there");
	free(sig);
	cr_assert_eq(tessera_generate_key(c, TS, "r2", &p256), TESSERA_OK);
}
