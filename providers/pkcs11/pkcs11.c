/*
 * The PKCS#11 provider: instance life, settings, the session pool and the
 * status mapping. It takes Parsec's PKCS#11 slot (ID 2, Parsec's UUID) so
 * that Parsec clients can use it.
 *
 * One instance is one token of one module. The module is loaded with
 * dlopen and initialised with CKF_OS_LOCKING_OK; the token is chosen by
 * serial number or label (slot IDs change when a token is initialised or
 * replugged); the user logs in once, and the login lasts while the pool's
 * sessions stay open, which they do for the life of the instance.
 */
#include "providers/pkcs11/pkcs11-priv.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/secmem.h"
#include "providers/software/software-priv.h"

#define P11_MAX_SESSIONS 64
#define P11_PIN_MAX      256

struct p11_settings {
	char *library_path, *serial_number, *token_label, *pin_file, *pin_credential;
	bool sw_public, allow_export;
	unsigned sessions;
};

static void settings_clear(struct p11_settings *s)
{
	free(s->library_path);
	free(s->serial_number);
	free(s->token_label);
	free(s->pin_file);
	free(s->pin_credential);
	memset(s, 0, sizeof(*s));
}

static int get_str(json_t *o, const char *key, const char *path, size_t max, char **ret, char *err,
                   size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s.%s: expected a non-empty string of at most %zu bytes",
		         path, key, max);
		return -1;
	}
	*ret = strdup(json_string_value(v));
	if (*ret == NULL) {
		snprintf(err, errlen, "%s.%s: out of memory", path, key);
		return -1;
	}
	return 0;
}

static int get_bool(json_t *o, const char *key, const char *path, bool *ret, char *err,
                    size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		snprintf(err, errlen, "%s.%s: expected true or false", path, key);
		return -1;
	}
	*ret = json_is_true(v);
	return 0;
}

static const char *const known_keys[] = {
        "library_path",        "serial_number",
        "token_label",         "user_pin_file",
        "user_pin_credential", "software_public_operations",
        "allow_export",        "sessions",
};

/* Parse and validate the settings; nothing is touched but the JSON. */
static enum ts_err parse_settings(const char *text, const char *path, struct p11_settings *s,
                                  char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr), *v;
	const char *key;
	enum ts_err rc = TS_E_CONFIG;

	memset(s, 0, sizeof(*s));
	s->sessions = 4;
	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "%s: settings are not a JSON object", path);
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		bool known = false;

		for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
			known = known || strcmp(key, known_keys[i]) == 0;
		if (strcmp(key, "user_pin") == 0) {
			snprintf(err, errlen,
			         "%s.user_pin: a PIN written in the configuration is refused (the "
			         "file is readable by others); give user_pin_file or "
			         "user_pin_credential",
			         path);
			goto out;
		}
		if (strcmp(key, "slot_number") == 0) {
			snprintf(err, errlen,
			         "%s.slot_number: slots are not stable (initialising or replugging "
			         "a token moves it); choose the token by serial_number or "
			         "token_label",
			         path);
			goto out;
		}
		if (!known) {
			snprintf(err, errlen, "%s.%.64s: unknown key for a Pkcs11 provider", path,
			         key);
			goto out;
		}
	}
	if (get_str(o, "library_path", path, 4095, &s->library_path, err, errlen) < 0 ||
	    get_str(o, "serial_number", path, 16, &s->serial_number, err, errlen) < 0 ||
	    get_str(o, "token_label", path, 32, &s->token_label, err, errlen) < 0 ||
	    get_str(o, "user_pin_file", path, 4095, &s->pin_file, err, errlen) < 0 ||
	    get_str(o, "user_pin_credential", path, 255, &s->pin_credential, err, errlen) < 0 ||
	    get_bool(o, "software_public_operations", path, &s->sw_public, err, errlen) < 0 ||
	    get_bool(o, "allow_export", path, &s->allow_export, err, errlen) < 0)
		goto out;
	if (s->library_path == NULL) {
		snprintf(err, errlen, "%s.library_path: missing (the PKCS#11 module to load)",
		         path);
		goto out;
	}
	if (s->library_path[0] != '/') {
		snprintf(err, errlen, "%s.library_path: expected an absolute path", path);
		goto out;
	}
	if (s->serial_number != NULL && s->token_label != NULL) {
		snprintf(err, errlen, "%s.token_label: give serial_number or token_label, not both",
		         path);
		goto out;
	}
	if (s->pin_file != NULL && s->pin_credential != NULL) {
		snprintf(err, errlen,
		         "%s.user_pin_credential: give user_pin_file or user_pin_credential, not "
		         "both",
		         path);
		goto out;
	}
	if (s->pin_credential != NULL &&
	    (strchr(s->pin_credential, '/') != NULL || s->pin_credential[0] == '.')) {
		snprintf(err, errlen,
		         "%s.user_pin_credential: expected a credential name, not a path", path);
		goto out;
	}
	v = json_object_get(o, "sessions");
	if (v != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > P11_MAX_SESSIONS) {
			snprintf(err, errlen, "%s.sessions: expected an integer from 1 to %d", path,
			         P11_MAX_SESSIONS);
			goto out;
		}
		s->sessions = (unsigned)json_integer_value(v);
	}
	rc = TS_OK;
