/*
 * tessera's own command forms against a service that answers as Parsec 1.1.0
 * did when it was run for the migration check (docs/migrating-from-parsec.md):
 * an opcode it does not know gets OpcodeDoesNotExist in Parsec's default
 * header (opcode Ping, core provider, no body), its Mbed Crypto provider has
 * no message signatures (PsaSignMessage and PsaVerifyMessage: NotSupported),
 * and only the Direct authenticator is registered. The service here is a
 * thread of the test that answers one request per connection and closes, as
 * Parsec does; its "signature" is a function of the hash it is given.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "list_keys.pb-c.h"
#include "ping.pb-c.h"
#include "psa_sign_hash.pb-c.h"
#include "psa_verify_hash.pb-c.h"
#include "wire/wire.h"

#define TESSERA TESSERA_BUILD_DIR "/client/tessera"

#define AUTH_DIRECT      1
#define ST_NOT_SUPPORTED 1134 /* PsaErrorNotSupported */
#define ST_BAD_SIGNATURE 1149 /* PsaErrorInvalidSignature */
#define ST_NO_OPCODE     9    /* OpcodeDoesNotExist */
#define ST_AUTH_NOT_REG  13   /* AuthenticatorNotRegistered */

static struct {
	char dir[64], sock[128];
	int lfd;
	pthread_t thread;
	pthread_mutex_t lock;
	unsigned sign_hash_calls, sign_message_calls, list_keys_calls;
} pp = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The stand-in's signature over a hash: "SIG" then the hash reversed. */
static size_t fake_sig(const uint8_t *hash, size_t len, uint8_t *out)
{
	memcpy(out, "SIG", 3);
	for (size_t i = 0; i < len; i++)
		out[3 + i] = hash[len - 1 - i];
	return 3 + len;
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void answer(int fd, const struct wire_header *req, const uint8_t *body)
{
	struct wire_header r;
	uint8_t hdr[WIRE_HEADER_LEN], out[512];
	size_t out_len = 0;
	uint16_t status = 0;
	bool known = true;

	switch (req->opcode) {
	case WIRE_OP_PING: {
		Ping__Result res = PING__RESULT__INIT;

		res.wire_protocol_version_maj = 1;
		out_len = ping__result__pack(&res, out);
		break;
	}
	case WIRE_OP_PSA_SIGN_MESSAGE:
	case WIRE_OP_PSA_VERIFY_MESSAGE:
		pthread_mutex_lock(&pp.lock);
		pp.sign_message_calls++;
		pthread_mutex_unlock(&pp.lock);
		status = ST_NOT_SUPPORTED;
		break;
	case WIRE_OP_PSA_SIGN_HASH: {
		PsaSignHash__Operation *op =
		        psa_sign_hash__operation__unpack(NULL, req->body_len, body);
		PsaSignHash__Result res = PSA_SIGN_HASH__RESULT__INIT;
		uint8_t sig[80];

		cr_assert_not_null(op);
		cr_assert_leq(op->hash.len, 64);
		res.signature.data = sig;
		res.signature.len = fake_sig(op->hash.data, op->hash.len, sig);
		out_len = psa_sign_hash__result__pack(&res, out);
		psa_sign_hash__operation__free_unpacked(op, NULL);
		pthread_mutex_lock(&pp.lock);
		pp.sign_hash_calls++;
		pthread_mutex_unlock(&pp.lock);
		break;
	}
	case WIRE_OP_PSA_VERIFY_HASH: {
		PsaVerifyHash__Operation *op =
		        psa_verify_hash__operation__unpack(NULL, req->body_len, body);
		uint8_t sig[80];
		size_t n;

		cr_assert_not_null(op);
		cr_assert_leq(op->hash.len, 64);
		n = fake_sig(op->hash.data, op->hash.len, sig);
		status = op->signature.len == n && memcmp(op->signature.data, sig, n) == 0
		                 ? 0
		                 : ST_BAD_SIGNATURE;
		psa_verify_hash__operation__free_unpacked(op, NULL);
		break;
	}
	case WIRE_OP_LIST_KEYS: {
		PsaAlgorithm__Algorithm__Hash sha = PSA_ALGORITHM__ALGORITHM__HASH__SHA_256;
		PsaAlgorithm__Algorithm__AsymmetricSignature__SignHash sh =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__INIT;
		PsaAlgorithm__Algorithm__AsymmetricSignature__Ecdsa ecdsa =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__ECDSA__INIT;
		PsaAlgorithm__Algorithm__AsymmetricSignature sig =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__INIT;
		PsaAlgorithm__Algorithm alg = PSA_ALGORITHM__ALGORITHM__INIT;
		PsaKeyAttributes__UsageFlags usage = PSA_KEY_ATTRIBUTES__USAGE_FLAGS__INIT;
		PsaKeyAttributes__KeyPolicy policy = PSA_KEY_ATTRIBUTES__KEY_POLICY__INIT;
		PsaKeyAttributes__KeyType__EccKeyPair ecc =
		        PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_KEY_PAIR__INIT;
		PsaKeyAttributes__KeyType type = PSA_KEY_ATTRIBUTES__KEY_TYPE__INIT;
		PsaKeyAttributes__KeyAttributes attrs = PSA_KEY_ATTRIBUTES__KEY_ATTRIBUTES__INIT;
		ListKeys__KeyInfo info = LIST_KEYS__KEY_INFO__INIT, *infos[1] = {&info};
		ListKeys__Result res = LIST_KEYS__RESULT__INIT;

		sh.variant_case =
		        PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__SIGN_HASH__VARIANT_SPECIFIC;
		sh.specific = sha;
		ecdsa.hash_alg = &sh;
		sig.variant_case = PSA_ALGORITHM__ALGORITHM__ASYMMETRIC_SIGNATURE__VARIANT_ECDSA;
		sig.ecdsa = &ecdsa;
		alg.variant_case = PSA_ALGORITHM__ALGORITHM__VARIANT_ASYMMETRIC_SIGNATURE;
		alg.asymmetric_signature = &sig;
		usage.sign_hash = usage.verify_hash = true;
		usage.sign_message = usage.verify_message = true;
		policy.key_usage_flags = &usage;
		policy.key_algorithm = &alg;
		ecc.curve_family = PSA_KEY_ATTRIBUTES__KEY_TYPE__ECC_FAMILY__SECP_R1;
		type.variant_case = PSA_KEY_ATTRIBUTES__KEY_TYPE__VARIANT_ECC_KEY_PAIR;
		type.ecc_key_pair = &ecc;
		attrs.key_type = &type;
		attrs.key_bits = 256;
		attrs.key_policy = &policy;
		info.provider_id = 1;
		info.name = "ecc";
		info.attributes = &attrs;
		res.n_keys = 1;
		res.keys = infos;
		cr_assert_leq(list_keys__result__get_packed_size(&res), sizeof(out));
		out_len = list_keys__result__pack(&res, out);
		pthread_mutex_lock(&pp.lock);
		pp.list_keys_calls++;
		pthread_mutex_unlock(&pp.lock);
		break;
	}
	default:
		known = false;
	}
	/* Only Direct is registered: any other credential is refused. */
	if (req->auth_type != 0 && req->auth_type != AUTH_DIRECT) {
		status = ST_AUTH_NOT_REG;
		out_len = 0;
	}
	if (!known) {
		wire_header_default_response(ST_NO_OPCODE, &r);
		out_len = 0;
	} else {
		wire_header_response(req, status, status == 0 ? (uint32_t)out_len : 0, &r);
		if (status != 0)
			out_len = 0;
	}
	wire_header_encode(&r, hdr);
	if (write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) && out_len > 0)
		(void)!write(fd, out, out_len);
}

