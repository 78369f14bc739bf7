/* libtessera against a scripted fake server: framing, limits, retries. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client/tessera.h"
#include "wire/wire.h"

enum behaviour {
	PING_OK,      /* answer each Ping properly */
	BAD_MAGIC,    /* answer with a corrupt magic */
	HUGE_BODY,    /* declare a 1 GiB body */
	SILENT,       /* read the request, never answer */
	CLOSE_FIRST,  /* close the first connection right after its request */
	WRONG_OPCODE, /* answer with another opcode */
	STATUS_21,    /* answer AdminOperation */
	PARSEC_LIKE,  /* flags 0 in every response, close after each (Parsec) */
	PARSEC_NO_OP, /* Parsec's answer to an opcode it does not know */
};

struct fake {
	char path[108];
	int lfd;
	enum behaviour how;
	int connections;
	pthread_t thread;
	uint8_t last_auth_type;
	uint16_t last_auth_len;
	uint16_t last_flags;
};

static int read_request(int fd, struct wire_header *h)
{
	uint8_t hdr[WIRE_HEADER_LEN];
	size_t got = 0;

	while (got < sizeof(hdr)) {
		ssize_t n = recv(fd, hdr + got, sizeof(hdr) - got, 0);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	wire_header_decode(hdr, h);
	for (size_t left = h->body_len + h->auth_len; left > 0;) {
		uint8_t buf[256];
		ssize_t n = recv(fd, buf, left < sizeof(buf) ? left : sizeof(buf), 0);

		if (n <= 0)
			return -1;
		left -= (size_t)n;
	}
	return 0;
}

static void *serve(void *arg)
{
	struct fake *f = arg;
	int fd;

	while ((fd = accept(f->lfd, NULL, NULL)) >= 0) {
		struct wire_header h, r;
		uint8_t out[WIRE_HEADER_LEN + 2];

		f->connections++;
		while (read_request(fd, &h) == 0) {
			f->last_auth_type = h.auth_type;
			f->last_auth_len = h.auth_len;
			f->last_flags = h.flags;
			if (f->how == SILENT) {
				sleep(2);
				break;
			}
			if (f->how == CLOSE_FIRST && f->connections == 1)
				break;
			wire_header_response(&h, f->how == STATUS_21 ? 21 : 0, 2, &r);
			if (f->how == BAD_MAGIC)
				r.magic ^= 1;
			if (f->how == HUGE_BODY)
				r.body_len = 1u << 30;
			if (f->how == WRONG_OPCODE)
				r.opcode = WIRE_OP_LIST_KEYS;
			/* A default header: Ping on the core provider, status
			 * OpcodeDoesNotExist, no body; or, for Ping, a success. */
			if (f->how == PARSEC_NO_OP && h.opcode != WIRE_OP_PING) {
				r.opcode = WIRE_OP_PING;
				r.provider = 0;
				r.status = 9;
				r.body_len = 0;
			}
			if (f->how == STATUS_21)
				r.body_len = 0;
			/* tesserad keeps a connection open for a client that asks. */
			if (f->how != PARSEC_LIKE)
				r.flags = h.flags & WIRE_FLAG_KEEP_OPEN;
			wire_header_encode(&r, out);
			out[36] = 0x08;
			out[37] = 0x01;
			if (send(fd, out,
			         WIRE_HEADER_LEN + r.body_len > sizeof(out)
			                 ? sizeof(out)
			                 : WIRE_HEADER_LEN + r.body_len,
			         MSG_NOSIGNAL) < 0)
				break;
			if (f->how == PARSEC_LIKE)
				break;
		}
		close(fd);
	}
	return NULL;
}

static struct fake fk;

static void start_fake(enum behaviour how)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(&fk, 0, sizeof(fk));
	fk.how = how;
	snprintf(fk.path, sizeof(fk.path), "/tmp/tessera-fake-%d.sock", (int)getpid());
	unlink(fk.path);
	strcpy(sa.sun_path, fk.path);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_eq(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(fk.lfd, 8), 0);
	cr_assert_eq(pthread_create(&fk.thread, NULL, serve, &fk), 0);
}

static void stop_fake(void)
{
	shutdown(fk.lfd, SHUT_RDWR);
	close(fk.lfd);
	unlink(fk.path);
}

static struct tessera_client *client_for_fake(unsigned timeout_ms, uint8_t auth)
{
	struct tessera_options o;
	struct tessera_client *c;
	char ep[128];

	tessera_options_init(&o);
	snprintf(ep, sizeof(ep), "unix:%s", fk.path);
	o.endpoint = ep;
	o.timeout_ms = timeout_ms;
	o.auth_type = auth;
	o.app_name = "app";
	o.max_response = 4096;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	return c;
}

