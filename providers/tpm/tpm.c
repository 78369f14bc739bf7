/*
 * The TPM 2.0 provider: one ESYS context on a TCTI (the kernel's resource
 * manager by default), a root key made at start from the storage-key
 * template Parsec's TPM provider uses (or a persistent key the
 * administrator names), and keys kept as TPM-wrapped blobs in the key store.
 * It takes Parsec's TPM provider ID (3) and UUID.
 *
 * This file: settings, instance life, the root key and its session, the
 * TPM-to-PSA status mapping.
 */
#include "providers/tpm/tpm-priv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"

#define DEFAULT_TCTI "device:/dev/tpmrm0"

/* ---- TPM response codes → PSA ---- */

TSS2_RC tpm_rc_base(TSS2_RC rc)
{
	if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
		return rc & 0xFFFF;
	if (rc & TPM2_RC_FMT1)
		return rc & (TPM2_RC_FMT1 | 0x3F);
	return rc & 0xFFF;
}

enum ts_err tpm_status(TSS2_RC rc, const char *what)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
	TSS2_RC code = tpm_rc_base(rc);
	enum ts_err st = TS_E_PSA_GENERIC_ERROR;

	if (rc == TSS2_RC_SUCCESS)
		return TS_OK;
	if (layer == TSS2_TPM_RC_LAYER) {
		switch (code) {
		case TPM2_RC_SIGNATURE:
			ts_debug("tpm: %s: TPM RC 0x%08x (%s)", what, rc, Tss2_RC_Decode(rc));
			return TS_E_PSA_INVALID_SIGNATURE;
		case TPM2_RC_OBJECT_MEMORY:
		case TPM2_RC_SESSION_MEMORY:
		case TPM2_RC_MEMORY:
		case TPM2_RC_OBJECT_HANDLES:
		case TPM2_RC_SESSION_HANDLES:
			st = TS_E_PSA_INSUFFICIENT_MEMORY;
			break;
		case TPM2_RC_ASYMMETRIC:
		case TPM2_RC_HASH:
		case TPM2_RC_KEY_SIZE:
		case TPM2_RC_MGF:
		case TPM2_RC_MODE:
		case TPM2_RC_KDF:
		case TPM2_RC_SCHEME:
		case TPM2_RC_SYMMETRIC:
		case TPM2_RC_CURVE:
			st = TS_E_PSA_NOT_SUPPORTED;
			break;
		case TPM2_RC_VALUE:
		case TPM2_RC_SIZE:
		case TPM2_RC_ECC_POINT:
			st = TS_E_PSA_INVALID_ARGUMENT;
			break;
		case TPM2_RC_BAD_AUTH:
		case TPM2_RC_AUTH_FAIL:
		case TPM2_RC_LOCKOUT:
		case TPM2_RC_ATTRIBUTES:
			st = TS_E_PSA_NOT_PERMITTED;
			break;
		case TPM2_RC_INTEGRITY:
		case TPM2_RC_BINDING:
			/* A blob the TPM does not take: not made under this root key. */
			st = TS_E_PSA_DATA_INVALID;
			break;
		case TPM2_RC_RETRY:
		case TPM2_RC_TESTING:
		case TPM2_RC_YIELDED:
		case TPM2_RC_CANCELED:
		case TPM2_RC_FAILURE:
			st = TS_E_PSA_HARDWARE_FAILURE;
			break;
		default:
			st = TS_E_PSA_GENERIC_ERROR;
		}
	} else if (code == TSS2_BASE_RC_MEMORY) {
		st = TS_E_NOMEM;
	} else {
		/* TCTI and ESYS layers: the TPM did not answer, or not sensibly. */
		st = TS_E_PSA_COMMUNICATION_FAILURE;
	}
	ts_warn("tpm: %s: TPM RC 0x%08x (%s)", what, rc, Tss2_RC_Decode(rc));
	return st;
}

/* ---- settings ---- */

struct tpm_settings {
	const char *tcti;
	const char *auth_file;       /* owner_auth_file */
	const char *auth_credential; /* owner_auth_credential */
	const char *eh_file;         /* endorsement_auth_file */
	const char *eh_credential;   /* endorsement_auth_credential */
	uint32_t root_handle;        /* 0: a primary made at start */
	unsigned loaded_keys;
	bool hmac_sessions;
};

