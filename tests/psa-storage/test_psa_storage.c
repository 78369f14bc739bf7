/*
 * psa_its_* / psa_ps_* (client/psa/storage.c) against no daemon and against
 * a scripted fake one: local argument checks, the transport statuses of each
 * API, the caller's buffer left alone, the support bits remembered.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "psa/internal_trusted_storage.h"
#include "psa/protected_storage.h"
#include "wire/wire.h"

static void no_daemon(void)
{
	setenv("TESSERA_ENDPOINT", "unix:/nonexistent/tessera-test.sock", 1);
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", "psa-unit", 1);
}

Test(psa_storage, arguments_are_checked_before_any_request)
{
	uint8_t buf[4];
	size_t len;

	no_daemon();
	/* Were these sent, the missing daemon would make them failures of
	 * the transport instead. */
	cr_assert_eq(psa_its_set(5, 3, NULL, 0), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_ps_set(5, 3, NULL, 0), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_its_get(5, 0, 3, NULL, &len), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_ps_get(5, 0, 3, buf, NULL), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_its_get_info(5, NULL), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_ps_get_info(5, NULL), PSA_ERROR_INVALID_ARGUMENT);
	cr_assert_eq(psa_ps_set_extended(5, 0, 2, NULL), PSA_ERROR_INVALID_ARGUMENT);
}

Test(psa_storage, an_unreachable_daemon_is_each_apis_generic_failure)
{
	struct psa_storage_info_t info = {.capacity = 77};
	uint8_t buf[4] = {1, 2, 3, 4};
	size_t len = 99;

	no_daemon();
	cr_assert_eq(psa_its_set(5, 1, "x", 0), PSA_ERROR_STORAGE_FAILURE);
	cr_assert_eq(psa_its_get(5, 0, 4, buf, &len), PSA_ERROR_STORAGE_FAILURE);
	cr_assert_eq(psa_its_get_info(5, &info), PSA_ERROR_STORAGE_FAILURE);
	cr_assert_eq(psa_its_remove(5), PSA_ERROR_STORAGE_FAILURE);
	cr_assert_eq(psa_ps_set(5, 1, "x", 0), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_get(5, 0, 4, buf, &len), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_get_info(5, &info), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_remove(5), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_create(5, 10, 0), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_set_extended(5, 0, 1, "x"), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_ps_get_support(), 0);
	/* Outputs untouched. */
	cr_assert_eq(len, 99);
	cr_assert_eq(buf[0], 1);
	cr_assert_eq(info.capacity, 77);
}

Test(psa_storage, an_unknown_authentication_in_the_environment_is_a_failure)
{
	no_daemon();
	setenv("TESSERA_AUTH", "telepathy", 1);
	cr_assert_eq(psa_its_remove(5), PSA_ERROR_STORAGE_FAILURE);
}

/* ---- a fake daemon ---- */

enum answer {
	TOO_MUCH, /* a get answered with more bytes than asked */
	STATUS,   /* every request answered with `status` */
	SUPPORT,  /* PsGetSupport answered with 1, counted */
};

static struct {
	char path[108];
	int lfd;
	enum answer how;
	uint16_t status;
	int requests;
	pthread_t thread;
} fake;

