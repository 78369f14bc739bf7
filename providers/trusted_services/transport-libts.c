/*
 * The libts transport: Trusted Services' own client library, loaded at run
 * time so that nothing of TS is needed to build. Only opaque pointers cross
 * the boundary; the eight functions are libts 2.x's public API (TS >= 1.0).
 */
#include "providers/trusted_services/ts-transport.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct libts_api {
	void (*locator_init)(void);
	void *(*locator_query)(const char *name);
	void *(*context_open)(void *ctx);
	void (*context_close)(void *ctx, void *session);
	void (*context_relinquish)(void *ctx);
	void *(*session_begin)(void *session, uint8_t **req_buf, size_t req_len, size_t resp_max);
	int32_t (*session_invoke)(void *handle, uint32_t opcode, uint8_t **resp_buf,
	                          size_t *resp_len, int64_t *service_status);
	int32_t (*session_end)(void *handle);
};

struct libts {
	void *dl;
	struct libts_api api;
	void *ctx, *session;
};

/* The library's names, release build first (the corrections to the notes:
 * TS's default build type is debug, which names it libtsd). */
static const char *const default_names[] = {"libts.so.2", "libtsd.so.2"};

static void libts_close(void *t)
{
	struct libts *l = t;

	if (l == NULL)
		return;
	if (l->session != NULL)
		l->api.context_close(l->ctx, l->session);
	if (l->ctx != NULL)
		l->api.context_relinquish(l->ctx);
	if (l->dl != NULL)
		dlclose(l->dl);
	free(l);
}

static bool resolve(struct libts *l)
{
	/* A data pointer converted to a function pointer, as dlsym requires. */
#define SYM(field, name)                                          \
	do {                                                      \
		void *p_ = dlsym(l->dl, name);                    \
		if (p_ == NULL)                                   \
			return false;                             \
		memcpy(&l->api.field, &p_, sizeof(l->api.field)); \
	} while (0)
	SYM(locator_init, "service_locator_init");
	SYM(locator_query, "service_locator_query");
	SYM(context_open, "service_context_open");
	SYM(context_close, "service_context_close");
	SYM(context_relinquish, "service_context_relinquish");
	SYM(session_begin, "rpc_caller_session_begin");
	SYM(session_invoke, "rpc_caller_session_invoke");
	SYM(session_end, "rpc_caller_session_end");
#undef SYM
	return true;
}

static enum ts_err libts_open(const struct tst_settings *s, void **ret, char *err, size_t errlen)
{
	struct libts *l = calloc(1, sizeof(*l));
	const char *tried = s->libts_path;
	enum ts_err rc = TS_E_NOMEM;

	if (l == NULL)
		goto out;
	rc = TS_E_CONFIG;
	if (s->libts_path != NULL) {
		l->dl = dlopen(s->libts_path, RTLD_NOW | RTLD_LOCAL);
	} else {
		for (size_t i = 0; l->dl == NULL && i < 2; i++)
			l->dl = dlopen(default_names[i], RTLD_NOW | RTLD_LOCAL);
		tried = "libts.so.2 or libtsd.so.2";
	}
	if (l->dl == NULL) {
		snprintf(err, errlen, "%s.libts_path: cannot load %.200s: %.200s", s->path, tried,
		         dlerror());
		goto out;
	}
	if (!resolve(l)) {
		snprintf(err, errlen,
		         "%s.libts_path: %.200s is not libts 2.x (the session API of Trusted "
		         "Services 1.0 or later is missing)",
		         s->path, tried);
		goto out;
	}
	l->api.locator_init();
	l->ctx = l->api.locator_query(s->service);
	if (l->ctx == NULL) {
		snprintf(err, errlen, "%s.service: libts knows no service \"%.100s\"", s->path,
		         s->service);
		goto out;
	}
	l->session = l->api.context_open(l->ctx);
	if (l->session == NULL) {
		rc = TS_E_PSA_COMMUNICATION_FAILURE;
		snprintf(err, errlen, "%s.service: libts could not open a session with \"%.100s\"",
		         s->path, s->service);
		goto out;
	}
	*ret = l;
	l = NULL;
	rc = TS_OK;
out:
	libts_close(l);
	return rc;
}

static size_t libts_max_payload(void *t)
{
	(void)t;
	/* libts opens its sessions with one buffer of this size on Arm Linux
	 * (linux-pc has more; we keep to what hardware takes). */
	return TST_PAYLOAD_MAX;
}

static enum ts_err libts_call(void *t, uint32_t opcode, const uint8_t *req, size_t req_len,
                              uint8_t *resp, size_t resp_cap, size_t *ret_len, int32_t *ret_rpc,
                              int64_t *ret_service)
{
	struct libts *l = t;
	uint8_t *req_buf = NULL, *resp_buf = NULL;
	size_t resp_len = 0;
	int64_t service = 0;
	int32_t rpc;
	void *h;

	if (req_len > TST_PAYLOAD_MAX || resp_cap > TST_PAYLOAD_MAX)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	h = l->api.session_begin(l->session, &req_buf, req_len, resp_cap);
	if (h == NULL || (req_len > 0 && req_buf == NULL))
		return TS_E_PSA_COMMUNICATION_FAILURE;
	if (req_len > 0)
		memcpy(req_buf, req, req_len);
	rpc = l->api.session_invoke(h, opcode, &resp_buf, &resp_len, &service);
	if (rpc == 0) {
		if (resp_len > resp_cap || (resp_len > 0 && resp_buf == NULL)) {
			rpc = -7; /* invalid response body: more than we can take */
		} else if (resp_len > 0) {
			memcpy(resp, resp_buf, resp_len);
		}
	}
	/* The buffer is the session's for its life: leave no key or plaintext
	 * in it. */
	if (resp_buf != NULL && resp_len > 0 && resp_len <= TST_PAYLOAD_MAX)
		OPENSSL_cleanse(resp_buf, resp_len);
	if (req_buf != NULL && req_len > 0)
		OPENSSL_cleanse(req_buf, req_len);
	(void)l->api.session_end(h);
	*ret_rpc = rpc;
	*ret_service = service;
	*ret_len = rpc == 0 ? resp_len : 0;
	return TS_OK;
}

const struct tst_ops tst_libts_ops = {
        .name = "libts",
        .open = libts_open,
        .max_payload = libts_max_payload,
        .call = libts_call,
        .close = libts_close,
};