static bool string_ok(json_t *v)
{
	return json_is_string(v) && json_string_length(v) > 0 &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

/* Parse settings (the strings point into o). TS_OK or TS_E_CONFIG. */
static enum ts_err parse_settings(json_t *o, const char *path, struct tpm_settings *ret, char *err,
                                  size_t errlen)
{
	struct tpm_settings s = {
	        .tcti = DEFAULT_TCTI, .loaded_keys = TPM_CACHE_DEFAULT, .hmac_sessions = true};
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "tcti") == 0) {
			if (!string_ok(v) || json_string_length(v) > 512) {
				snprintf(err, errlen,
				         "%s.tcti: expected a TCTI string such as "
				         "\"device:/dev/tpmrm0\" or \"swtpm:path=/run/swtpm.sock\"",
				         path);
				return TS_E_CONFIG;
			}
			s.tcti = json_string_value(v);
		} else if (strcmp(key, "owner_auth_file") == 0 ||
		           strcmp(key, "endorsement_auth_file") == 0) {
			if (!string_ok(v) || json_string_value(v)[0] != '/') {
				snprintf(err, errlen, "%s.%s: expected an absolute path", path,
				         key);
				return TS_E_CONFIG;
			}
			*(key[0] == 'o' ? &s.auth_file : &s.eh_file) = json_string_value(v);
		} else if (strcmp(key, "owner_auth_credential") == 0 ||
		           strcmp(key, "endorsement_auth_credential") == 0) {
			if (!string_ok(v) || strchr(json_string_value(v), '/') != NULL ||
			    strcmp(json_string_value(v), "..") == 0 ||
			    strcmp(json_string_value(v), ".") == 0) {
				snprintf(err, errlen,
				         "%s.%s: expected a systemd credential name (no '/')", path,
				         key);
				return TS_E_CONFIG;
			}
			*(key[0] == 'o' ? &s.auth_credential : &s.eh_credential) =
			        json_string_value(v);
		} else if (strcmp(key, "root_handle") == 0) {
			json_int_t h = json_is_integer(v) ? json_integer_value(v) : -1;
			uint64_t u = 0;

			if (json_is_string(v)) {
				const char *t = json_string_value(v);
				char *end = NULL;

				errno = 0;
				if (strncmp(t, "0x", 2) == 0 && isxdigit((unsigned char)t[2])) {
					u = strtoull(t + 2, &end, 16);
					if (errno == 0 && *end == '\0' && u <= UINT32_MAX)
						h = (json_int_t)u;
				} else if (ts_parse_u64(t, 0, UINT32_MAX, &u) == 0) {
					h = (json_int_t)u;
				}
			}
			if (h < 0x81000000 || h > 0x81FFFFFF) {
				snprintf(err, errlen,
				         "%s.root_handle: expected a persistent handle "
				         "0x81000000..0x81FFFFFF",
				         path);
				return TS_E_CONFIG;
			}
			s.root_handle = (uint32_t)h;
		} else if (strcmp(key, "hmac_sessions") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen, "%s.hmac_sessions: expected true or false",
				         path);
				return TS_E_CONFIG;
			}
			s.hmac_sessions = json_is_true(v);
		} else if (strcmp(key, "loaded_keys") == 0) {
			json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;

			if (n < 1 || n > TPM_CACHE_MAX) {
				snprintf(err, errlen,
				         "%s.loaded_keys: expected an integer 1..%d (keys kept "
				         "loaded besides the root key)",
				         path, TPM_CACHE_MAX);
				return TS_E_CONFIG;
			}
			s.loaded_keys = (unsigned)n;
		} else {
			snprintf(err, errlen,
			         "%s.%.64s: unknown key (the TPM provider takes tcti, "
			         "owner_auth_file, owner_auth_credential, endorsement_auth_file, "
			         "endorsement_auth_credential, root_handle, loaded_keys, "
			         "hmac_sessions)",
			         path, key);
			return TS_E_CONFIG;
		}
	}
	if ((s.auth_file != NULL && s.auth_credential != NULL) ||
	    (s.eh_file != NULL && s.eh_credential != NULL)) {
		const char *h =
		        s.eh_file != NULL && s.eh_credential != NULL ? "endorsement" : "owner";

		snprintf(err, errlen,
		         "%s.%s_auth_credential: give either %s_auth_file or "
		         "%s_auth_credential, not both",
		         path, h, h, h);
		return TS_E_CONFIG;
	}
	*ret = s;
	return TS_OK;
}

