/* Core operations through libtessera, checked against the configuration. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/tessera.h"
#include "harness.h"
#include "list_opcodes.pb-c.h"

static struct td d;
static struct tessera_client *cli;
static char endpoint[160];

static void open_client(uint8_t auth_type, const char *app)
{
	struct tessera_options o;

	tessera_options_init(&o);
	snprintf(endpoint, sizeof(endpoint), "unix:%s", d.sock);
	o.endpoint = endpoint;
	o.auth_type = auth_type;
	o.app_name = app;
	cr_assert_eq(tessera_open(&o, &cli), TESSERA_OK);
}

static void setup(void)
{
	td_start(&d, TD_CONFIG_DEFAULT);
	open_client(0, NULL);
}

static void teardown(void)
{
	tessera_close(cli);
	cli = NULL;
	cr_assert_eq(td_stop(&d), 0);
}

TestSuite(core, .init = setup, .fini = teardown, .timeout = 60);

Test(core, ping_through_libtessera)
{
	uint32_t maj = 9, min = 9;

	cr_assert_eq(tessera_ping(cli, &maj, &min), TESSERA_OK);
	cr_assert_eq(maj, 1);
	cr_assert_eq(min, 0);
}

Test(core, list_providers_is_config_order_with_core_last)
{
	struct tessera_provider_info *p;
	size_t n;

	cr_assert_eq(tessera_list_providers(cli, &p, &n), TESSERA_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(p[0].id, 1);
	cr_assert_str_eq(p[0].uuid, "1c1139dc-ad7c-47dc-ad6b-db6fdb466552");
	cr_assert_eq(p[1].id, 0);
	cr_assert_str_eq(p[1].uuid, "47049873-2a43-4845-9d72-831eab668784");
	tessera_provider_info_free(p, n);
}

Test(core, list_authenticators_is_config_order)
{
	struct tessera_authenticator_info *a;
	size_t n;

	cr_assert_eq(tessera_list_authenticators(cli, &a, &n), TESSERA_OK);
	cr_assert_eq(n, 2);
	cr_assert_eq(a[0].id, 1);
	cr_assert_eq(a[1].id, 3);
	cr_assert_not_null(a[0].description);
	tessera_authenticator_info_free(a, n);
}

static int has(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

Test(core, list_opcodes_of_the_core)
{
	uint32_t *ops;
	size_t n;

	cr_assert_eq(tessera_list_opcodes(cli, 0, &ops, &n), TESSERA_OK);
	cr_assert(has(ops, n, WIRE_OP_PING));
	cr_assert(has(ops, n, WIRE_OP_LIST_PROVIDERS));
	cr_assert(has(ops, n, WIRE_OP_LIST_OPCODES));
	cr_assert(has(ops, n, WIRE_OP_LIST_AUTHENTICATORS));
	cr_assert(has(ops, n, WIRE_OP_LIST_KEYS));
	cr_assert(has(ops, n, WIRE_OP_LIST_CLIENTS));
	cr_assert(has(ops, n, WIRE_OP_DELETE_CLIENT));
	cr_assert_not(has(ops, n, WIRE_OP_PSA_SIGN_HASH));
	free(ops);
}

/* A Parsec client's ListOpcodes (no extension field) never sees a value its
 * opcode enum lacks; asking for extensions shows them. */
Test(core, extensions_only_on_request)
{
	ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
	ListOpcodes__Result *res;
	uint8_t body[16];
	size_t len;
	struct td_resp r;
	size_t n_plain;

	op.provider_id = 1;
	len = list_opcodes__operation__pack(&op, body);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_OPCODES, 0, 0, body, len, NULL, 0, &r), 0);
	res = list_opcodes__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	n_plain = res->n_opcodes;
	cr_assert_gt(n_plain, 0);
	for (size_t i = 0; i < res->n_opcodes; i++) {
		const struct wire_opcode_info *info = wire_opcode_find(res->opcodes[i]);

		cr_assert_not_null(info);
		cr_assert(info->parsec_listed, "0x%x must not be listed to Parsec clients",
		          res->opcodes[i]);
		cr_assert_eq(info->cls, WIRE_CLASS_CRYPTO);
	}
	list_opcodes__result__free_unpacked(res, NULL);
	td_resp_free(&r);

	op.include_extensions = 1;
	len = list_opcodes__operation__pack(&op, body);
	cr_assert_eq(td_call(&d, WIRE_OP_LIST_OPCODES, 0, 0, body, len, NULL, 0, &r), 0);
	res = list_opcodes__result__unpack(NULL, r.body_len, r.body);
	cr_assert_not_null(res);
	cr_assert_geq(res->n_opcodes, n_plain);
	list_opcodes__result__free_unpacked(res, NULL);
	td_resp_free(&r);
}

