/* The controllable test provider (test-provider.h). */
#include "providers/test/test-provider.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tp_state *tp_new(void)
{
	struct tp_state *s = calloc(1, sizeof(*s));

	if (s != NULL)
		s->is_short = true;
	return s;
}

void tp_free(void *ctx)
{
	free(ctx);
}

/* Count the call; the forced status, if any. */
static enum ts_err enter(void *ctx, enum tp_fn fn)
{
	struct tp_state *s = ctx;

	atomic_fetch_add(&s->calls[fn], 1);
	return s->forced[fn];
}

static enum ts_err give(struct tp_state *s, uint8_t **ret, size_t *ret_len)
{
	size_t n = s->out_len ? s->out_len : 3;
	uint8_t *b = malloc(n);

	if (b == NULL)
		return TS_E_NOMEM;
	memcpy(b, s->out_len ? s->out : (const uint8_t *)"out", n);
	*ret = b;
	*ret_len = n;
	return TS_OK;
}

static void saw(struct tp_state *s, const struct prov_key *k, const struct psa_alg *alg,
                size_t in_len)
{
	if (alg != NULL)
		s->last_alg = *alg;
	s->last_in_len = in_len;
	s->last_ref_len = 0;
	if (k != NULL && k->ref_len <= sizeof(s->last_ref)) {
		memcpy(s->last_ref, k->ref, k->ref_len);
		s->last_ref_len = k->ref_len;
	}
}

static enum ts_err t_random(void *ctx, uint8_t *out, size_t len)
{
	enum ts_err e = enter(ctx, TP_RANDOM);

	if (e == TS_OK)
		memset(out, 0xAB, len);
	return e;
}

static enum ts_err t_hash(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                          uint8_t *out, size_t outsize, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_HASH);
	size_t n = psa_hash_size(alg);

	(void)in;
	if (e != TS_OK)
		return e;
	if (n == 0 || n > outsize)
		return TS_E_PSA_NOT_SUPPORTED;
	/* Not a hash: the input length in every byte, which tests can predict. */
	memset(out, (int)(len & 0xff), n);
	*ret_len = n;
	return TS_OK;
}

static enum ts_err t_generate(void *ctx, const struct prov_key *k, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_GENERATE);

	saw(ctx, k, NULL, 0);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_import(void *ctx, const struct prov_key *k, const uint8_t *data, size_t len,
                            uint8_t **ret, size_t *ret_len, uint32_t *ret_bits)
{
	enum ts_err e = enter(ctx, TP_IMPORT);
	uint8_t *b;

	saw(ctx, k, NULL, len);
	if (e != TS_OK)
		return e;
	b = malloc(len ? len : 1);
	if (b == NULL)
		return TS_E_NOMEM;
	memcpy(b, data, len);
	*ret = b;
	*ret_len = len;
	*ret_bits = (uint32_t)len * 8;
	return TS_OK;
}

