/*
 * parsec-tool 0.5's command lines run by tessera against the real daemon:
 * stdout byte for byte in parsec-tool's formats, and the meaning checked with
 * OpenSSL's command line (signatures, encryption, requests).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TESSERA TESSERA_BUILD_DIR "/client/tessera"

/* UnixPeerCredentials listed first: parsec-tool's client picks it. */
#define CONFIG_PEER_FIRST                                                                     \
	"{\"core\": {\"allow_root\": true, \"log_level\": \"debug\"},"                        \
	" \"listener\": {\"socket_path\": \"%1$s\", \"timeout_ms\": 1000},"                   \
	" \"authenticators\": [{\"type\": \"UnixPeerCredentials\"}, {\"type\": \"Direct\"}]," \
	" \"providers\": [{\"type\": \"Software\"}]}"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void setup_peer_first(void)
{
	td_start(&d, CONFIG_PEER_FIRST);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

/* RSA key generation under valgrind takes minutes. */
TestSuite(parsec_cli, .init = setup, .fini = teardown, .timeout = 900);

/* parsec-tool's -t SECONDS for an RSA key generation, scaled for valgrind. */
static int rsa_wait(void)
{
	return td_scale(60000) / 1000;
}

/* Run a shell command line; its stdout in out; the exit status. */
static int run(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "tessera ARGS" with parsec-tool's command line: no --auth, the endpoint
 * from the environment, as a parsec-tool script has it. */
static int pt(char *out, size_t outlen, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return run(out, outlen, "env -u TESSERA_CLI PARSEC_SERVICE_ENDPOINT=unix:%s " TESSERA " %s",
	           d.sock, args);
}

/* The same through a link named parsec-tool (the commands whose line is
 * Tessera's too: ping and the listings). */
static int pt_link(char *out, size_t outlen, const char *args)
{
	char link[512];

	snprintf(link, sizeof(link), "%s/parsec-tool", d.dir);
	if (access(link, X_OK) != 0)
		cr_assert_eq(symlink(TESSERA, link), 0);
	return run(out, outlen, "env -u TESSERA_CLI PARSEC_SERVICE_ENDPOINT=unix:%s %s %s", d.sock,
	           link, args);
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Every line of s matches "0xHH (Name)" with lowercase hex. */
static int opcode_lines(const char *s)
{
	int lines = 0;

	while (*s != '\0') {
		const char *nl = strchr(s, '\n');

		if (nl == NULL || strncmp(s, "0x", 2) != 0 || !isxdigit((unsigned char)s[2]) ||
		    !isxdigit((unsigned char)s[3]) || isupper((unsigned char)s[2]) ||
		    isupper((unsigned char)s[3]) || strncmp(s + 4, " (", 2) != 0 || nl[-1] != ')')
			return -1;
		for (const char *q = s + 6; q < nl - 1; q++)
			if (!isalnum((unsigned char)*q))
				return -1;
		lines++;
		s = nl + 1;
	}
	return lines;
}

Test(parsec_cli, ping_and_listings_in_parsec_tool_formats)
{
	char out[8192];
	unsigned maj, min;

	cr_assert_eq(pt_link(out, sizeof(out), "ping"), 0);
	cr_assert_str_eq(out, "1.0\n");
	cr_assert_eq(pt(out, sizeof(out), "-t 0 ping"), 0, "parsec-tool's -t (0: no timeout)");
	cr_assert_str_eq(out, "1.0\n");
	cr_assert_eq(pt(out, sizeof(out), "ping"), 0);
	cr_assert_str_eq(out, "Wire protocol version 1.0\n", "Tessera's own form stays");

	cr_assert_eq(pt_link(out, sizeof(out), "list-providers"), 0);
	cr_assert(starts(out, "ID: 0x01 (Mbed Crypto provider)\nDescription: Software provider"),
	          "%s", out);
	cr_assert(strstr(out, "\nVendor: Tessera\nUUID: ") != NULL, "%s", out);
	cr_assert(strstr(out, "\n\nID: 0x00 (Core provider)\nDescription: ") != NULL, "%s", out);
	cr_assert(strstr(out, "\nVendor: Unspecified\nUUID: ") != NULL, "%s", out);
	cr_assert(sscanf(strstr(out, "\nVersion: "), "\nVersion: %u.%u.", &maj, &min) == 2);
	cr_assert_eq(strcmp(out + strlen(out) - 2, "\n\n"), 0, "a blank line after each");

	cr_assert_eq(pt_link(out, sizeof(out), "list-authenticators"), 0);
	cr_assert(starts(out, "ID: 0x01 (Direct authentication)\nDescription: "), "%s", out);
	cr_assert(strstr(out, "\n\nID: 0x03 (Unix Peer Credentials authentication)\n"
	                      "Description: ") != NULL,
	          "%s", out);
	cr_assert(strstr(out, "\nVersion: 0.1.0\n\n") != NULL, "%s", out);

	/* No -p: parsec-tool's naked client asks the core. */
	cr_assert_eq(pt_link(out, sizeof(out), "list-opcodes"), 0);
	cr_assert_gt(opcode_lines(out), 3, "%s", out);
	cr_assert(strstr(out, "0x01 (Ping)\n") != NULL && strstr(out, "0x1a (ListKeys)\n") != NULL,
	          "%s", out);
	cr_assert(strstr(out, "PsaGenerateKey") == NULL, "%s", out);
	cr_assert_eq(pt(out, sizeof(out), "list-opcodes -p 1"), 0);
	cr_assert_gt(opcode_lines(out), 10, "%s", out);
	cr_assert(strstr(out, "0x02 (PsaGenerateKey)\n") != NULL &&
	                  strstr(out, "0x0d (PsaGenerateRandom)\n") != NULL,
	          "%s", out);
	cr_assert_eq(pt(out, sizeof(out), "--provider 1 list-opcodes"), 0, "the global -p");
	cr_assert(strstr(out, "0x04 (PsaSignHash)\n") != NULL, "%s", out);
	cr_assert_eq(pt(out, sizeof(out), "list-opcodes -p 9 2>/dev/null"), 1);
}

Test(parsec_cli, ecc_key_sign_verifies_with_openssl)
{
	char out[8192];

	cr_assert_eq(pt(out, sizeof(out), "create-ecc-key -k ec"), 0);
	cr_assert_str_eq(out, "", "info goes to stderr");
	cr_assert_eq(pt_link(out, sizeof(out), "list-keys"), 0);
	cr_assert_str_eq(out, "* ec (Mbed Crypto provider, EccKeyPair { curve_family: SecpR1 }, "
	                      "256 bits, permitted algorithm: AsymmetricSignature(Ecdsa { "
	                      "hash_alg: Specific(Sha256) }))\n");
	cr_assert_eq(pt(out, sizeof(out), "export-public-key --key-name ec > %s/ec.pem", d.dir), 0);
	cr_assert_eq(
	        sh("openssl pkey -pubin -in %s/ec.pem -noout -text | grep -q 'NIST CURVE: P-256'",
	           d.dir),
	        0);
	cr_assert_eq(sh("openssl pkey -pubin -in %s/ec.pem | cmp -s - %s/ec.pem", d.dir, d.dir), 0,
	             "the PEM is written as OpenSSL writes it (LF, 64 columns)");
	cr_assert_eq(pt(out, sizeof(out), "sign -k ec 'to be signed' > %s/sig.b64", d.dir), 0);
	cr_assert_eq(sh("base64 -d %s/sig.b64 > %s/sig.der && printf 'to be signed' > %s/msg",
	                d.dir, d.dir, d.dir),
	             0);
	cr_assert_eq(
	        sh("openssl asn1parse -inform DER -in %s/sig.der | grep -c INTEGER | grep -q 2",
	           d.dir),
	        0, "a DER ECDSA-Sig-Value");
	cr_assert_eq(sh("openssl dgst -sha256 -verify %s/ec.pem -signature %s/sig.der %s/msg "
	                ">/dev/null",
	                d.dir, d.dir, d.dir),
	             0, "OpenSSL accepts the signature");
	cr_assert_eq(sh("printf 'to be signeD' > %s/msg && openssl dgst -sha256 -verify %s/ec.pem "
	                "-signature %s/sig.der %s/msg >/dev/null 2>&1",
	                d.dir, d.dir, d.dir, d.dir),
	             256, "and rejects it for another text");
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k ec --pkcs1 2>/dev/null"), 1,
	             "no PKCS#1 form for an ECC key");
	cr_assert_eq(pt(out, sizeof(out), "encrypt -k ec abc 2>/dev/null"), 1,
	             "a signing key cannot encrypt");
	cr_assert_eq(pt(out, sizeof(out), "sign -k ec 2>/dev/null"), 2, "the text is needed");
	cr_assert_eq(pt(out, sizeof(out), "sign -k nokey abc 2>&1"), 1, "%s", out);
}

Test(parsec_cli, rsa_keys_encrypt_decrypt_and_sign)
{
	char out[8192], ct[2048];

	cr_assert_eq(pt(out, sizeof(out), "-t %d create-rsa-key -k box", rsa_wait()), 0);
	cr_assert_eq(pt(out, sizeof(out),
	                "-t %d create-rsa-key --key-name signer --for-signing -b 3072", rsa_wait()),
	             0);
	cr_assert_eq(pt_link(out, sizeof(out), "list-keys"), 0);
	cr_assert_str_eq(out, "* box (Mbed Crypto provider, RsaKeyPair, 2048 bits, permitted "
	                      "algorithm: AsymmetricEncryption(RsaPkcs1v15Crypt))\n"
	                      "* signer (Mbed Crypto provider, RsaKeyPair, 3072 bits, permitted "
	                      "algorithm: AsymmetricSignature(RsaPkcs1v15Sign { hash_alg: "
	                      "Specific(Sha256) }))\n");

	/* encrypt -> decrypt, the plaintext printed as text and a newline */
	cr_assert_eq(pt(ct, sizeof(ct), "encrypt -k box 'a secret, ünïcode'"), 0);
	cr_assert_eq(strlen(ct), 345, "base64 of 256 bytes and a newline: %s", ct);
	ct[strcspn(ct, "\n")] = '\0';
	cr_assert_eq(pt(out, sizeof(out), "decrypt -k box %s", ct), 0);
	cr_assert_str_eq(out, "a secret, ünïcode\n");
	/* PKCS#1 v1.5 as OpenSSL does it, with the exported key */
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k box > %s/box.pem", d.dir), 0);
	cr_assert_eq(sh("printf 'from openssl' | openssl pkeyutl -encrypt -pubin -inkey %s/box.pem "
	                "-pkeyopt rsa_padding_mode:pkcs1 | base64 -w0 > %s/ct.b64",
	                d.dir, d.dir),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "decrypt -k box $(cat %s/ct.b64)", d.dir), 0);
	cr_assert_str_eq(out, "from openssl\n");
	cr_assert_eq(pt(out, sizeof(out), "decrypt -k box 'not base64!' 2>/dev/null"), 2);

	/* RSA PKCS#1 v1.5 SHA-256 signature: the raw signature, base64 */
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k signer > %s/s.pem", d.dir), 0);
	cr_assert_eq(pt(out, sizeof(out), "sign -k signer hello > %s/sig.b64", d.dir), 0);
	cr_assert_eq(sh("base64 -d %s/sig.b64 > %s/sig && printf hello > %s/msg && openssl dgst "
	                "-sha256 -verify %s/s.pem -signature %s/sig %s/msg >/dev/null",
	                d.dir, d.dir, d.dir, d.dir, d.dir, d.dir),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "encrypt -k signer abc 2>/dev/null"), 1);
	cr_assert_eq(pt(out, sizeof(out), "sign -k box abc 2>/dev/null"), 1,
	             "an encryption key cannot sign");

	/* --pkcs1: "RSA PUBLIC KEY", the same key as the SubjectPublicKeyInfo */
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k signer --pkcs1 > %s/s1.pem", d.dir),
	             0);
	cr_assert_eq(strncmp(out, "", 1), 0);
	cr_assert_eq(sh("head -1 %s/s1.pem | grep -qx -- '-----BEGIN RSA PUBLIC KEY-----'", d.dir),
	             0);
	cr_assert_eq(sh("openssl rsa -RSAPublicKey_in -in %s/s1.pem -pubout 2>/dev/null | cmp -s - "
	                "%s/s.pem",
	                d.dir, d.dir),
	             0);
}