out:
	json_decref(o);
	if (rc != TS_OK)
		settings_clear(s);
	return rc;
}

static enum ts_err p11_check_settings(const char *settings, const char *path, char *err,
                                      size_t errlen)
{
	struct p11_settings s;
	enum ts_err rc = parse_settings(settings, path, &s, err, errlen);

	if (rc == TS_OK)
		settings_clear(&s);
	return rc;
}

/* ---- status mapping ---- */

#define RV_LIST(X)                                                                                                     \
	X(CKR_OK)                                                                                                      \
	X(CKR_HOST_MEMORY)                                                                                             \
	X(CKR_SLOT_ID_INVALID)                                                                                         \
	X(CKR_GENERAL_ERROR)                                                                                           \
	X(CKR_FUNCTION_FAILED)                                                                                         \
	X(CKR_ARGUMENTS_BAD)                                                                                           \
	X(CKR_ATTRIBUTE_READ_ONLY)                                                                                     \
	X(CKR_ATTRIBUTE_SENSITIVE)                                                                                     \
	X(CKR_ATTRIBUTE_TYPE_INVALID)                                                                                  \
	X(CKR_ATTRIBUTE_VALUE_INVALID) X(CKR_DATA_INVALID) X(CKR_DATA_LEN_RANGE) X(CKR_DEVICE_ERROR) X(                \
	        CKR_DEVICE_MEMORY) X(CKR_DEVICE_REMOVED) X(CKR_ENCRYPTED_DATA_INVALID) X(CKR_ENCRYPTED_DATA_LEN_RANGE) \
	        X(CKR_FUNCTION_NOT_SUPPORTED) X(CKR_KEY_HANDLE_INVALID) X(CKR_KEY_SIZE_RANGE) X(                       \
	                CKR_KEY_TYPE_INCONSISTENT) X(CKR_KEY_FUNCTION_NOT_PERMITTED) X(CKR_MECHANISM_INVALID)          \
	                X(CKR_MECHANISM_PARAM_INVALID) X(CKR_OBJECT_HANDLE_INVALID) X(                                 \
	                        CKR_OPERATION_ACTIVE) X(CKR_PIN_INCORRECT) X(CKR_PIN_INVALID)                          \
	                        X(CKR_PIN_LEN_RANGE) X(CKR_PIN_EXPIRED) X(CKR_PIN_LOCKED) X(                           \
	                                CKR_SESSION_CLOSED) X(CKR_SESSION_COUNT) X(CKR_SESSION_HANDLE_INVALID)         \
	                                X(CKR_SIGNATURE_INVALID) X(CKR_SIGNATURE_LEN_RANGE) X(                         \
	                                        CKR_TEMPLATE_INCOMPLETE) X(CKR_TEMPLATE_INCONSISTENT)                  \
	                                        X(CKR_TOKEN_NOT_PRESENT) X(CKR_TOKEN_NOT_RECOGNIZED) X(                \
	                                                CKR_USER_ALREADY_LOGGED_IN) X(CKR_USER_NOT_LOGGED_IN)          \
	                                                X(CKR_USER_PIN_NOT_INITIALIZED) X(                             \
	                                                        CKR_USER_TYPE_INVALID) X(CKR_DOMAIN_PARAMS_INVALID)    \
	                                                        X(CKR_CURVE_NOT_SUPPORTED) X(                          \
	                                                                CKR_BUFFER_TOO_SMALL)                          \
	                                                                X(CKR_RANDOM_NO_RNG) X(                        \
	                                                                        CKR_CRYPTOKI_NOT_INITIALIZED)          \
	                                                                        X(CKR_CRYPTOKI_ALREADY_INITIALIZED)    \
	                                                                                X(CKR_STATE_UNSAVEABLE)

