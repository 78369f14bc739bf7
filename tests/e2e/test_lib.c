/* libtessera's key and crypto calls against the real daemon. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "client/tessera.h"
#include "harness.h"

static struct td d;
static struct tessera_client *c;

static void setup(void)
{
	struct tessera_options o;
	static char ep[160];

	td_start(&d, TD_CONFIG_DEFAULT);
	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", d.sock);
	o.endpoint = ep;
	o.auth_type = TESSERA_AUTH_DIRECT;
	o.app_name = "lib-user";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
}

static void teardown(void)
{
	tessera_close(c);
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(lib, .init = setup, .fini = teardown, .timeout = 60);

Test(lib, default_provider_and_names)
{
	uint8_t p = 0;
	struct tessera_key_spec bad = {.type = "dsa", .bits = 1024};

	cr_assert_eq(tessera_default_provider(c, &p), TESSERA_OK);
	cr_assert_eq(p, 1);
	cr_assert_eq(tessera_generate_key(c, 1, "x", &bad), TESSERA_ERR_ARG);
	cr_assert_eq(tessera_hash_compute(c, 1, "md6", (const uint8_t *)"a", 1, NULL, NULL),
	             TESSERA_ERR_ARG);
}

Test(lib, hmac_cipher_hash_and_capabilities)
{
	struct tessera_key_spec hmac = {.type = "hmac",
	                                .bits = 256,
	                                .alg = "hmac-sha256",
	                                .usage = TESSERA_USAGE_SIGN_MESSAGE |
	                                         TESSERA_USAGE_VERIFY_MESSAGE};
	struct tessera_key_spec ctr = {.type = "aes",
	                               .bits = 128,
	                               .alg = "aes-ctr",
	                               .usage = TESSERA_USAGE_ENCRYPT | TESSERA_USAGE_DECRYPT};
	struct tessera_key_spec p256 = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha256",
	                                .usage = TESSERA_USAGE_SIGN_HASH};
	uint8_t *mac, *ct, *pt, *h, expect[32];
	size_t mac_len, ct_len, pt_len, h_len;
	unsigned elen;

	cr_assert_eq(tessera_generate_key(c, 1, "mac", &hmac), TESSERA_OK);
	cr_assert_eq(tessera_mac_compute(c, 1, "mac", "hmac-sha256", (const uint8_t *)"m", 1, &mac,
	                                 &mac_len),
	             TESSERA_OK);
	cr_assert_eq(mac_len, 32);
	cr_assert_eq(tessera_mac_verify(c, 1, "mac", "hmac-sha256", (const uint8_t *)"m", 1, mac,
	                                mac_len),
	             TESSERA_OK);
	mac[0] ^= 1;
	cr_assert_eq(tessera_mac_verify(c, 1, "mac", "hmac-sha256", (const uint8_t *)"m", 1, mac,
	                                mac_len),
	             1149);
	free(mac);

	cr_assert_eq(tessera_generate_key(c, 1, "ctr", &ctr), TESSERA_OK);
	cr_assert_eq(tessera_cipher_encrypt(c, 1, "ctr", "aes-ctr", (const uint8_t *)"plain", 5,
	                                    &ct, &ct_len),
	             TESSERA_OK);
	cr_assert_eq(ct_len, 21);
	cr_assert_eq(tessera_cipher_decrypt(c, 1, "ctr", "aes-ctr", ct, ct_len, &pt, &pt_len),
	             TESSERA_OK);
	cr_assert_eq(pt_len, 5);
	cr_assert_arr_eq(pt, "plain", 5);
	free(ct);
	free(pt);

	cr_assert_eq(tessera_hash_compute(c, 1, "sha256", (const uint8_t *)"abc", 3, &h, &h_len),
	             TESSERA_OK);
	EVP_Digest("abc", 3, expect, &elen, EVP_sha256(), NULL);
	cr_assert_eq(h_len, elen);
	cr_assert_arr_eq(h, expect, elen);
	cr_assert_eq(tessera_hash_compare(c, 1, "sha256", (const uint8_t *)"abc", 3, h, h_len),
	             TESSERA_OK);
	cr_assert_eq(tessera_hash_compare(c, 1, "sha256", (const uint8_t *)"abd", 3, h, h_len),
	             1149);
	free(h);

	cr_assert_eq(tessera_can_do_crypto(c, 1, 2, &p256), TESSERA_OK);
	p256.alg = "rsa-pss-sha256";
	cr_assert_eq(tessera_can_do_crypto(c, 1, 2, &p256), 1134, "NotSupported, as Parsec");
}

Test(lib, x25519_agreement_between_two_daemon_keys)
{
	struct tessera_key_spec x = {
	        .type = "x25519", .bits = 255, .alg = "ecdh", .usage = TESSERA_USAGE_DERIVE};
	uint8_t *pa, *pb, *sa, *sb;
	size_t la, lb, sla, slb;

	cr_assert_eq(tessera_generate_key(c, 1, "alice-x", &x), TESSERA_OK);
	cr_assert_eq(tessera_generate_key(c, 1, "bob-x", &x), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, 1, "alice-x", &pa, &la), TESSERA_OK);
	cr_assert_eq(tessera_export_public_key(c, 1, "bob-x", &pb, &lb), TESSERA_OK);
	cr_assert_eq(la, 32);
	cr_assert_eq(tessera_raw_key_agreement(c, 1, "alice-x", "ecdh", pb, lb, &sa, &sla),
	             TESSERA_OK);
	cr_assert_eq(tessera_raw_key_agreement(c, 1, "bob-x", "ecdh", pa, la, &sb, &slb),
	             TESSERA_OK);
	cr_assert_eq(sla, 32);
	cr_assert_eq(sla, slb);
	cr_assert_arr_eq(sa, sb, sla, "both sides agree");
	free(pa);
	free(pb);
	free(sa);
	free(sb);
}

Test(lib, one_keys_attributes_by_name)
{
	struct tessera_key_spec spec = {.type = "ecc",
	                                .bits = 256,
	                                .alg = "ecdsa-sha384",
	                                .usage = TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_EXPORT};
	struct tessera_key_info *k = NULL;

	cr_assert_eq(tessera_generate_key(c, 1, "attrs", &spec), TESSERA_OK);
	cr_assert_eq(tessera_key_attributes(c, 1, "attrs", &k), TESSERA_OK);
	cr_assert_str_eq(k->name, "attrs");
	cr_assert_str_eq(k->type, "ecc");
	cr_assert_eq(k->bits, 256);
	cr_assert_str_eq(k->alg, "ecdsa-sha384");
	cr_assert_eq(k->usage, TESSERA_USAGE_SIGN_HASH | TESSERA_USAGE_EXPORT);
	tessera_key_info_free(k, 1);
	cr_assert_eq(tessera_key_attributes(c, 1, "none", &k), 1140);
	cr_assert_eq(tessera_key_attributes(c, 1, "", &k), TESSERA_ERR_ARG);
	cr_assert_eq(tessera_destroy_key(c, 1, "attrs"), TESSERA_OK);
	cr_assert_eq(tessera_key_attributes(c, 1, "attrs", &k), 1140);
}
