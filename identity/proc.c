/*
 * Proofs about a process, read from the kernel's /proc: start time (which
 * together with the pid names one process for the life of the boot), real
 * uid and gid, the executable's SHA-256, and the cgroup with the container
 * id a runtime encodes in it.
 */
#include "identity/identity.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util.h"

static enum ts_err read_small(const char *path, char *buf, size_t size, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? TS_E_PSA_DOES_NOT_EXIST : TS_E_IO;
	while (got + 1 < size) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return errno == ESRCH ? TS_E_PSA_DOES_NOT_EXIST : TS_E_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*ret_len = got;
	return TS_OK;
}

/* Fields 4 (parent pid) and 22 (start time) of /proc/PID/stat. */
enum ts_err proc_stat(pid_t pid, pid_t *ret_ppid, uint64_t *ret_start)
{
	char path[64], buf[1024], *p, *end;
	size_t len;
	enum ts_err err;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	err = read_small(path, buf, sizeof(buf), &len);
	if (err != TS_OK)
		return err;
	/* The command name (field 2) may hold spaces and parentheses: count
	 * fields from its last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL)
		return TS_E_IO;
	p++;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		field++;
		if (field == 4 && ret_ppid != NULL)
			*ret_ppid = (pid_t)strtol(p, NULL, 10);
		if (field == 22)
			break;
		while (*p != ' ' && *p != '\0')
			p++;
	}
	if (field != 22)
		return TS_E_IO;
	errno = 0;
	*ret_start = strtoull(p, &end, 10);
	if (errno != 0 || end == p)
		return TS_E_IO;
	return TS_OK;
}

enum ts_err proc_start_time(pid_t pid, uint64_t *ret)
{
	return proc_stat(pid, NULL, ret);
}

enum ts_err file_sha256(const char *path, char ret_hex[65])
{
	EVP_MD_CTX *md;
	unsigned char buf[65536], out[32];
	unsigned int olen = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	enum ts_err err = TS_E_IO;

	if (fd < 0)
		return errno == ENOENT ? TS_E_PSA_DOES_NOT_EXIST : TS_E_IO;
	md = EVP_MD_CTX_new();
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, (size_t)n);
	}
	if (EVP_DigestFinal_ex(md, out, &olen) != 1)
		goto out;
	ts_hex(out, 32, ret_hex);
	err = TS_OK;
out:
	EVP_MD_CTX_free(md);
	close(fd);
	return err;
}

static void find_container_id(const char *cgroup, char ret_id[65])
{
	size_t run = 0;

	ret_id[0] = '\0';
	for (const char *p = cgroup;; p++) {
		if (*p != '\0' && isxdigit((unsigned char)*p) && !isupper((unsigned char)*p)) {
			run++;
			continue;
		}
		/* runc, crun, podman and docker all name the scope after the
		 * 64-hex-digit container id; take the last one. */
		if (run == 64) {
			memcpy(ret_id, p - 64, 64);
			ret_id[64] = '\0';
		}
		run = 0;
		if (*p == '\0')
			break;
	}
}

static enum ts_err read_ids(pid_t pid, struct proc_proofs *r)
{
	char path[64], buf[4096], *line;
	size_t len;
	enum ts_err err;
	bool have_uid = false, have_gid = false;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	err = read_small(path, buf, sizeof(buf), &len);
	if (err != TS_OK)
		return err;
	for (line = buf; line != NULL && *line != '\0';) {
		char *nl = strchr(line, '\n');
		unsigned long v;

		if (nl != NULL)
			*nl = '\0';
		if (sscanf(line, "Uid: %lu", &v) == 1) {
			r->uid = (uid_t)v;
			have_uid = true;
		} else if (sscanf(line, "Gid: %lu", &v) == 1) {
			r->gid = (gid_t)v;
			have_gid = true;
		}
		line = nl != NULL ? nl + 1 : NULL;
	}
	return have_uid && have_gid ? TS_OK : TS_E_IO;
}

enum ts_err proc_cgroup(pid_t pid, char *out, size_t size)
{
	char path[64], buf[4096];
	size_t len, k = 0;
	enum ts_err err;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%ld/cgroup", (long)pid);
	err = read_small(path, buf, sizeof(buf), &len);
	if (err != TS_OK)
		return err;
	/* Every hierarchy's line, joined with ';': the same text whatever mix
	 * of cgroup v1 and v2 the host runs. */
	for (size_t i = 0; i < len && k + 1 < size; i++) {
		if (buf[i] == '\n') {
			if (i + 1 < len)
				out[k++] = ';';
			continue;
		}
		out[k++] = buf[i];
	}
	out[k] = '\0';
	return TS_OK;
}

/* Does path (up to end) name id as a whole word? */
static bool path_names(const char *path, const char *end, const char *id, size_t n)
{
	for (const char *p = path; p + n <= end; p++) {
		if (memcmp(p, id, n) != 0)
			continue;
		if ((p == path || !isalnum((unsigned char)p[-1])) &&
		    (p + n == end || !isalnum((unsigned char)p[n])))
			return true;
	}
	return false;
}

bool cgroup_names(const char *cgroup, const char *id)
{
	size_t n = strlen(id);
	const char *line = cgroup;

	if (n == 0)
		return false;
	/* Only the paths count, not the controller names before them. */
	while (*line != '\0') {
		const char *end = strchr(line, ';'), *c1, *c2;

		if (end == NULL)
			end = line + strlen(line);
		c1 = memchr(line, ':', (size_t)(end - line));
		c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
		if (c2 != NULL && path_names(c2 + 1, end, id, n))
			return true;
		line = *end == ';' ? end + 1 : end;
	}
	return false;
}

enum ts_err proc_read(pid_t pid, const char *exe_path, struct proc_proofs *ret)
{
	char path[64];
	enum ts_err err;

	memset(ret, 0, sizeof(*ret));
	ret->pid = pid;
	err = proc_start_time(pid, &ret->start_time);
	if (err == TS_OK)
		err = read_ids(pid, ret);
	if (err != TS_OK)
		return err;
	proc_cgroup(pid, ret->cgroup, sizeof(ret->cgroup));
	find_container_id(ret->cgroup, ret->container_id);
	if (exe_path == NULL) {
		snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
		exe_path = path;
	}
	if (file_sha256(exe_path, ret->exe_sha256) != TS_OK)
		ret->exe_sha256[0] = '\0';
	/* The process may have exited while we read: same pid, same start? */
	{
		uint64_t again;

		if (proc_start_time(pid, &again) != TS_OK || again != ret->start_time)
			return TS_E_PSA_DOES_NOT_EXIST;
	}
	return TS_OK;
}