const char *p11_rv_name(CK_RV rv)
{
#define X(n)         \
	if (rv == n) \
		return #n;
	RV_LIST(X)
#undef X
	return "CKR_(other)";
}

enum ts_err p11_status(CK_RV rv)
{
	switch (rv) {
	case CKR_OK:
		return TS_OK;
	case CKR_HOST_MEMORY:
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	case CKR_DEVICE_MEMORY:
		return TS_E_PSA_INSUFFICIENT_STORAGE;
	case CKR_DEVICE_ERROR:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_STATE_UNSAVEABLE:
		return TS_E_PSA_HARDWARE_FAILURE;
	case CKR_SIGNATURE_INVALID:
	case CKR_SIGNATURE_LEN_RANGE:
		return TS_E_PSA_INVALID_SIGNATURE;
	case CKR_ENCRYPTED_DATA_INVALID:
	case CKR_ENCRYPTED_DATA_LEN_RANGE:
		return TS_E_PSA_INVALID_PADDING;
	case CKR_RANDOM_NO_RNG:
		return TS_E_PSA_INSUFFICIENT_ENTROPY;
	case CKR_CURVE_NOT_SUPPORTED:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_FUNCTION_NOT_SUPPORTED:
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_SIZE_RANGE:
		return TS_E_PSA_NOT_SUPPORTED;
	case CKR_KEY_FUNCTION_NOT_PERMITTED:
	case CKR_USER_NOT_LOGGED_IN:
	case CKR_ATTRIBUTE_SENSITIVE:
		return TS_E_PSA_NOT_PERMITTED;
	case CKR_DATA_INVALID:
	case CKR_DATA_LEN_RANGE:
	case CKR_ARGUMENTS_BAD:
	case CKR_ATTRIBUTE_VALUE_INVALID:
	case CKR_TEMPLATE_INCONSISTENT:
		return TS_E_PSA_INVALID_ARGUMENT;
	case CKR_OBJECT_HANDLE_INVALID:
	case CKR_KEY_HANDLE_INVALID:
		return TS_E_PSA_DOES_NOT_EXIST;
	default:
		return TS_E_PSA_COMMUNICATION_FAILURE;
	}
}

/* ---- sessions ---- */

CK_SESSION_HANDLE p11_session_get(struct p11 *p)
{
	CK_SESSION_HANDLE s;

	pthread_mutex_lock(&p->lock);
	while (p->n_free == 0)
		pthread_cond_wait(&p->cond, &p->lock);
	s = p->free_list[--p->n_free];
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* Log the user in on a session (the login is the application's). */
static CK_RV login(struct p11 *p, CK_SESSION_HANDLE s)
{
	CK_RV rv;

	if (p->pin == NULL)
		return CKR_OK;
	rv = p->f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)p->pin, (CK_ULONG)p->pin_len);
	return rv == CKR_USER_ALREADY_LOGGED_IN ? CKR_OK : rv;
}

/* After a failure: a session the token no longer has (or that lost the
 * login) is replaced. A token that is gone keeps the old handle, and the
 * next failure tries again. */
