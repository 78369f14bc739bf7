/* tessera: command-line client of tesserad (and of any Parsec service). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/cli-priv.h"
#include "client/tessera.h"
#include "common/util.h"
#include "wire/wire.h"

/* Exit codes (cli-priv.h): scripts can tell "the daemon said no" from "no daemon". */
int cli_json;

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: tessera [OPTIONS] COMMAND [ARGS]\n"
	        "Talk to tesserad (or any Parsec service) over its Unix socket.\n\n"
	        "Options:\n"
	        "  --endpoint unix:/PATH   daemon socket (default: $PARSEC_SERVICE_ENDPOINT,\n"
	        "                          else " TESSERA_DEFAULT_ENDPOINT ")\n"
	        "  --auth none|direct|unix-peer|jwt|jwt-svid   authentication (default unix-peer;\n"
	        "                          none for ping and the core's listings)\n"
	        "  --app-name NAME         application name for --auth direct\n"
	        "  --idp unix:/PATH        tessera-idp for --auth jwt (default:\n"
	        "                          $TESSERA_IDP_ENDPOINT, "
	        "else " TESSERA_DEFAULT_IDP_ENDPOINT ")\n"
	        "  --jwt-svid-file PATH    the JWT-SVID for --auth jwt-svid, read for every\n"
	        "                          request (default: $TESSERA_JWT_SVID_FILE, else\n"
	        "                          the token in $TESSERA_JWT_SVID)\n"
	        "  --timeout-ms N          bound on each request (default 60000)\n"
	        "  --json                  machine-readable output\n"
	        "  -V, --version           print the version\n"
	        "  -h, --help              this text\n\n"
	        "Commands:\n"
	        "  ping                     wire protocol version of the daemon\n"
	        "  list-providers           providers, the default first\n"
	        "  list-opcodes [--provider ID]   operations a provider serves (default 0, core)\n"
	        "  list-authenticators      enabled authenticators, in order\n"
	        "  whoami                   the identity tessera-idp vouches for (--auth jwt)\n"
	        "  list-keys                the caller's keys\n"
	        "  list-clients             applications that own keys (admins)\n"
	        "  delete-client NAME       destroy every key of NAME (admins)\n"
	        "  create-ecc-key NAME [--curve p256|p384|p521]   a signing key\n"
	        "  create-rsa-key NAME [--bits N] [--for sign|encrypt]\n"
	        "  import NAME --type T --usage sign|verify|encrypt|decrypt [--alg A] --file F\n"
	        "  export-public-key NAME [--der]   PEM (or DER) SubjectPublicKeyInfo\n"
	        "  sign NAME (--message TEXT | --file F) [--alg A]   base64 signature\n"
	        "  verify NAME --signature B64 (--message TEXT | --file F) [--alg A]\n"
	        "  encrypt NAME (--message TEXT | --file F) [--alg A]   base64 ciphertext\n"
	        "  decrypt NAME --ciphertext B64 [--alg A]\n"
	        "  create-csr NAME --cn NAME [--der]   a PKCS#10 request signed by the key\n"
	        "  generate-random N        N random bytes, in hex\n"
	        "  delete-key NAME\n"
	        "  (key commands take --provider ID; default: the daemon's first provider)\n"
	        "  storage set (--its|--ps) UID [--file F] [--flags LIST]   store an asset\n"
	        "                           (data from F, else standard input; LIST: write-once,\n"
	        "                           no-confidentiality, no-replay-protection)\n"
	        "  storage get (--its|--ps) UID [--offset N] [--size N] [--output F]\n"
	        "                           the asset's bytes, raw, to standard output or F\n"
	        "  storage info (--its|--ps) UID     its capacity, size and flags\n"
	        "  storage remove (--its|--ps) UID\n"
	        "\n"
	        "parsec-tool 0.5's command lines work too, with its output: its flags\n"
	        "(-k/--key-name, -n, -c, ...) or its global options -p/--provider ID and\n"
	        "-t/--timeout SECONDS select that form, as does running tessera as\n"
	        "parsec-tool or with TESSERA_CLI=parsec-tool (docs/libtessera.md).\n"
	        "\n"
	        "Exit status: 0 success; 1 the daemon answered with an error status;\n"
	        "2 usage error; 3 the daemon could not be reached.\n");
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

