/* tesserad: command line, start-up hardening, configuration, then the loop. */
#include "daemon/daemon-priv.h"

#include <uv.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <signal.h>

#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"
#include "keystore/keystore.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: tesserad [OPTIONS]\n"
	        "Tessera security daemon (Parsec wire protocol 1.0).\n\n"
	        "  -c, --config FILE          configuration file (default: the embedded default)\n"
	        "      --check-config FILE    validate FILE and exit (0 valid, 1 invalid)\n"
	        "      --print-default-config print the embedded default configuration\n"
	        "      --socket PATH          override listener.socket_path\n"
	        "      --state-dir DIR        keep the key store in DIR and its key-encryption\n"
	        "                             key in DIR.kek (overrides key_store.path and\n"
	        "                             kek_path)\n"
	        "      --kek-file PATH        override key_store.kek_path\n"
	        "      --rekey NEW_KEK_FILE   seal every key again under the key in NEW_KEK_FILE\n"
	        "                             (made when missing) and exit; tesserad must be\n"
	        "                             stopped (docs/keystore.md, \"Rotating the KEK\")\n"
	        "      --allow-root           override core.allow_root (run as root)\n"
	        "      --log-level LEVEL      override core.log_level (error|warn|info|debug)\n"
	        "  -V, --version              print the version\n"
	        "  -h, --help                 this text\n\n"
	        "Signals: SIGTERM/SIGINT finish in-flight requests and exit 0; SIGHUP reloads\n"
	        "the configuration file and keeps the running one if the new one is invalid.\n");
}

/* No core dumps (they would hold keys), not ptrace-attachable by the same
 * user, private files, and as many descriptors as the hard limit allows. */