static enum ts_err load_settings(const char *settings, const char *path, json_t **ret_o,
                                 struct tpm_settings *ret, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(settings, 0, &jerr);
	enum ts_err rc;

	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "%s: settings are not a JSON object", path);
		json_decref(o);
		return TS_E_CONFIG;
	}
	rc = parse_settings(o, path, ret, err, errlen);
	if (rc != TS_OK) {
		json_decref(o);
		return rc;
	}
	*ret_o = o;
	return TS_OK;
}

static enum ts_err tpm_check_settings(const char *settings, const char *path, char *err,
                                      size_t errlen)
{
	struct tpm_settings s;
	json_t *o = NULL;
	enum ts_err rc = load_settings(settings, path, &o, &s, err, errlen);

	json_decref(o);
	return rc;
}

static int unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Read the owner hierarchy's auth value: the file's bytes without one
 * trailing newline; "hex:" decodes hex, "str:" is dropped (Parsec's
 * prefixes). */
static enum ts_err read_auth(const char *auth_file, const char *auth_credential,
                             const char *hierarchy, const char *path, TPM2B_AUTH *ret, char *err,
                             size_t errlen)
{
	char key[40];
	char file[4096], buf[256];
	const char *p = buf;
	ssize_t n;
	size_t len;
	int fd;
	enum ts_err rc = TS_E_CONFIG;

	memset(ret, 0, sizeof(*ret));
	if (auth_file == NULL && auth_credential == NULL)
		return TS_OK;
	snprintf(key, sizeof(key), "%s_auth_%s", hierarchy,
	         auth_file != NULL ? "file" : "credential");
	if (auth_file != NULL) {
		snprintf(file, sizeof(file), "%s", auth_file);
	} else {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");

		if (dir == NULL || dir[0] == '\0') {
			snprintf(err, errlen,
			         "%s.%s: $CREDENTIALS_DIRECTORY is not set "
			         "(tesserad was not started by systemd with LoadCredential=)",
			         path, key);
			return TS_E_CONFIG;
		}
		snprintf(file, sizeof(file), "%s/%s", dir, auth_credential);
	}
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s.%s: cannot open %.200s: %s", path, key, file,
		         strerror(errno));
		return TS_E_CONFIG;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0 || (size_t)n == sizeof(buf)) {
		snprintf(err, errlen, "%s.%s: %.200s: %s", path, key, file,
		         n < 0 ? strerror(errno) : "too long for an auth value");
		goto out;
	}
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len >= 4 && memcmp(buf, "hex:", 4) == 0) {
		p += 4;
		len -= 4;
		if (len % 2 != 0 || len / 2 > sizeof(ret->buffer)) {
			snprintf(err, errlen,
			         "%s.%s: %.200s: bad hex auth value (at most %zu bytes)", path, key,
			         file, sizeof(ret->buffer));
			goto out;
		}
		for (size_t i = 0; i < len / 2; i++) {
			int hi = unhex(p[2 * i]), lo = unhex(p[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "%s.%s: %.200s: bad hex auth value", path,
				         key, file);
				goto out;
			}
			ret->buffer[i] = (uint8_t)(hi << 4 | lo);
		}
		ret->size = (uint16_t)(len / 2);
	} else {
		if (len >= 4 && memcmp(buf, "str:", 4) == 0) {
			p += 4;
			len -= 4;
		}
		if (len > sizeof(ret->buffer)) {
			snprintf(err, errlen, "%s.%s: %.200s: auth value longer than %zu bytes",
			         path, key, file, sizeof(ret->buffer));
			goto out;
		}
		memcpy(ret->buffer, p, len);
		ret->size = (uint16_t)len;
	}
	rc = TS_OK;