static CK_SESSION_HANDLE check_session(struct p11 *p, CK_SESSION_HANDLE s)
{
	CK_SESSION_INFO info;
	CK_SESSION_HANDLE fresh;
	CK_RV rv = p->f->C_GetSessionInfo(s, &info);

	if (rv == CKR_OK && (p->pin == NULL || info.state == CKS_RW_USER_FUNCTIONS))
		return s;
	if (rv == CKR_OK) {
		(void)login(p, s); /* the login was lost, the session is fine */
		return s;
	}
	if (p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &fresh) !=
	    CKR_OK)
		return s;
	(void)p->f->C_CloseSession(s);
	(void)login(p, fresh);
	for (unsigned i = 0; i < p->n_sessions; i++)
		if (p->sessions[i] == s)
			p->sessions[i] = fresh;
	return fresh;
}

void p11_session_put(struct p11 *p, CK_SESSION_HANDLE s, enum ts_err err)
{
	if (err == TS_E_PSA_HARDWARE_FAILURE || err == TS_E_PSA_COMMUNICATION_FAILURE ||
	    err == TS_E_PSA_NOT_PERMITTED)
		s = check_session(p, s);
	pthread_mutex_lock(&p->lock);
	p->free_list[p->n_free++] = s;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

bool p11_has_mech(const struct p11 *p, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO *ret_info)
{
	for (CK_ULONG i = 0; i < p->n_mechs; i++) {
		if (p->mechs[i] != m)
			continue;
		if (ret_info != NULL && p->f->C_GetMechanismInfo(p->slot, m, ret_info) != CKR_OK)
			return false;
		return true;
	}
	return false;
}

/* ---- start and stop ---- */

/* A space-padded PKCS#11 text field equals s (trailing and leading blanks
 * ignored, as serial numbers are padded either way). */
static bool field_is(const CK_UTF8CHAR *field, size_t size, const char *s)
{
	size_t b = 0, e = size, n = strlen(s);

	while (b < e && field[b] == ' ')
		b++;
	while (e > b && (field[e - 1] == ' ' || field[e - 1] == '\0'))
		e--;
	return e - b == n && memcmp(field + b, s, n) == 0;
}

static enum ts_err pick_slot(struct p11 *p, const struct p11_settings *s, const char *path,
                             char *err, size_t errlen)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;
	unsigned found = 0;
	enum ts_err rc = TS_E_CONFIG;
	const char *key = s->serial_number != NULL ? "serial_number"
	                  : s->token_label != NULL ? "token_label"
	                                           : "library_path";

	rv = p->f->C_GetSlotList(CK_TRUE, NULL, &n);
	if (rv == CKR_OK && n > 0) {
		slots = calloc(n, sizeof(*slots));
		if (slots == NULL)
			return TS_E_NOMEM;
		rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
	}
	if (rv != CKR_OK) {
		snprintf(err, errlen, "%s.library_path: C_GetSlotList failed: %s", path,
		         p11_rv_name(rv));
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;

		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		if (s->serial_number != NULL &&
		    !field_is(ti.serialNumber, sizeof(ti.serialNumber), s->serial_number))
			continue;
		if (s->token_label != NULL && !field_is(ti.label, sizeof(ti.label), s->token_label))
			continue;
		if (found++ == 0)
			p->slot = slots[i];
	}
	if (found == 0) {
		snprintf(err, errlen, "%s.%s: the module has no initialised token%s%s%s", path, key,
		         s->serial_number ? " with serial number \""
		         : s->token_label ? " labelled \""
		                          : "",
		         s->serial_number ? s->serial_number
		         : s->token_label ? s->token_label
		                          : "",
		         s->serial_number || s->token_label ? "\"" : "");
		goto out;
	}
	if (found > 1) {
		snprintf(err, errlen,
		         "%s.%s: %u initialised tokens match; choose one by serial_number", path,
		         key, found);
		goto out;
	}
	rc = TS_OK;
out:
	free(slots);
	return rc;
}

/* Read the user PIN from its file or systemd credential. TS_OK with
 * *ret NULL when none is configured. */
