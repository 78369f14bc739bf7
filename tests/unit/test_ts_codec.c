/*
 * The Trusted Services packed-c codec: golden bytes of every request the
 * provider sends (written from the protocol notes' tables, not from our
 * encoder), the TLV reader against truncated and hostile records, the
 * status mapping of both levels, and the PSA value mapping.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-psa.h"

static uint8_t buf[8192];

static void same(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
	cr_assert_eq(got_len, want_len, "length %zu, expected %zu", got_len, want_len);
	for (size_t i = 0; i < want_len; i++)
		cr_assert_eq(got[i], want[i], "byte %zu: %02x, expected %02x", i, got[i], want[i]);
}

/* A P-256 ECDSA(SHA-256) signing key, persistent ID 0x3f000000. */
static const struct tsc_attrs p256 = {.type = 0x7112,
                                      .bits = 256,
                                      .lifetime = 1,
                                      .id = 0x3f000000,
                                      .usage = 0x3000,
                                      .alg = 0x06000609};
static const uint8_t p256_bytes[] = {0x12, 0x71, 0, 0,    0x00, 0x01, 0, 0, 0x01, 0,    0, 0,
                                     0x00, 0x00, 0, 0x3f, 0x00, 0x30, 0, 0, 0x09, 0x06, 0, 0x06};

Test(ts_codec, generate_key_is_the_24_byte_attribute_block)
{
	size_t n = 0;

	cr_assert_eq(tsc_req_generate(buf, sizeof(buf), &p256, &n), TS_OK);
	same(buf, n, p256_bytes, sizeof(p256_bytes));
}

Test(ts_codec, import_key_is_the_block_then_tlv_1)
{
	static const uint8_t data[] = {0x04, 0xaa, 0xbb};
	uint8_t want[24 + 4 + 3];
	size_t n = 0;

	memcpy(want, p256_bytes, 24);
	memcpy(want + 24, (const uint8_t[]){0x00, 0x01, 0x00, 0x03, 0x04, 0xaa, 0xbb}, 7);
	cr_assert_eq(tsc_req_import(buf, sizeof(buf), &p256, data, sizeof(data), &n), TS_OK);
	same(buf, n, want, sizeof(want));
}

Test(ts_codec, key_id_requests_are_one_little_endian_u32)
{
	static const uint8_t want[] = {0x04, 0x03, 0x02, 0x3f};
	size_t n = 0;

	cr_assert_eq(tsc_req_key_id(buf, sizeof(buf), 0x3f020304, &n), TS_OK);
	same(buf, n, want, sizeof(want));
	cr_assert_eq(tsc_req_random(buf, sizeof(buf), 0x20, &n), TS_OK);
	same(buf, n, (const uint8_t[]){0x20, 0, 0, 0}, 4);
}

Test(ts_codec, sign_and_verify_hash_layouts)
{
	static const uint8_t h[] = {0xaa, 0xbb, 0xcc}, sig[] = {0x11, 0x22};
	static const uint8_t sign_want[] = {0x01, 0x00, 0x00, 0x3f, 0x09, 0x06, 0x00, 0x06,
	                                    0x00, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc};
	static const uint8_t verify_want[] = {0x01, 0x00, 0x00, 0x3f, 0x09, 0x06, 0x00,
	                                      0x06, 0x00, 0x01, 0x00, 0x03, 0xaa, 0xbb,
	                                      0xcc, 0x00, 0x02, 0x00, 0x02, 0x11, 0x22};
	size_t n = 0;

	cr_assert_eq(tsc_req_sign(buf, sizeof(buf), 0x3f000001, 0x06000609, h, 3, &n), TS_OK);
	same(buf, n, sign_want, sizeof(sign_want));
	cr_assert_eq(tsc_req_verify(buf, sizeof(buf), 0x3f000001, 0x06000609, h, 3, sig, 2, &n),
	             TS_OK);
	same(buf, n, verify_want, sizeof(verify_want));
}

Test(ts_codec, asymmetric_requests_carry_the_salt_only_when_given)
{
	static const uint8_t in[] = {0x55}, label[] = {0x4c};
	static const uint8_t without[] = {0x02, 0,    0,    0x3f, 0x09, 0x03, 0x00,
	                                  0x07, 0x00, 0x01, 0x00, 0x01, 0x55};
	static const uint8_t with[] = {0x02, 0,    0,    0x3f, 0x09, 0x03, 0x00, 0x07, 0x00,
	                               0x01, 0x00, 0x01, 0x55, 0x00, 0x02, 0x00, 0x01, 0x4c};
	size_t n = 0;

	cr_assert_eq(tsc_req_asym(buf, sizeof(buf), 0x3f000002, 0x07000309, in, 1, NULL, 0, &n),
	             TS_OK);
	same(buf, n, without, sizeof(without));
	cr_assert_eq(tsc_req_asym(buf, sizeof(buf), 0x3f000002, 0x07000309, in, 1, label, 1, &n),
	             TS_OK);
	same(buf, n, with, sizeof(with));
}