out:
	ts_wipe(buf, sizeof(buf));
	if (rc != TS_OK)
		ts_wipe(ret, sizeof(*ret));
	return rc;
}

/* ---- instance life ---- */

static void tpm_fini(void *ctx)
{
	struct tpm_ctx *c = ctx;

	if (c == NULL)
		return;
	if (c->esys != NULL) {
		tpm_cache_clear(c);
		if (c->session != ESYS_TR_NONE)
			(void)Esys_FlushContext(c->esys, c->session);
		if (c->root != ESYS_TR_NONE) {
			if (c->root_transient)
				(void)Esys_FlushContext(c->esys, c->root);
			else
				(void)Esys_TR_Close(c->esys, &c->root);
		}
		Esys_Finalize(&c->esys);
	}
	if (c->tcti != NULL)
		Tss2_TctiLdr_Finalize(&c->tcti);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* The template of the root key: Parsec's TPM provider's storage key (an
 * RSA-2048 restricted decryption key in the owner hierarchy, SHA-256 Name,
 * AES-CFB for its children), so the same seed gives the same key. */
static void root_template(const struct tpm_ctx *c, TPM2B_PUBLIC *t)
{
	memset(t, 0, sizeof(*t));
	t->publicArea.type = TPM2_ALG_RSA;
	t->publicArea.nameAlg = TPM2_ALG_SHA256;
	t->publicArea.objectAttributes =
	        TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
	        TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_DECRYPT | TPMA_OBJECT_RESTRICTED;
	t->publicArea.parameters.rsaDetail.symmetric = c->sym;
	t->publicArea.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
	t->publicArea.parameters.rsaDetail.keyBits = 2048;
	t->publicArea.parameters.rsaDetail.exponent = 0;
}

/* AES-256-CFB for the root key's children where the TPM has it, else
 * AES-128-CFB (Parsec's choice, in the same order). */
static TSS2_RC choose_sym(struct tpm_ctx *c)
{
	static const uint16_t sizes[] = {256, 128};
	TSS2_RC rc = TSS2_RC_SUCCESS;

	for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
		TPMT_PUBLIC_PARMS p = {.type = TPM2_ALG_SYMCIPHER};

		p.parameters.symDetail.sym.algorithm = TPM2_ALG_AES;
		p.parameters.symDetail.sym.keyBits.aes = sizes[i];
		p.parameters.symDetail.sym.mode.aes = TPM2_ALG_CFB;
		rc = Esys_TestParms(c->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &p);
		if (rc == TSS2_RC_SUCCESS) {
			c->sym = p.parameters.symDetail.sym;
			return rc;
		}
		if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
			return rc; /* no answer at all */
	}
	return rc;
}

/* CreatePrimary with the root template, in the owner hierarchy (its auth
 * value set on the context already), with a fresh auth value: the key is
 * the same each time (the seed and template make it), only this process
 * can use it. */
static TSS2_RC create_primary(struct tpm_ctx *c)
{
	TPM2B_SENSITIVE_CREATE sens = {0};
	TPM2B_DATA outside = {0};
	TPML_PCR_SELECTION pcrs = {0};
	TPM2B_PUBLIC tmpl, *out_pub = NULL;
	TPM2B_CREATION_DATA *cdata = NULL;
	TPM2B_DIGEST *chash = NULL;
	TPMT_TK_CREATION *ticket = NULL;
	TSS2_RC rc;

	sens.size = sizeof(sens.sensitive);
	sens.sensitive.userAuth.size = 32;
	if (RAND_bytes(sens.sensitive.userAuth.buffer, 32) != 1)
		return TSS2_ESYS_RC_GENERAL_FAILURE;
	root_template(c, &tmpl);
	rc = Esys_CreatePrimary(c->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
	                        ESYS_TR_NONE, &sens, &tmpl, &outside, &pcrs, &c->root, &out_pub,
	                        &cdata, &chash, &ticket);
	Esys_Free(out_pub);
	Esys_Free(cdata);
	Esys_Free(chash);
	Esys_Free(ticket);
	if (rc == TSS2_RC_SUCCESS) {
		rc = Esys_TR_SetAuth(c->esys, c->root, &sens.sensitive.userAuth);
		if (rc != TSS2_RC_SUCCESS)
			(void)Esys_FlushContext(c->esys, c->root);
	}
	if (rc != TSS2_RC_SUCCESS)
		c->root = ESYS_TR_NONE;
	ts_wipe(&sens, sizeof(sens));
	return rc;
}