static int recv_exact(int fd, void *p, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = recv(fd, (uint8_t *)p + got, len - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static void answer(int fd, const struct wire_header *req)
{
	uint8_t out[WIRE_HEADER_LEN + 64];
	struct wire_header h;
	size_t body = 0;

	if (fake.how == TOO_MUCH) {
		/* data = 40 bytes of 0xEE, whatever was asked */
		out[WIRE_HEADER_LEN] = 0x0a;
		out[WIRE_HEADER_LEN + 1] = 40;
		memset(out + WIRE_HEADER_LEN + 2, 0xEE, 40);
		body = 42;
	} else if (fake.how == SUPPORT) {
		out[WIRE_HEADER_LEN] = 0x08;
		out[WIRE_HEADER_LEN + 1] = 1;
		body = 2;
	}
	wire_header_response(req, fake.how == STATUS ? fake.status : 0, (uint32_t)body, &h);
	wire_header_encode(&h, out);
	(void)!write(fd, out, WIRE_HEADER_LEN + body);
}

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(fake.lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		for (;;) {
			uint8_t hdr[WIRE_HEADER_LEN], skip[4096];
			struct wire_header h;
			size_t left;

			if (recv_exact(fd, hdr, sizeof(hdr)) != 0)
				break;
			wire_header_decode(hdr, &h);
			for (left = h.body_len + h.auth_len; left > 0;) {
				size_t n = left < sizeof(skip) ? left : sizeof(skip);

				if (recv_exact(fd, skip, n) != 0)
					break;
				left -= n;
			}
			fake.requests++;
			answer(fd, &h);
			break; /* one request per connection, as Parsec */
		}
		close(fd);
	}
}

static void start_fake(enum answer how, uint16_t status)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char ep[140];

	snprintf(fake.path, sizeof(fake.path), "/tmp/tspsa.%d.sock", (int)getpid());
	unlink(fake.path);
	fake.how = how;
	fake.status = status;
	fake.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fake.lfd, 0);
	strcpy(sa.sun_path, fake.path);
	cr_assert_eq(bind(fake.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fake.lfd, 8), 0);
	cr_assert_eq(pthread_create(&fake.thread, NULL, serve, NULL), 0);
	snprintf(ep, sizeof(ep), "unix:%s", fake.path);
	setenv("TESSERA_ENDPOINT", ep, 1);
	setenv("TESSERA_AUTH", "direct", 1);
	setenv("TESSERA_APP_NAME", "psa-unit", 1);
}

static void stop_fake(void)
{
	unlink(fake.path);
}

Test(psa_storage, more_data_than_asked_is_refused_and_the_buffer_kept, .fini = stop_fake)
{
	uint8_t buf[16];
	size_t len = 99;

	start_fake(TOO_MUCH, 0);
	memset(buf, 0x11, sizeof(buf));
	cr_assert_eq(psa_ps_get(5, 0, 8, buf, &len), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_its_get(5, 0, 8, buf, &len), PSA_ERROR_STORAGE_FAILURE);
	for (size_t i = 0; i < sizeof(buf); i++)
		cr_assert_eq(buf[i], 0x11);
	cr_assert_eq(len, 99);
}

Test(psa_storage, psa_statuses_come_back_as_negative_values, .fini = stop_fake)
{
	uint8_t buf[4];
	size_t len;

	start_fake(STATUS, 1140);
	cr_assert_eq(psa_its_get(5, 0, 4, buf, &len), PSA_ERROR_DOES_NOT_EXIST);
	fake.status = 1133;
	cr_assert_eq(psa_ps_remove(5), PSA_ERROR_NOT_PERMITTED);
	fake.status = 1149;
	cr_assert_eq(psa_ps_get_info(5, &(struct psa_storage_info_t){0}),
	             PSA_ERROR_INVALID_SIGNATURE);
	/* Not a PSA status (a Parsec service's OpcodeDoesNotExist): generic. */
	fake.status = 9;
	cr_assert_eq(psa_ps_create(5, 1, 0), PSA_ERROR_GENERIC_ERROR);
	cr_assert_eq(psa_its_set(5, 1, "x", 0), PSA_ERROR_STORAGE_FAILURE);
	cr_assert_eq(psa_ps_get_support(), 0);
}

Test(psa_storage, get_support_is_asked_once, .fini = stop_fake)
{
	start_fake(SUPPORT, 0);
	cr_assert_eq(psa_ps_get_support(), PSA_STORAGE_SUPPORT_SET_EXTENDED);
	cr_assert_eq(psa_ps_get_support(), PSA_STORAGE_SUPPORT_SET_EXTENDED);
	cr_assert_eq(psa_ps_get_support(), PSA_STORAGE_SUPPORT_SET_EXTENDED);
	cr_assert_eq(fake.requests, 1);
}
