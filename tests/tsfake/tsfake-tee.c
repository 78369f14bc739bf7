/*
 * An emulated Trusted Services TEE device for the end-to-end tests, loaded
 * into tesserad with LD_PRELOAD (test-only; TSFAKE_TEE=1 turns it on): it
 * stands in for the kernel's tstee driver behind /dev/tee0 the way the
 * unit test's sys_ops double does (impl_id 3, a session for the crypto
 * service's UUID, shared memory from TEE_IOC_SHM_ALLOC that mmap maps, one
 * VALUE_INOUT parameter, EINVAL for an RPC status other than success), so
 * that the daemon's real tstee transport runs unchanged against the test
 * endpoint. TSFAKE_FAULT="rpc,service" forces every call's status as in the
 * libts stand-in; a file "$TSFAKE_STORE.down" makes the partition restart
 * (the session is lost until the file goes). Every other path, descriptor and mapping goes to libc.
 */
/* Both the plain and the 64-bit names are defined here: no redirection. */
#undef _FILE_OFFSET_BITS

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/tee.h>

#include "tsfake.h"

#define EXPORTED __attribute__((visibility("default")))

static const uint8_t crypto_uuid[16] = {0xd9, 0xdf, 0x52, 0xd5, 0x16, 0xa2, 0x4b, 0xb2,
                                        0x9a, 0xa4, 0xd2, 0x6d, 0x3b, 0x84, 0xe8, 0xc0};

static struct {
	pthread_mutex_t lock;
	int dev_fd, shm_fd; /* descriptors of /dev/null standing for them; -1 when none */
	bool session;
	uint8_t *shm;
	struct tsfake *fake;
} dev = {PTHREAD_MUTEX_INITIALIZER, -1, -1, false, NULL, NULL};

static bool enabled(void)
{
	const char *v = getenv("TSFAKE_TEE");

	return v != NULL && strcmp(v, "1") == 0;
}

static int real_open(const char *path, int flags, mode_t mode)
{
	int (*f)(const char *, int, ...);
	void *p = dlsym(RTLD_NEXT, "open64");

	memcpy(&f, &p, sizeof(f));
	return f(path, flags, mode);
}

static int open_any(const char *path, int flags, mode_t mode)
{
	int fd;

	if (!enabled() || strcmp(path, "/dev/tee0") != 0)
		return real_open(path, flags, mode);
	pthread_mutex_lock(&dev.lock);
	if (dev.dev_fd >= 0) {
		pthread_mutex_unlock(&dev.lock);
		errno = EBUSY; /* one opener is all the tests need */
		return -1;
	}
	fd = real_open("/dev/null", O_RDWR | O_CLOEXEC, 0);
	dev.dev_fd = fd;
	pthread_mutex_unlock(&dev.lock);
	return fd;
}

EXPORTED int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_any(path, flags, mode);
}

EXPORTED int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_any(path, flags, mode);
}

EXPORTED int close(int fd)
{
	int (*f)(int);
	void *p = dlsym(RTLD_NEXT, "close");

	pthread_mutex_lock(&dev.lock);
	if (fd >= 0 && fd == dev.dev_fd) {
		dev.dev_fd = -1;
		dev.session = false;
		tsfake_free(dev.fake);
		dev.fake = NULL;
	} else if (fd >= 0 && fd == dev.shm_fd) {
		dev.shm_fd = -1;
	}
	pthread_mutex_unlock(&dev.lock);
	memcpy(&f, &p, sizeof(f));
	return f(fd);
}

/* The test's switch for a partition restart: a file beside the store. */
static bool down(void)
{
	const char *store = getenv("TSFAKE_STORE");
	char path[4200];

	if (store == NULL)
		return false;
	snprintf(path, sizeof(path), "%s.down", store);
	return access(path, F_OK) == 0;
}