Test(parsec_cli, generate_random_format)
{
	char out[8192];

	cr_assert_eq(pt(out, sizeof(out), "generate-random -n 16"), 0);
	cr_assert_eq(strlen(out), 16 * 3 + 1, "%s", out);
	for (int i = 0; i < 16; i++) {
		cr_assert(isxdigit((unsigned char)out[3 * i]) &&
		                  !islower((unsigned char)out[3 * i]) &&
		                  isxdigit((unsigned char)out[3 * i + 1]) &&
		                  !islower((unsigned char)out[3 * i + 1]) && out[3 * i + 2] == ' ',
		          "uppercase hex, a space after each: %s", out);
	}
	cr_assert_eq(out[48], '\n');
	cr_assert_eq(pt(out, sizeof(out), "generate-random --nbytes=1000"), 0);
	cr_assert_eq(strlen(out), 3001);
	cr_assert_eq(pt(out, sizeof(out), "generate-random 8"), 0, "Tessera's own form stays");
	cr_assert_eq(strlen(out), 17, "%s", out);
	cr_assert_eq(pt(out, sizeof(out), "generate-random -n 0 2>/dev/null"), 2);
}

Test(parsec_cli, create_csr_verifies_with_openssl)
{
	char out[8192];

	cr_assert_eq(pt(out, sizeof(out), "create-ecc-key -k dev"), 0);
	cr_assert_eq(
	        pt(out, sizeof(out),
	           "create-csr -k dev --cn device-7 --o Acme --ou Fleet --l Cambridge --st "
	           "Cambs --c GB --serialNumber 0042 --san dev7.example dev7.local > %s/dev.csr",
	           d.dir),
	        0);
	cr_assert_eq(sh("head -1 %s/dev.csr | od -c | grep -q '\\\\r  \\\\n'", d.dir), 0,
	             "rcgen's PEM has CRLF line ends");
	cr_assert_eq(sh("openssl req -in %s/dev.csr -verify -noout 2>/dev/null", d.dir), 0,
	             "OpenSSL verifies the request's self-signature");
	cr_assert_eq(sh("openssl req -in %s/dev.csr -noout -subject -nameopt compat | grep -qx "
	                "'subject=/CN=device-7/OU=Fleet/O=Acme/L=Cambridge/ST=Cambs/C=GB/"
	                "serialNumber=0042'",
	                d.dir),
	             0, "the subject in rcgen's order");
	cr_assert_eq(sh("openssl req -in %s/dev.csr -noout -text | grep -q "
	                "'DNS:dev7.example, DNS:dev7.local'",
	                d.dir),
	             0);
	cr_assert_eq(
	        sh("openssl req -in %s/dev.csr -noout -text | grep -q ecdsa-with-SHA256", d.dir),
	        0);
	cr_assert_eq(pt(out, sizeof(out), "-t %d create-rsa-key -k rs --for-signing", rsa_wait()),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "create-csr -k rs --san a.example > %s/rs.csr", d.dir), 0,
	             "no --cn: an empty subject");
	cr_assert_eq(sh("openssl req -in %s/rs.csr -verify -noout 2>/dev/null", d.dir), 0);
	cr_assert_eq(sh("openssl req -in %s/rs.csr -noout -text | grep -q sha256WithRSAEncryption",
	                d.dir),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "-t %d create-rsa-key -k enc", rsa_wait()), 0);
	cr_assert_eq(pt(out, sizeof(out), "create-csr -k enc --cn x 2>/dev/null"), 1,
	             "an encryption key cannot sign a request");
}

