/*
 * The Trusted Services packed-c codec: golden bytes of every request the
 * provider sends and of every answer it parses (written from the protocol
 * notes' tables and TS v1.2.0's packed-c headers, not from our encoder),
 * the opcode numbers against opcodes.h, the TLV reader against truncated
 * and hostile records, the status mapping of both levels, and the PSA
 * value mapping.
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

/* ---- every opcode the provider sends, against TS v1.2.0 ----
 *
 * The expected bytes below are written from section 1.3 of the protocol
 * notes and checked field by field against TS v1.2.0's
 * protocols/service/crypto/packed-c headers (the packed structs and the TLV
 * tag enums) and the service's packed-c serializers (how the answers are
 * laid out). Fixed fields are little-endian u32s; a TLV is a big-endian
 * u16 tag and a big-endian u16 length. */

static void same_as(const char *what, const uint8_t *got, size_t got_len, const uint8_t *want,
                    size_t want_len)
{
	cr_assert_eq(got_len, want_len, "%s: length %zu, expected %zu", what, got_len, want_len);
	for (size_t i = 0; i < want_len; i++)
		cr_assert_eq(got[i], want[i], "%s: byte %zu: %02x, expected %02x", what, i, got[i],
		             want[i]);
}

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

Test(ts_codec, opcode_numbers_are_those_of_ts_v1_2_0_opcodes_h)
{
	/* opcodes.h numbers each family from its base: 0x0100 core, 0x0200
	 * hash, 0x0300 cipher, 0x0400 key derivation, 0x0500 MAC, 0x0600 AEAD. */
	static const struct {
		const char *name;
		uint32_t ours, theirs;
	} ops[] = {
	        {"GENERATE_KEY", TSC_OP_GENERATE_KEY, 0x0100 + 1},
	        {"DESTROY_KEY", TSC_OP_DESTROY_KEY, 0x0100 + 2},
	        {"EXPORT_KEY", TSC_OP_EXPORT_KEY, 0x0100 + 5},
	        {"EXPORT_PUBLIC_KEY", TSC_OP_EXPORT_PUBLIC_KEY, 0x0100 + 6},
	        {"IMPORT_KEY", TSC_OP_IMPORT_KEY, 0x0100 + 7},
	        {"SIGN_HASH", TSC_OP_SIGN_HASH, 0x0100 + 8},
	        {"VERIFY_HASH", TSC_OP_VERIFY_HASH, 0x0100 + 9},
	        {"ASYMMETRIC_DECRYPT", TSC_OP_ASYMMETRIC_DECRYPT, 0x0100 + 10},
	        {"ASYMMETRIC_ENCRYPT", TSC_OP_ASYMMETRIC_ENCRYPT, 0x0100 + 11},
	        {"GENERATE_RANDOM", TSC_OP_GENERATE_RANDOM, 0x0100 + 12},
	        {"COPY_KEY", TSC_OP_COPY_KEY, 0x0100 + 13},
	        {"PURGE_KEY", TSC_OP_PURGE_KEY, 0x0100 + 14},
	        {"GET_KEY_ATTRIBUTES", TSC_OP_GET_KEY_ATTRIBUTES, 0x0100 + 15},
	        {"SIGN_MESSAGE", TSC_OP_SIGN_MESSAGE, 0x0100 + 16},
	        {"VERIFY_MESSAGE", TSC_OP_VERIFY_MESSAGE, 0x0100 + 17},
	        {"CIPHER_ENCRYPT_SETUP", TSC_OP_CIPHER_ENCRYPT_SETUP, 0x0300 + 1},
	        {"CIPHER_DECRYPT_SETUP", TSC_OP_CIPHER_DECRYPT_SETUP, 0x0300 + 2},
	        {"CIPHER_GENERATE_IV", TSC_OP_CIPHER_GENERATE_IV, 0x0300 + 3},
	        {"CIPHER_SET_IV", TSC_OP_CIPHER_SET_IV, 0x0300 + 4},
	        {"CIPHER_UPDATE", TSC_OP_CIPHER_UPDATE, 0x0300 + 5},
	        {"CIPHER_FINISH", TSC_OP_CIPHER_FINISH, 0x0300 + 6},
	        {"CIPHER_ABORT", TSC_OP_CIPHER_ABORT, 0x0300 + 7},
	        {"HASH_SETUP", TSC_OP_HASH_SETUP, 0x0200 + 1},
	        {"HASH_UPDATE", TSC_OP_HASH_UPDATE, 0x0200 + 2},
	        {"HASH_FINISH", TSC_OP_HASH_FINISH, 0x0200 + 3},
	        {"HASH_ABORT", TSC_OP_HASH_ABORT, 0x0200 + 4},
	        {"HASH_VERIFY", TSC_OP_HASH_VERIFY, 0x0200 + 5},
	        {"HASH_CLONE", TSC_OP_HASH_CLONE, 0x0200 + 6},
	        {"KEY_DERIVATION_SETUP", TSC_OP_KDF_SETUP, 0x0400 + 1},
	        {"KEY_DERIVATION_GET_CAPACITY", TSC_OP_KDF_GET_CAPACITY, 0x0400 + 2},
	        {"KEY_DERIVATION_SET_CAPACITY", TSC_OP_KDF_SET_CAPACITY, 0x0400 + 3},
	        {"KEY_DERIVATION_INPUT_BYTES", TSC_OP_KDF_INPUT_BYTES, 0x0400 + 4},
	        {"KEY_DERIVATION_INPUT_KEY", TSC_OP_KDF_INPUT_KEY, 0x0400 + 5},
	        {"KEY_DERIVATION_OUTPUT_BYTES", TSC_OP_KDF_OUTPUT_BYTES, 0x0400 + 6},
	        {"KEY_DERIVATION_OUTPUT_KEY", TSC_OP_KDF_OUTPUT_KEY, 0x0400 + 7},
	        {"KEY_DERIVATION_ABORT", TSC_OP_KDF_ABORT, 0x0400 + 8},
	        {"KEY_DERIVATION_KEY_AGREEMENT", TSC_OP_KDF_KEY_AGREEMENT, 0x0400 + 9},
	        {"RAW_KEY_AGREEMENT", TSC_OP_RAW_KEY_AGREEMENT, 0x0400 + 10},
	        {"MAC_SIGN_SETUP", TSC_OP_MAC_SIGN_SETUP, 0x0500 + 1},
	        {"MAC_VERIFY_SETUP", TSC_OP_MAC_VERIFY_SETUP, 0x0500 + 2},
	        {"MAC_UPDATE", TSC_OP_MAC_UPDATE, 0x0500 + 3},
	        {"MAC_SIGN_FINISH", TSC_OP_MAC_SIGN_FINISH, 0x0500 + 4},
	        {"MAC_VERIFY_FINISH", TSC_OP_MAC_VERIFY_FINISH, 0x0500 + 5},
	        {"MAC_ABORT", TSC_OP_MAC_ABORT, 0x0500 + 6},
	        {"AEAD_ENCRYPT_SETUP", TSC_OP_AEAD_ENCRYPT_SETUP, 0x0600 + 1},
	        {"AEAD_DECRYPT_SETUP", TSC_OP_AEAD_DECRYPT_SETUP, 0x0600 + 2},
	        {"AEAD_GENERATE_NONCE", TSC_OP_AEAD_GENERATE_NONCE, 0x0600 + 3},
	        {"AEAD_SET_NONCE", TSC_OP_AEAD_SET_NONCE, 0x0600 + 4},
	        {"AEAD_SET_LENGTHS", TSC_OP_AEAD_SET_LENGTHS, 0x0600 + 5},
	        {"AEAD_UPDATE_AD", TSC_OP_AEAD_UPDATE_AD, 0x0600 + 6},
	        {"AEAD_UPDATE", TSC_OP_AEAD_UPDATE, 0x0600 + 7},
	        {"AEAD_FINISH", TSC_OP_AEAD_FINISH, 0x0600 + 8},
	        {"AEAD_VERIFY", TSC_OP_AEAD_VERIFY, 0x0600 + 9},
	        {"AEAD_ABORT", TSC_OP_AEAD_ABORT, 0x0600 + 10},
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		cr_assert_eq(ops[i].ours, ops[i].theirs, "%s: %#06x, opcodes.h has %#06x",
		             ops[i].name, ops[i].ours, ops[i].theirs);
	/* The TLV tags the codec names are the headers' first two (every
	 * operation numbers its records from 1). */
	cr_assert_eq(TSC_TAG_1, 1);
	cr_assert_eq(TSC_TAG_2, 2);
}

/* key_derivation.h: each *_in struct is packed little-endian u32s; only
 * input_bytes carries a TLV (TAG_DATA = 1), and only output_bytes answers
 * one (OUTPUT_BYTES_OUT_TAG_DATA = 1). */
Test(ts_codec, key_derivation_requests_of_each_opcode_sent)
{
	size_t n = 0;

	/* ts_crypto_key_derivation_setup_in { alg }: HKDF(SHA-256) 0x08000109. */
	cr_assert_eq(tsc_req_kdf_setup(buf, sizeof(buf), 0x08000109u, &n), TS_OK);
	same_as("setup", buf, n, BYTES(0x09, 0x01, 0x00, 0x08));
	/* get_capacity_in and abort_in { op_handle }. */
	cr_assert_eq(tsc_req_kdf_handle(buf, sizeof(buf), 0x01020304u, &n), TS_OK);
	same_as("get_capacity / abort", buf, n, BYTES(0x04, 0x03, 0x02, 0x01));
	/* input_bytes_in { op_handle, step } then TLV 1: the salt step 0x0202. */
	cr_assert_eq(tsc_req_kdf_input_bytes(buf, sizeof(buf), 7, 0x0202u,
	                                     (const uint8_t[]){0xaa, 0xbb, 0xcc}, 3, &n),
	             TS_OK);
	same_as("input_bytes", buf, n,
	        BYTES(0x07, 0, 0, 0, 0x02, 0x02, 0, 0, 0x00, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc));
	/* An empty input still sends the record (zero length). */
	cr_assert_eq(
	        tsc_req_kdf_input_bytes(buf, sizeof(buf), 7, 0x0203u, (const uint8_t *)"", 0, &n),
	        TS_OK);
	same_as("input_bytes empty", buf, n,
	        BYTES(0x07, 0, 0, 0, 0x03, 0x02, 0, 0, 0x00, 0x01, 0x00, 0x00));
	/* input_key_in { op_handle, step, key_id }: the secret step 0x0101. */
	cr_assert_eq(tsc_req_kdf_input_key(buf, sizeof(buf), 9, 0x0101u, 0x3f000005u, &n), TS_OK);
	same_as("input_key", buf, n,
	        BYTES(0x09, 0, 0, 0, 0x01, 0x01, 0, 0, 0x05, 0x00, 0x00, 0x3f));
	/* output_bytes_in { op_handle, output_len }. */
	cr_assert_eq(tsc_req_kdf_output_bytes(buf, sizeof(buf), 9, 4096, &n), TS_OK);
	same_as("output_bytes", buf, n, BYTES(0x09, 0, 0, 0, 0x00, 0x10, 0, 0));
	/* A value past a TLV's 16-bit length does not go. */
	cr_assert_eq(tsc_req_kdf_input_bytes(buf, sizeof(buf), 1, 0x0203u, buf, 70000, &n),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
}

/* key_agreement_in { op_handle, step, private_key_id } then TLV 1
 * (KEY_AGREEMENT_IN_TAG_PEER_KEY): the peer's public key. */
Test(ts_codec, key_derivation_key_agreement_request)
{
	size_t n = 0;

	cr_assert_eq(tsc_req_kdf_key_agreement(buf, sizeof(buf), 0x0000000bu, 0x0101u, 0x7fff0102u,
	                                       (const uint8_t[]){0x04, 0x11, 0x22}, 3, &n),
	             TS_OK);
	same_as("key_agreement", buf, n,
	        BYTES(0x0b, 0, 0, 0, 0x01, 0x01, 0, 0, 0x02, 0x01, 0xff, 0x7f, 0x00, 0x01, 0x00,
	              0x03, 0x04, 0x11, 0x22));
	/* A peer key past a TLV's 16-bit length does not go. */
	cr_assert_eq(tsc_req_kdf_key_agreement(buf, sizeof(buf), 1, 0x0101u, 2, buf, 70000, &n),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
}

/* hash.h: setup_in { alg }, update_in { op_handle } + TLV 1 data,
 * finish_in / abort_in { op_handle }, verify_in { op_handle } + TLV 1 the
 * hash, clone_in { source_op_handle }; finish answers TLV 1 the hash,
 * setup_out and clone_out one u32 handle. Encoded only: the provider hashes
 * in the daemon. */
Test(ts_codec, hash_requests_and_answers)
{
	const uint8_t *v = NULL;
	size_t n = 0, vlen = 0;
	uint32_t x = 0;

	cr_assert_eq(tsc_req_hash_setup(buf, sizeof(buf), 0x0200000au, &n), TS_OK);
	same_as("setup SHA-384", buf, n, BYTES(0x0a, 0x00, 0x00, 0x02));
	cr_assert_eq(tsc_req_hash_step(buf, sizeof(buf), 0x11, (const uint8_t *)"abc", 3, &n),
	             TS_OK);
	same_as("update", buf, n, BYTES(0x11, 0, 0, 0, 0x00, 0x01, 0x00, 0x03, 'a', 'b', 'c'));
	cr_assert_eq(tsc_req_hash_step(buf, sizeof(buf), 0x0100, NULL, 0, &n), TS_OK);
	same_as("finish / abort / clone", buf, n, BYTES(0x00, 0x01, 0x00, 0x00));
	cr_assert_eq(tsc_req_hash_step(buf, sizeof(buf), 2, (const uint8_t[]){0xba, 0x78}, 2, &n),
	             TS_OK);
	same_as("verify", buf, n, BYTES(0x02, 0, 0, 0, 0x00, 0x01, 0x00, 0x02, 0xba, 0x78));
	/* finish_out: TLV 1, here the first 4 bytes of SHA-256("abc") in a
	 * 4-byte record; setup_out / clone_out: the handle. */
	static const uint8_t fin[] = {0x00, 0x01, 0x00, 0x04, 0xba, 0x78, 0x16, 0xbf};

	cr_assert_eq(tsc_resp_data(fin, sizeof(fin), &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 4);
	cr_assert_eq(v[0], 0xba);
	cr_assert_eq(v[3], 0xbf);
	cr_assert_eq(tsc_resp_id(BYTES(0x07, 0x00, 0x01, 0x00), &x), TS_OK);
	cr_assert_eq(x, 0x00010007u);
}

Test(ts_codec, key_derivation_answers)
{
	const uint8_t *v = NULL;
	size_t vlen = 0;
	uint32_t x = 0;

	/* setup_out { op_handle } and get_capacity_out { capacity }: 8160 =
	 * 255 * 32, HKDF(SHA-256)'s. */
	cr_assert_eq(tsc_resp_id(BYTES(0x2a, 0, 0, 0), &x), TS_OK);
	cr_assert_eq(x, 42u);
	cr_assert_eq(tsc_resp_id(BYTES(0xe0, 0x1f, 0, 0), &x), TS_OK);
	cr_assert_eq(x, 8160u);
	cr_assert_eq(tsc_resp_id(BYTES(0xe0, 0x1f, 0), &x), TS_E_PSA_COMMUNICATION_FAILURE);
	/* output_bytes: TLV 1 with the bytes. */
	static const uint8_t outb[] = {0x00, 0x01, 0x00, 0x02, 0x3c, 0xb2};

	cr_assert_eq(tsc_resp_data(outb, sizeof(outb), &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 2);
	cr_assert_eq(v[0], 0x3c);
	cr_assert_eq(v[1], 0xb2);
	cr_assert_eq(tsc_resp_data(BYTES(0x00, 0x01, 0x00, 0x03, 0x3c, 0xb2), &v, &vlen),
	             TS_E_PSA_COMMUNICATION_FAILURE);
}

Test(ts_codec, key_id_requests_of_each_key_management_opcode)
{
	/* ts_crypto_{destroy,export,export_public,purge,get_key_attributes}_key_in:
	 * one u32 id and no TLV. */
	struct {
		const char *name;
		uint32_t id;
		const uint8_t *want;
		size_t want_len;
	} v[] = {
	        {"DESTROY_KEY", 0x3f000021, BYTES(0x21, 0x00, 0x00, 0x3f)},
	        {"EXPORT_KEY", 0x3f000122, BYTES(0x22, 0x01, 0x00, 0x3f)},
	        {"EXPORT_PUBLIC_KEY", 0x3f010023, BYTES(0x23, 0x00, 0x01, 0x3f)},
	        {"PURGE_KEY", 0x3fffffff, BYTES(0xff, 0xff, 0xff, 0x3f)},
	        {"GET_KEY_ATTRIBUTES", 0x7fffffe0, BYTES(0xe0, 0xff, 0xff, 0x7f)},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = 0;

		cr_assert_eq(tsc_req_key_id(buf, sizeof(buf), v[i].id, &n), TS_OK, "%s", v[i].name);
		same_as(v[i].name, buf, n, v[i].want, v[i].want_len);
	}
}

Test(ts_codec, copy_key_is_the_source_id_then_the_target_attributes)
{
	/* ts_crypto_copy_key_in: source_key_id, then the 24-byte attributes
	 * (here an AES-128 GCM key, persistent ID 0x3f000011, usage
	 * ENCRYPT|DECRYPT|COPY): 28 bytes, no TLV. */
	static const struct tsc_attrs aes = {.type = 0x2400,
	                                     .bits = 128,
	                                     .lifetime = 1,
	                                     .id = 0x3f000011,
	                                     .usage = 0x0302,
	                                     .alg = 0x05500200};
	static const uint8_t want[] = {
	        0x10, 0x00, 0x00, 0x3f, /* source_key_id */
	        0x00, 0x24, 0x00, 0x00, /* type */
	        0x80, 0x00, 0x00, 0x00, /* key_bits */
	        0x01, 0x00, 0x00, 0x00, /* lifetime */
	        0x11, 0x00, 0x00, 0x3f, /* id */
	        0x02, 0x03, 0x00, 0x00, /* policy.usage */
	        0x00, 0x02, 0x50, 0x05, /* policy.alg */
	};
	size_t n = 0;

	cr_assert_eq(tsc_req_copy(buf, sizeof(buf), 0x3f000010, &aes, &n), TS_OK);
	same_as("COPY_KEY", buf, n, want, sizeof(want));
}

Test(ts_codec, sign_and_verify_message_take_the_hash_layouts)
{
	/* There is no sign_message.h: the service decodes SIGN_MESSAGE and
	 * VERIFY_MESSAGE with the sign_hash / verify_hash structs (id, alg;
	 * T1 the message, T2 the signature). */
	static const uint8_t msg[] = {0x61, 0x62, 0x63}, sig[] = {0xde, 0xad, 0xbe, 0xef};
	static const uint8_t sign_want[] = {0x30, 0x00, 0x00, 0x3f, 0x0a, 0x06, 0x00, 0x06,
	                                    0x00, 0x01, 0x00, 0x03, 0x61, 0x62, 0x63};
	static const uint8_t verify_want[] = {0x30, 0x00, 0x00, 0x3f, 0x0a, 0x06, 0x00, 0x06,
	                                      0x00, 0x01, 0x00, 0x03, 0x61, 0x62, 0x63, 0x00,
	                                      0x02, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef};
	size_t n = 0;

	cr_assert_eq(tsc_req_sign(buf, sizeof(buf), 0x3f000030, 0x0600060a, msg, 3, &n), TS_OK);
	same_as("SIGN_MESSAGE", buf, n, sign_want, sizeof(sign_want));
	cr_assert_eq(tsc_req_verify(buf, sizeof(buf), 0x3f000030, 0x0600060a, msg, 3, sig, 4, &n),
	             TS_OK);
	same_as("VERIFY_MESSAGE", buf, n, verify_want, sizeof(verify_want));
}

Test(ts_codec, asymmetric_decrypt_random_and_raw_agreement_layouts)
{
	/* ts_crypto_asymmetric_decrypt_in: id, alg; T1 ciphertext (T2 salt
	 * left out). */
	static const uint8_t dec_want[] = {0x40, 0x00, 0x00, 0x3f, 0x00, 0x02, 0x00,
	                                   0x07, 0x00, 0x01, 0x00, 0x02, 0x01, 0x02};
	/* ts_crypto_generate_random_in: size. */
	static const uint8_t rnd_want[] = {0x00, 0x10, 0x00, 0x00};
	/* ts_crypto_raw_key_agreement_in: alg FIRST, then private_key_id;
	 * T1 the peer key. */
	static const uint8_t ka_want[] = {0x00, 0x00, 0x02, 0x09, 0x50, 0x00, 0x00, 0x3f,
	                                  0x00, 0x01, 0x00, 0x03, 0x04, 0x11, 0x22};
	size_t n = 0;

	cr_assert_eq(tsc_req_asym(buf, sizeof(buf), 0x3f000040, 0x07000200,
	                          (const uint8_t[]){0x01, 0x02}, 2, NULL, 0, &n),
	             TS_OK);
	same_as("ASYMMETRIC_DECRYPT", buf, n, dec_want, sizeof(dec_want));
	cr_assert_eq(tsc_req_random(buf, sizeof(buf), 4096, &n), TS_OK);
	same_as("GENERATE_RANDOM", buf, n, rnd_want, sizeof(rnd_want));
	cr_assert_eq(tsc_req_raw_agreement(buf, sizeof(buf), 0x09020000, 0x3f000050,
	                                   (const uint8_t[]){0x04, 0x11, 0x22}, 3, &n),
	             TS_OK);
	same_as("RAW_KEY_AGREEMENT", buf, n, ka_want, sizeof(ka_want));
}

Test(ts_codec, setup_requests_of_the_cipher_mac_and_aead_families)
{
	/* ts_crypto_{cipher,mac,aead}_setup_in: key_id, alg. */
	struct {
		const char *name;
		uint32_t key_id, alg;
		const uint8_t *want;
		size_t want_len;
	} v[] = {
	        {"CIPHER_ENCRYPT_SETUP", 0x3f000060, 0x04c01000, /* CTR */
	         BYTES(0x60, 0x00, 0x00, 0x3f, 0x00, 0x10, 0xc0, 0x04)},
	        {"CIPHER_DECRYPT_SETUP", 0x3f000061, 0x04404100, /* CBC-PKCS7 */
	         BYTES(0x61, 0x00, 0x00, 0x3f, 0x00, 0x41, 0x40, 0x04)},
	        {"MAC_SIGN_SETUP", 0x3f000070, 0x03800009, /* HMAC-SHA-256 */
	         BYTES(0x70, 0x00, 0x00, 0x3f, 0x09, 0x00, 0x80, 0x03)},
	        {"MAC_VERIFY_SETUP", 0x3f000071, 0x03c00200, /* CMAC */
	         BYTES(0x71, 0x00, 0x00, 0x3f, 0x00, 0x02, 0xc0, 0x03)},
	        {"AEAD_ENCRYPT_SETUP", 0x3f000080, 0x05500200, /* GCM */
	         BYTES(0x80, 0x00, 0x00, 0x3f, 0x00, 0x02, 0x50, 0x05)},
	        {"AEAD_DECRYPT_SETUP", 0x3f000081, 0x05480100, /* CCM, 8-byte tag */
	         BYTES(0x81, 0x00, 0x00, 0x3f, 0x00, 0x01, 0x48, 0x05)},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = 0;

		cr_assert_eq(tsc_req_setup(buf, sizeof(buf), v[i].key_id, v[i].alg, &n), TS_OK,
		             "%s", v[i].name);
		same_as(v[i].name, buf, n, v[i].want, v[i].want_len);
	}
}

Test(ts_codec, step_requests_of_the_cipher_mac_and_aead_families)
{
	static const uint8_t iv[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
	                               0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
	static const uint8_t nonce[12] = {0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
	                                  0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb};
	static const uint8_t tag[16] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	                                0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
	/* Every later step's fixed part is op_handle alone; the steps with an
	 * input carry it as T1 (the IV, data, MAC, nonce, AD, or tag), those
	 * without send the handle and nothing else. data NULL: no T1. */
	struct {
		const char *name;
		uint32_t handle;
		const uint8_t *data;
		size_t data_len;
		const uint8_t *want;
		size_t want_len;
	} v[] = {
	        {"CIPHER_GENERATE_IV", 0x102, NULL, 0, BYTES(0x02, 0x01, 0x00, 0x00)},
	        {"CIPHER_SET_IV", 0x102, iv, sizeof(iv),
	         BYTES(0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x02, 0x03, 0x04,
	               0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f)},
	        {"CIPHER_UPDATE", 0x102, (const uint8_t[]){0xa0, 0xa1, 0xa2}, 3,
	         BYTES(0x02, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0xa0, 0xa1, 0xa2)},
	        {"CIPHER_FINISH", 0x102, NULL, 0, BYTES(0x02, 0x01, 0x00, 0x00)},
	        {"CIPHER_ABORT", 0x0a0b0c0d, NULL, 0, BYTES(0x0d, 0x0c, 0x0b, 0x0a)},
	        {"MAC_SIGN_FINISH", 0x201, NULL, 0, BYTES(0x01, 0x02, 0x00, 0x00)},
	        {"MAC_VERIFY_FINISH", 0x201, (const uint8_t[]){0xc0, 0xc1, 0xc2, 0xc3}, 4,
	         BYTES(0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0xc0, 0xc1, 0xc2, 0xc3)},
	        /* An empty expected MAC still goes as a (zero-length) T1. */
	        {"MAC_VERIFY_FINISH, empty", 0x201, (const uint8_t *)"", 0,
	         BYTES(0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00)},
	        {"MAC_ABORT", 0x201, NULL, 0, BYTES(0x01, 0x02, 0x00, 0x00)},
	        {"AEAD_SET_NONCE", 0x301, nonce, sizeof(nonce),
	         BYTES(0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x0c, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4,
	               0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb)},
	        {"AEAD_UPDATE_AD", 0x301, (const uint8_t[]){0xd0, 0xd1}, 2,
	         BYTES(0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x02, 0xd0, 0xd1)},
	        {"AEAD_UPDATE", 0x301, (const uint8_t[]){0xe0}, 1,
	         BYTES(0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0xe0)},
	        {"AEAD_FINISH", 0x301, NULL, 0, BYTES(0x01, 0x03, 0x00, 0x00)},
	        {"AEAD_VERIFY", 0x301, tag, sizeof(tag),
	         BYTES(0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x10, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4,
	               0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff)},
	        {"AEAD_ABORT", 0x301, NULL, 0, BYTES(0x01, 0x03, 0x00, 0x00)},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = 0;

		cr_assert_eq(
		        tsc_req_step(buf, sizeof(buf), v[i].handle, v[i].data, v[i].data_len, &n),
		        TS_OK, "%s", v[i].name);
		same_as(v[i].name, buf, n, v[i].want, v[i].want_len);
	}
}

Test(ts_codec, mac_update_with_a_258_byte_chunk_has_a_big_endian_length)
{
	/* A value over 255 bytes shows the length's byte order: 258 is 01 02. */
	static uint8_t data[258], want[4 + 4 + 258];
	size_t n = 0;

	memset(data, 0x5a, sizeof(data));
	memcpy(want, (const uint8_t[]){0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02}, 8);
	memset(want + 8, 0x5a, 258);
	cr_assert_eq(tsc_req_step(buf, sizeof(buf), 0x201, data, sizeof(data), &n), TS_OK);
	same_as("MAC_UPDATE", buf, n, want, sizeof(want));
}

Test(ts_codec, aead_set_lengths_is_handle_ad_length_plaintext_length)
{
	/* ts_crypto_aead_set_lengths_in: op_handle, ad_length, plaintext_length. */
	static const uint8_t want[] = {0x01, 0x03, 0x00, 0x00, 0x14, 0x00,
	                               0x00, 0x00, 0x45, 0x23, 0x01, 0x00};
	size_t n = 0;

	cr_assert_eq(tsc_req_aead_lengths(buf, sizeof(buf), 0x301, 20, 0x12345, &n), TS_OK);
	same_as("AEAD_SET_LENGTHS", buf, n, want, sizeof(want));
}

/* ---- the answers the provider parses, as the service's serializers
 * write them ---- */

Test(ts_codec, id_and_handle_answers_are_one_little_endian_u32)
{
	/* ts_crypto_{generate,import}_key_out.id, copy_key_out.target_key_id
	 * and the *_setup_out.op_handle of each family. */
	struct {
		const char *name;
		const uint8_t *resp;
		size_t len;
		uint32_t want;
	} v[] = {
	        {"GENERATE_KEY", BYTES(0x00, 0x00, 0x00, 0x3f), 0x3f000000},
	        {"IMPORT_KEY", BYTES(0xe1, 0xff, 0xff, 0x7f), 0x7fffffe1},
	        {"COPY_KEY", BYTES(0x11, 0x00, 0x00, 0x3f), 0x3f000011},
	        {"CIPHER_ENCRYPT_SETUP", BYTES(0x02, 0x01, 0x00, 0x00), 0x102},
	        {"CIPHER_DECRYPT_SETUP", BYTES(0x03, 0x01, 0x00, 0x00), 0x103},
	        {"MAC_SIGN_SETUP", BYTES(0x01, 0x02, 0x00, 0x00), 0x201},
	        {"MAC_VERIFY_SETUP", BYTES(0x02, 0x02, 0x00, 0x00), 0x202},
	        {"AEAD_ENCRYPT_SETUP", BYTES(0x01, 0x03, 0x00, 0x00), 0x301},
	        {"AEAD_DECRYPT_SETUP", BYTES(0x78, 0x56, 0x34, 0x12), 0x12345678},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint32_t got = 0;

		cr_assert_eq(tsc_resp_id(v[i].resp, v[i].len, &got), TS_OK, "%s", v[i].name);
		cr_assert_eq(got, v[i].want, "%s: %#x", v[i].name, got);
		cr_assert_eq(tsc_resp_id(v[i].resp, v[i].len - 1, &got),
		             TS_E_PSA_COMMUNICATION_FAILURE, "%s, short", v[i].name);
	}
}

Test(ts_codec, get_key_attributes_answer_is_the_24_byte_block)
{
	/* ts_crypto_get_key_attributes_out, the translator's to_proto: a P-256
	 * pair whose usage Mbed TLS widened to 0x3c01. */
	static const uint8_t resp[] = {
	        0x12, 0x71, 0x00, 0x00, /* type */
	        0x00, 0x01, 0x00, 0x00, /* key_bits */
	        0x01, 0x00, 0x00, 0x00, /* lifetime */
	        0x07, 0x00, 0x00, 0x3f, /* id */
	        0x01, 0x3c, 0x00, 0x00, /* policy.usage */
	        0x09, 0x06, 0x00, 0x06, /* policy.alg */
	};
	struct tsc_attrs a;

	cr_assert_eq(tsc_resp_attrs(resp, sizeof(resp), &a), TS_OK);
	cr_assert_eq(a.type, 0x7112u);
	cr_assert_eq(a.bits, 256u);
	cr_assert_eq(a.lifetime, 1u);
	cr_assert_eq(a.id, 0x3f000007u);
	cr_assert_eq(a.usage, 0x3c01u);
	cr_assert_eq(a.alg, 0x06000609u);
}

Test(ts_codec, t1_answers_of_each_opcode_with_an_output)
{
	/* The serializers write one T1 record and nothing else: export(_public)
	 * key data, signature, ciphertext, plaintext, random bytes, agreement
	 * output, IV, MAC. */
	struct {
		const char *name;
		const uint8_t *resp;
		size_t len;
		size_t val_len;
		uint8_t first, last;
	} v[] = {
	        {"EXPORT_KEY", BYTES(0x00, 0x01, 0x00, 0x04, 0x10, 0x11, 0x12, 0x13), 4, 0x10,
	         0x13},
	        {"EXPORT_PUBLIC_KEY", BYTES(0x00, 0x01, 0x00, 0x03, 0x04, 0x21, 0x22), 3, 0x04,
	         0x22},
	        {"SIGN_HASH", BYTES(0x00, 0x01, 0x00, 0x02, 0x30, 0x31), 2, 0x30, 0x31},
	        {"SIGN_MESSAGE", BYTES(0x00, 0x01, 0x00, 0x01, 0x32), 1, 0x32, 0x32},
	        {"ASYMMETRIC_ENCRYPT", BYTES(0x00, 0x01, 0x00, 0x02, 0x40, 0x41), 2, 0x40, 0x41},
	        {"ASYMMETRIC_DECRYPT", BYTES(0x00, 0x01, 0x00, 0x03, 0x50, 0x51, 0x52), 3, 0x50,
	         0x52},
	        {"GENERATE_RANDOM", BYTES(0x00, 0x01, 0x00, 0x02, 0x60, 0x61), 2, 0x60, 0x61},
	        {"RAW_KEY_AGREEMENT", BYTES(0x00, 0x01, 0x00, 0x02, 0x70, 0x71), 2, 0x70, 0x71},
	        {"CIPHER_GENERATE_IV", BYTES(0x00, 0x01, 0x00, 0x02, 0x80, 0x81), 2, 0x80, 0x81},
	        {"MAC_SIGN_FINISH", BYTES(0x00, 0x01, 0x00, 0x02, 0x90, 0x91), 2, 0x90, 0x91},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const uint8_t *val = NULL;
		size_t vlen = 0;

		cr_assert_eq(tsc_resp_data(v[i].resp, v[i].len, &val, &vlen), TS_OK, "%s",
		             v[i].name);
		cr_assert_eq(vlen, v[i].val_len, "%s", v[i].name);
		cr_assert_eq(val, v[i].resp + 4, "%s", v[i].name);
		cr_assert_eq(val[0], v[i].first, "%s", v[i].name);
		cr_assert_eq(val[vlen - 1], v[i].last, "%s", v[i].name);
		/* One byte short of the value: the record runs past the end. */
		cr_assert_eq(tsc_resp_data(v[i].resp, v[i].len - 1, &val, &vlen),
		             TS_E_PSA_COMMUNICATION_FAILURE, "%s, truncated", v[i].name);
	}
}

Test(ts_codec, a_256_byte_rsa_signature_answer_has_a_big_endian_length)
{
	static uint8_t resp[4 + 256];
	const uint8_t *val;
	size_t vlen = 0;

	memcpy(resp, (const uint8_t[]){0x00, 0x01, 0x01, 0x00}, 4);
	memset(resp + 4, 0xa5, 256);
	cr_assert_eq(tsc_resp_data(resp, sizeof(resp), &val, &vlen), TS_OK);
	cr_assert_eq(vlen, 256);
	cr_assert_eq(val, resp + 4);
}

Test(ts_codec, update_finish_and_verify_answers_may_carry_an_empty_t1)
{
	/* CIPHER_UPDATE, CIPHER_FINISH, AEAD_UPDATE and AEAD_VERIFY: the
	 * service always writes T1, of length 0 when nothing came out. */
	struct {
		const char *name;
		const uint8_t *resp;
		size_t len;
		size_t val_len;
	} v[] = {
	        {"CIPHER_UPDATE",
	         BYTES(0x00, 0x01, 0x00, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	               15),
	         16},
	        {"CIPHER_UPDATE, held back", BYTES(0x00, 0x01, 0x00, 0x00), 0},
	        {"CIPHER_FINISH", BYTES(0x00, 0x01, 0x00, 0x01, 0x7e), 1},
	        {"CIPHER_FINISH, empty", BYTES(0x00, 0x01, 0x00, 0x00), 0},
	        {"AEAD_UPDATE", BYTES(0x00, 0x01, 0x00, 0x02, 0x7e, 0x7f), 2},
	        {"AEAD_VERIFY", BYTES(0x00, 0x01, 0x00, 0x00), 0},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const uint8_t *val = NULL;
		size_t vlen = 99;

		cr_assert_eq(tsc_resp_optional(v[i].resp, v[i].len, TSC_TAG_1, &val, &vlen), TS_OK,
		             "%s", v[i].name);
		cr_assert_eq(vlen, v[i].val_len, "%s", v[i].name);
		if (vlen > 0)
			cr_assert_eq(val, v[i].resp + 4, "%s", v[i].name);
	}
}

Test(ts_codec, aead_finish_answer_is_t1_ciphertext_then_t2_tag)
{
	/* serialize_aead_finish_resp writes both records, T1 first even when
	 * it is empty. */
	static const uint8_t empty_last[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x10,
	                                     0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
	                                     0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff};
	static const uint8_t with_last[] = {0x00, 0x01, 0x00, 0x03, 0xc0, 0xc1, 0xc2,
	                                    0x00, 0x02, 0x00, 0x08, 0x11, 0x12, 0x13,
	                                    0x14, 0x15, 0x16, 0x17, 0x18};
	const uint8_t *ct, *tag;
	size_t ct_len = 99, tag_len = 99;

	cr_assert_eq(tsc_resp_optional(empty_last, sizeof(empty_last), TSC_TAG_1, &ct, &ct_len),
	             TS_OK);
	cr_assert_eq(ct_len, 0);
	cr_assert_eq(tsc_resp_optional(empty_last, sizeof(empty_last), TSC_TAG_2, &tag, &tag_len),
	             TS_OK);
	cr_assert_eq(tag_len, 16);
	cr_assert_eq(tag, empty_last + 8);
	cr_assert_eq(tag[15], 0xff);

	cr_assert_eq(tsc_resp_optional(with_last, sizeof(with_last), TSC_TAG_1, &ct, &ct_len),
	             TS_OK);
	cr_assert_eq(ct_len, 3);
	cr_assert_eq(ct, with_last + 4);
	cr_assert_eq(tsc_resp_optional(with_last, sizeof(with_last), TSC_TAG_2, &tag, &tag_len),
	             TS_OK);
	cr_assert_eq(tag_len, 8);
	cr_assert_eq(tag, with_last + 11);
	cr_assert_eq(tag[0], 0x11);
	/* A tag record cut short is a broken answer, not a missing tag. */
	cr_assert_eq(tsc_resp_optional(with_last, sizeof(with_last) - 1, TSC_TAG_2, &tag, &tag_len),
	             TS_E_PSA_COMMUNICATION_FAILURE);
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

	/* PSA_KEY_TYPE_DERIVE 0x1200 and PSA_KEY_TYPE_RAW_DATA 0x1001, both ways. */
	a = (struct psa_attrs){.type = PSA_KT_DERIVE,
	                       .bits = 256,
	                       .usage = PSA_USAGE_DERIVE,
	                       .alg = {.cls = PSA_AC_KDF, .kind = 1, .hash = 7}};
	cr_assert_eq(tsp_attrs(&a, 0x3f000001, &t), TS_OK);
	cr_assert_eq(t.type, 0x1200u);
	cr_assert_eq(t.usage, 0x4000u);
	cr_assert_eq(t.alg, 0x08000109u);
	cr_assert_eq(tsp_attrs_back(&t, &back), TS_OK);
	cr_assert_eq(back.type, PSA_KT_DERIVE);
	cr_assert_eq(back.alg.cls, PSA_AC_KDF);
	a.type = PSA_KT_RAW_DATA;
	cr_assert_eq(tsp_attrs(&a, 0x3f000001, &t), TS_OK);
	cr_assert_eq(t.type, 0x1001u);
	cr_assert_eq(tsp_attrs_back(&t, &back), TS_OK);
	cr_assert_eq(back.type, PSA_KT_RAW_DATA);
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
	/* PSA_ALG_KEY_AGREEMENT(ECDH, HKDF(SHA-256)): 0x09020000 | 0x08000109,
	 * and back; TLS 1.2 PRF(SHA-384) after FFDH. */
	ka.kdf = 1;
	cr_assert_eq(tsp_alg(&ka, &v), TS_E_PSA_NOT_SUPPORTED, "a KDF without its hash");
	ka.kdf_hash = PSA_HASH_SHA_256;
	cr_assert_eq(tsp_alg(&ka, &v), TS_OK);
	cr_assert_eq(v, 0x09020109u);
	{
		struct psa_alg back = {0};

		cr_assert_eq(tsp_alg_back(v, &back), TS_OK);
		cr_assert(back.cls == PSA_AC_KEY_AGREEMENT && back.kind == PSA_KA_ECDH &&
		          back.kdf == 1 && back.kdf_hash == PSA_HASH_SHA_256);
		cr_assert_eq(tsp_alg(&(struct psa_alg){.cls = PSA_AC_KEY_AGREEMENT,
		                                       .kind = PSA_KA_FFDH,
		                                       .kdf = 2,
		                                       .kdf_hash = 8 /* SHA-384 */},
		                     &v),
		             TS_OK);
		cr_assert_eq(v, 0x0901020au);
		cr_assert_eq(tsp_alg_back(v, &back), TS_OK);
		cr_assert(back.kind == PSA_KA_FFDH && back.kdf == 2 &&
		          back.kdf_hash == 8 /* SHA-384 */);
		/* Not a KDF in the low half (0x0800ff09): none known. */
		cr_assert_eq(tsp_alg_back(0x0902ff09u, &back), TS_E_PSA_NOT_SUPPORTED);
	}
	/* PSA_ALG_HKDF(h) 0x080001hh, PSA_ALG_TLS12_PRF(h) 0x080002hh,
	 * PSA_ALG_TLS12_PSK_TO_MS(h) 0x080003hh, and back. */
	{
		static const struct {
			struct psa_alg alg;
			uint32_t want;
		} kdfs[] = {
		        {{.cls = PSA_AC_KDF, .kind = 1, .hash = 7}, 0x08000109u},
		        {{.cls = PSA_AC_KDF, .kind = 1, .hash = 9}, 0x0800010bu},
		        {{.cls = PSA_AC_KDF, .kind = 2, .hash = 8}, 0x0800020au},
		        {{.cls = PSA_AC_KDF, .kind = 3, .hash = 7}, 0x08000309u},
		};
		struct psa_alg back;

		for (size_t i = 0; i < sizeof(kdfs) / sizeof(kdfs[0]); i++) {
			cr_assert_eq(tsp_alg(&kdfs[i].alg, &v), TS_OK, "kdf %zu", i);
			cr_assert_eq(v, kdfs[i].want, "kdf %zu: %08x", i, v);
			cr_assert_eq(tsp_alg_back(v, &back), TS_OK, "kdf %zu", i);
			cr_assert_eq(back.cls, PSA_AC_KDF);
			cr_assert_eq(back.kind, kdfs[i].alg.kind);
			cr_assert_eq(back.hash, kdfs[i].alg.hash);
		}
		cr_assert_eq(
		        tsp_alg(&(struct psa_alg){.cls = PSA_AC_KDF, .kind = 4, .hash = 7}, &v),
		        TS_E_PSA_NOT_SUPPORTED, "PBKDF2 has no mapping");
		cr_assert_eq(tsp_alg_back(0x080001ffu, &back), TS_E_PSA_NOT_SUPPORTED);
	}
	cr_assert_eq(tsp_usage(PSA_USAGE_EXPORT | PSA_USAGE_SIGN_HASH | PSA_USAGE_VERIFY_HASH),
	             0x3001u);
	cr_assert_eq(tsp_usage(PSA_USAGE_ENCRYPT | PSA_USAGE_DECRYPT | PSA_USAGE_SIGN_MESSAGE |
	                       PSA_USAGE_VERIFY_MESSAGE | PSA_USAGE_DERIVE | PSA_USAGE_COPY),
	             0x4f02u);
}