static TSS2_RC read_root_name(struct tpm_ctx *c, TPM2B_NAME *ret)
{
	TPM2B_NAME *name = NULL;
	TSS2_RC rc = Esys_TR_GetName(c->esys, c->root, &name);

	if (rc == TSS2_RC_SUCCESS)
		*ret = *name;
	Esys_Free(name);
	return rc;
}

static enum ts_err make_root(struct tpm_ctx *c, const struct tpm_settings *s,
                             const TPM2B_AUTH *owner, const char *path, char *err, size_t errlen)
{
	const char *auth_key =
	        s->auth_credential != NULL ? "owner_auth_credential" : "owner_auth_file";
	TSS2_RC rc;
	enum ts_err st;

	if (s->root_handle != 0) {
		rc = Esys_TR_FromTPMPublic(c->esys, s->root_handle, ESYS_TR_NONE, ESYS_TR_NONE,
		                           ESYS_TR_NONE, &c->root);
		if (rc != TSS2_RC_SUCCESS) {
			st = tpm_status(rc, "reading the persistent root key");
			snprintf(err, errlen, "%s.root_handle: no key at 0x%08x (%s)", path,
			         s->root_handle, Tss2_RC_Decode(rc));
			c->root = ESYS_TR_NONE;
			return st == TS_OK ? TS_E_CONFIG : st;
		}
	} else {
		rc = Esys_TR_SetAuth(c->esys, ESYS_TR_RH_OWNER, owner);
		if (rc == TSS2_RC_SUCCESS)
			rc = create_primary(c);
		if (rc != TSS2_RC_SUCCESS) {
			TSS2_RC b = tpm_rc_base(rc);

			st = tpm_status(rc, "creating the root key (CreatePrimary)");
			if (b == TPM2_RC_BAD_AUTH || b == TPM2_RC_AUTH_FAIL)
				snprintf(err, errlen,
				         "%s.%s: the TPM refused the owner hierarchy auth value",
				         path, auth_key);
			else if (b == TPM2_RC_LOCKOUT)
				snprintf(err, errlen,
				         "%s.%s: the TPM is in dictionary-attack lockout; "
				         "clear it with the lockout auth or wait",
				         path, auth_key);
			else
				snprintf(err, errlen,
				         "%s: the TPM could not create the root key: %s", path,
				         Tss2_RC_Decode(rc));
			return st == TS_OK ? TS_E_PSA_GENERIC_ERROR : st;
		}
		c->root_transient = true;
	}
	rc = read_root_name(c, &c->root_name);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "%s: cannot read the root key's Name: %s", path,
		         Tss2_RC_Decode(rc));
		return tpm_status(rc, "reading the root key's Name");
	}
	return TS_OK;
}

/* The HMAC session: salted with the root key (the salt travels encrypted
 * to it), so HMAC keys and parameter-encryption keys are unknown to anyone
 * on the bus; AES-128-CFB for parameters. */
static TSS2_RC start_session(struct tpm_ctx *c)
{
	TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_AES};
	TSS2_RC rc;

	if (!c->hmac_sessions)
		return TSS2_RC_SUCCESS; /* password sessions: c->session stays NONE */
	sym.keyBits.aes = 128;
	sym.mode.aes = TPM2_ALG_CFB;
	rc = Esys_StartAuthSession(c->esys, c->root, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
	                           ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
	                           &c->session);
	if (rc != TSS2_RC_SUCCESS)
		c->session = ESYS_TR_NONE;
	return rc;
}

ESYS_TR tpm_session(struct tpm_ctx *c, TPMA_SESSION encrypt)
{
	if (c->session == ESYS_TR_NONE ||
	    Esys_TRSess_SetAttributes(c->esys, c->session, TPMA_SESSION_CONTINUESESSION | encrypt,
	                              0xff) != TSS2_RC_SUCCESS)
		return ESYS_TR_PASSWORD;
	return c->session;
}

