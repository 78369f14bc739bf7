/* The out-of-process test endpoint, driven from the tests (tsfake-proc.h). */
#include "tsfake-proc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

void fake_start(struct fake_proc *fp, const char *dir)
{
	int fd = -1;

	snprintf(fp->sock, sizeof(fp->sock), "%s/fake.sock", dir);
	fp->pid = td_fork();
	cr_assert_neq(fp->pid, -1);
	if (fp->pid == 0) {
		execl(FAKE_SERVER, FAKE_SERVER, fp->sock, (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(setenv("TSFAKE_SOCKET", fp->sock, 1), 0);
	/* Up to 10 s (stretched) for it to listen: a started server does. */
	for (int i = 0; i < td_scale(10000) / 10 && fd < 0; i++) {
		int status;

		fd = connect_to(fp->sock);
		if (fd < 0) {
			cr_assert_eq(waitpid(fp->pid, &status, WNOHANG), 0,
			             "tsfake-server exited at start (status %d)", status);
			usleep(10000);
		}
	}
	cr_assert_geq(fd, 0, "tsfake-server does not accept on %s", fp->sock);
	close(fd);
}

int fake_stop(struct fake_proc *fp, int sig)
{
	int status = -1;

	if (fp->pid <= 0)
		return -1;
	kill(fp->pid, sig);
	while (waitpid(fp->pid, &status, 0) < 0 && errno == EINTR)
		;
	fp->pid = 0;
	unlink(fp->sock); /* gone already after a clean stop */
	return status;
}

static bool put_all(int fd, const uint8_t *p, size_t len)
{
	return td_send_all(fd, p, len) == 0;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

int32_t fake_ctl(const struct fake_proc *fp, uint32_t opcode, const uint8_t *req, size_t req_len,
                 uint8_t *resp, size_t cap, size_t *ret_len)
{
	uint8_t head[16];
	int fd = connect_to(fp->sock);
	size_t len;

	cr_assert_geq(fd, 0, "tsfake-server is not there");
	put_le32(head, opcode);
	put_le32(head + 4, (uint32_t)req_len);
	put_le32(head + 8, (uint32_t)cap);
	cr_assert(put_all(fd, head, 12) && (req_len == 0 || put_all(fd, req, req_len)));
	/* The server answers after the call it is in: a latency may be set. */
	cr_assert_eq(td_recv_exact(fd, head, 16, td_scale(120000)), 0,
	             "no answer from tsfake-server");
	len = le32(head + 12);
	cr_assert_leq(len, cap);
	cr_assert(len == 0 || td_recv_exact(fd, resp, len, td_scale(10000)) == 0);
	close(fd);
	*ret_len = len;
	return (int32_t)le32(head);
}

void fake_set_latency(const struct fake_proc *fp, unsigned ms)
{
	uint8_t req[4];
	size_t n;

	put_le32(req, ms);
	cr_assert_eq(fake_ctl(fp, FAKE_CTL_LATENCY, req, sizeof(req), NULL, 0, &n), 0);
}

void fake_set_fault(const struct fake_proc *fp, int32_t rpc, int32_t service, uint32_t damage)
{
	uint8_t req[12];
	size_t n;

	put_le32(req, (uint32_t)rpc);
	put_le32(req + 4, (uint32_t)service);
	put_le32(req + 8, damage);
	cr_assert_eq(fake_ctl(fp, FAKE_CTL_FAULT, req, sizeof(req), NULL, 0, &n), 0);
}

size_t fake_key_ids(const struct fake_proc *fp, uint32_t *ids, size_t cap)
{
	static uint8_t buf[8192];
	size_t n = 0;

	cr_assert_eq(fake_ctl(fp, FAKE_CTL_KEYS, NULL, 0, buf, sizeof(buf), &n), 0);
	cr_assert_eq(n % 4, 0);
	cr_assert_leq(n / 4, cap, "more keys in the endpoint than the test expects");
	for (size_t i = 0; i < n / 4; i++)
		ids[i] = le32(buf + 4 * i);
	return n / 4;
}
