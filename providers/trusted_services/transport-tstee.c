/*
 * The tstee transport: the Linux kernel's Trusted Services TEE driver
 * (drivers/tee/tstee, Linux 6.10 and later) driven through the linux/tee.h
 * ioctls, no libts on the target. One /dev/teeN per secure partition; a
 * session with the service's UUID; one shared buffer from TEE_IOC_SHM_ALLOC
 * mapped into the process; each call a TEE_IOC_INVOKE with one VALUE_INOUT
 * parameter (in: shared-memory ID and request length; out: response length)
 * whose return value is the service status. The driver fails the ioctl with
 * EINVAL when the partition's RPC status is not success.
 *
 * Every system call goes through a tst_sys_ops table so that tests can stand
 * in for the kernel.
 */
#include "providers/trusted_services/ts-transport.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/tee.h>

#include <openssl/crypto.h>

/* Not in older UAPI headers (Debian bookworm's 6.1). */
#define TSTEE_IMPL_ID 3u

#define TSTEE_MAX_DEVICES 16

struct tstee {
	const struct tst_sys_ops *sys;
	int fd;
	uint32_t session;
	bool have_session;
	int shm_fd;
	int32_t shm_id;
	uint8_t *shm;
	size_t shm_len;
};

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static const struct tst_sys_ops real_sys = {
        .open = real_open,
        .ioctl = real_ioctl,
        .mmap = mmap,
        .munmap = munmap,
        .close = close,
};

enum ts_err tst_service_uuid(const char *service, uint8_t ret_uuid[16])
{
	/* The packed-c crypto service, d9df52d5-16a2-4bb2-9aa4-d26d3b84e8c0. */
	static const uint8_t crypto[16] = {0xd9, 0xdf, 0x52, 0xd5, 0x16, 0xa2, 0x4b, 0xb2,
	                                   0x9a, 0xa4, 0xd2, 0x6d, 0x3b, 0x84, 0xe8, 0xc0};
	static const char prefix[] = "sn:trustedfirmware.org:crypto:";
	const char *p;

	if (service == NULL || strncmp(service, prefix, sizeof(prefix) - 1) != 0)
		return TS_E_CONFIG;
	p = service + sizeof(prefix) - 1;
	if (*p == '\0')
		return TS_E_CONFIG;
	for (; *p != '\0'; p++)
		if (*p < '0' || *p > '9')
			return TS_E_CONFIG;
	memcpy(ret_uuid, crypto, 16);
	return TS_OK;
}

static void tstee_close(void *t)
{
	struct tstee *d = t;

	if (d == NULL)
		return;
	if (d->shm != NULL) {
		OPENSSL_cleanse(d->shm, d->shm_len);
		(void)d->sys->munmap(d->shm, d->shm_len);
	}
	if (d->shm_fd >= 0)
		(void)d->sys->close(d->shm_fd);
	if (d->have_session) {
		struct tee_ioctl_close_session_arg c = {.session = d->session};

		(void)d->sys->ioctl(d->fd, TEE_IOC_CLOSE_SESSION, &c);
	}
	if (d->fd >= 0)
		(void)d->sys->close(d->fd);
	free(d);
}

/* Open path and keep it when it is a TS TEE device: the fd, or -1. */
static int open_tstee(const struct tst_sys_ops *sys, const char *path)
{
	struct tee_ioctl_version_data v = {0};
	int fd = sys->open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (sys->ioctl(fd, TEE_IOC_VERSION, &v) != 0 || v.impl_id != TSTEE_IMPL_ID) {
		(void)sys->close(fd);
		return -1;
	}
	return fd;
}

static bool open_session(struct tstee *d, const uint8_t uuid[16])
{
	/* The argument block and its (zero) parameters in one buffer. */
	union {
		struct tee_ioctl_open_session_arg a;
		uint8_t raw[sizeof(struct tee_ioctl_open_session_arg)];
	} arg;
	struct tee_ioctl_buf_data buf = {.buf_ptr = (uintptr_t)&arg, .buf_len = sizeof(arg)};

	memset(&arg, 0, sizeof(arg));
	memcpy(arg.a.uuid, uuid, TEE_IOCTL_UUID_LEN);
	arg.a.clnt_login = TEE_IOCTL_LOGIN_PUBLIC;
	arg.a.num_params = 0;
	if (d->sys->ioctl(d->fd, TEE_IOC_OPEN_SESSION, &buf) != 0 || arg.a.ret != 0)
		return false;
	d->session = arg.a.session;
	d->have_session = true;
	return true;
}

static bool alloc_shm(struct tstee *d)
{
	struct tee_ioctl_shm_alloc_data a = {.size = TST_PAYLOAD_MAX};
	void *p;

	d->shm_fd = d->sys->ioctl(d->fd, TEE_IOC_SHM_ALLOC, &a);
	if (d->shm_fd < 0)
		return false;
	if (a.size < TST_PAYLOAD_MAX)
		return false;
	p = d->sys->mmap(NULL, TST_PAYLOAD_MAX, PROT_READ | PROT_WRITE, MAP_SHARED, d->shm_fd, 0);
	if (p == MAP_FAILED || p == NULL)
		return false;
	d->shm = p;
	d->shm_len = TST_PAYLOAD_MAX;
	d->shm_id = a.id;
	return true;
}