static void harden_process(void)
{
	struct rlimit rl;

	ts_harden_process();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Whether two paths name files of one directory (as written). */
static bool same_directory(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa != NULL ? (size_t)(sa - a) : 0, lb = sb != NULL ? (size_t)(sb - b) : 0;

	return la == lb && strncmp(a, b, la) == 0;
}

/* Version-1 key stores name a provider by its wire ID, and version 1
 * allowed one instance per type: each maps to the first configured
 * instance of its type. */
static int open_key_store(const struct ts_config *cfg, const struct svc_providers *provs,
                          struct ks **ret)
{
	struct ks_legacy_provider legacy[8];
	size_t n = 0;
	char err[512];

	for (size_t i = 0; i < provs->n && n < TS_ARRAY_LEN(legacy); i++)
		if (!provs->v[i].extension)
			legacy[n++] = (struct ks_legacy_provider){
			        .provider_id = provs->v[i].wire_id, .instance = provs->v[i].name};
	if (ks_open(cfg->key_store.path, cfg->key_store.kek_path, legacy, n, ret, err,
	            sizeof(err)) != TS_OK) {
		ts_error("key_store: %s", err);
		return -1;
	}
	switch (ks_kek_source(*ret)) {
	case KS_KEK_CREDENTIAL:
		ts_info("key store %s: key-encryption key from the credential tessera-kek",
		        cfg->key_store.path);
		break;
	case KS_KEK_NEW_FILE:
		ts_info("key store %s: made a new key-encryption key %s (a systemd credential "
		        "keeps it better: docs/systemd.md)",
		        cfg->key_store.path, cfg->key_store.kek_path);
		break;
	default:
		ts_info("key store %s: key-encryption key from %s", cfg->key_store.path,
		        cfg->key_store.kek_path);
		break;
	}
	if (ks_kek_source(*ret) != KS_KEK_CREDENTIAL &&
	    same_directory(cfg->key_store.path, cfg->key_store.kek_path))
		ts_warn("key_store.kek_path %s is in the key store's directory: a copy of that "
		        "directory opens every key; keep it elsewhere or use a credential",
		        cfg->key_store.kek_path);
	return 0;
}

/* tesserad --rekey: the store sealed again under a new key, then exit. */
static int rekey(const struct ts_config *cfg, struct ks *ks, const char *new_kek)
{
	unsigned count = 0, damaged = 0;
	char err[512];

	if (ks_rekey(ks, new_kek, &count, &damaged, err, sizeof(err)) != TS_OK) {
		ts_error("--rekey: %s", err);
		return 1;
	}
	printf("re-sealed %u records of %s under the key in %s", count, cfg->key_store.path,
	       new_kek);
	if (damaged > 0)
		printf(" (%u records open with neither key and were left as they were)", damaged);
	printf(".\nMake it the key-encryption key before starting tesserad, either\n"
	       "  mv %s %s\n"
	       "or, for the systemd unit,\n"
	       "  systemd-creds encrypt --name=tessera-kek %s "
	       "/etc/credstore.encrypted/tessera-kek && shred -u %s\n"
	       "and remove the old key.\n",
	       new_kek, cfg->key_store.kek_path, new_kek, new_kek);
	return 0;
}

int main(int argc, char **argv)
{
	enum {
		OPT_CHECK = 256,
		OPT_PRINT_DEFAULT,
		OPT_SOCKET,
		OPT_ALLOW_ROOT,
		OPT_LOG_LEVEL,
		OPT_STATE_DIR,
		OPT_KEK_FILE,
		OPT_REKEY
	};
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"check-config", required_argument, NULL, OPT_CHECK},
	        {"print-default-config", no_argument, NULL, OPT_PRINT_DEFAULT},
	        {"socket", required_argument, NULL, OPT_SOCKET},
	        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
	        {"kek-file", required_argument, NULL, OPT_KEK_FILE},
	        {"rekey", required_argument, NULL, OPT_REKEY},
	        {"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
	        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	        {"version", no_argument, NULL, 'V'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct server_opts opts = {0};
	const char *check = NULL, *log_level = NULL, *rekey_to = NULL;
	enum ts_log_level level;
	struct ts_config *cfg;
	struct svc_state *st;
	struct svc_providers *provs = NULL;
	char err[512];
	char threads[16];
	struct ks *ks = NULL;
	struct trust_store *trust = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts.config_path = optarg;
			break;
		case OPT_CHECK:
			check = optarg;
			break;
		case OPT_PRINT_DEFAULT:
			fputs(config_default_json(), stdout);
			return 0;
		case OPT_SOCKET:
			opts.socket_override = optarg;
			break;
		case OPT_STATE_DIR:
			opts.state_dir = optarg;
			break;
		case OPT_KEK_FILE:
			opts.kek_override = optarg;
			break;
		case OPT_REKEY:
			rekey_to = optarg;
			break;
		case OPT_ALLOW_ROOT:
			opts.allow_root_override = true;
			break;
		case OPT_LOG_LEVEL:
			log_level = optarg;
			break;
		case 'V':
			printf("tesserad %s\n", TESSERA_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tesserad: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (log_level != NULL && ts_log_level_parse(log_level, &level) != 0) {
		fprintf(stderr, "tesserad: --log-level: expected error, warn, info or debug\n");
		return 2;
	}

	if (check != NULL) {
		cfg = config_load_file(check, err, sizeof(err));
		if (cfg == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		/* The providers' own settings too, without starting them. */
		if (svc_providers_check(cfg, err, sizeof(err)) != TS_OK ||
		    svc_auth_check(cfg, err, sizeof(err)) != TS_OK) {
			fprintf(stderr, "%s: %s\n", check, err);
			config_free(cfg);
			return 1;
		}
		if (cfg->trust.configured)
			printf("%s: trust bundles are accepted from uid %u (%s): that account can "
			       "mint any Jwt identity\n",
			       check, (unsigned)cfg->trust.peer_uid, cfg->trust.peer_account);
		config_free(cfg);
		printf("%s: configuration is valid\n", check);
		return 0;
	}

	harden_process();
	cfg = opts.config_path != NULL ? config_load_file(opts.config_path, err, sizeof(err))
	                               : config_load_default(err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "tesserad: %s\n", err);
		return 1;
	}
	if (apply_overrides(cfg, &opts) != 0) {
		fprintf(stderr, "tesserad: out of memory\n");
		config_free(cfg);
		return 1;
	}
	ts_log_set_level(log_level != NULL ? level : cfg->core.log_level);
	if ((getuid() == 0 || geteuid() == 0) && !cfg->core.allow_root) {
		ts_error("refusing to run as root: run as the tessera user, or set "
		         "core.allow_root (or pass --allow-root) to accept the risk");
		config_free(cfg);
		return 1;
	}
	resolve_defaults(cfg);
	/* libuv sizes its worker pool from this on first use. */
	snprintf(threads, sizeof(threads), "%u", cfg->core.threads);
	setenv("UV_THREADPOOL_SIZE", threads, 1);

	/* Fail before touching anything else: a path libuv or bind(2) would
	 * have to cut is a configuration error. */
	if (strlen(cfg->listener.socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ts_error("listener.socket_path is %zu bytes long; a Unix socket path must be "
		         "shorter than %zu bytes",
		         strlen(cfg->listener.socket_path),
		         sizeof(((struct sockaddr_un *)0)->sun_path));
		config_free(cfg);
		return 1;
	}
	if (svc_providers_new(cfg, &provs, err, sizeof(err)) != TS_OK) {
		ts_error("%s", err);
		config_free(cfg);
		return 1;
	}
	if (open_key_store(cfg, provs, &ks) != 0) {
		config_free(cfg);
		svc_providers_free(provs);
		return 1;
	}
	if (rekey_to != NULL) {
		rc = rekey(cfg, ks, rekey_to);
		ks_close(ks);
		config_free(cfg);
		svc_providers_free(provs);
		return rc;
	}
	if (cfg->trust.configured)
		ts_info("trust: trust bundles are accepted from uid %u (%s), which can mint any "
		        "Jwt identity",
		        (unsigned)cfg->trust.peer_uid, cfg->trust.peer_account);
	/* Without trust.* nobody may share bundles: no peer has uid -1. */
	if (trust_store_new(cfg->trust.configured ? (uid_t)cfg->trust.peer_uid : (uid_t)-1,
	                    (gid_t)cfg->trust.peer_gid, &trust) != TS_OK) {
		ts_error("out of memory");
		config_free(cfg);
		ks_close(ks);
		svc_providers_free(provs);
		return 1;
	}
	if (svc_state_new(cfg, ks, trust, provs, &st, err, sizeof(err)) != TS_OK) {
		ts_error("%s", err);
		config_free(cfg);
		ks_close(ks);
		trust_store_free(trust);
		svc_providers_free(provs);
		return 1;
	}
	if (svc_recover_keys(st, NULL) != TS_OK) {
		svc_state_unref(st);
		ks_close(ks);
		trust_store_free(trust);
		svc_providers_free(provs);
		return 1;
	}
	opts.ks = ks;
	rc = server_run(st, &opts);
	/* Join libuv's worker threads now, while OpenSSL is still set up, so
	 * their per-thread state (random generators) is freed as they exit
	 * rather than left behind when OpenSSL cleans up at exit. */
	uv_library_shutdown();
	ks_close(ks);
	trust_store_free(trust);
	svc_providers_free(provs);
	return rc;
}