static enum ts_err t_export(void *ctx, const struct prov_key *k, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_EXPORT);

	saw(ctx, k, NULL, 0);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_export_public(void *ctx, const struct prov_key *k, uint8_t **ret,
                                   size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_EXPORT_PUBLIC);

	saw(ctx, k, NULL, 0);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_destroy(void *ctx, const struct prov_key *k)
{
	saw(ctx, k, NULL, 0);
	return enter(ctx, TP_DESTROY);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

static enum ts_err t_sign(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          const uint8_t *hash, size_t hash_len, uint8_t **ret, size_t *ret_len)
{
	struct tp_state *s = ctx;
	enum ts_err e = enter(ctx, TP_SIGN);
	unsigned now = atomic_fetch_add(&s->running, 1) + 1, max;

	(void)hash;
	while ((max = atomic_load(&s->max_running)) < now &&
	       !atomic_compare_exchange_weak(&s->max_running, &max, now))
		;
	sleep_ms(s->delay_ms);
	atomic_fetch_sub(&s->running, 1);
	saw(ctx, k, alg, hash_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_verify(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                            size_t sig_len)
{
	(void)hash;
	(void)sig;
	(void)sig_len;
	saw(ctx, k, alg, hash_len);
	return enter(ctx, TP_VERIFY);
}

static enum ts_err t_sign_message(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                  const uint8_t *msg, size_t len, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_SIGN_MESSAGE);

	(void)msg;
	saw(ctx, k, alg, len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_verify_message(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                    const uint8_t *msg, size_t len, const uint8_t *sig,
                                    size_t sig_len)
{
	(void)msg;
	(void)sig;
	(void)sig_len;
	saw(ctx, k, alg, len);
	return enter(ctx, TP_VERIFY_MESSAGE);
}

static enum ts_err t_aead(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          bool encrypt, const uint8_t *nonce, size_t nonce_len, const uint8_t *ad,
                          size_t ad_len, const uint8_t *in, size_t in_len, uint8_t **ret,
                          size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_AEAD);

	(void)encrypt, (void)nonce, (void)nonce_len, (void)ad, (void)ad_len, (void)in;
	saw(ctx, k, alg, in_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_cipher(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                            bool encrypt, const uint8_t *in, size_t in_len, uint8_t **ret,
                            size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_CIPHER);

	(void)encrypt, (void)in;
	saw(ctx, k, alg, in_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_mac(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                         const uint8_t *in, size_t in_len, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_MAC);

	(void)in;
	saw(ctx, k, alg, in_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_mac_verify(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                                const uint8_t *in, size_t in_len, const uint8_t *mac,
                                size_t mac_len)
{
	(void)in, (void)mac, (void)mac_len;
	saw(ctx, k, alg, in_len);
	return enter(ctx, TP_MAC_VERIFY);
}

static enum ts_err t_asym(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                          bool encrypt, const uint8_t *in, size_t in_len, const uint8_t *label,
                          size_t label_len, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_ASYM);

	(void)encrypt, (void)in, (void)label, (void)label_len;
	saw(ctx, k, alg, in_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_agree(void *ctx, const struct prov_key *k, const struct psa_alg *alg,
                           const uint8_t *peer, size_t peer_len, uint8_t **ret, size_t *ret_len)
{
	enum ts_err e = enter(ctx, TP_AGREE);

	(void)peer;
	saw(ctx, k, alg, peer_len);
	return e != TS_OK ? e : give(ctx, ret, ret_len);
}

static enum ts_err t_can_do(void *ctx, const struct psa_attrs *a, int check)
{
	(void)a, (void)check;
	return enter(ctx, TP_CAN_DO);
}

static enum ts_err t_reserve_ref(void *ctx, const struct psa_attrs *a, uint8_t **ret,
                                 size_t *ret_len)
{
	struct tp_state *s = ctx;
	enum ts_err e = enter(ctx, TP_RESERVE_REF);
	uint8_t *b;

	(void)a;
	if (e != TS_OK)
		return e;
	b = malloc(4);
	if (b == NULL)
		return TS_E_NOMEM;
	s->next_ref++;
	memcpy(b, &s->next_ref, 4);
	*ret = b;
	*ret_len = 4;
	return TS_OK;
}

static void t_recover(void *ctx, const struct prov_key *k)
{
	struct tp_state *s = ctx;

	saw(ctx, k, NULL, 0);
	memcpy(s->recovered_ref, s->last_ref, s->last_ref_len);
	s->recovered_ref_len = s->last_ref_len;
	(void)enter(ctx, TP_RECOVER);
}

static enum ts_err t_adopt(void *ctx, const struct prov_key *k)
{
	saw(ctx, k, NULL, 0);
	return enter(ctx, TP_ADOPT);
}

static bool t_is_short(void *ctx, uint32_t opcode, const struct psa_attrs *a)
{
	struct tp_state *s = ctx;

	(void)a;
	s->last_opcode_asked = opcode;
	return s->is_short;
}

static unsigned t_max_concurrent(void *ctx)
{
	return ((struct tp_state *)ctx)->max_concurrent;
}

static size_t t_max_payload(void *ctx)
{
	return ((struct tp_state *)ctx)->max_payload;
}

#define TEST_META                                                                                 \
	.type = "Test", .id = 1, .uuid = "00000000-0000-0000-0000-000000000001",                  \
	.description = "Test provider", .vendor = "Tessera tests", .fini = tp_free,               \
	.is_short = t_is_short, .max_concurrent = t_max_concurrent, .max_payload = t_max_payload, \
	.reserve_ref = t_reserve_ref, .recover_key = t_recover, .adopt_key = t_adopt,             \
	.generate_random = t_random, .hash_compute = t_hash, .generate_key = t_generate,          \
	.import_key = t_import, .export_key = t_export, .export_public_key = t_export_public,     \
	.destroy_key = t_destroy, .sign_hash = t_sign, .verify_hash = t_verify, .aead = t_aead,   \
	.cipher = t_cipher, .mac = t_mac, .asym_crypt = t_asym, .can_do = t_can_do

const struct prov_ops prov_test_ops = {
        TEST_META,
        .sign_message = t_sign_message,
        .verify_message = t_verify_message,
        .mac_verify = t_mac_verify,
        .key_agreement = t_agree,
};

const struct prov_ops prov_test_minimal_ops = {TEST_META};