static void *serve(void *arg)
{
	int fd;

	(void)arg;
	while ((fd = accept(pp.lfd, NULL, NULL)) >= 0) {
		uint8_t hdr[WIRE_HEADER_LEN], *rest = NULL;
		struct wire_header h;

		if (read_all(fd, hdr, sizeof(hdr)) == 0) {
			wire_header_decode(hdr, &h);
			rest = malloc((size_t)h.body_len + h.auth_len + 1);
			if (rest != NULL &&
			    read_all(fd, rest, (size_t)h.body_len + h.auth_len) == 0)
				answer(fd, &h, rest);
			free(rest);
		}
		close(fd); /* one request per connection, as Parsec */
	}
	return NULL;
}

static void setup(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(pp.dir, sizeof(pp.dir), "/tmp/tspeer.XXXXXX");
	cr_assert_not_null(mkdtemp(pp.dir));
	snprintf(pp.sock, sizeof(pp.sock), "%s/parsec.sock", pp.dir);
	cr_assert_lt(strlen(pp.sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, pp.sock, strlen(pp.sock) + 1);
	pp.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(pp.lfd, 0);
	cr_assert_eq(bind(pp.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(pp.lfd, 16), 0);
	cr_assert_eq(pthread_create(&pp.thread, NULL, serve, NULL), 0);
}

static void teardown(void)
{
	shutdown(pp.lfd, SHUT_RDWR);
	close(pp.lfd);
	pthread_join(pp.thread, NULL);
	unlink(pp.sock);
	rmdir(pp.dir);
}

TestSuite(parsec_peer, .init = setup, .fini = teardown, .timeout = 60);

/* "tessera --endpoint ... ARGS" (no --auth unless ARGS has one); stdout in
 * out; the exit status. */
static int cli(char *out, size_t outlen, const char *fmt, ...)
{
	char args[2048], cmd[2600];
	va_list ap;
	FILE *p;
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "env -u TESSERA_CLI %s --endpoint unix:%s %s 2>&1", TESSERA,
	         pp.sock, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The base64 of the stand-in's signature over SHA-256(msg). */
static void expected_sig_b64(const char *msg, char *out)
{
	uint8_t hash[32], sig[80];
	unsigned hl = 0;
	size_t n;

	cr_assert_eq(EVP_Digest(msg, strlen(msg), hash, &hl, EVP_sha256(), NULL), 1);
	n = fake_sig(hash, hl, sig);
	EVP_EncodeBlock((unsigned char *)out, sig, (int)n);
}

Test(parsec_peer, core_queries_need_no_authenticator)
{
	char out[4096];

	/* The default credential (unix-peer) is not registered here; core
	 * queries go without one, as Parsec's clients send them. */
	cr_assert_eq(cli(out, sizeof(out), "ping"), 0, "%s", out);
	cr_assert(strstr(out, "1.0") != NULL, "%s", out);
	/* A key command with the refused default says why. */
	cr_assert_neq(
	        cli(out, sizeof(out), "sign ecc --provider 1 --message hi --alg ecdsa-sha256"), 0);
	cr_assert(strstr(out, "AuthenticatorNotRegistered") != NULL, "%s", out);
}

Test(parsec_peer, sign_and_verify_hash_where_messages_are_not_supported)
{
	char out[4096], want[200], wrong[200];

	expected_sig_b64("hello parsec", want);
	cr_assert_eq(cli(out, sizeof(out),
	                 "--auth direct --app-name app sign ecc --provider 1 --message 'hello "
	                 "parsec' --alg ecdsa-sha256"),
	             0, "%s", out);
	cr_assert(strstr(out, want) != NULL, "signature %s not in: %s", want, out);
	cr_assert_eq(pp.sign_message_calls, 1, "the message operation is tried first");
	cr_assert_eq(pp.sign_hash_calls, 1);
	cr_assert_eq(cli(out, sizeof(out),
	                 "--auth direct --app-name app verify ecc --provider 1 --signature %s "
	                 "--message 'hello parsec' --alg ecdsa-sha256",
	                 want),
	             0, "%s", out);
	cr_assert(strstr(out, "verified") != NULL, "%s", out);
	expected_sig_b64("another text", wrong);
	cr_assert_neq(cli(out, sizeof(out),
	                  "--auth direct --app-name app verify ecc --provider 1 --signature %s "
	                  "--message 'hello parsec' --alg ecdsa-sha256",
	                  wrong),
	              0, "%s", out);
	cr_assert(strstr(out, "InvalidSignature") != NULL, "%s", out);
}

Test(parsec_peer, the_algorithm_comes_from_list_keys_where_attributes_are_unknown)
{
	char out[4096], want[200];

	/* PsaGetKeyAttributes is Tessera's: Parsec answers OpcodeDoesNotExist
	 * in its default header, and the key's algorithm comes from ListKeys. */
	expected_sig_b64("no alg given", want);
	cr_assert_eq(cli(out, sizeof(out),
	                 "--auth direct --app-name app sign ecc --provider 1 --message 'no alg "
	                 "given'"),
	             0, "%s", out);
	cr_assert(strstr(out, want) != NULL, "signature %s not in: %s", want, out);
	cr_assert_eq(pp.list_keys_calls, 1);
}