enum ts_err tpm_root_again(struct tpm_ctx *c)
{
	if (c->seed_changed)
		return TS_E_PSA_DATA_INVALID;
	return tpm_reattach(c);
}

bool tpm_objects_lost(TSS2_RC rc)
{
	TSS2_RC b = tpm_rc_base(rc);

	/* TPM_RC_REFERENCE_H0..H6: a handle names a transient object the TPM
	 * no longer has (a TPM reset, or another client flushed it). */
	return (rc & TSS2_RC_LAYER_MASK) == TSS2_TPM_RC_LAYER && b >= TPM2_RC_REFERENCE_H0 &&
	       b <= TPM2_RC_REFERENCE_S6;
}

/* Flush a handle the TPM may have lost; forget it either way. */
static void forget(struct tpm_ctx *c, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE && Esys_FlushContext(c->esys, *h) != TSS2_RC_SUCCESS)
		(void)Esys_TR_Close(c->esys, h);
	*h = ESYS_TR_NONE;
}

enum ts_err tpm_reattach(struct tpm_ctx *c)
{
	TPM2B_NAME name;
	TSS2_RC rc;

	ts_warn("tpm: the TPM no longer holds the loaded keys (a TPM reset?): loading the root "
	        "key again");
	/* What is still loaded (only one object may have gone, flushed by
	 * another client of a TPM without a resource manager) is flushed, the
	 * rest forgotten. */
	for (unsigned i = 0; i < c->n_cache; i++)
		forget(c, &c->cache[i].handle);
	forget(c, &c->session);
	if (!c->root_transient) {
		/* A persistent key outlives a reset. */
		rc = start_session(c);
		return rc == TSS2_RC_SUCCESS ? TS_OK
		                             : tpm_status(rc, "starting the HMAC session again");
	}
	forget(c, &c->root);
	rc = create_primary(c);
	if (rc == TSS2_RC_SUCCESS)
		rc = read_root_name(c, &name);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_status(rc, "creating the root key again (CreatePrimary)");
	if (name.size != c->root_name.size ||
	    memcmp(name.name, c->root_name.name, name.size) != 0) {
		c->seed_changed = true;
		ts_error("tpm: the TPM was cleared or its storage seed changed while tesserad ran: "
		         "its keys are lost; restart tesserad to see which");
		(void)Esys_FlushContext(c->esys, c->root);
		c->root = ESYS_TR_NONE;
		return TS_E_PSA_DATA_INVALID;
	}
	rc = start_session(c);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_status(rc, "starting the HMAC session again");
	return TS_OK;
}