int cli_failed(struct tessera_client *c, const char *cmd, int rc)
{
	if (rc < 0) {
		fprintf(stderr, "tessera: %s: %s (endpoint %s)\n", cmd, tessera_strerror(rc),
		        tessera_endpoint(c));
		return EXIT_CONNECT;
	}
	fprintf(stderr, "tessera: %s: %s (%d)\n", cmd, tessera_strerror(rc), rc);
	return EXIT_STATUS;
}

static int cmd_ping(struct tessera_client *c)
{
	uint32_t maj, min;
	int rc = tessera_ping(c, &maj, &min);

	if (rc != TESSERA_OK)
		return cli_failed(c, "ping", rc);
	if (cli_json)
		print_json(json_pack("{s:i, s:i}", "wire_protocol_version_maj", (int)maj,
		                     "wire_protocol_version_min", (int)min));
	else
		printf("Wire protocol version %u.%u\n", maj, min);
	return EXIT_OK;
}

static int cmd_list_providers(struct tessera_client *c)
{
	struct tessera_provider_info *p;
	size_t n;
	int rc = tessera_list_providers(c, &p, &n);

	if (rc != TESSERA_OK)
		return cli_failed(c, "list-providers", rc);
	if (cli_json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++) {
			char v[48];

			snprintf(v, sizeof(v), "%u.%u.%u", p[i].version_maj, p[i].version_min,
			         p[i].version_rev);
			json_array_append_new(arr, json_pack("{s:i, s:s, s:s, s:s, s:s}", "id",
			                                     (int)p[i].id, "uuid", p[i].uuid,
			                                     "description", p[i].description,
			                                     "vendor", p[i].vendor, "version", v));
		}
		print_json(json_pack("{s:o}", "providers", arr));
	} else {
		for (size_t i = 0; i < n; i++)
			printf("ID %u%s: %s\n  UUID: %s\n  vendor: %s\n  version: %u.%u.%u\n",
			       p[i].id, i == 0 ? " (default)" : "", p[i].description, p[i].uuid,
			       p[i].vendor[0] ? p[i].vendor : "-", p[i].version_maj,
			       p[i].version_min, p[i].version_rev);
	}
	tessera_provider_info_free(p, n);
	return EXIT_OK;
}

static int cmd_list_opcodes(struct tessera_client *c, uint8_t provider)
{
	uint32_t *ops;
	size_t n;
	int rc = tessera_list_opcodes(c, provider, &ops, &n);
	json_t *arr = cli_json ? json_array() : NULL;

	if (rc != TESSERA_OK) {
		json_decref(arr);
		return cli_failed(c, "list-opcodes", rc);
	}
	for (size_t i = 0; i < n; i++) {
		const struct wire_opcode_info *info = wire_opcode_find(ops[i]);

		if (arr != NULL)
			json_array_append_new(arr,
			                      json_pack("{s:i, s:s}", "opcode", (int)ops[i], "name",
			                                info ? info->name : "unknown"));
		else if (info != NULL)
			printf("0x%04x %s\n", ops[i], info->name);
		else
			printf("0x%04x (unknown to this client)\n", ops[i]);
	}
	if (arr != NULL)
		print_json(json_pack("{s:i, s:o}", "provider", provider, "opcodes", arr));
	free(ops);
	return EXIT_OK;
}

