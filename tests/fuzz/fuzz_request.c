/*
 * libFuzzer target: one request through the same code the daemon runs after
 * framing — header checks in Parsec's order, then authentication, admin
 * checks, body decoding for every opcode, policy and the software provider
 * on a real key store in a temporary directory.
 *
 * Input: the 36-byte header, then bytes split into body and auth as the
 * header's lengths say (truncated to what there is, so the fuzzer explores
 * bodies instead of length fields).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "daemon/daemon-priv.h"
#include "keystore/keystore.h"

static struct svc_state *st;
static struct svc_providers *provs;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char dir[] = "/tmp/tessera-fuzz.XXXXXX";
	char db[128], kek[128], err[512];
	struct ts_config *cfg;
	struct ks *ks;

	(void)argc;
	(void)argv;
	ts_log_set_level(TS_LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(db, sizeof(db), "%s/ks.sqlite3", dir);
	snprintf(kek, sizeof(kek), "%s/kek", dir);
	cfg = config_load_string("{\"authenticators\": ["
	                         " {\"type\": \"Direct\", \"admins\": [{\"name\": \"admin\"}]},"
	                         " {\"type\": \"UnixPeerCredentials\"}]}",
	                         "fuzz", err, sizeof(err));
	if (cfg == NULL || svc_providers_new(cfg, &provs, err, sizeof(err)) != TS_OK ||
	    ks_open(db, kek, NULL, 0, &ks, err, sizeof(err)) != TS_OK) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	resolve_defaults(cfg);
	if (svc_state_new(cfg, ks, NULL, provs, &st, err, sizeof(err)) != TS_OK) {
		fprintf(stderr, "fuzz set-up: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_peer peer = {.valid = true, .pid = 1, .uid = 0, .gid = 0};
	struct dispatch_reply reply = {0};
	struct wire_header h;
	uint8_t *payload;
	size_t rest;

	if (size < WIRE_HEADER_LEN)
		return 0;
	wire_header_decode(data, &h);
	if (wire_check_magic(h.magic) != TS_OK ||
	    wire_check_header(&h, st->cfg->core.body_len_limit) != TS_OK)
		return 0;
	rest = size - WIRE_HEADER_LEN;
	if (h.body_len > rest)
		h.body_len = (uint32_t)rest;
	h.auth_len = (uint16_t)(rest - h.body_len > 65535 ? 65535 : rest - h.body_len);
	if (wire_check_fields(&h) != TS_OK)
		return 0;
	/* A copy of exactly the payload, so ASan sees any over-read. */
	payload = malloc(h.body_len + h.auth_len + 1);
	if (payload == NULL)
		return 0;
	memcpy(payload, data + WIRE_HEADER_LEN, h.body_len + h.auth_len);
	/* As an event loop starts it, or as a worker runs it whole (the
	 * session handle's low bit picks, so the fuzzer explores both). */
	dispatch_request(st, &peer, &h, payload, (h.session & 1) != 0, &reply);
	if (reply.len < WIRE_HEADER_LEN)
		abort(); /* every request gets at least a header */
	dispatch_reply_free(&reply);
	free(payload);
	return 0;
}
