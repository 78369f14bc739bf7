/* tessera storage: PSA Secure Storage assets (ITS and PS) of the caller. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "client/cli-priv.h"
#include "common/util.h"

/* A set's data travels in one request, which the daemon's
 * core.body_len_limit bounds (1 MiB by default); reading stops past this. */
#define DATA_MAX (64u << 20)

static const struct {
	const char *name;
	uint32_t bit;
} flag_names[] = {
        {"write-once", TESSERA_STORAGE_FLAG_WRITE_ONCE},
        {"no-confidentiality", TESSERA_STORAGE_FLAG_NO_CONFIDENTIALITY},
        {"no-replay-protection", TESSERA_STORAGE_FLAG_NO_REPLAY_PROTECTION},
};

struct sargs {
	int store; /* -1 until --its or --ps */
	uint64_t uid;
	const char *file, *output;
	uint32_t flags;
	uint64_t offset, size;
	int has_size;
};

static int usage_error(const char *what)
{
	fprintf(stderr, "tessera: storage: %s (see tessera --help)\n", what);
	return EXIT_USAGE;
}

/* "write-once,no-confidentiality" -> bits. 0, or -1 for an unknown name. */
static int parse_flags(const char *list, uint32_t *ret)
{
	char *copy = strdup(list), *save = NULL, *tok;
	uint32_t bits = 0;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < TS_ARRAY_LEN(flag_names); i++)
			if (strcmp(tok, flag_names[i].name) == 0)
				break;
		if (i == TS_ARRAY_LEN(flag_names) && strcmp(tok, "none") != 0)
			rc = -1;
		else if (i < TS_ARRAY_LEN(flag_names))
			bits |= flag_names[i].bit;
	}
	free(copy);
	*ret = bits;
	return rc;
}

/* argv[0] is the subcommand. */
static int parse(int argc, char **argv, struct sargs *a)
{
	enum { O_ITS = 256, O_PS, O_FILE, O_OUTPUT, O_FLAGS, O_OFFSET, O_SIZE };
	static const struct option opts[] = {
	        {"its", no_argument, NULL, O_ITS},
	        {"ps", no_argument, NULL, O_PS},
	        {"file", required_argument, NULL, O_FILE},
	        {"output", required_argument, NULL, O_OUTPUT},
	        {"flags", required_argument, NULL, O_FLAGS},
	        {"offset", required_argument, NULL, O_OFFSET},
	        {"size", required_argument, NULL, O_SIZE},
	        {NULL, 0, NULL, 0},
	};
	int ch;

	memset(a, 0, sizeof(*a));
	a->store = -1;
	optind = 0; /* a new scan (glibc), options before and after the UID */
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_ITS:
		case O_PS:
			if (a->store != -1)
				return usage_error("give one of --its and --ps");
			a->store = ch == O_ITS ? TESSERA_STORAGE_ITS : TESSERA_STORAGE_PS;
			break;
		case O_FILE:
			a->file = optarg;
			break;
		case O_OUTPUT:
			a->output = optarg;
			break;
		case O_FLAGS:
			if (parse_flags(optarg, &a->flags) != 0)
				return usage_error(
				        "--flags: expected write-once, no-confidentiality "
				        "and no-replay-protection, comma-separated");
			break;
		case O_OFFSET:
			if (ts_parse_u64(optarg, 0, UINT64_MAX, &a->offset) != 0)
				return usage_error("--offset: expected a number");
			break;
		case O_SIZE:
			if (ts_parse_u64(optarg, 0, UINT64_MAX, &a->size) != 0)
				return usage_error("--size: expected a number");
			a->has_size = 1;
			break;
		default:
			return usage_error("unknown option");
		}
	}
	if (a->store == -1)
		return usage_error("give --its or --ps");
	if (optind != argc - 1 || ts_parse_u64(argv[optind], 0, UINT64_MAX, &a->uid) != 0)
		return usage_error("expected one UID (a number)");
	return EXIT_OK;
}