static int invoke(struct tee_ioctl_buf_data *b)
{
	struct tee_ioctl_invoke_arg *a = (void *)(uintptr_t)b->buf_ptr;
	struct tee_ioctl_param *prm = (struct tee_ioctl_param *)(a + 1);
	size_t resp_len = 0;
	int64_t service = 0;
	int32_t rpc;
	const char *fault;
	int frpc = 0, fservice = 0;

	if (!dev.session) {
		errno = ENXIO; /* the session died with the partition */
		return -1;
	}
	if (down()) {
		/* The partition restarts: this call fails and the session is
		 * gone; a new one (with a fresh endpoint, persistent keys
		 * read back from the store) can be opened once it is up. */
		dev.session = false;
		tsfake_free(dev.fake);
		dev.fake = NULL;
		errno = EIO;
		return -1;
	}
	if (b->buf_len != sizeof(*a) + sizeof(*prm) || a->num_params != 1 ||
	    prm->attr != TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INOUT || dev.shm == NULL ||
	    prm->b > TSFAKE_BUFFER) {
		errno = EINVAL;
		return -1;
	}
	fault = getenv("TSFAKE_FAULT");
	if (fault != NULL && sscanf(fault, "%d,%d", &frpc, &fservice) == 2)
		tsfake_force(dev.fake, frpc, fservice);
	rpc = tsfake_call(dev.fake, a->func, dev.shm, TSFAKE_BUFFER, (size_t)prm->b, &resp_len,
	                  &service);
	if (rpc != 0) {
		errno = EINVAL; /* the driver: any RPC failure */
		return -1;
	}
	a->ret = (uint32_t)(int32_t)service;
	a->ret_origin = 0;
	prm->a = resp_len;
	return 0;
}

static int tee_ioctl(unsigned long req, void *arg)
{
	if (req == TEE_IOC_VERSION) {
		struct tee_ioctl_version_data *v = arg;

		v->impl_id = 3;
		v->impl_caps = 0x8003;
		v->gen_caps = 0;
		return 0;
	}
	if (req == TEE_IOC_OPEN_SESSION) {
		struct tee_ioctl_buf_data *b = arg;
		struct tee_ioctl_open_session_arg *o = (void *)(uintptr_t)b->buf_ptr;

		if (memcmp(o->uuid, crypto_uuid, 16) != 0 || dev.session || down()) {
			errno = ENODEV;
			return -1;
		}
		dev.fake = tsfake_new(getenv("TSFAKE_STORE"));
		if (dev.fake == NULL) {
			errno = ENOMEM;
			return -1;
		}
		dev.session = true;
		o->session = 1;
		o->ret = 0;
		return 0;
	}
	if (req == TEE_IOC_SHM_ALLOC) {
		struct tee_ioctl_shm_alloc_data *s = arg;

		if (s->size > TSFAKE_BUFFER || dev.shm_fd >= 0) {
			errno = ENOMEM;
			return -1;
		}
		dev.shm_fd = real_open("/dev/null", O_RDWR | O_CLOEXEC, 0);
		s->id = 1;
		return dev.shm_fd;
	}
	if (req == TEE_IOC_INVOKE)
		return invoke(arg);
	if (req == TEE_IOC_CLOSE_SESSION) {
		dev.session = false;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

EXPORTED int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	pthread_mutex_lock(&dev.lock);
	if (fd >= 0 && fd == dev.dev_fd) {
		rc = tee_ioctl(req, arg);
		pthread_mutex_unlock(&dev.lock);
		return rc;
	}
	pthread_mutex_unlock(&dev.lock);
	{
		int (*f)(int, unsigned long, ...);
		void *p = dlsym(RTLD_NEXT, "ioctl");

		memcpy(&f, &p, sizeof(f));
		return f(fd, req, arg);
	}
}

static void *map_any(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                     const char *name)
{
	void *(*f)(void *, size_t, int, int, int, off_t);
	void *p = dlsym(RTLD_NEXT, name);

	memcpy(&f, &p, sizeof(f));
	if (fd >= 0 && fd == dev.shm_fd) {
		/* The shared memory: anonymous pages the endpoint works in. */
		void *m = f(NULL, TSFAKE_BUFFER, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (m == MAP_FAILED || len > TSFAKE_BUFFER || off != 0)
			return MAP_FAILED;
		dev.shm = m;
		return m;
	}
	return f(addr, len, prot, flags, fd, off);
}

EXPORTED void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_any(addr, len, prot, flags, fd, off, "mmap");
}

EXPORTED void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return map_any(addr, len, prot, flags, fd, off, "mmap64");
}

EXPORTED int munmap(void *addr, size_t len)
{
	int (*f)(void *, size_t);
	void *p = dlsym(RTLD_NEXT, "munmap");

	memcpy(&f, &p, sizeof(f));
	if (addr != NULL && addr == dev.shm) {
		dev.shm = NULL;
		return f(addr, TSFAKE_BUFFER);
	}
	return f(addr, len);
}