Test(core, list_opcodes_provider_rules)
{
	uint32_t *ops;
	size_t n;

	/* Known but not configured, unknown, and Parsec's narrowing to a byte. */
	cr_assert_eq(tessera_list_opcodes(cli, 2, &ops, &n), 5);
	cr_assert_eq(tessera_list_opcodes(cli, 200, &ops, &n), 6);
	{
		ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
		uint8_t body[16];
		size_t len;

		op.provider_id = 257; /* narrows to 1 */
		len = list_opcodes__operation__pack(&op, body);
		cr_assert_eq(td_call(&d, WIRE_OP_LIST_OPCODES, 0, 0, body, len, NULL, 0, NULL), 0);
	}
	cr_assert_eq(tessera_list_opcodes(cli, 1, &ops, &n), TESSERA_OK);
	cr_assert(has(ops, n, WIRE_OP_PSA_GENERATE_RANDOM));
	cr_assert(has(ops, n, WIRE_OP_PSA_HASH_COMPUTE));
	free(ops);
}

Test(core, admin_operations_through_libtessera)
{
	char **clients;
	size_t n;

	cr_assert_eq(tessera_list_clients(cli, &clients, &n), 19);
	tessera_close(cli);
	open_client(1, "someone");
	cr_assert_eq(tessera_list_clients(cli, &clients, &n), 21);
	cr_assert_eq(tessera_delete_client(cli, "bob"), 21);
	tessera_close(cli);
	open_client(1, "admin_priv");
	cr_assert_eq(tessera_list_clients(cli, &clients, &n), TESSERA_OK);
	cr_assert_eq(n, 0, "no keys exist, so no clients");
	tessera_strv_free(clients, n);
	cr_assert_eq(tessera_delete_client(cli, "bob"), TESSERA_OK);
}

Test(core, list_keys_needs_an_identity)
{
	struct tessera_key_info *k;
	size_t n;

	cr_assert_eq(tessera_list_keys(cli, &k, &n), 19);
	tessera_close(cli);
	open_client(3, NULL);
	cr_assert_eq(tessera_list_keys(cli, &k, &n), TESSERA_OK);
	cr_assert_eq(n, 0);
	tessera_key_info_free(k, n);
}

Test(core, persistent_client_survives_daemon_closing_idle_connection)
{
	uint32_t maj, min;

	/* A fresh daemon configuration is not needed: the client reconnects
	 * if the daemon closed the connection between requests. */
	cr_assert_eq(tessera_ping(cli, &maj, &min), TESSERA_OK);
	cr_assert_eq(tessera_ping(cli, &maj, &min), TESSERA_OK);
}

Test(core, cli_exit_codes)
{
	char cmd[512];
	int st;

	snprintf(cmd, sizeof(cmd),
	         TESSERA_BUILD_DIR "/client/tessera --endpoint unix:%s ping >/dev/null", d.sock);
	st = system(cmd);
	cr_assert_eq(WEXITSTATUS(st), 0);
	snprintf(cmd, sizeof(cmd),
	         TESSERA_BUILD_DIR "/client/tessera --endpoint unix:%s --auth direct --app-name x "
	                           "list-clients >/dev/null 2>&1",
	         d.sock);
	st = system(cmd);
	cr_assert_eq(WEXITSTATUS(st), 1, "daemon said no (AdminOperation)");
	snprintf(cmd, sizeof(cmd),
	         TESSERA_BUILD_DIR
	         "/client/tessera --endpoint unix:%s.missing ping >/dev/null 2>&1",
	         d.sock);
	st = system(cmd);
	cr_assert_eq(WEXITSTATUS(st), 3, "could not reach the daemon");
}