/* All of f, up to DATA_MAX bytes. 0, or -1. */
static int read_all(FILE *f, uint8_t **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	do {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			uint8_t *grown = realloc(buf, ncap);

			if (grown == NULL) {
				free(buf);
				return -1;
			}
			buf = grown;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0 && len <= DATA_MAX);
	if (ferror(f) || len > DATA_MAX) {
		free(buf);
		return -1;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static int cmd_set(struct tessera_client *c, const struct sargs *a)
{
	FILE *f = a->file != NULL ? fopen(a->file, "rb") : stdin;
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (f == NULL || read_all(f, &data, &len) != 0) {
		fprintf(stderr, "tessera: storage set: cannot read %s\n",
		        a->file != NULL ? a->file : "standard input");
		if (f != NULL && f != stdin)
			fclose(f);
		return EXIT_USAGE;
	}
	if (f != stdin)
		fclose(f);
	rc = tessera_storage_set(c, a->store, a->uid, data, len, a->flags);
	memset(data, 0, len);
	free(data);
	if (rc != TESSERA_OK)
		return cli_failed(c, "storage set", rc);
	if (cli_json) {
		json_t *j =
		        json_pack("{s:I, s:I}", "uid", (json_int_t)a->uid, "size", (json_int_t)len);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (s != NULL)
			puts(s);
		free(s);
		json_decref(j);
	}
	return EXIT_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmd_get(struct tessera_client *c, const struct sargs *a)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int fd = STDOUT_FILENO, rc;

	rc = tessera_storage_get(c, a->store, a->uid, a->offset, a->has_size ? a->size : UINT64_MAX,
	                         &data, &len);
	if (rc != TESSERA_OK)
		return cli_failed(c, "storage get", rc);
	/* The raw bytes: the asset is the user's, and may be secret, so a
	 * file made for it is the user's alone. */
	if (a->output != NULL)
		fd = open(a->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	rc = fd >= 0 ? write_all(fd, data, len) : -1;
	if (fd >= 0 && fd != STDOUT_FILENO && close(fd) != 0)
		rc = -1;
	memset(data, 0, len);
	free(data);
	if (rc != 0) {
		fprintf(stderr, "tessera: storage get: cannot write %s\n",
		        a->output != NULL ? a->output : "standard output");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int cmd_info(struct tessera_client *c, const struct sargs *a)
{
	struct tessera_storage_info info;
	char names[96] = "";
	int rc = tessera_storage_info(c, a->store, a->uid, &info);

	if (rc != TESSERA_OK)
		return cli_failed(c, "storage info", rc);
	for (size_t i = 0; i < TS_ARRAY_LEN(flag_names); i++)
		if (info.flags & flag_names[i].bit)
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			         names[0] ? "," : "", flag_names[i].name);
	if (info.flags & ~(uint32_t)7)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s0x%x",
		         names[0] ? "," : "", info.flags & ~(uint32_t)7);
	if (cli_json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:i}", "uid", (json_int_t)a->uid, "capacity",
		                      (json_int_t)info.capacity, "size", (json_int_t)info.size,
		                      "flags", (int)info.flags);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (s != NULL)
			puts(s);
		free(s);
		json_decref(j);
	} else {
		printf("capacity: %llu\nsize: %llu\nflags: %s\n", (unsigned long long)info.capacity,
		       (unsigned long long)info.size, names[0] ? names : "none");
	}
	return EXIT_OK;
}

static int cmd_remove(struct tessera_client *c, const struct sargs *a)
{
	int rc = tessera_storage_remove(c, a->store, a->uid);

	if (rc != TESSERA_OK)
		return cli_failed(c, "storage remove", rc);
	return EXIT_OK;
}

int cli_storage_command(struct tessera_client *c, int argc, char **argv)
{
	struct sargs a;
	const char *sub;
	int rc;

	if (argc < 2)
		return usage_error("expected set, get, info or remove");
	sub = argv[1];
	if (strcmp(sub, "set") != 0 && strcmp(sub, "get") != 0 && strcmp(sub, "info") != 0 &&
	    strcmp(sub, "remove") != 0)
		return usage_error("expected set, get, info or remove");
	rc = parse(argc - 1, argv + 1, &a);
	if (rc != EXIT_OK)
		return rc;
	if ((a.file != NULL || a.flags != 0) && strcmp(sub, "set") != 0)
		return usage_error("--file and --flags are for set");
	if ((a.output != NULL || a.has_size || a.offset != 0) && strcmp(sub, "get") != 0)
		return usage_error("--output, --offset and --size are for get");
	if (strcmp(sub, "set") == 0)
		return cmd_set(c, &a);
	if (strcmp(sub, "get") == 0)
		return cmd_get(c, &a);
	if (strcmp(sub, "info") == 0)
		return cmd_info(c, &a);
	return cmd_remove(c, &a);
}