Test(ts_codec, responses_decode_id_attributes_and_data)
{
	static const uint8_t id[] = {0xe0, 0xff, 0xff, 0x7f};
	static const uint8_t data[] = {0x00, 0x01, 0x00, 0x02, 0xde, 0xad};
	struct tsc_attrs a;
	const uint8_t *v;
	size_t vlen;
	uint32_t got;

	cr_assert_eq(tsc_resp_id(id, 4, &got), TS_OK);
	cr_assert_eq(got, 0x7fffffe0u);
	cr_assert_eq(tsc_resp_id(id, 3, &got), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_resp_attrs(p256_bytes, 24, &a), TS_OK);
	cr_assert_eq(memcmp(&a, &p256, sizeof(a)), 0);
	cr_assert_eq(tsc_resp_attrs(p256_bytes, 23, &a), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_resp_data(data, sizeof(data), &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 2);
	cr_assert_eq(v, data + 4);
	cr_assert_eq(tsc_resp_data(data, 0, &v, &vlen), TS_E_PSA_COMMUNICATION_FAILURE);
}

Test(ts_codec, multipart_setup_step_and_lengths_layouts)
{
	static const uint8_t setup_want[] = {0x05, 0x00, 0x00, 0x3f, 0x00, 0x02, 0x50, 0x05};
	static const uint8_t step_want[] = {0x07, 0, 0, 0, 0x00, 0x01, 0x00, 0x02, 0xab, 0xcd};
	static const uint8_t bare_want[] = {0x07, 0, 0, 0};
	static const uint8_t lengths_want[] = {0x07, 0, 0, 0, 0x10, 0, 0, 0, 0x00, 0x01, 0, 0};
	static const uint8_t finish[] = {0x00, 0x02, 0x00, 0x02, 0x11, 0x22}; /* T2 only */
	const uint8_t *v;
	size_t n = 0, vlen = 9;

	cr_assert_eq(tsc_req_setup(buf, sizeof(buf), 0x3f000005, 0x05500200, &n), TS_OK);
	same(buf, n, setup_want, sizeof(setup_want));
	cr_assert_eq(tsc_req_step(buf, sizeof(buf), 7, (const uint8_t[]){0xab, 0xcd}, 2, &n),
	             TS_OK);
	same(buf, n, step_want, sizeof(step_want));
	cr_assert_eq(tsc_req_step(buf, sizeof(buf), 7, NULL, 0, &n), TS_OK);
	same(buf, n, bare_want, sizeof(bare_want));
	cr_assert_eq(tsc_req_aead_lengths(buf, sizeof(buf), 7, 16, 0x100, &n), TS_OK);
	same(buf, n, lengths_want, sizeof(lengths_want));
	/* An AEAD finish whose last part is empty: T1 absent reads as empty. */
	cr_assert_eq(tsc_resp_optional(finish, sizeof(finish), 1, &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 0);
	cr_assert_eq(tsc_resp_optional(finish, sizeof(finish), 2, &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 2);
	cr_assert_eq(v[1], 0x22);
	cr_assert_eq(tsc_resp_optional(finish, 5, 2, &v, &vlen), TS_E_PSA_COMMUNICATION_FAILURE);
}

/* ---- the reader against hostile records ---- */

Test(ts_codec, a_truncated_header_or_value_is_malformed)
{
	static const uint8_t short_header[] = {0x00, 0x01, 0x00};
	static const uint8_t long_value[] = {0x00, 0x01, 0x00, 0x05, 1, 2, 3, 4};
	static const uint8_t huge[] = {0x00, 0x01, 0xff, 0xff, 1};
	const uint8_t *v;
	size_t n;

	cr_assert_eq(tsc_find_tlv(short_header, 3, 0, 1, &v, &n), TSC_MALFORMED);
	cr_assert_eq(tsc_find_tlv(long_value, sizeof(long_value), 0, 1, &v, &n), TSC_MALFORMED);
	cr_assert_eq(tsc_find_tlv(huge, sizeof(huge), 0, 1, &v, &n), TSC_MALFORMED);
	/* Even a record before the wanted one is checked. */
	cr_assert_eq(tsc_find_tlv(long_value, sizeof(long_value), 0, 2, &v, &n), TSC_MALFORMED);
	cr_assert_eq(tsc_resp_data(long_value, sizeof(long_value), &v, &n),
	             TS_E_PSA_COMMUNICATION_FAILURE);
}

Test(ts_codec, lower_tags_are_skipped_and_the_search_stops_past_the_tag)
{
	static const uint8_t recs[] = {
	        0x00, 0x01, 0x00, 0x01, 0xa1, 0x00, 0x03, 0x00, 0x02,
	        0xc1, 0xc2, 0x00, 0x02, 0x00, 0x01, 0xb1}; /* tags 1, 3, then 2 (out of order) */
	const uint8_t *v;
	size_t n;

	cr_assert_eq(tsc_find_tlv(recs, sizeof(recs), 0, 3, &v, &n), TSC_FOUND);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0], 0xc1);
	/* Tag 2 comes after 3: like the service, not seen. */
	cr_assert_eq(tsc_find_tlv(recs, sizeof(recs), 0, 2, &v, &n), TSC_ABSENT);
	cr_assert_eq(tsc_find_tlv(recs, sizeof(recs), 0, 9, &v, &n), TSC_ABSENT);
	cr_assert_eq(tsc_find_tlv(recs, 0, 0, 1, &v, &n), TSC_ABSENT);
	/* An offset past the end reads nothing. */
	cr_assert_eq(tsc_find_tlv(recs, sizeof(recs), sizeof(recs) + 10, 1, &v, &n), TSC_ABSENT);
}

Test(ts_codec, a_zero_length_and_a_65535_byte_value_round_trip)
{
	static uint8_t big[65535];
	struct tsc_writer w;
	const uint8_t *v;
	size_t n = 0, vlen;
	static uint8_t out[65535 + 8 + 4];

	memset(big, 0x5a, sizeof(big));
	tsc_w_init(&w, out, sizeof(out));
	tsc_w_tlv(&w, 1, NULL, 0);
	tsc_w_tlv(&w, 2, big, sizeof(big));
	cr_assert_eq(tsc_w_finish(&w, &n), TS_OK);
	cr_assert_eq(n, 8 + 65535);
	cr_assert_eq(tsc_find_tlv(out, n, 0, 1, &v, &vlen), TSC_FOUND);
	cr_assert_eq(vlen, 0);
	cr_assert_eq(tsc_find_tlv(out, n, 0, 2, &v, &vlen), TSC_FOUND);
	cr_assert_eq(vlen, 65535);
	cr_assert_eq(v[65534], 0x5a);
}

Test(ts_codec, the_writer_refuses_what_does_not_fit_or_is_out_of_order)
{
	static uint8_t big[65536];
	struct tsc_writer w;
	uint8_t small[8];
	size_t n = 99;

	tsc_w_init(&w, buf, sizeof(buf));
	tsc_w_tlv(&w, 1, big, sizeof(big)); /* over a record's 16-bit length */
	cr_assert_eq(tsc_w_finish(&w, &n), TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(n, 99, "untouched on failure");
	tsc_w_init(&w, small, sizeof(small));
	tsc_w_u32(&w, 1);
	tsc_w_tlv(&w, 1, big, 1); /* 5 bytes into 4 left */
	cr_assert_eq(tsc_w_finish(&w, &n), TS_E_PSA_INSUFFICIENT_MEMORY);
	tsc_w_init(&w, buf, sizeof(buf));
	tsc_w_tlv(&w, 2, big, 1);
	tsc_w_tlv(&w, 1, big, 1);
	cr_assert_eq(tsc_w_finish(&w, &n), TS_E_PSA_INVALID_ARGUMENT);
	tsc_w_init(&w, buf, sizeof(buf));
	tsc_w_tlv(&w, 1, big, 1);
	tsc_w_tlv(&w, 1, big, 1);
	cr_assert_eq(tsc_w_finish(&w, &n), TS_E_PSA_INVALID_ARGUMENT);
	/* A request larger than the transport's buffer. */
	cr_assert_eq(tsc_req_sign(buf, 100, 1, 1, big, 200, &n), TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(tsc_req_generate(buf, 23, &p256, &n), TS_E_PSA_INSUFFICIENT_MEMORY);
}

Test(ts_codec, u32_reads_stay_inside_the_buffer)
{
	uint32_t v = 7;

	cr_assert(!tsc_r_u32(p256_bytes, 3, 0, &v));
	cr_assert(!tsc_r_u32(p256_bytes, 24, 21, &v));
	cr_assert(!tsc_r_u32(p256_bytes, 24, SIZE_MAX - 1, &v));
	cr_assert_eq(v, 7);
	cr_assert(tsc_r_u32(p256_bytes, 24, 20, &v));
	cr_assert_eq(v, 0x06000609u);
}

/* ---- status ---- */

Test(ts_codec, rpc_statuses_map_before_the_service_status_is_looked_at)
{
	cr_assert_eq(tsc_status_to_err(0, 0), TS_OK);
	cr_assert_eq(tsc_status_to_err(-1, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(-2, 0), TS_E_PSA_NOT_SUPPORTED);
	cr_assert_eq(tsc_status_to_err(-3, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(-4, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(-5, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(-6, 0), TS_E_PSA_INVALID_ARGUMENT);
	cr_assert_eq(tsc_status_to_err(-7, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(-8, 0), TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(tsc_status_to_err(-99, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_eq(tsc_status_to_err(1, 0), TS_E_PSA_COMMUNICATION_FAILURE);
	/* A service status under a failed RPC is not looked at. */
	cr_assert_eq(tsc_status_to_err(-5, -149), TS_E_PSA_COMMUNICATION_FAILURE);
}

Test(ts_codec, every_psa_status_maps_to_our_error)
{
	static const struct {
		int64_t psa;
		enum ts_err err;
	} want[] = {
	        {-129, TS_E_PSA_GENERIC_ERROR},
	        {-130, TS_E_PSA_COMMUNICATION_FAILURE},
	        {-131, TS_E_PSA_COMMUNICATION_FAILURE},
	        {-132, TS_E_PSA_GENERIC_ERROR},
	        {-133, TS_E_PSA_NOT_PERMITTED},
	        {-134, TS_E_PSA_NOT_SUPPORTED},
	        {-135, TS_E_PSA_INVALID_ARGUMENT},
	        {-136, TS_E_PSA_DOES_NOT_EXIST},
	        {-137, TS_E_PSA_BAD_STATE},
	        {-138, TS_E_PSA_BUFFER_TOO_SMALL},
	        {-139, TS_E_PSA_ALREADY_EXISTS},
	        {-140, TS_E_PSA_DOES_NOT_EXIST},
	        {-141, TS_E_PSA_INSUFFICIENT_MEMORY},
	        {-142, TS_E_PSA_INSUFFICIENT_STORAGE},
	        {-143, TS_E_PSA_INSUFFICIENT_DATA},
	        {-144, TS_E_PSA_COMMUNICATION_FAILURE},
	        {-145, TS_E_PSA_COMMUNICATION_FAILURE},
	        {-146, TS_E_PSA_STORAGE_FAILURE},
	        {-147, TS_E_PSA_HARDWARE_FAILURE},
	        {-148, TS_E_PSA_INSUFFICIENT_ENTROPY},
	        {-149, TS_E_PSA_INVALID_SIGNATURE},
	        {-150, TS_E_PSA_INVALID_PADDING},
	        {-151, TS_E_PSA_CORRUPTION_DETECTED},
	        {-152, TS_E_PSA_DATA_CORRUPT},
	        {-153, TS_E_PSA_DATA_INVALID},
	        {-128, TS_E_PSA_GENERIC_ERROR},
	        {-154, TS_E_PSA_GENERIC_ERROR},
	        {5, TS_E_PSA_GENERIC_ERROR},
	        {(int64_t)1 << 40, TS_E_PSA_GENERIC_ERROR},
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_eq(tsc_status_to_err(0, want[i].psa), want[i].err, "PSA status %lld",
		             (long long)want[i].psa);
}

Test(ts_codec, our_errors_map_back_to_their_own_psa_status)
{
	cr_assert_eq(tsc_err_to_psa(TS_OK), 0);
	cr_assert_eq(tsc_err_to_psa(TS_E_PSA_DOES_NOT_EXIST), -140);
	cr_assert_eq(tsc_err_to_psa(TS_E_PSA_COMMUNICATION_FAILURE), -145);
	cr_assert_eq(tsc_err_to_psa(TS_E_PSA_INVALID_SIGNATURE), -149);
	cr_assert_eq(tsc_err_to_psa(TS_E_PSA_GENERIC_ERROR), -132);
	cr_assert_eq(tsc_err_to_psa(TS_E_NOMEM), -141);
	cr_assert_eq(tsc_err_to_psa(TS_E_CONFIG), -132);
}

/* ---- PSA values ---- */

Test(ts_psa, attributes_take_the_raw_psa_encodings)
{
	struct psa_attrs a = {.type = PSA_KT_ECC_PAIR,
	                      .family = PSA_ECC_SECP_R1,
	                      .bits = 256,
	                      .usage = PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH,
	                      .alg = {.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash = 7}};
	struct tsc_attrs t;
	struct psa_attrs back;

	cr_assert_eq(tsp_attrs(&a, 0x3f000000, &t), TS_OK);
	cr_assert_eq(memcmp(&t, &p256, sizeof(t)), 0);
	cr_assert_eq(tsp_attrs_back(&t, &back), TS_OK);
	cr_assert_eq(back.type, a.type);
	cr_assert_eq(back.family, a.family);
	cr_assert_eq(back.usage, a.usage);
	cr_assert_eq(back.alg.kind, PSA_SIGN_ECDSA);
	cr_assert_eq(back.alg.hash, 7);

	a = (struct psa_attrs){.type = PSA_KT_RSA_PAIR, .bits = 2048, .alg = {.cls = PSA_AC_NONE}};
	cr_assert_eq(tsp_attrs(&a, 1, &t), TS_OK);
	cr_assert_eq(t.type, 0x7001u);
	a.type = PSA_KT_ECC_PUBLIC;
	a.family = PSA_ECC_BRAINPOOL_P_R1;
	cr_assert_eq(tsp_key_type(&a, &t.type), TS_OK);
	cr_assert_eq(t.type, 0x4130u);
	a.type = PSA_KT_ARC4;
	cr_assert_eq(tsp_key_type(&a, &t.type), TS_E_PSA_NOT_SUPPORTED);
}

Test(ts_psa, algorithms_and_usage_flags)
{
	static const struct {
		struct psa_alg alg;
		uint32_t want;
	} cases[] = {
	        {{.cls = PSA_AC_NONE}, 0},
	        {{.cls = PSA_AC_HASH, .kind = 7}, 0x02000009u},
	        {{.cls = PSA_AC_HASH, .kind = 15}, 0x02000013u},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash = 8}, 0x0600060au},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA, .hash_any = true}, 0x060006ffu},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_ECDSA_ANY}, 0x06000600u},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_DETERMINISTIC_ECDSA, .hash = 7},
	         0x06000709u},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_RSA_PKCS1V15, .hash = 7}, 0x06000209u},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_RSA_PKCS1V15_RAW}, 0x06000200u},
	        {{.cls = PSA_AC_SIGN, .kind = PSA_SIGN_RSA_PSS, .hash = 9}, 0x0600030bu},
	        {{.cls = PSA_AC_ASYM_ENC, .kind = PSA_ENC_RSA_PKCS1V15}, 0x07000200u},
	        {{.cls = PSA_AC_ASYM_ENC, .kind = PSA_ENC_RSA_OAEP, .hash = 7}, 0x07000309u},
	        {{.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = 7}, 0x03800009u},
	        {{.cls = PSA_AC_MAC, .kind = PSA_MAC_HMAC, .hash = 7, .length = 16}, 0x03900009u},
	        {{.cls = PSA_AC_MAC, .kind = PSA_MAC_CMAC}, 0x03c00200u},
	        {{.cls = PSA_AC_AEAD, .kind = PSA_AEAD_GCM}, 0x05500200u},
	        {{.cls = PSA_AC_AEAD, .kind = PSA_AEAD_CCM, .length = 8}, 0x05480100u},
	        {{.cls = PSA_AC_AEAD, .kind = PSA_AEAD_CHACHA20_POLY1305}, 0x05100500u},
	        {{.cls = PSA_AC_CIPHER, .kind = 8}, 0x04404100u},
	        {{.cls = PSA_AC_CIPHER, .kind = 2}, 0x04c01000u},
	};
	struct psa_alg ka = {.cls = PSA_AC_KEY_AGREEMENT, .kind = PSA_KA_ECDH};
	uint32_t v;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(tsp_alg(&cases[i].alg, &v), TS_OK, "case %zu", i);
		cr_assert_eq(v, cases[i].want, "case %zu: %08x", i, v);
	}
	cr_assert_eq(tsp_alg(&ka, &v), TS_OK);
	cr_assert_eq(v, 0x09020000u);
	ka.kdf = 1;
	cr_assert_eq(tsp_alg(&ka, &v), TS_E_PSA_NOT_SUPPORTED, "agreement then a KDF");
	cr_assert_eq(tsp_usage(PSA_USAGE_EXPORT | PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH),
	             0x3001u);
	cr_assert_eq(tsp_usage(PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT | PSA_USAGE_SIGN_MESSAGE |
	                       PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_DERIVE | PSA_USAGE_COPY),
	             0x4f02u);
}
