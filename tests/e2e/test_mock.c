/*
 * The byte-exact request vectors of parsec-mock (tests/data/parsec-mock.vectors,
 * one per line): each request parses and gets the status a real Parsec
 * service gives it.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define VECTORS TESSERA_SOURCE_DIR "/tests/data/parsec-mock.vectors"

static struct td d;

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
}

static void teardown(void)
{
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(mock, .init = setup, .fini = teardown, .timeout = 60);

struct vector {
	char name[64];
	char request_hex[1024];
	char response_hex[1024];
	int status; /* what the mock answered */
};

/* The next vector of the file: 1, 0 at its end, -1 for a malformed line. */
static int next_vector(FILE *f, struct vector *v)
{
	char line[2300];

	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		memset(v, 0, sizeof(*v));
		if (sscanf(line, "%63s %d %1023s %1023s", v->name, &v->status, v->request_hex,
		           v->response_hex) != 4)
			return -1;
		return 1;
	}
	return 0;
}

Test(mock, every_vector_gets_parsecs_status)
{
	FILE *f = fopen(VECTORS, "r");
	struct vector v;
	int checked = 0, exact = 0, rc;

	cr_assert_not_null(f, "cannot read %s", VECTORS);
	while ((rc = next_vector(f, &v)) == 1) {
		struct td_resp r;
		uint8_t *req, *resp;
		size_t req_len, resp_len;
		int expect, got;
		const char *name = v.name;

		/* The mock expects 1140 here, but Parsec itself answers Success
		 * for a client with no keys (parsec-facts 13.9); we follow Parsec. */
		expect = strcmp(name, "delete_client_notexist") == 0 ? 0 : v.status;
		req_len = td_unhex(v.request_hex, &req);
		got = td_raw(&d, req, req_len, &r);
		cr_expect_eq(got, expect, "%s: status %d, expected %d", name, got, expect);
		cr_assert_eq(r.h.opcode, (uint32_t)(req[28] | (req[29] << 8)),
		             "%s: opcode copied back", name);
		/* Ping and the admin errors do not depend on the mock's made-up
		 * providers: the whole response must match byte for byte. */
		if (strcmp(name, "ping") == 0 || strstr(name, "admin_err") != NULL) {
			uint8_t hdr[WIRE_HEADER_LEN];

			resp_len = td_unhex(v.response_hex, &resp);
			wire_header_encode(&r.h, hdr);
			cr_assert_eq(resp_len, WIRE_HEADER_LEN + r.body_len, "%s: length", name);
			cr_assert_arr_eq(hdr, resp, WIRE_HEADER_LEN, "%s: header bytes", name);
			cr_assert_arr_eq(r.body, resp + WIRE_HEADER_LEN, r.body_len,
			                 "%s: body bytes", name);
			free(resp);
			exact++;
		}
		td_resp_free(&r);
		free(req);
		checked++;
	}
	fclose(f);
	cr_assert_eq(rc, 0, "a malformed line in %s", VECTORS);
	cr_assert_geq(checked, 10, "only %d vectors found", checked);
	cr_assert_eq(exact, 3);
}
