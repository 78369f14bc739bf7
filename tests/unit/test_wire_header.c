#include <criterion/criterion.h>
#include <string.h>

#include "wire/wire.h"

/* The Ping request of the parsec-mock vectors, NoAuth. */
static const uint8_t ping_req[36] = {
        0x10, 0xa7, 0xc0, 0x5e, 0x1e, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

Test(wire_header, decodes_ping_request)
{
	struct wire_header h;

	wire_header_decode(ping_req, &h);
	cr_assert_eq(h.magic, WIRE_MAGIC);
	cr_assert_eq(h.hdr_size, 30);
	cr_assert_eq(h.version_maj, 1);
	cr_assert_eq(h.version_min, 0);
	cr_assert_eq(h.opcode, WIRE_OP_PING);
	cr_assert_eq(h.body_len, 0);
	cr_assert_eq(h.auth_type, 0);
}

Test(wire_header, request_builder_matches_vector)
{
	struct wire_header h;
	uint8_t out[36];

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	wire_header_encode(&h, out);
	cr_assert_arr_eq(out, ping_req, sizeof(out));
}

Test(wire_header, every_field_round_trips_little_endian)
{
	struct wire_header h = {
	        .magic = WIRE_MAGIC,
	        .hdr_size = 30,
	        .version_maj = 1,
	        .version_min = 0,
	        .flags = 0xA1B2,
	        .provider = 0xC3,
	        .session = 0x0102030405060708ULL,
	        .content_type = 0x11,
	        .accept_type = 0x22,
	        .auth_type = 0x33,
	        .body_len = 0xDEADBEEF,
	        .auth_len = 0xCAFE,
	        .opcode = 0x12345678,
	        .status = 0x9ABC,
	        .reserved1 = 0x44,
	        .reserved2 = 0x55,
	};
	struct wire_header back;
	uint8_t out[36], again[36];

	wire_header_encode(&h, out);
	cr_assert_eq(out[8], 0xB2);
	cr_assert_eq(out[9], 0xA1);
	cr_assert_eq(out[10], 0xC3);
	cr_assert_eq(out[11], 0x08);
	cr_assert_eq(out[18], 0x01);
	cr_assert_eq(out[22], 0xEF);
	cr_assert_eq(out[25], 0xDE);
	cr_assert_eq(out[26], 0xFE);
	cr_assert_eq(out[28], 0x78);
	cr_assert_eq(out[32], 0xBC);
	cr_assert_eq(out[34], 0x44);
	cr_assert_eq(out[35], 0x55);
	wire_header_decode(out, &back);
	cr_assert_eq(back.session, h.session);
	cr_assert_eq(back.body_len, h.body_len);
	cr_assert_eq(back.opcode, h.opcode);
	cr_assert_eq(back.flags, h.flags);
	wire_header_encode(&back, again);
	cr_assert_arr_eq(again, out, sizeof(out));
}

Test(wire_header, response_copies_provider_session_opcode)
{
	struct wire_header req, resp;

	wire_header_request(&req, WIRE_OP_LIST_OPCODES, 1, 3, 5, 4);
	req.session = 77;
	req.flags = 56;
	req.status = 0xFFFF;
	wire_header_response(&req, 1133, 9, &resp);
	cr_assert_eq(resp.provider, 1);
	cr_assert_eq(resp.session, 77);
	cr_assert_eq(resp.opcode, WIRE_OP_LIST_OPCODES);
	cr_assert_eq(resp.status, 1133);
	cr_assert_eq(resp.body_len, 9);
	cr_assert_eq(resp.auth_type, 0);
	cr_assert_eq(resp.auth_len, 0);
	cr_assert_eq(resp.flags, 0);
}

Test(wire_header, default_response_is_ping_provider_zero)
{
	static const uint8_t expect[36] = {
	        0x10, 0xa7, 0xc0, 0x5e, 0x1e, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	        0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x00, 0x00, 0x00,
	};
	struct wire_header h;
	uint8_t out[36];

	wire_header_default_response(15, &h);
	wire_header_encode(&h, out);
	cr_assert_arr_eq(out, expect, sizeof(out));
}

Test(wire_check, order_and_statuses)
{
	struct wire_header h;

	cr_assert_eq(wire_check_magic(0x5EC0A711), TS_E_INVALID_HEADER);
	cr_assert_eq(wire_check_magic(WIRE_MAGIC), TS_OK);

	wire_header_request(&h, WIRE_OP_PING, 0, 0, 0, 0);
	cr_assert_eq(wire_check_header(&h, 1024), TS_OK);
	h.hdr_size = 31;
	h.version_maj = 2; /* header size is checked first */
	cr_assert_eq(wire_check_header(&h, 1024), TS_E_INVALID_HEADER);
	h.hdr_size = 30;
	cr_assert_eq(wire_check_header(&h, 1024), TS_E_WIRE_VERSION_NOT_SUPPORTED);
	h.version_maj = 1;
	h.version_min = 1;
	cr_assert_eq(wire_check_header(&h, 1024), TS_E_WIRE_VERSION_NOT_SUPPORTED);
	h.version_min = 0;
	h.reserved2 = 1;
	h.body_len = 5000; /* reserved is checked before the body length */
	cr_assert_eq(wire_check_header(&h, 1024), TS_E_INVALID_HEADER);
	h.reserved2 = 0;
	cr_assert_eq(wire_check_header(&h, 1024), TS_E_BODY_SIZE_EXCEEDS_LIMIT);
	h.body_len = 1024;
	cr_assert_eq(wire_check_header(&h, 1024), TS_OK);
}

Test(wire_check, fields_in_parsec_order)
{
	struct wire_header h;

	wire_header_request(&h, 0xFFFF, 0xFF, 0xFF, 0, 0);
	h.content_type = 1;
	h.accept_type = 1;
	cr_assert_eq(wire_check_fields(&h), TS_E_CONTENT_TYPE_NOT_SUPPORTED);
	h.content_type = 0;
	cr_assert_eq(wire_check_fields(&h), TS_E_ACCEPT_TYPE_NOT_SUPPORTED);
	h.accept_type = 0;
	cr_assert_eq(wire_check_fields(&h), TS_E_AUTHENTICATOR_DOES_NOT_EXIST);
	h.auth_type = 4;
	cr_assert_eq(wire_check_fields(&h), TS_E_OPCODE_DOES_NOT_EXIST);
	h.opcode = WIRE_OP_PING;
	cr_assert_eq(wire_check_fields(&h), TS_E_PROVIDER_DOES_NOT_EXIST);
	h.provider = 5;
	cr_assert_eq(wire_check_fields(&h), TS_OK);
}

Test(wire_opcodes, table_is_sorted_and_classified)
{
	size_t n;
	const struct wire_opcode_info *t = wire_opcode_table(&n);

	cr_assert_gt(n, 28);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(t[i - 1].opcode, t[i].opcode, "table must be sorted for bsearch");
	cr_assert_null(wire_opcode_find(0));
	cr_assert_null(wire_opcode_find(0x1D));
	cr_assert_null(wire_opcode_find(0x21));
	cr_assert_eq(wire_opcode_find(WIRE_OP_CAN_DO_CRYPTO)->cls, WIRE_CLASS_CRYPTO);
	cr_assert_eq(wire_opcode_find(WIRE_OP_LIST_KEYS)->cls, WIRE_CLASS_CORE);
	cr_assert(wire_opcode_find(WIRE_OP_LIST_KEYS)->needs_identity);
	cr_assert(wire_opcode_find(WIRE_OP_DELETE_CLIENT)->admin);
	cr_assert_not(wire_opcode_find(WIRE_OP_PSA_GENERATE_RANDOM)->needs_identity);
	cr_assert_not(wire_opcode_find(WIRE_OP_PSA_MAC_COMPUTE)->parsec_listed);
	cr_assert(wire_opcode_find(WIRE_OP_PSA_SIGN_MESSAGE)->parsec_listed);
	cr_assert_str_eq(wire_opcode_find(0x0F)->name, "PsaHashCompute");
}

Test(wire_names, status_and_auth_names)
{
	cr_assert_str_eq(wire_status_name(0), "Success");
	cr_assert_str_eq(wire_status_name(21), "AdminOperation");
	cr_assert_str_eq(wire_status_name(1149), "PsaErrorInvalidSignature");
	cr_assert_null(wire_status_name(1144));
	cr_assert_null(wire_status_name(23));
	cr_assert_str_eq(wire_auth_type_name(3), "UnixPeerCredentials");
	cr_assert_null(wire_auth_type_name(5));
}

Test(wire_pb_alloc, budget_is_enforced_and_returned)
{
	struct wire_pb_alloc a;
	void *p, *q;

	wire_pb_alloc_init(&a, 100);
	p = a.base.alloc(a.base.allocator_data, 60);
	cr_assert_not_null(p);
	q = a.base.alloc(a.base.allocator_data, 41);
	cr_assert_null(q, "over budget must fail");
	q = a.base.alloc(a.base.allocator_data, 40);
	cr_assert_not_null(q);
	a.base.free(a.base.allocator_data, p);
	cr_assert_eq(a.used, 40);
	p = a.base.alloc(a.base.allocator_data, 60);
	cr_assert_not_null(p);
	a.base.free(a.base.allocator_data, p);
	a.base.free(a.base.allocator_data, q);
	cr_assert_eq(a.used, 0);
}
