/*
 * A stand-in for libts.so.2 over the test endpoint, for the end-to-end
 * tests: the eight functions of libts 2.x's public API that the provider's
 * libts transport loads by name. The endpoint's persistent keys are kept in
 * the file named by TSFAKE_STORE (in the test's own directory), so that they
 * outlive a daemon restart as a secure partition's keys do.
 *
 * Like libts on Arm Linux, a session has one 8 KiB buffer and begin() fails
 * for a request or response longer than it. TSFAKE_FAULT="rpc,service"
 * forces the status of every call and TSFAKE_RESPONSE damages its answer,
 * for fault tests.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsfake.h"

#define EXPORTED __attribute__((visibility("default")))

struct fake_context {
	int unused;
};

struct fake_session {
	struct tsfake *f;
	uint8_t buf[TSFAKE_BUFFER];
	size_t req_len;
	bool in_call;
};

static struct fake_context the_context;

EXPORTED void service_locator_init(void)
{
}

EXPORTED void *service_locator_query(const char *name)
{
	/* The linux-pc locator compares the whole name. */
	return name != NULL && strcmp(name, "sn:trustedfirmware.org:crypto:0") == 0 ? &the_context
	                                                                            : NULL;
}

EXPORTED void *service_context_open(void *ctx)
{
	struct fake_session *s;

	if (ctx != &the_context)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->f = tsfake_new(getenv("TSFAKE_STORE"));
	if (s->f == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

EXPORTED void service_context_close(void *ctx, void *session)
{
	struct fake_session *s = session;

	(void)ctx;
	if (s == NULL)
		return;
	tsfake_free(s->f);
	free(s);
}

EXPORTED void service_context_relinquish(void *ctx)
{
	(void)ctx;
}

EXPORTED void *rpc_caller_session_begin(void *session, uint8_t **req_buf, size_t req_len,
                                        size_t resp_max)
{
	struct fake_session *s = session;

	if (s == NULL || s->in_call || req_len > TSFAKE_BUFFER || resp_max > TSFAKE_BUFFER)
		return NULL;
	s->in_call = true;
	s->req_len = req_len;
	*req_buf = s->buf;
	return s;
}

/* TSFAKE_RESPONSE="truncate" drops the answer's last byte, "oversize" claims
 * one more byte than the buffer has: a broken endpoint. */
static void damage(size_t *resp_len)
{
	const char *how = getenv("TSFAKE_RESPONSE");

	if (how == NULL)
		return;
	if (strcmp(how, "truncate") == 0 && *resp_len > 0)
		(*resp_len)--;
	else if (strcmp(how, "oversize") == 0)
		*resp_len = TSFAKE_BUFFER + 1;
}

EXPORTED int32_t rpc_caller_session_invoke(void *handle, uint32_t opcode, uint8_t **resp_buf,
                                           size_t *resp_len, int64_t *service_status)
{
	struct fake_session *s = handle;
	const char *fault = getenv("TSFAKE_FAULT");
	int rpc = 0, service = 0;

	if (s == NULL || !s->in_call)
		return -4; /* RPC_ERROR_INVALID_STATE */
	if (fault != NULL && sscanf(fault, "%d,%d", &rpc, &service) == 2)
		tsfake_force(s->f, rpc, service);
	*resp_buf = s->buf;
	rpc = tsfake_call(s->f, opcode, s->buf, sizeof(s->buf), s->req_len, resp_len,
	                  service_status);
	damage(resp_len);
	return rpc;
}

EXPORTED int32_t rpc_caller_session_end(void *handle)
{
	struct fake_session *s = handle;

	if (s == NULL || !s->in_call)
		return -4;
	s->in_call = false;
	return 0;
}