/* Ask the idp for a token and show whom it names (never the token). */
static int cmd_whoami(struct tessera_client *c, const struct tessera_options *o)
{
	struct tessera_options io;
	struct tessera_client *idp;
	char *tok = NULL, *ident = NULL;
	uint64_t exp = 0;
	int rc;

	(void)c;
	tessera_options_init(&io);
	io.endpoint = o->idp_endpoint != NULL ? o->idp_endpoint : getenv("TESSERA_IDP_ENDPOINT");
	if (io.endpoint == NULL)
		io.endpoint = TESSERA_DEFAULT_IDP_ENDPOINT;
	io.auth_type = TESSERA_AUTH_NONE;
	io.timeout_ms = o->timeout_ms;
	rc = tessera_open(&io, &idp);
	if (rc != TESSERA_OK) {
		fprintf(stderr, "tessera: whoami: bad --idp endpoint\n");
		return EXIT_USAGE;
	}
	rc = tessera_get_token(idp, &tok, &exp, &ident);
	if (rc == 1140) /* PsaErrorDoesNotExist */
		fprintf(stderr,
		        "tessera: whoami: %s vouches for no identity of this process: it "
		        "was not started by the orchestrator as a client (tessera-orchestrator "
		        "run, or a container hook)\n",
		        tessera_endpoint(idp));
	if (rc != TESSERA_OK) {
		rc = cli_failed(idp, "whoami", rc);
		tessera_close(idp);
		return rc;
	}
	if (cli_json)
		print_json(
		        json_pack("{s:s, s:I}", "identity", ident, "expires_at", (json_int_t)exp));
	else
		printf("%s (token expires at %llu)\n", ident, (unsigned long long)exp);
	memset(tok, 0, strlen(tok));
	free(tok);
	free(ident);
	tessera_close(idp);
	return 0;
}

static int cmd_list_authenticators(struct tessera_client *c)
{
	struct tessera_authenticator_info *a;
	size_t n;
	int rc = tessera_list_authenticators(c, &a, &n);
	json_t *arr = cli_json ? json_array() : NULL;

	if (rc != TESSERA_OK) {
		json_decref(arr);
		return cli_failed(c, "list-authenticators", rc);
	}
	for (size_t i = 0; i < n; i++) {
		const char *name = wire_auth_type_name((uint8_t)a[i].id);

		if (arr != NULL)
			json_array_append_new(arr, json_pack("{s:i, s:s, s:s}", "id", (int)a[i].id,
			                                     "name", name ? name : "unknown",
			                                     "description", a[i].description));
		else
			printf("%u %s%s: %s\n", a[i].id, name ? name : "unknown",
			       i == 0 ? " (default)" : "", a[i].description);
	}
	if (arr != NULL)
		print_json(json_pack("{s:o}", "authenticators", arr));
	tessera_authenticator_info_free(a, n);
	return EXIT_OK;
}

static int cmd_list_keys(struct tessera_client *c)
{
	struct tessera_key_info *k;
	size_t n;
	int rc = tessera_list_keys(c, &k, &n);
	json_t *arr = cli_json ? json_array() : NULL;

	if (rc != TESSERA_OK) {
		json_decref(arr);
		return cli_failed(c, "list-keys", rc);
	}
	for (size_t i = 0; i < n; i++) {
		if (arr != NULL)
			json_array_append_new(
			        arr, json_pack("{s:s, s:i, s:s, s:i, s:s?}", "name", k[i].name,
			                       "provider", (int)k[i].provider_id, "type", k[i].type,
			                       "bits", (int)k[i].bits, "algorithm", k[i].alg));
		else
			printf("%s: %s %u bits, %s, provider %u\n", k[i].name, k[i].type, k[i].bits,
			       k[i].alg ? k[i].alg : "no named algorithm", k[i].provider_id);
	}
	if (arr != NULL)
		print_json(json_pack("{s:o}", "keys", arr));
	else if (n == 0)
		printf("No keys.\n");
	tessera_key_info_free(k, n);
	return EXIT_OK;
}

static int cmd_list_clients(struct tessera_client *c)
{
	char **v;
	size_t n;
	int rc = tessera_list_clients(c, &v, &n);
	json_t *arr = cli_json ? json_array() : NULL;

	if (rc != TESSERA_OK) {
		json_decref(arr);
		return cli_failed(c, "list-clients", rc);
	}
	for (size_t i = 0; i < n; i++) {
		if (arr != NULL)
			json_array_append_new(arr, json_string(v[i]));
		else
			printf("%s\n", v[i]);
	}
	if (arr != NULL)
		print_json(json_pack("{s:o}", "clients", arr));
	else if (n == 0)
		printf("No clients.\n");
	tessera_strv_free(v, n);
	return EXIT_OK;
}