static enum ts_err tpm_init(const char *settings, const char *path, void **ret_ctx, char *err,
                            size_t errlen)
{
	struct tpm_settings s;
	json_t *o = NULL;
	struct tpm_ctx *c = NULL;
	TPM2B_AUTH owner, endorsement;
	TSS2_RC rc;
	enum ts_err st = load_settings(settings, path, &o, &s, err, errlen);

	memset(&owner, 0, sizeof(owner));
	memset(&endorsement, 0, sizeof(endorsement));
	if (st != TS_OK)
		goto out;
	st = read_auth(s.auth_file, s.auth_credential, "owner", path, &owner, err, errlen);
	if (st != TS_OK)
		goto out;
	st = read_auth(s.eh_file, s.eh_credential, "endorsement", path, &endorsement, err, errlen);
	if (st != TS_OK)
		goto out;
	st = TS_E_NOMEM;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->root = ESYS_TR_NONE;
	c->session = ESYS_TR_NONE;
	c->n_cache = s.loaded_keys;
	for (unsigned i = 0; i < TPM_CACHE_MAX; i++)
		c->cache[i].handle = ESYS_TR_NONE;
	st = TS_E_CONFIG;
	/* tpm2-tss prints its own lines to stderr for every TPM error, also
	 * for those the provider handles (a full TPM); the provider logs each
	 * error it does not handle with its code. TSS2_LOG set by the
	 * administrator wins. */
	(void)setenv("TSS2_LOG", "all+none", 0);
	rc = Tss2_TctiLdr_Initialize(s.tcti, &c->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		ts_warn("tpm: opening the TCTI: TPM RC 0x%08x (%s)", rc, Tss2_RC_Decode(rc));
		snprintf(err, errlen, "%s.tcti: cannot open \"%.200s\": %s", path, s.tcti,
		         Tss2_RC_Decode(rc));
		c->tcti = NULL;
		goto out;
	}
	rc = Esys_Initialize(&c->esys, c->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		snprintf(err, errlen, "%s.tcti: no TPM on \"%.200s\": %s", path, s.tcti,
		         Tss2_RC_Decode(rc));
		c->esys = NULL;
		goto out;
	}
	/* The first command: whether a TPM answers at all. */
	rc = choose_sym(c);
	if (rc != TSS2_RC_SUCCESS) {
		(void)tpm_status(rc, "testing AES-CFB (TestParms)");
		if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
			snprintf(err, errlen, "%s.tcti: no TPM answers on \"%.200s\": %s", path,
			         s.tcti, Tss2_RC_Decode(rc));
		else
			snprintf(err, errlen, "%s: the TPM has no AES-CFB for the root key: %s",
			         path, Tss2_RC_Decode(rc));
		goto out;
	}
	st = make_root(c, &s, &owner, path, err, errlen);
	if (st != TS_OK)
		goto out;
	/* Kept by ESYS for attestation (the EK's policy is PolicySecret on
	 * the endorsement hierarchy). */
	rc = Esys_TR_SetAuth(c->esys, ESYS_TR_RH_ENDORSEMENT, &endorsement);
	if (rc != TSS2_RC_SUCCESS) {
		st = tpm_status(rc, "setting the endorsement auth value");
		snprintf(err, errlen, "%s: %s", path, Tss2_RC_Decode(rc));
		goto out;
	}
	c->hmac_sessions = s.hmac_sessions;
	rc = start_session(c);
	if (rc != TSS2_RC_SUCCESS) {
		st = tpm_status(rc, "starting the HMAC session (StartAuthSession)");
		snprintf(err, errlen, "%s: the TPM could not start an HMAC session: %s", path,
		         Tss2_RC_Decode(rc));
		goto out;
	}
	ts_info("tpm: %s: root key ready on \"%.200s\" (%s, %u key(s) kept loaded)", path, s.tcti,
	        s.root_handle != 0 ? "persistent" : "primary from Parsec's template", c->n_cache);
	*ret_ctx = c;
	c = NULL;
	st = TS_OK;
out:
	ts_wipe(&owner, sizeof(owner));
	ts_wipe(&endorsement, sizeof(endorsement));
	tpm_fini(c);
	json_decref(o);
	return st;
}

static unsigned tpm_max_concurrent(void *ctx)
{
	(void)ctx;
	return 1; /* one ESYS context */
}

const struct prov_ops prov_tpm_ops = {
        .type = "Tpm",
        .id = 3,
        .uuid = "1e4954a4-ff21-46d3-ab0c-661eeb667e1d",
        .description = "TPM 2.0 provider: keys wrapped by the TPM's storage hierarchy",
        .vendor = "Trusted Computing Group (TCG)",
        .version_maj = 0,
        .version_min = 1,
        .version_rev = 0,
        .check_settings = tpm_check_settings,
        .init = tpm_init,
        .fini = tpm_fini,
        .max_concurrent = tpm_max_concurrent,
        .reserve_ref = tpm_reserve_ref,
        .adopt_key = tpm_adopt_key,
        .generate_random = tpm_generate_random,
        .hash_compute = tpm_hash_compute,
        .generate_key = tpm_generate_key,
        .import_key = tpm_import_key,
        .import_native = tpm_import_native,
        .export_public_key = tpm_export_public_key,
        .destroy_key = tpm_destroy_key,
        .sign_hash = tpm_sign_hash,
        .verify_hash = tpm_verify_hash,
        .asym_crypt = tpm_asym_crypt,
        .can_do = tpm_can_do,
        .prepare_key_attestation = tpm_prepare_key_attestation,
        .attest_key = tpm_attest_key,
};
