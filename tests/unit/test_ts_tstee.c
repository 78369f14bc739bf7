/*
 * The tstee transport over an emulated kernel: a tst_sys_ops double that
 * behaves as the tstee driver does (impl_id 3, sessions by service UUID,
 * shared memory from TEE_IOC_SHM_ALLOC mapped with mmap, one VALUE_INOUT
 * parameter, EINVAL for any RPC status but success, client ID 0) and hands
 * each call to the test endpoint, so that the real transport code runs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <linux/tee.h>

#include "providers/trusted_services/ts-codec.h"
#include "providers/trusted_services/ts-transport.h"
#include "tsfake.h"

#define DEV_FD   100 /* /dev/teeN is fd DEV_FD + N */
#define SHM_FD   200
#define SHM_ID   3
#define SESSION  7
#define OPTEE_AT 0 /* /dev/tee0 is an OP-TEE device, not TS */
#define TS_AT    1 /* /dev/tee1 is the crypto partition */

static const uint8_t crypto_uuid[16] = {0xd9, 0xdf, 0x52, 0xd5, 0x16, 0xa2, 0x4b, 0xb2,
                                        0x9a, 0xa4, 0xd2, 0x6d, 0x3b, 0x84, 0xe8, 0xc0};

static struct {
	struct tsfake *fake;
	uint8_t *shm;
	int open_fds, sessions, maps;
	int invokes;
	size_t shm_size; /* what SHM_ALLOC grants */
} k;

static int k_open(const char *path, int flags)
{
	int n;

	(void)flags;
	if (sscanf(path, "/dev/tee%d", &n) != 1 || (n != OPTEE_AT && n != TS_AT)) {
		errno = ENOENT;
		return -1;
	}
	k.open_fds++;
	return DEV_FD + n;
}

static int k_close(int fd)
{
	cr_assert(fd == DEV_FD + OPTEE_AT || fd == DEV_FD + TS_AT || fd == SHM_FD);
	k.open_fds--;
	return 0;
}

static int k_ioctl(int fd, unsigned long req, void *arg)
{
	if (req == TEE_IOC_VERSION) {
		struct tee_ioctl_version_data *v = arg;

		v->impl_id = fd == DEV_FD + TS_AT ? 3 : TEE_IMPL_ID_OPTEE;
		v->impl_caps = 0x8003; /* the partition's FF-A endpoint ID */
		v->gen_caps = 0;
		return 0;
	}
	cr_assert_eq(fd, DEV_FD + TS_AT, "only the TS device is used past discovery");
	if (req == TEE_IOC_OPEN_SESSION) {
		struct tee_ioctl_buf_data *b = arg;
		struct tee_ioctl_open_session_arg *o = (void *)(uintptr_t)b->buf_ptr;

		cr_assert_geq(b->buf_len, sizeof(*o));
		if (memcmp(o->uuid, crypto_uuid, 16) != 0 || o->num_params != 0) {
			errno = ENODEV; /* SERVICE_INFO_GET failed */
			return -1;
		}
		o->session = SESSION;
		o->ret = 0;
		k.sessions++;
		return 0;
	}
	if (req == TEE_IOC_SHM_ALLOC) {
		struct tee_ioctl_shm_alloc_data *s = arg;

		cr_assert_eq(s->size, TST_PAYLOAD_MAX);
		s->size = k.shm_size;
		s->id = SHM_ID;
		k.open_fds++;
		return SHM_FD;
	}
	if (req == TEE_IOC_INVOKE) {
		struct tee_ioctl_buf_data *b = arg;
		struct tee_ioctl_invoke_arg *a = (void *)(uintptr_t)b->buf_ptr;
		struct tee_ioctl_param *p = (struct tee_ioctl_param *)(a + 1);
		size_t resp_len = 0;
		int64_t service = 0;
		int32_t rpc;

		cr_assert_eq(b->buf_len, sizeof(*a) + sizeof(*p));
		cr_assert_eq(a->session, SESSION);
		cr_assert_eq(a->num_params, 1);
		cr_assert_eq(p->attr, TEE_IOCTL_PARAM_ATTR_TYPE_VALUE_INOUT);
		cr_assert_eq(p->a, SHM_ID);
		cr_assert_leq(p->b, k.shm_size);
		k.invokes++;
		rpc = tsfake_call(k.fake, a->func, k.shm, k.shm_size, p->b, &resp_len, &service);
		if (rpc != 0) {
			errno = EINVAL; /* what the driver does with a failed RPC */
			return -1;
		}
		a->ret = (uint32_t)(int32_t)service;
		a->ret_origin = 0;
		p->a = resp_len;
		return 0;
	}
	if (req == TEE_IOC_CLOSE_SESSION) {
		struct tee_ioctl_close_session_arg *c = arg;

		cr_assert_eq(c->session, SESSION);
		k.sessions--;
		return 0;
	}
	errno = ENOTTY;
	return -1;
}