Test(parsec_cli, delete_key_and_clients)
{
	char out[8192];

	cr_assert_eq(pt(out, sizeof(out), "create-ecc-key -k a"), 0);
	cr_assert_eq(pt(out, sizeof(out), "create-ecc-key -k=b"), 0);
	cr_assert_eq(pt(out, sizeof(out), "delete-key -k a"), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(pt(out, sizeof(out), "delete-key -k a 2>/dev/null"), 1);
	/* The keys belong to Direct "parsec-tool", the first authenticator listed. */
	cr_assert_eq(pt(out, sizeof(out), "--auth direct --app-name parsec-tool list-keys"), 0);
	cr_assert(strstr(out, "b: ecc 256 bits, ecdsa-sha256") != NULL, "%s", out);
	cr_assert_eq(pt(out, sizeof(out),
	                "--auth direct --app-name admin_priv list-clients -x "
	                "2>/dev/null"),
	             2);
	cr_assert_eq(pt_link(out, sizeof(out), "--auth direct --app-name admin_priv list-clients"),
	             0);
	cr_assert_str_eq(out, "parsec-tool\n");
	cr_assert_eq(pt(out, sizeof(out),
	                "--auth direct --app-name admin_priv delete-client -c "
	                "parsec-tool"),
	             0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(pt_link(out, sizeof(out), "list-keys"), 0);
	cr_assert_str_eq(out, "", "no keys: nothing on stdout");
	cr_assert_eq(pt(out, sizeof(out), "delete-client -c x 2>/dev/null"), 1,
	             "parsec-tool is no admin");
}

Test(parsec_cli, unix_peer_first_is_chosen, .init = setup_peer_first)
{
	char out[8192];

	cr_assert_eq(pt(out, sizeof(out), "create-ecc-key -k mine"), 0);
	cr_assert_eq(pt(out, sizeof(out), "--auth unix-peer list-keys"), 0);
	cr_assert(strstr(out, "mine: ecc 256 bits") != NULL, "owned by the caller's UID: %s", out);
	cr_assert_eq(pt(out, sizeof(out), "--auth direct --app-name parsec-tool list-keys"), 0);
	cr_assert(strstr(out, "mine") == NULL, "%s", out);
}

/* Keys made with Tessera's forms, seen and used through parsec-tool's. */
Test(parsec_cli, debug_forms_and_keys_of_tessera_forms)
{
	char out[8192];
	const char *direct = "--auth direct --app-name parsec-tool";

	cr_assert_eq(
	        sh("head -c 16 /dev/urandom > %s/aes.bin && head -c 32 /dev/urandom > "
	           "%s/hmac.bin && openssl genpkey -algorithm X25519 -outform DER | tail -c 32 "
	           "> %s/x.bin && openssl ecparam -name secp256k1 -genkey -noout -outform DER "
	           "| openssl asn1parse -inform DER -offset 5 -length 34 -noout -out /dev/stdout | "
	           "tail -c 32 > %s/k1.bin",
	           d.dir, d.dir, d.dir, d.dir),
	        0);
	cr_assert_eq(pt(out, sizeof(out), "%s --timeout-ms %d create-rsa-key oaep --for encrypt",
	                direct, rsa_wait() * 1000 < 3600000 ? rsa_wait() * 1000 : 3600000),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "%s create-ecc-key p384 --curve p384", direct), 0);
	cr_assert_eq(pt(out, sizeof(out),
	                "%s import aes --type aes --usage encrypt --alg aes-gcm --file %s/aes.bin",
	                direct, d.dir),
	             0, "%s", out);
	cr_assert_eq(
	        pt(out, sizeof(out),
	           "%s import mac --type hmac --usage sign --alg hmac-sha256 --file %s/hmac.bin",
	           direct, d.dir),
	        0, "%s", out);
	cr_assert_eq(pt(out, sizeof(out),
	                "%s import x --type x25519 --usage decrypt --alg ecdh --file %s/x.bin",
	                direct, d.dir),
	             0, "%s", out);
	cr_assert_eq(pt(out, sizeof(out),
	                "%s import k1 --type secp256k1 --usage sign --alg ecdsa-sha256 --file "
	                "%s/k1.bin",
	                direct, d.dir),
	             0, "%s", out);
	cr_assert_eq(pt_link(out, sizeof(out), "list-keys"), 0);
	/* in the daemon's order: by name */
	cr_assert_str_eq(
	        out,
	        "* aes (Mbed Crypto provider, Aes, 128 bits, permitted algorithm: "
	        "Aead(AeadWithDefaultLengthTag(Gcm)))\n"
	        "* k1 (Mbed Crypto provider, EccKeyPair { curve_family: SecpK1 }, 256 bits, "
	        "permitted algorithm: AsymmetricSignature(Ecdsa { hash_alg: Specific(Sha256) }))\n"
	        "* mac (Mbed Crypto provider, Hmac, 256 bits, permitted algorithm: "
	        "Mac(FullLength(Hmac { hash_alg: Sha256 })))\n"
	        "* oaep (Mbed Crypto provider, RsaKeyPair, 2048 bits, permitted algorithm: "
	        "AsymmetricEncryption(RsaOaep { hash_alg: Sha256 }))\n"
	        "* p384 (Mbed Crypto provider, EccKeyPair { curve_family: SecpR1 }, 384 bits, "
	        "permitted algorithm: AsymmetricSignature(Ecdsa { hash_alg: Specific(Sha384) }))\n"
	        "* x (Mbed Crypto provider, EccKeyPair { curve_family: Montgomery }, 255 bits, "
	        "permitted algorithm: KeyAgreement(Raw(Ecdh)))\n");

	/* RSA OAEP through parsec-tool's encrypt and decrypt */
	cr_assert_eq(pt(out, sizeof(out), "encrypt -k oaep 'oaep text' > %s/ct", d.dir), 0);
	cr_assert_eq(pt(out, sizeof(out), "decrypt -k oaep $(cat %s/ct)", d.dir), 0);
	cr_assert_str_eq(out, "oaep text\n");
	cr_assert_eq(pt(out, sizeof(out), "encrypt -k aes abc 2>/dev/null"), 1,
	             "symmetric keys: not supported, as parsec-tool");

	/* secp256k1: its OID in the SubjectPublicKeyInfo; P-384: SHA-384 */
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k k1 > %s/k1.pem", d.dir), 0);
	cr_assert_eq(
	        sh("openssl pkey -pubin -in %s/k1.pem -noout -text | grep -q 'ASN1 OID: secp256k1'",
	           d.dir),
	        0);
	cr_assert_eq(pt(out, sizeof(out), "sign -k k1 k1-text | base64 -d > %s/k1.sig", d.dir), 0);
	cr_assert_eq(sh("printf k1-text | openssl dgst -sha256 -verify %s/k1.pem -signature "
	                "%s/k1.sig >/dev/null",
	                d.dir, d.dir),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k p384 > %s/p.pem", d.dir), 0);
	cr_assert_eq(pt(out, sizeof(out), "sign -k p384 p-text | base64 -d > %s/p.sig", d.dir), 0);
	cr_assert_eq(sh("printf p-text | openssl dgst -sha384 -verify %s/p.pem -signature %s/p.sig "
	                ">/dev/null",
	                d.dir, d.dir),
	             0);
	cr_assert_eq(pt(out, sizeof(out), "export-public-key -k x 2>/dev/null"), 1,
	             "no SEC OID for Montgomery curves in parsec-tool");
	cr_assert_eq(pt(out, sizeof(out), "create-csr -k p384 --cn p > %s/p.csr", d.dir), 0);
	cr_assert_eq(sh("openssl req -in %s/p.csr -verify -noout 2>/dev/null", d.dir), 0);
}

/* A value of Tessera's options that looks like a parsec-tool flag stays a value. */
Test(parsec_cli, tessera_form_values_are_not_flags)
{
	char out[8192];
	const char *direct = "--auth direct --app-name dave";

	cr_assert_eq(pt(out, sizeof(out), "%s create-ecc-key ec", direct), 0);
	cr_assert_str_eq(out, "create-ecc-key: done.\n");
	cr_assert_eq(pt(out, sizeof(out), "%s sign ec --message -k", direct), 0, "%s", out);
	cr_assert_eq(strlen(out), 89, "Tessera's form: base64 of r || s: %s", out);
	out[88] = '\0';
	cr_assert_eq(pt(out, sizeof(out), "%s verify ec --message -k --signature %s", direct, out),
	             0, "%s", out);
}