static int cmd_delete_client(struct tessera_client *c, const char *name)
{
	int rc = tessera_delete_client(c, name);

	if (rc != TESSERA_OK)
		return cli_failed(c, "delete-client", rc);
	if (cli_json)
		print_json(json_pack("{s:s}", "deleted", name));
	else
		printf("Deleted every key of client \"%s\".\n", name);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	enum { OPT_ENDPOINT = 256, OPT_AUTH, OPT_APP, OPT_TIMEOUT, OPT_JSON, OPT_IDP, OPT_SVID };
	/* parsec-tool's global options -p/--provider and -t/--timeout (seconds) */
	int pt_globals = 0, pt_provider = -1, auth_given = 0;
	static const struct option longopts[] = {
	        {"endpoint", required_argument, NULL, OPT_ENDPOINT},
	        {"auth", required_argument, NULL, OPT_AUTH},
	        {"app-name", required_argument, NULL, OPT_APP},
	        {"idp", required_argument, NULL, OPT_IDP},
	        {"jwt-svid-file", required_argument, NULL, OPT_SVID},
	        {"timeout-ms", required_argument, NULL, OPT_TIMEOUT},
	        {"json", no_argument, NULL, OPT_JSON},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {"provider", required_argument, NULL, 'p'},
	        {"timeout", required_argument, NULL, 't'},
	        {NULL, 0, NULL, 0},
	};
	struct tessera_options o;
	struct tessera_client *c;
	uint64_t num, provider = 0;
	const char *cmd;
	int ch, rc;

	tessera_options_init(&o);
	/* "+" stops at the command, so its own options follow it. */
	while ((ch = getopt_long(argc, argv, "+Vhp:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ENDPOINT:
			o.endpoint = optarg;
			break;
		case OPT_AUTH:
			auth_given = 1;
			if (strcmp(optarg, "none") == 0)
				o.auth_type = TESSERA_AUTH_NONE;
			else if (strcmp(optarg, "direct") == 0)
				o.auth_type = TESSERA_AUTH_DIRECT;
			else if (strcmp(optarg, "unix-peer") == 0)
				o.auth_type = TESSERA_AUTH_UNIX_PEER;
			else if (strcmp(optarg, "jwt") == 0)
				o.auth_type = TESSERA_AUTH_JWT;
			else if (strcmp(optarg, "jwt-svid") == 0)
				o.auth_type = TESSERA_AUTH_JWT_SVID;
			else {
				fprintf(stderr, "tessera: --auth: expected none, direct, "
				                "unix-peer, jwt or jwt-svid\n");
				return EXIT_USAGE;
			}
			break;
		case OPT_APP:
			o.app_name = optarg;
			break;
		case OPT_IDP:
			o.idp_endpoint = optarg;
			break;
		case OPT_SVID:
			o.jwt_svid_file = optarg;
			break;
		case OPT_TIMEOUT:
			if (ts_parse_u64(optarg, 1, 3600000, &num) != 0) {
				fprintf(stderr, "tessera: --timeout-ms: expected 1 to 3600000\n");
				return EXIT_USAGE;
			}
			o.timeout_ms = (unsigned)num;
			break;
		case OPT_JSON:
			cli_json = 1;
			break;
		case 'p':
			if (ts_parse_u64(optarg, 0, 255, &num) != 0) {
				fprintf(stderr,
				        "tessera: -p/--provider: expected an ID from 0 to 255\n");
				return EXIT_USAGE;
			}
			pt_provider = (int)num;
			pt_globals = 1;
			break;
		case 't':
			/* 0: no timeout (the longest wait poll() takes, 24 days) */
			if (ts_parse_u64(optarg, 0, INT_MAX / 1000, &num) != 0) {
				fprintf(stderr, "tessera: -t/--timeout: expected seconds\n");
				return EXIT_USAGE;
			}
			o.timeout_ms = num == 0 ? INT_MAX : (unsigned)num * 1000;
			pt_globals = 1;
			break;
		case 'V':
			printf("tessera %s\n", TESSERA_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (cli_parsec_form(argv[0], pt_globals, argc - optind + 1, argv + optind - 1))
		return cli_parsec_run(&o, auth_given, pt_provider, argc - optind + 1,
		                      argv + optind - 1);
	if (strcmp(cmd, "list-opcodes") == 0 && optind < argc) {
		if (optind + 2 != argc || strcmp(argv[optind], "--provider") != 0 ||
		    ts_parse_u64(argv[optind + 1], 0, 255, &provider) != 0) {
			fprintf(stderr, "tessera: list-opcodes: expected --provider ID (0-255)\n");
			return EXIT_USAGE;
		}
		optind = argc;
	}
	/* The core's queries go without a credential unless one is asked for,
	 * as Parsec's clients send them: they then work with any authenticator
	 * the service has (Parsec answers a credential of an authenticator it
	 * lacks with AuthenticatorNotRegistered, even for Ping). */
	if (!auth_given &&
	    (strcmp(cmd, "ping") == 0 || strcmp(cmd, "list-providers") == 0 ||
	     strcmp(cmd, "list-opcodes") == 0 || strcmp(cmd, "list-authenticators") == 0))
		o.auth_type = TESSERA_AUTH_NONE;
	if (o.auth_type == TESSERA_AUTH_DIRECT && o.app_name == NULL) {
		fprintf(stderr, "tessera: --auth direct needs --app-name\n");
		return EXIT_USAGE;
	}
	if (o.auth_type == TESSERA_AUTH_JWT_SVID && o.jwt_svid_file == NULL &&
	    getenv("TESSERA_JWT_SVID_FILE") == NULL && getenv("TESSERA_JWT_SVID") == NULL) {
		fprintf(stderr, "tessera: --auth jwt-svid needs --jwt-svid-file, "
		                "$TESSERA_JWT_SVID_FILE or $TESSERA_JWT_SVID\n");
		return EXIT_USAGE;
	}
	rc = tessera_open(&o, &c);
	if (rc != TESSERA_OK) {
		fprintf(stderr,
		        "tessera: %s (endpoint must be unix:/PATH, shorter than 108 "
		        "bytes)\n",
		        tessera_strerror(rc));
		return EXIT_USAGE;
	}

	if (strcmp(cmd, "ping") == 0 && optind == argc)
		rc = cmd_ping(c);
	else if (strcmp(cmd, "list-providers") == 0 && optind == argc)
		rc = cmd_list_providers(c);
	else if (strcmp(cmd, "list-opcodes") == 0)
		rc = cmd_list_opcodes(c, (uint8_t)provider);
	else if (strcmp(cmd, "list-authenticators") == 0 && optind == argc)
		rc = cmd_list_authenticators(c);
	else if (strcmp(cmd, "whoami") == 0 && optind == argc)
		rc = cmd_whoami(c, &o);
	else if (strcmp(cmd, "list-keys") == 0 && optind == argc)
		rc = cmd_list_keys(c);
	else if (strcmp(cmd, "list-clients") == 0 && optind == argc)
		rc = cmd_list_clients(c);
	else if (strcmp(cmd, "delete-client") == 0 && optind == argc - 1)
		rc = cmd_delete_client(c, argv[optind]);
	else if (strcmp(cmd, "storage") == 0)
		rc = cli_storage_command(c, argc - optind + 1, argv + optind - 1);
	else if (cli_is_key_command(cmd))
		rc = cli_key_command(c, argc - optind + 1, argv + optind - 1);
	else {
		fprintf(stderr, "tessera: unknown command or wrong arguments: %s\n", cmd);
		usage(stderr);
		rc = EXIT_USAGE;
	}
	tessera_close(c);
	return rc;
}