enum ts_err tst_tstee_open_with(const struct tst_sys_ops *sys, const struct tst_settings *s,
                                void **ret, char *err, size_t errlen)
{
	struct tstee *d = calloc(1, sizeof(*d));
	uint8_t uuid[16];
	enum ts_err rc = TS_E_NOMEM;

	if (d == NULL)
		goto out;
	d->sys = sys;
	d->fd = -1;
	d->shm_fd = -1;
	rc = tst_service_uuid(s->service, uuid);
	if (rc != TS_OK) {
		snprintf(err, errlen,
		         "%s.service: \"%.100s\" is not the packed-c crypto service the tstee "
		         "transport speaks (sn:trustedfirmware.org:crypto:0)",
		         s->path, s->service != NULL ? s->service : "");
		goto out;
	}
	rc = TS_E_PSA_COMMUNICATION_FAILURE;
	if (s->device != NULL) {
		d->fd = open_tstee(sys, s->device);
		if (d->fd < 0) {
			snprintf(err, errlen,
			         "%s.device: %.200s cannot be opened or is not a Trusted Services "
			         "TEE device",
			         s->path, s->device);
			goto out;
		}
		if (!open_session(d, uuid)) {
			snprintf(err, errlen, "%s.device: %.200s has no crypto service", s->path,
			         s->device);
			goto out;
		}
	} else {
		/* One device per partition: the first that serves the UUID. */
		for (int i = 0; i < TSTEE_MAX_DEVICES && !d->have_session; i++) {
			char path[32];

			snprintf(path, sizeof(path), "/dev/tee%d", i);
			d->fd = open_tstee(sys, path);
			if (d->fd >= 0 && !open_session(d, uuid)) {
				(void)sys->close(d->fd);
				d->fd = -1;
			}
		}
		if (!d->have_session) {
			snprintf(err, errlen,
			         "%s.device: no Trusted Services TEE device (/dev/tee0..15) serves "
			         "the crypto service",
			         s->path);
			goto out;
		}
	}
	if (!alloc_shm(d)) {
		snprintf(err, errlen, "%s.device: cannot share %u bytes with the secure partition",
		         s->path, TST_PAYLOAD_MAX);
		goto out;
	}
	*ret = d;
	d = NULL;
	rc = TS_OK;
out:
	tstee_close(d);
	return rc;
}

static enum ts_err tstee_open(const struct tst_settings *s, void **ret, char *err, size_t errlen)
{
	return tst_tstee_open_with(&real_sys, s, ret, err, errlen);
}

static size_t tstee_max_payload(void *t)
{
	return ((struct tstee *)t)->shm_len;
}

static enum ts_err tstee_call(void *t, uint32_t opcode, const uint8_t *req, size_t req_len,
                              uint8_t *resp, size_t resp_cap, size_t *ret_len, int32_t *ret_rpc,
                              int64_t *ret_service)
{
	struct tstee *d = t;
	union {
		struct tee_ioctl_invoke_arg a;
		uint8_t raw[sizeof(struct tee_ioctl_invoke_arg) + sizeof(struct tee_ioctl_param)];
	} arg;
	struct tee_ioctl_param *param;
	struct tee_ioctl_buf_data buf = {.buf_ptr = (uintptr_t)&arg, .buf_len = sizeof(arg)};
	size_t n;

	if (req_len > d->shm_len || resp_cap > d->shm_len)
		return TS_E_PSA_INSUFFICIENT_MEMORY;
	memset(&arg, 0, sizeof(arg));
	param = (struct tee_ioctl_param *)(arg.raw + sizeof(struct tee_ioctl_invoke_arg));
	arg.a.func = opcode & 0xffffu;
	arg.a.session = d->session;
	arg.a.num_params = 1;
	param->attr = TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INOUT;
	param->a = (uint64_t)(uint32_t)d->shm_id;
	param->b = req_len;
	if (req_len > 0)
		memcpy(d->shm, req, req_len);
	if (d->sys->ioctl(d->fd, TEE_IOC_INVOKE, &buf) != 0) {
		OPENSSL_cleanse(d->shm, d->shm_len);
		if (errno != EINVAL)
			return TS_E_PSA_COMMUNICATION_FAILURE;
		/* The partition's RPC status was not success; the driver
		 * does not say which (libts reports it as internal, so do we). */
		*ret_rpc = -1;
		*ret_service = 0;
		*ret_len = 0;
		return TS_OK;
	}
	n = (size_t)param->a;
	if (n > resp_cap) {
		OPENSSL_cleanse(d->shm, d->shm_len);
		*ret_rpc = -7; /* a response longer than the caller can take */
		*ret_service = 0;
		*ret_len = 0;
		return TS_OK;
	}
	if (n > 0)
		memcpy(resp, d->shm, n);
	OPENSSL_cleanse(d->shm, d->shm_len);
	*ret_rpc = 0;
	*ret_service = (int32_t)arg.a.ret; /* a psa_status_t in 32 bits */
	*ret_len = n;
	return TS_OK;
}

const struct tst_ops tst_tstee_ops = {
        .name = "tstee",
        .open = tstee_open,
        .max_payload = tstee_max_payload,
        .call = tstee_call,
        .close = tstee_close,
};