static enum ts_err read_pin(const struct p11_settings *s, const char *path, char **ret,
                            size_t *ret_len, char *err, size_t errlen)
{
	const char *key = s->pin_file != NULL ? "user_pin_file" : "user_pin_credential";
	char file[4352], *pin = NULL;
	const char *dir;
	struct stat st;
	ssize_t n;
	int fd;

	*ret = NULL;
	*ret_len = 0;
	if (s->pin_file == NULL && s->pin_credential == NULL)
		return TS_OK;
	if (s->pin_file != NULL) {
		snprintf(file, sizeof(file), "%s", s->pin_file);
	} else {
		dir = getenv("CREDENTIALS_DIRECTORY");
		if (dir == NULL || dir[0] == '\0') {
			snprintf(err, errlen,
			         "%s.user_pin_credential: $CREDENTIALS_DIRECTORY is not set (run "
			         "under systemd with LoadCredential=)",
			         path);
			return TS_E_CONFIG;
		}
		snprintf(file, sizeof(file), "%s/%s", dir, s->pin_credential);
	}
	fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s.%s: cannot open %s: %s", path, key, file,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		return TS_E_CONFIG;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0077) != 0) {
		snprintf(err, errlen,
		         "%s.%s: %s must be a regular file only its owner can read (mode 0600 or "
		         "0400)",
		         path, key, file);
		close(fd);
		return TS_E_CONFIG;
	}
	pin = malloc(P11_PIN_MAX + 1);
	if (pin == NULL) {
		close(fd);
		return TS_E_NOMEM;
	}
	n = read(fd, pin, P11_PIN_MAX + 1);
	close(fd);
	if (n < 0 || n > P11_PIN_MAX) {
		snprintf(err, errlen, "%s.%s: %s: %s", path, key, file,
		         n < 0 ? strerror(errno) : "longer than 256 bytes");
		ts_free_secret(pin, P11_PIN_MAX + 1);
		return TS_E_CONFIG;
	}
	/* One trailing line end is the file's, not the PIN's. */
	if (n > 0 && pin[n - 1] == '\n')
		n--;
	if (n > 0 && pin[n - 1] == '\r')
		n--;
	if (n == 0) {
		snprintf(err, errlen, "%s.%s: %s is empty", path, key, file);
		ts_free_secret(pin, P11_PIN_MAX + 1);
		return TS_E_CONFIG;
	}
	*ret = pin;
	*ret_len = (size_t)n;
	return TS_OK;
}

static void p11_fini(void *ctx)
{
	struct p11 *p = ctx;

	if (p == NULL)
		return;
	if (p->f != NULL) {
		/* Closing the last session also ends the login. */
		for (unsigned i = 0; i < p->n_sessions; i++)
			(void)p->f->C_CloseSession(p->sessions[i]);
		if (p->finalize)
			(void)p->f->C_Finalize(NULL);
	}
	if (p->lib != NULL)
		dlclose(p->lib);
	if (p->pin != NULL)
		ts_free_secret(p->pin, P11_PIN_MAX + 1);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->sessions);
	free(p->free_list);
	free(p->mechs);
	free(p);
}

static enum ts_err load_module(struct p11 *p, const struct p11_settings *s, const char *path,
                               char *err, size_t errlen)
{
	CK_C_GetFunctionList get;
	CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
	CK_RV rv;

	p->lib = dlopen(s->library_path, RTLD_NOW | RTLD_LOCAL);
	if (p->lib == NULL) {
		snprintf(err, errlen, "%s.library_path: cannot load the module: %s", path,
		         dlerror());
		return TS_E_CONFIG;
	}
	get = (CK_C_GetFunctionList)dlsym(p->lib, "C_GetFunctionList");
	if (get == NULL) {
		snprintf(err, errlen,
		         "%s.library_path: %s is not a PKCS#11 module (no "
		         "C_GetFunctionList)",
		         path, s->library_path);
		return TS_E_CONFIG;
	}
	rv = get(&p->f);
	if (rv != CKR_OK || p->f == NULL) {
		p->f = NULL;
		snprintf(err, errlen, "%s.library_path: C_GetFunctionList failed: %s", path,
		         p11_rv_name(rv));
		return TS_E_CONFIG;
	}
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		p->f = NULL;
		snprintf(err, errlen, "%s.library_path: C_Initialize failed: %s", path,
		         p11_rv_name(rv));
		return TS_E_CONFIG;
	}
	/* Another instance on the same module initialised it: it finalises. */
	p->finalize = rv == CKR_OK;
	return TS_OK;
}