Test(client, endpoint_rules)
{
	struct tessera_options o;
	struct tessera_client *c;
	char longep[200];

	tessera_options_init(&o);
	o.endpoint = "/run/tessera/api.sock";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG, "needs the unix: prefix");
	o.endpoint = "unix:";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG);
	memset(longep, 'a', sizeof(longep));
	memcpy(longep, "unix:/", 6);
	longep[5 + 108] = '\0';
	o.endpoint = longep;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG, "never truncated");
	longep[5 + 107] = '\0';
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	tessera_close(c);
	o.endpoint = "unix:/x";
	o.auth_type = TESSERA_AUTH_DIRECT;
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG, "Direct needs an app name");
	o.auth_type = 4; /* JwtSvid: not offered */
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG);
	o.auth_type = TESSERA_AUTH_JWT;
	o.idp_endpoint = "/no/prefix";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_ERR_ARG, "the idp endpoint is checked too");
	o.idp_endpoint = "unix:/run/idp.sock";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	cr_assert_null(tessera_identity(c), "no token before the first request");
	tessera_close(c);
}

Test(client, endpoint_from_environment)
{
	struct tessera_options o;
	struct tessera_client *c;

	tessera_options_init(&o);
	setenv("PARSEC_SERVICE_ENDPOINT", "unix:/tmp/from-env.sock", 1);
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	cr_assert_str_eq(tessera_endpoint(c), "unix:/tmp/from-env.sock");
	tessera_close(c);
	unsetenv("PARSEC_SERVICE_ENDPOINT");
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	cr_assert_str_eq(tessera_endpoint(c), TESSERA_DEFAULT_ENDPOINT);
	tessera_close(c);
}

Test(client, strerror_names)
{
	cr_assert_str_eq(tessera_strerror(0), "success");
	cr_assert_str_eq(tessera_strerror(21), "AdminOperation");
	cr_assert_str_eq(tessera_strerror(1140), "PsaErrorDoesNotExist");
	cr_assert_str_eq(tessera_strerror(TESSERA_ERR_TIMEOUT), "timed out waiting for the daemon");
	cr_assert_str_eq(tessera_strerror(-99), "unknown status");
}

Test(client, ping_and_auth_bytes)
{
	struct tessera_client *c;
	uint32_t maj = 0, min = 9;

	start_fake(PING_OK);
	c = client_for_fake(2000, TESSERA_AUTH_UNIX_PEER);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK);
	cr_assert_eq(maj, 1);
	cr_assert_eq(min, 0);
	cr_assert_eq(fk.last_auth_type, 3);
	cr_assert_eq(fk.last_auth_len, 4);
	/* Persistent: the request asks to keep the connection, and the
	 * second request reuses it. */
	cr_assert_eq(fk.last_flags, WIRE_FLAG_KEEP_OPEN);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK);
	cr_assert_eq(fk.connections, 1);
	tessera_close(c);
	c = client_for_fake(2000, TESSERA_AUTH_DIRECT);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK);
	cr_assert_eq(fk.last_auth_type, 1);
	cr_assert_eq(fk.last_auth_len, 3);
	tessera_close(c);
	stop_fake();
}

/* Against a real Parsec service, which ignores the flag and closes after
 * every response: each request opens its own connection and succeeds,
 * without waiting for a timeout or counting the close as a failure. */
Test(client, a_service_that_does_not_keep_connections_gets_one_per_request)
{
	struct tessera_client *c;
	uint32_t maj = 0, min = 9;

	start_fake(PARSEC_LIKE);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK, "request %d", i);
		cr_assert_eq(fk.connections, i + 1);
	}
	cr_assert_eq(maj, 1);
	tessera_close(c);
	stop_fake();
}

Test(client, status_is_returned)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(STATUS_21);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_ping(c, &maj, &min), 21);
	tessera_close(c);
	stop_fake();
}

Test(client, bad_magic_is_protocol_error)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(BAD_MAGIC);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_PROTOCOL);
	tessera_close(c);
	stop_fake();
}

Test(client, wrong_opcode_is_protocol_error)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(WRONG_OPCODE);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_PROTOCOL);
	tessera_close(c);
	stop_fake();
}

Test(client, parsecs_answer_to_an_unknown_opcode_is_its_status)
{
	struct tessera_client *c;
	struct tessera_key_info *keys = NULL;
	size_t n = 0;

	start_fake(PARSEC_NO_OP);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_list_keys(c, &keys, &n), 9);
	tessera_close(c);
	stop_fake();
}

Test(client, oversized_response_is_refused_before_reading)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(HUGE_BODY);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_TOO_LARGE);
	tessera_close(c);
	stop_fake();
}

Test(client, silent_server_times_out)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(SILENT);
	c = client_for_fake(200, TESSERA_AUTH_NONE);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_TIMEOUT);
	tessera_close(c);
	stop_fake();
}

Test(client, persistent_connection_reconnects_once)
{
	struct tessera_client *c;
	uint32_t maj, min;

	start_fake(CLOSE_FIRST);
	c = client_for_fake(2000, TESSERA_AUTH_NONE);
	/* The first request dies with the first connection: not retried,
	 * because the connection was new. */
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_IO);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_OK);
	cr_assert_eq(fk.connections, 2);
	tessera_close(c);
	stop_fake();
}

Test(client, no_daemon_is_a_connect_error)
{
	struct tessera_options o;
	struct tessera_client *c;
	uint32_t maj, min;

	tessera_options_init(&o);
	o.endpoint = "unix:/tmp/tessera-no-such-daemon.sock";
	cr_assert_eq(tessera_open(&o, &c), TESSERA_OK);
	cr_assert_eq(tessera_ping(c, &maj, &min), TESSERA_ERR_CONNECT);
	tessera_close(c);
}