static void *k_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	(void)addr;
	cr_assert_eq(fd, SHM_FD);
	cr_assert_eq(off, 0);
	cr_assert_eq(prot, PROT_READ | PROT_WRITE);
	cr_assert_eq(flags, MAP_SHARED);
	cr_assert_leq(len, k.shm_size);
	k.maps++;
	return k.shm;
}

static int k_munmap(void *addr, size_t len)
{
	(void)len;
	cr_assert_eq(addr, k.shm);
	k.maps--;
	return 0;
}

static const struct tst_sys_ops kernel = {
        .open = k_open, .ioctl = k_ioctl, .mmap = k_mmap, .munmap = k_munmap, .close = k_close};

static void setup(void)
{
	memset(&k, 0, sizeof(k));
	k.fake = tsfake_new(NULL);
	cr_assert_not_null(k.fake);
	k.shm_size = TST_PAYLOAD_MAX;
	k.shm = calloc(1, k.shm_size);
}

static void teardown(void)
{
	cr_assert_eq(k.open_fds, 0, "every descriptor closed");
	cr_assert_eq(k.sessions, 0, "the session closed");
	cr_assert_eq(k.maps, 0, "the shared memory unmapped");
	tsfake_free(k.fake);
	free(k.shm);
}

TestSuite(ts_tstee, .init = setup, .fini = teardown);

static const struct tst_settings scan = {.path = "providers[0]",
                                         .service = "sn:trustedfirmware.org:crypto:0"};

static void *open_ok(const struct tst_settings *s)
{
	char err[256] = "";
	void *t = NULL;

	cr_assert_eq(tst_tstee_open_with(&kernel, s, &t, err, sizeof(err)), TS_OK, "%s", err);
	return t;
}

static int32_t call(void *t, uint32_t opcode, const uint8_t *req, size_t req_len, uint8_t *resp,
                    size_t *resp_len, int64_t *service)
{
	int32_t rpc = 99;

	cr_assert_eq(tst_tstee_ops.call(t, opcode, req, req_len, resp, TST_PAYLOAD_MAX, resp_len,
	                                &rpc, service),
	             TS_OK);
	return rpc;
}

Test(ts_tstee, discovery_skips_other_tees_and_a_key_signs_through_the_driver)
{
	static uint8_t req[TST_PAYLOAD_MAX], resp[TST_PAYLOAD_MAX];
	const struct tsc_attrs a = {.type = 0x7112,
	                            .bits = 256,
	                            .lifetime = 1,
	                            .id = 0x3f000000,
	                            .usage = 0x3000,
	                            .alg = 0x06000609};
	uint8_t h[32] = {1, 2, 3}, sig[64];
	const uint8_t *v;
	size_t n, rn, vlen;
	int64_t service;
	uint32_t id;
	void *t = open_ok(&scan);

	cr_assert_eq(tst_tstee_ops.max_payload(t), TST_PAYLOAD_MAX);
	cr_assert_eq(k.sessions, 1);
	cr_assert_eq(k.open_fds, 2, "the TS device and the shared memory, not the OP-TEE one");

	cr_assert_eq(tsc_req_generate(req, sizeof(req), &a, &n), TS_OK);
	cr_assert_eq(call(t, TSC_OP_GENERATE_KEY, req, n, resp, &rn, &service), 0);
	cr_assert_eq(service, 0);
	cr_assert_eq(tsc_resp_id(resp, rn, &id), TS_OK);
	cr_assert_eq(id, 0x3f000000u);

	cr_assert_eq(tsc_req_sign(req, sizeof(req), id, a.alg, h, 32, &n), TS_OK);
	cr_assert_eq(call(t, TSC_OP_SIGN_HASH, req, n, resp, &rn, &service), 0);
	cr_assert_eq(service, 0);
	cr_assert_eq(tsc_resp_data(resp, rn, &v, &vlen), TS_OK);
	cr_assert_eq(vlen, 64);
	memcpy(sig, v, 64);

	cr_assert_eq(tsc_req_verify(req, sizeof(req), id, a.alg, h, 32, sig, 64, &n), TS_OK);
	cr_assert_eq(call(t, TSC_OP_VERIFY_HASH, req, n, resp, &rn, &service), 0);
	cr_assert_eq(service, 0);
	sig[0] ^= 1;
	cr_assert_eq(tsc_req_verify(req, sizeof(req), id, a.alg, h, 32, sig, 64, &n), TS_OK);
	cr_assert_eq(call(t, TSC_OP_VERIFY_HASH, req, n, resp, &rn, &service), 0);
	cr_assert_eq(tsc_status_to_err(0, service), TS_E_PSA_INVALID_SIGNATURE);

	/* A second persistent key with the same ID: the service refuses. */
	cr_assert_eq(tsc_req_generate(req, sizeof(req), &a, &n), TS_OK);
	cr_assert_eq(call(t, TSC_OP_GENERATE_KEY, req, n, resp, &rn, &service), 0);
	cr_assert_eq(tsc_status_to_err(0, service), TS_E_PSA_ALREADY_EXISTS);
	tst_tstee_ops.close(t);
}

