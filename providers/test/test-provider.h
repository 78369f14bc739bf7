/*
 * A controllable provider for the core's tests (Mbed TLS's test drivers are
 * the model): every operation can be forced to fail with a given status or
 * to return given bytes, and counts its calls, so dispatch, policy and
 * error mapping are tested without cryptography. Built only for tests.
 */
#ifndef TESSERA_PROVIDERS_TEST_PROVIDER_H
#define TESSERA_PROVIDERS_TEST_PROVIDER_H

#include <stdatomic.h>

#include "providers/provider.h"

enum tp_fn {
	TP_RANDOM,
	TP_HASH,
	TP_GENERATE,
	TP_IMPORT,
	TP_EXPORT,
	TP_EXPORT_PUBLIC,
	TP_DESTROY,
	TP_SIGN,
	TP_VERIFY,
	TP_SIGN_MESSAGE,
	TP_VERIFY_MESSAGE,
	TP_AEAD,
	TP_CIPHER,
	TP_MAC,
	TP_MAC_VERIFY,
	TP_ASYM,
	TP_AGREE,
	TP_CAN_DO,
	TP_RESERVE_REF,
	TP_RECOVER,
	TP_ADOPT,
	TP_FN_COUNT
};

struct tp_state {
	enum ts_err forced[TP_FN_COUNT]; /* TS_OK: behave */
	atomic_uint calls[TP_FN_COUNT];
	uint8_t out[128]; /* what producing operations return (out_len 0: "out") */
	size_t out_len;
	bool is_short;           /* the is_short hook's answer */
	unsigned max_concurrent; /* read once, at adoption */
	size_t max_payload;
	unsigned delay_ms; /* each sign_hash sleeps this long */
	atomic_uint running, max_running;
	unsigned next_ref;
	/* What the last call saw. */
	struct psa_alg last_alg;
	size_t last_in_len;
	uint8_t last_ref[16];
	size_t last_ref_len;
	uint32_t last_opcode_asked; /* of is_short */
	uint8_t recovered_ref[16];  /* what the last recover_key got */
	size_t recovered_ref_len;
};

/* The full table, and one without native message signing, MAC
 * verification or key agreement (the core's fallbacks and NotSupported). */
extern const struct prov_ops prov_test_ops;
extern const struct prov_ops prov_test_minimal_ops;

/* A fresh state for one instance (the instance's ctx). */
struct tp_state *tp_new(void);
void tp_free(void *ctx);

#endif