static enum ts_err open_sessions(struct p11 *p, const struct p11_settings *s, const char *path,
                                 char *err, size_t errlen)
{
	char *pin = NULL;
	size_t pin_len = 0;
	enum ts_err rc;
	CK_RV rv;

	p->sessions = calloc(s->sessions, sizeof(*p->sessions));
	p->free_list = calloc(s->sessions, sizeof(*p->free_list));
	if (p->sessions == NULL || p->free_list == NULL)
		return TS_E_NOMEM;
	for (unsigned i = 0; i < s->sessions; i++) {
		rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
		                         &p->sessions[i]);
		if (rv != CKR_OK) {
			snprintf(err, errlen, "%s.sessions: opening session %u of %u failed: %s",
			         path, i + 1, s->sessions, p11_rv_name(rv));
			return TS_E_CONFIG;
		}
		p->n_sessions++;
		p->free_list[p->n_free++] = p->sessions[i];
	}
	rc = read_pin(s, path, &pin, &pin_len, err, errlen);
	if (rc != TS_OK || pin == NULL)
		return rc;
	p->pin = pin;
	p->pin_len = pin_len;
	/* Login is the application's, shared by every session. */
	rv = login(p, p->sessions[0]);
	if (rv != CKR_OK) {
		snprintf(err, errlen, "%s.%s: the token refused the user login: %s%s", path,
		         s->pin_file != NULL ? "user_pin_file" : "user_pin_credential",
		         p11_rv_name(rv),
		         rv == CKR_PIN_INCORRECT ? " (wrong PIN)"
		         : rv == CKR_PIN_LOCKED  ? " (the PIN is locked; the security officer must "
		                                   "reset it)"
		                                 : "");
		return TS_E_CONFIG;
	}
	return TS_OK;
}

static enum ts_err read_mechanisms(struct p11 *p, const char *path, char *err, size_t errlen)
{
	CK_ULONG n = 0;
	CK_RV rv = p->f->C_GetMechanismList(p->slot, NULL, &n);

	if (rv == CKR_OK && n > 0) {
		p->mechs = calloc(n, sizeof(*p->mechs));
		if (p->mechs == NULL)
			return TS_E_NOMEM;
		rv = p->f->C_GetMechanismList(p->slot, p->mechs, &n);
	}
	if (rv != CKR_OK) {
		snprintf(err, errlen, "%s: C_GetMechanismList failed: %s", path, p11_rv_name(rv));
		return TS_E_CONFIG;
	}
	p->n_mechs = n;
	return TS_OK;
}

static enum ts_err p11_init(const char *settings, const char *path, void **ret_ctx, char *err,
                            size_t errlen)
{
	struct p11_settings s;
	struct p11 *p;
	enum ts_err rc = parse_settings(settings, path, &s, err, errlen);

	if (rc != TS_OK)
		return rc;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		settings_clear(&s);
		snprintf(err, errlen, "%s: out of memory", path);
		return TS_E_NOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->sw_public = s.sw_public;
	p->allow_export = s.allow_export;
	rc = load_module(p, &s, path, err, errlen);
	if (rc == TS_OK)
		rc = pick_slot(p, &s, path, err, errlen);
	if (rc == TS_OK)
		rc = read_mechanisms(p, path, err, errlen);
	if (rc == TS_OK)
		rc = open_sessions(p, &s, path, err, errlen);
	if (rc == TS_OK)
		p11_probe_oaep(p);
	settings_clear(&s);
	if (rc != TS_OK) {
		if (rc == TS_E_NOMEM)
			snprintf(err, errlen, "%s: out of memory", path);
		p11_fini(p);
		return rc;
	}
	*ret_ctx = p;
	return TS_OK;
}