Test(ts_tstee, a_failed_rpc_comes_back_as_einval_and_then_internal)
{
	static uint8_t resp[TST_PAYLOAD_MAX];
	uint8_t req[4] = {0};
	size_t rn = 5;
	int64_t service = 5;
	void *t = open_ok(&scan);

	/* An opcode the service lacks is RPC -2 in the partition; the driver
	 * hides which. */
	cr_assert_eq(call(t, 0x0199, req, 4, resp, &rn, &service), -1);
	cr_assert_eq(rn, 0);
	cr_assert_eq(tsc_status_to_err(-1, service), TS_E_PSA_COMMUNICATION_FAILURE);
	/* A short body (-6 in the partition) likewise. */
	cr_assert_eq(call(t, TSC_OP_GENERATE_KEY, req, 4, resp, &rn, &service), -1);
	/* A forced service status travels in the ioctl's ret. */
	tsfake_force(k.fake, 0, -147);
	cr_assert_eq(call(t, TSC_OP_DESTROY_KEY, req, 4, resp, &rn, &service), 0);
	cr_assert_eq(service, -147);
	cr_assert_eq(k.invokes, 3);
	tst_tstee_ops.close(t);
}

Test(ts_tstee, nothing_over_the_shared_buffer_is_sent)
{
	static uint8_t req[TST_PAYLOAD_MAX + 1], resp[TST_PAYLOAD_MAX + 1];
	int32_t rpc = 0;
	int64_t service = 0;
	size_t rn = 0;
	void *t = open_ok(&scan);

	cr_assert_eq(tst_tstee_ops.call(t, TSC_OP_IMPORT_KEY, req, sizeof(req), resp,
	                                TST_PAYLOAD_MAX, &rn, &rpc, &service),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(tst_tstee_ops.call(t, TSC_OP_EXPORT_KEY, req, 4, resp, sizeof(resp), &rn, &rpc,
	                                &service),
	             TS_E_PSA_INSUFFICIENT_MEMORY);
	cr_assert_eq(k.invokes, 0);
	tst_tstee_ops.close(t);
}

Test(ts_tstee, device_and_service_errors_name_their_setting)
{
	struct tst_settings s = scan;
	char err[256];
	void *t = NULL;

	s.device = "/dev/tee0"; /* OP-TEE */
	cr_assert_eq(tst_tstee_open_with(&kernel, &s, &t, err, sizeof(err)),
	             TS_E_PSA_COMMUNICATION_FAILURE);
	cr_assert_not_null(strstr(err, "providers[0].device"), "%s", err);
	cr_assert_not_null(strstr(err, "/dev/tee0"), "%s", err);
	s.device = "/dev/tee5"; /* absent */
	cr_assert_neq(tst_tstee_open_with(&kernel, &s, &t, err, sizeof(err)), TS_OK);
	cr_assert_not_null(strstr(err, "providers[0].device"), "%s", err);
	s.device = "/dev/tee1";
	s.service = "sn:trustedfirmware.org:crypto-protobuf:0";
	cr_assert_eq(tst_tstee_open_with(&kernel, &s, &t, err, sizeof(err)), TS_E_CONFIG);
	cr_assert_not_null(strstr(err, "providers[0].service"), "%s", err);
	s.service = "sn:trustedfirmware.org:crypto:";
	cr_assert_eq(tst_tstee_open_with(&kernel, &s, &t, err, sizeof(err)), TS_E_CONFIG);
	s.service = "sn:trustedfirmware.org:crypto:0";
	t = open_ok(&s);
	tst_tstee_ops.close(t);
}

Test(ts_tstee, a_shared_buffer_smaller_than_asked_is_refused)
{
	char err[256];
	void *t = NULL;

	k.shm_size = 4096;
	cr_assert_neq(tst_tstee_open_with(&kernel, &scan, &t, err, sizeof(err)), TS_OK);
	cr_assert_not_null(strstr(err, "providers[0].device"), "%s", err);
}
