/*
 * How a packed-c request reaches the Trusted Services crypto service: one
 * session, one request at a time (the caller serialises), request and
 * response at most max_payload() bytes each.
 */
#ifndef TESSERA_PROVIDERS_TS_TRANSPORT_H
#define TESSERA_PROVIDERS_TS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/errors.h"

/* The instance's transport settings; NULL when not configured. */
struct tst_settings {
	const char *path;       /* the instance's key path, "providers[1]", for messages */
	const char *device;     /* tstee: "/dev/teeN"; NULL scans /dev/tee0..15 */
	const char *libts_path; /* libts: a libts.so.2 or libtsd.so.2 */
	const char *service;    /* the service name */
};

/* The one-buffer size libts uses on Arm Linux, and what tstee allocates. */
#define TST_PAYLOAD_MAX 8192u

struct tst_ops {
	const char *name;
	/* TS_OK and *ret; TS_E_CONFIG when a setting is wrong, or
	 * TS_E_PSA_COMMUNICATION_FAILURE when the service does not answer,
	 * with a message in err naming the setting (path.key). */
	enum ts_err (*open)(const struct tst_settings *s, void **ret, char *err, size_t errlen);
	size_t (*max_payload)(void *t);
	/* One request. TS_OK when the endpoint answered: *ret_rpc and (when
	 * *ret_rpc is 0) *ret_service and the response in resp[0..*ret_len).
	 * TS_E_PSA_COMMUNICATION_FAILURE when the call did not complete,
	 * TS_E_PSA_INSUFFICIENT_MEMORY for a request or response capacity over
	 * max_payload(). */
	enum ts_err (*call)(void *t, uint32_t opcode, const uint8_t *req, size_t req_len,
	                    uint8_t *resp, size_t resp_cap, size_t *ret_len, int32_t *ret_rpc,
	                    int64_t *ret_service);
	void (*close)(void *t); /* NULL ok */
};

extern const struct tst_ops tst_libts_ops;
extern const struct tst_ops tst_tstee_ops;

/* The system calls the tstee transport makes, replaceable by tests. */
struct tst_sys_ops {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	void *(*mmap)(void *addr, size_t len, int prot, int flags, int fd, off_t off);
	int (*munmap)(void *addr, size_t len);
	int (*close)(int fd);
};

/* tst_tstee_ops.open with these system calls instead of the real ones. */
enum ts_err tst_tstee_open_with(const struct tst_sys_ops *sys, const struct tst_settings *s,
                                void **ret, char *err, size_t errlen);

/* The packed-c crypto service's UUID for a service name: TS_OK for
 * "sn:trustedfirmware.org:crypto:<n>", TS_E_CONFIG otherwise. */
enum ts_err tst_service_uuid(const char *service, uint8_t ret_uuid[16]);

#endif