static unsigned p11_max_concurrent(void *ctx)
{
	return ((struct p11 *)ctx)->n_sessions;
}

/* ---- random and hashing ---- */

static enum ts_err p11_generate_random(void *ctx, uint8_t *out, size_t len)
{
	struct p11 *p = ctx;
	CK_SESSION_HANDLE s = p11_session_get(p);
	CK_RV rv = CKR_OK;

	while (rv == CKR_OK && len > 0) {
		CK_ULONG chunk = len > 65536 ? 65536 : (CK_ULONG)len;

		rv = p->f->C_GenerateRandom(s, out, chunk);
		out += chunk;
		len -= chunk;
	}
	p11_session_put(p, s, p11_status(rv));
	return rv == CKR_OK ? TS_OK : p11_status(rv);
}

bool p11_hash_mech(unsigned hash, CK_MECHANISM_TYPE *ret_mech, CK_MECHANISM_TYPE *ret_mgf)
{
	static const struct {
		unsigned psa;
		CK_MECHANISM_TYPE mech, mgf;
	} map[] = {
	        {PROV_HASH_SHA_1, CKM_SHA_1, CKG_MGF1_SHA1},
	        {PROV_HASH_SHA_224, CKM_SHA224, CKG_MGF1_SHA224},
	        {PROV_HASH_SHA_256, CKM_SHA256, CKG_MGF1_SHA256},
	        {PROV_HASH_SHA_384, CKM_SHA384, CKG_MGF1_SHA384},
	        {PROV_HASH_SHA_512, CKM_SHA512, CKG_MGF1_SHA512},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].psa == hash) {
			if (ret_mech != NULL)
				*ret_mech = map[i].mech;
			if (ret_mgf != NULL)
				*ret_mgf = map[i].mgf;
			return true;
		}
	return false;
}

/* Hashes are public computations: done in process (a token round trip per
 * message would only add latency); the core uses this for sign_message. */
static enum ts_err p11_hash_compute(void *ctx, enum prov_hash alg, const uint8_t *in, size_t len,
                                    uint8_t *out, size_t outsize, size_t *ret_len)
{
	(void)ctx;
	/* The hashes a token key's mechanisms take; OpenSSL's code, shared
	 * with the software provider, computes them. */
	if (!p11_hash_mech(alg, NULL, NULL))
		return TS_E_PSA_NOT_SUPPORTED;
	return prov_software_ops.hash_compute(NULL, alg, in, len, out, outsize, ret_len);
}

const struct prov_ops prov_pkcs11_ops = {
        .type = "Pkcs11",
        .id = 2,
        .uuid = "30e39502-eba6-4d60-a4af-c518b7f5e38f",
        .description = "PKCS#11 provider: keys as objects on a PKCS#11 token",
        .vendor = "Tessera",
        .version_maj = 0,
        .version_min = 1,
        .version_rev = 0,
        .check_settings = p11_check_settings,
        .init = p11_init,
        .fini = p11_fini,
        .max_concurrent = p11_max_concurrent,
        .reserve_ref = p11_reserve_ref,
        .recover_key = p11_recover_key,
        .generate_random = p11_generate_random,
        .hash_compute = p11_hash_compute,
        .generate_key = p11_generate_key,
        .import_key = p11_import_key,
        .export_key = p11_export_key,
        .export_public_key = p11_export_public_key,
        .destroy_key = p11_destroy_key,
        .sign_hash = p11_sign_hash,
        .verify_hash = p11_verify_hash,
        .aead = p11_aead,
        .mac = p11_mac,
        .mp_slots = p11_mp_slots,
        .mp_setup = p11_mp_setup,
        .mp_set_iv = p11_mp_set_iv,
        .mp_set_lengths = p11_mp_set_lengths,
        .mp_update = p11_mp_update,
        .mp_finish = p11_mp_finish,
        .mp_verify = p11_mp_verify,
        .mp_free = p11_mp_free,
        .asym_crypt = p11_asym_crypt,
        .key_agreement = p11_key_agreement,
        .can_do = p11_can_do,
};
