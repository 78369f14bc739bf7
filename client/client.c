/* libtessera: transport, framing and the core operations. */
#include "client/tessera.h"
#include "client/client-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/secmem.h"
#include "wire/wire.h"

#include "delete_client.pb-c.h"
#include "list_authenticators.pb-c.h"
#include "list_clients.pb-c.h"
#include "list_keys.pb-c.h"
#include "psa_get_key_attributes.pb-c.h"
#include "list_opcodes.pb-c.h"
#include "list_providers.pb-c.h"
#include "ping.pb-c.h"

#define DEFAULT_TIMEOUT_MS   60000u
#define DEFAULT_MAX_RESPONSE (16u << 20)
/* The longest JWT-SVID sent (the daemon takes no longer token). */
#define TESSERA_JWT_SVID_MAX 8192

struct tessera_client {
	char *endpoint;
	struct sockaddr_un sa;
	uint8_t auth_type;
	char *app_name;
	unsigned timeout_ms;
	size_t max_response;
	int persistent;
	int fd;
	/* JWT: where tokens come from, and the current one. */
	char *idp_endpoint;
	char *token;
	uint64_t token_exp;
	uint64_t token_refresh; /* fetch a new one from this time on */
	char *identity;
	/* JWT_SVID: the file read before each request, or the fixed token. */
	char *svid_file;
	char *svid_fixed;
	/* Counts the connections opened (tessera_connection_generation). */
	uint64_t generation;
};

void tessera_options_init(struct tessera_options *o)
{
	memset(o, 0, sizeof(*o));
	o->auth_type = TESSERA_AUTH_UNIX_PEER;
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
	o->max_response = DEFAULT_MAX_RESPONSE;
	o->persistent = 1;
}

/* "unix:/path" with a path that fits a socket address (never truncated). */
static int endpoint_ok(const char *ep)
{
	return strncmp(ep, "unix:", 5) == 0 && ep[5] != '\0' &&
	       strlen(ep + 5) < sizeof(((struct sockaddr_un *)0)->sun_path);
}

/* Where a JwtSvid client's token comes from (docs/libtessera.md). */
static int svid_source(const struct tessera_options *o, const char **ret_file,
                       const char **ret_fixed)
{
	const char *file = o->jwt_svid_file, *fixed = o->jwt_svid;

	if (file == NULL && fixed == NULL) {
		file = getenv("TESSERA_JWT_SVID_FILE");
		if (file != NULL && file[0] == '\0')
			file = NULL;
		if (file == NULL)
			fixed = getenv("TESSERA_JWT_SVID");
	}
	if (file != NULL && file[0] != '\0') {
		*ret_file = file;
		return TESSERA_OK;
	}
	if (fixed != NULL && fixed[0] != '\0' && strlen(fixed) <= TESSERA_JWT_SVID_MAX) {
		*ret_fixed = fixed;
		return TESSERA_OK;
	}
	return TESSERA_ERR_ARG;
}

int tessera_open(const struct tessera_options *o, struct tessera_client **ret_client)
{
	const char *ep = o->endpoint, *idp = NULL;
	struct tessera_client *c;
	size_t plen;

	if (ep == NULL)
		ep = getenv("PARSEC_SERVICE_ENDPOINT");
	if (ep == NULL || *ep == '\0')
		ep = TESSERA_DEFAULT_ENDPOINT;
	if (!endpoint_ok(ep))
		return TESSERA_ERR_ARG;
	plen = strlen(ep + 5);
	const char *svid_file = NULL, *svid_fixed = NULL;

	if (o->auth_type != TESSERA_AUTH_NONE && o->auth_type != TESSERA_AUTH_DIRECT &&
	    o->auth_type != TESSERA_AUTH_UNIX_PEER && o->auth_type != TESSERA_AUTH_JWT &&
	    o->auth_type != TESSERA_AUTH_JWT_SVID)
		return TESSERA_ERR_ARG;
	if (o->auth_type == TESSERA_AUTH_JWT_SVID &&
	    svid_source(o, &svid_file, &svid_fixed) != TESSERA_OK)
		return TESSERA_ERR_ARG;
	if (o->auth_type == TESSERA_AUTH_JWT) {
		idp = o->idp_endpoint;
		if (idp == NULL)
			idp = getenv("TESSERA_IDP_ENDPOINT");
		if (idp == NULL || *idp == '\0')
			idp = TESSERA_DEFAULT_IDP_ENDPOINT;
		if (!endpoint_ok(idp))
			return TESSERA_ERR_ARG;
	}
	if (o->auth_type == TESSERA_AUTH_DIRECT &&
	    (o->app_name == NULL || o->app_name[0] == '\0' || strlen(o->app_name) > 65535))
		return TESSERA_ERR_ARG;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return TESSERA_ERR_NOMEM;
	c->fd = -1;
	c->endpoint = strdup(ep);
	if (o->app_name != NULL)
		c->app_name = strdup(o->app_name);
	if (idp != NULL)
		c->idp_endpoint = strdup(idp);
	if (svid_file != NULL)
		c->svid_file = strdup(svid_file);
	if (svid_fixed != NULL)
		c->svid_fixed = strdup(svid_fixed);
	if (c->endpoint == NULL || (o->app_name != NULL && c->app_name == NULL) ||
	    (idp != NULL && c->idp_endpoint == NULL) ||
	    (svid_file != NULL && c->svid_file == NULL) ||
	    (svid_fixed != NULL && c->svid_fixed == NULL)) {
		tessera_close(c);
		return TESSERA_ERR_NOMEM;
	}
	c->sa.sun_family = AF_UNIX;
	memcpy(c->sa.sun_path, ep + 5, plen + 1);
	c->auth_type = o->auth_type;
	c->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->max_response = o->max_response ? o->max_response : DEFAULT_MAX_RESPONSE;
	c->persistent = o->persistent;
	*ret_client = c;
	return TESSERA_OK;
}

static void drop_connection(struct tessera_client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

/* A token is a bearer credential until it expires: wipe it. */
static void drop_token(struct tessera_client *c)
{
	if (c->token != NULL)
		ts_free_secret(c->token, strlen(c->token));
	c->token = NULL;
	free(c->identity);
	c->identity = NULL;
	c->token_exp = c->token_refresh = 0;
}

void tessera_close(struct tessera_client *c)
{
	if (c == NULL)
		return;
	drop_connection(c);
	free(c->endpoint);
	if (c->app_name != NULL)
		ts_free_secret(c->app_name, strlen(c->app_name));
	drop_token(c);
	free(c->idp_endpoint);
	free(c->svid_file);
	if (c->svid_fixed != NULL)
		ts_free_secret(c->svid_fixed, strlen(c->svid_fixed));
	free(c);
}

const char *tessera_endpoint(const struct tessera_client *c)
{
	return c->endpoint;
}

uint64_t tessera_connection_generation(const struct tessera_client *c)
{
	return c != NULL ? c->generation : 0;
}

const char *tessera_strerror(int rc)
{
	const char *name;

	switch (rc) {
	case TESSERA_OK:
		return "success";
	case TESSERA_ERR_CONNECT:
		return "cannot connect to the daemon";
	case TESSERA_ERR_IO:
		return "connection to the daemon failed";
	case TESSERA_ERR_TIMEOUT:
		return "timed out waiting for the daemon";
	case TESSERA_ERR_PROTOCOL:
		return "malformed response from the daemon";
	case TESSERA_ERR_NOMEM:
		return "out of memory";
	case TESSERA_ERR_TOO_LARGE:
		return "response larger than the client accepts";
	case TESSERA_ERR_ARG:
		return "invalid argument";
	case TESSERA_ERR_CREDENTIAL:
		return "no JWT-SVID: its file cannot be read or holds no token";
	default:
		break;
	}
	if (rc > 0 && rc <= 0xFFFF && (name = wire_status_name((uint16_t)rc)) != NULL)
		return name;
	return "unknown status";
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Wait until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = events};
		long left = deadline - now_ms();
		int n;

		if (left <= 0)
			return TESSERA_ERR_TIMEOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return TESSERA_OK;
		if (n < 0 && errno != EINTR)
			return TESSERA_ERR_IO;
	}
}

static int connect_endpoint(struct tessera_client *c)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return TESSERA_ERR_CONNECT;
	while (connect(fd, (struct sockaddr *)&c->sa, sizeof(c->sa)) < 0) {
		if (errno == EINTR)
			continue;
		/* A full backlog answers EAGAIN on Unix sockets: not worth a retry
		 * loop here; the caller sees a clear connect failure. */
		close(fd);
		return TESSERA_ERR_CONNECT;
	}
	c->fd = fd;
	c->generation++;
	return TESSERA_OK;
}

static int send_all(int fd, const uint8_t *p, size_t len, long deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline);

			if (rc != TESSERA_OK)
				return rc;
			continue;
		}
		return TESSERA_ERR_IO;
	}
	return TESSERA_OK;
}

/* Read at least min and at most max bytes, waiting for the socket first (a
 * response is never there the instant a request was sent, so trying recv
 * first would only cost a failed call). *ret_got says how many arrived (for
 * "closed before any byte", which is when a persistent client may retry). */
static int recv_some(int fd, uint8_t *p, size_t min, size_t max, long deadline, size_t *ret_got)
{
	size_t got = 0;

	while (got < min) {
		ssize_t n;
		int rc = wait_fd(fd, POLLIN, deadline);

		if (rc != TESSERA_OK) {
			*ret_got = got;
			return rc;
		}
		n = recv(fd, p + got, max - got, 0);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		*ret_got = got;
		return TESSERA_ERR_IO; /* EOF or reset */
	}
	*ret_got = got;
	return TESSERA_OK;
}

/* Build header + body + auth in one buffer (auth may be a secret: the
 * caller wipes the buffer). */
static int build_request(const struct tessera_client *c, uint8_t provider, uint32_t opcode,
                         const uint8_t *body, size_t body_len, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t uid_bytes[4];
	const uint8_t *auth = NULL;
	size_t auth_len = 0, len;
	struct wire_header h;
	uint8_t *buf;

	if (body_len > UINT32_MAX)
		return TESSERA_ERR_ARG;
	if (c->auth_type == TESSERA_AUTH_DIRECT) {
		auth = (const uint8_t *)c->app_name;
		auth_len = strlen(c->app_name);
	} else if (c->auth_type == TESSERA_AUTH_JWT || c->auth_type == TESSERA_AUTH_JWT_SVID) {
		auth = (const uint8_t *)c->token;
		auth_len = c->token != NULL ? strlen(c->token) : 0;
		if (auth_len > 65535)
			return TESSERA_ERR_PROTOCOL;
	} else if (c->auth_type == TESSERA_AUTH_UNIX_PEER) {
		uint32_t uid = (uint32_t)geteuid();

		for (int i = 0; i < 4; i++)
			uid_bytes[i] = (uint8_t)(uid >> (8 * i));
		auth = uid_bytes;
		auth_len = 4;
	}
	len = WIRE_HEADER_LEN + body_len + auth_len;
	buf = malloc(len);
	if (buf == NULL)
		return TESSERA_ERR_NOMEM;
	wire_header_request(&h, opcode, provider, c->auth_type, (uint32_t)body_len,
	                    (uint16_t)auth_len);
	if (c->persistent)
		h.flags = WIRE_FLAG_KEEP_OPEN;
	wire_header_encode(&h, buf);
	if (body_len > 0)
		memcpy(buf + WIRE_HEADER_LEN, body, body_len);
	if (auth_len > 0)
		memcpy(buf + WIRE_HEADER_LEN + body_len, auth, auth_len);
	*ret_buf = buf;
	*ret_len = len;
	return TESSERA_OK;
}

/* One attempt on the current (or a new) connection. *ret_retry is set when
 * a reused connection turned out closed before any response byte. */
static int exchange(struct tessera_client *c, const uint8_t *req, size_t req_len, uint32_t opcode,
                    long deadline, uint8_t **ret_body, size_t *ret_len, int *ret_retry)
{
	/* The header and, usually, the whole body arrive in one read. */
	uint8_t first[WIRE_HEADER_LEN + 2048];
	struct wire_header h;
	int reused = c->fd >= 0, rc;
	size_t got = 0, extra, more;
	uint8_t *body = NULL;

	*ret_retry = 0;
	if (c->fd < 0 && (rc = connect_endpoint(c)) != TESSERA_OK)
		return rc;
	rc = send_all(c->fd, req, req_len, deadline);
	if (rc == TESSERA_OK)
		rc = recv_some(c->fd, first, WIRE_HEADER_LEN, sizeof(first), deadline, &got);
	if (rc != TESSERA_OK) {
		drop_connection(c);
		if (reused && got == 0 && rc == TESSERA_ERR_IO)
			*ret_retry = 1;
		ts_wipe(first, got);
		return rc;
	}
	wire_header_decode(first, &h);
	extra = got - WIRE_HEADER_LEN;
	/* Nothing may follow the response: requests are not pipelined here.
	 * The opcode is the request's, except in a bodiless error: Parsec
	 * answers an opcode it does not know (OpcodeDoesNotExist) with a
	 * default header, opcode Ping on the core provider. */
	if (h.magic != WIRE_MAGIC || h.hdr_size != WIRE_HEADER_SIZE_VALUE ||
	    (h.opcode != opcode && (h.status == 0 || h.body_len != 0)) || extra > h.body_len) {
		drop_connection(c);
		ts_wipe(first, got);
		return TESSERA_ERR_PROTOCOL;
	}
	if (h.body_len > c->max_response) {
		drop_connection(c); /* the rest of the stream is unread */
		ts_wipe(first, got);
		return TESSERA_ERR_TOO_LARGE;
	}
	if (h.body_len > 0) {
		body = malloc(h.body_len);
		if (body == NULL) {
			drop_connection(c);
			ts_wipe(first, got);
			return TESSERA_ERR_NOMEM;
		}
		memcpy(body, first + WIRE_HEADER_LEN, extra);
		/* Response bodies can hold exported keys or plaintext. */
		ts_wipe(first, got);
		rc = extra < h.body_len ? recv_some(c->fd, body + extra, h.body_len - extra,
		                                    h.body_len - extra, deadline, &more)
		                        : TESSERA_OK;
		if (rc != TESSERA_OK) {
			ts_free_secret(body, h.body_len);
			drop_connection(c);
			return rc;
		}
	}
	/* A service that does not say it keeps the connection closes it (every
	 * Parsec service does): the next request opens a new one. */
	if (!c->persistent || (h.flags & WIRE_FLAG_KEEP_OPEN) == 0)
		drop_connection(c);
	*ret_body = body;
	*ret_len = h.body_len;
	return h.status;
}

static uint64_t wall_s(void)
{
	return (uint64_t)time(NULL);
}

/* A JWT-SVID file's token: the file read whole, surrounding white space
 * trimmed. TESSERA_OK and a malloc'd *ret; TESSERA_ERR_CREDENTIAL. */
static int read_svid_file(const char *path, char **ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	char *buf;
	size_t got = 0, start = 0;
	ssize_t n;

	if (fd < 0)
		return TESSERA_ERR_CREDENTIAL;
	buf = malloc(TESSERA_JWT_SVID_MAX + 2);
	if (buf == NULL) {
		close(fd);
		return TESSERA_ERR_NOMEM;
	}
	while (got < TESSERA_JWT_SVID_MAX + 1 &&
	       ((n = read(fd, buf + got, TESSERA_JWT_SVID_MAX + 1 - got)) > 0 ||
	        (n < 0 && errno == EINTR)))
		got += n > 0 ? (size_t)n : 0;
	close(fd);
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' ' ||
	                   buf[got - 1] == '\t'))
		got--;
	while (start < got && (buf[start] == ' ' || buf[start] == '\t' || buf[start] == '\n'))
		start++;
	if (got == start || got > TESSERA_JWT_SVID_MAX || memchr(buf + start, '\0', got - start)) {
		ts_free_secret(buf, TESSERA_JWT_SVID_MAX + 2);
		return TESSERA_ERR_CREDENTIAL;
	}
	memmove(buf, buf + start, got - start);
	memset(buf + got - start, 0, start + 1); /* the tail a shift left behind */
	*ret = buf;
	return TESSERA_OK;
}

/* The token a JwtSvid client sends with its next request. */
static int load_svid(struct tessera_client *c)
{
	char *tok;
	int rc;

	if (c->svid_file != NULL) {
		rc = read_svid_file(c->svid_file, &tok);
		if (rc != TESSERA_OK)
			return rc;
	} else {
		tok = strdup(c->svid_fixed);
		if (tok == NULL)
			return TESSERA_ERR_NOMEM;
	}
	drop_token(c);
	c->token = tok;
	return TESSERA_OK;
}

/* Make sure a JWT client holds a token that is not about to expire (force:
 * fetch a new one regardless). *ret_fetched says whether one was fetched. */
static int ensure_token(struct tessera_client *c, int force, int *ret_fetched)
{
	struct tessera_options o;
	struct tessera_client *idp;
	char *token = NULL, *identity = NULL;
	uint64_t exp = 0, now = wall_s();
	int rc;

	if (!force && c->token != NULL && now < c->token_refresh)
		return TESSERA_OK;
	tessera_options_init(&o);
	o.endpoint = c->idp_endpoint;
	o.auth_type = TESSERA_AUTH_NONE; /* the idp knows us by our peer credentials */
	o.timeout_ms = c->timeout_ms;
	o.persistent = 0;
	rc = tessera_open(&o, &idp);
	if (rc != TESSERA_OK)
		return rc;
	rc = tessera_get_token(idp, &token, &exp, &identity);
	tessera_close(idp);
	if (rc != TESSERA_OK)
		return rc;
	drop_token(c);
	c->token = token;
	c->identity = identity;
	c->token_exp = exp;
	/* Renew when four fifths of the remaining life have passed. */
	c->token_refresh = exp > now ? now + (exp - now) * 4 / 5 : now;
	*ret_fetched = 1;
	return TESSERA_OK;
}

const char *tessera_identity(const struct tessera_client *c)
{
	return c->identity;
}

int tessera_request(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                    const uint8_t *body, size_t body_len, uint8_t **ret_body, size_t *ret_len)
{
	long deadline = now_ms() + (long)c->timeout_ms;
	uint8_t *req = NULL;
	size_t req_len = 0;
	int rc, retry, fresh_token = 0;

	if (c->auth_type == TESSERA_AUTH_JWT &&
	    (rc = ensure_token(c, 0, &fresh_token)) != TESSERA_OK)
		return rc;
	if (c->auth_type == TESSERA_AUTH_JWT_SVID && (rc = load_svid(c)) != TESSERA_OK)
		return rc;
again:
	rc = build_request(c, provider, opcode, body, body_len, &req, &req_len);
	if (rc != TESSERA_OK)
		return rc;
	rc = exchange(c, req, req_len, opcode, deadline, ret_body, ret_len, &retry);
	if (retry) /* the daemon had closed the idle connection: once more, fresh */
		rc = exchange(c, req, req_len, opcode, deadline, ret_body, ret_len, &retry);
	ts_free_secret(req, req_len);
	req = NULL;
	/* A token the daemon no longer accepts (its intermediate was rotated,
	 * or the daemon restarted): one new token, one more try. */
	/* A JWT-SVID file caught while it was rewritten (spiffe-helper writes
	 * it in place), or rotated since it was read: once more if it changed. */
	if (rc == 11 && c->auth_type == TESSERA_AUTH_JWT_SVID && c->svid_file != NULL &&
	    !fresh_token) {
		char *sent = c->token;

		c->token = NULL;
		fresh_token = 1;
		rc = load_svid(c);
		if (rc == TESSERA_OK && strcmp(sent, c->token) != 0) {
			ts_free_secret(sent, strlen(sent));
			ts_free_secret(*ret_body, *ret_len);
			*ret_body = NULL;
			goto again;
		}
		ts_free_secret(sent, strlen(sent));
		return 11;
	}
	if (rc == 11 && c->auth_type == TESSERA_AUTH_JWT && !fresh_token) {
		ts_free_secret(*ret_body, *ret_len);
		*ret_body = NULL;
		rc = ensure_token(c, 1, &fresh_token);
		if (rc != TESSERA_OK)
			return rc;
		goto again;
	}
	return rc;
}

int tessera_call(struct tessera_client *c, uint8_t provider, uint32_t opcode,
                 const ProtobufCMessage *op, const ProtobufCMessageDescriptor *desc,
                 ProtobufCMessage **ret_result)
{
	size_t n = protobuf_c_message_get_packed_size(op), rlen = 0;
	uint8_t *buf = malloc(n ? n : 1), *rbody = NULL;
	int rc;

	if (buf == NULL)
		return TESSERA_ERR_NOMEM;
	protobuf_c_message_pack(op, buf);
	rc = tessera_request(c, provider, opcode, buf, n, &rbody, &rlen);
	/* Either may hold a key, plaintext or a secret: wiped, then freed. */
	ts_free_secret(buf, n);
	if (rc != TESSERA_OK) {
		ts_free_secret(rbody, rlen);
		return rc;
	}
	if (desc != NULL) {
		*ret_result = protobuf_c_message_unpack(desc, NULL, rlen, rbody);
		if (*ret_result == NULL)
			rc = TESSERA_ERR_PROTOCOL;
	}
	ts_free_secret(rbody, rlen);
	return rc;
}

int tessera_ping(struct tessera_client *c, uint32_t *ret_maj, uint32_t *ret_min)
{
	Ping__Operation op = PING__OPERATION__INIT;
	Ping__Result *r;
	int rc = tessera_call(c, 0, WIRE_OP_PING, &op.base, &ping__result__descriptor,
	                      (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	*ret_maj = r->wire_protocol_version_maj;
	*ret_min = r->wire_protocol_version_min;
	ping__result__free_unpacked(r, NULL);
	return TESSERA_OK;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

void tessera_provider_info_free(struct tessera_provider_info *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(p[i].uuid);
		free(p[i].description);
		free(p[i].vendor);
		free(p[i].name);
	}
	free(p);
}

int tessera_list_providers(struct tessera_client *c, struct tessera_provider_info **ret,
                           size_t *ret_n)
{
	ListProviders__Operation op = LIST_PROVIDERS__OPERATION__INIT;
	ListProviders__Result *r;
	struct tessera_provider_info *out;
	int rc;

	op.include_extensions = 1; /* a Parsec service ignores the field */
	rc = tessera_call(c, 0, WIRE_OP_LIST_PROVIDERS, &op.base,
	                  &list_providers__result__descriptor, (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	out = calloc(r->n_providers ? r->n_providers : 1, sizeof(*out));
	rc = out != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
	for (size_t i = 0; rc == TESSERA_OK && i < r->n_providers; i++) {
		const ListProviders__ProviderInfo *p = r->providers[i];

		out[i].uuid = dup_or_empty(p->uuid);
		out[i].description = dup_or_empty(p->description);
		out[i].vendor = dup_or_empty(p->vendor);
		out[i].version_maj = p->version_maj;
		out[i].version_min = p->version_min;
		out[i].version_rev = p->version_rev;
		out[i].id = p->id;
		out[i].name = dup_or_empty(p->name);
		if (out[i].uuid == NULL || out[i].description == NULL || out[i].vendor == NULL ||
		    out[i].name == NULL)
			rc = TESSERA_ERR_NOMEM;
	}
	if (rc == TESSERA_OK) {
		*ret = out;
		*ret_n = r->n_providers;
	} else {
		tessera_provider_info_free(out, r->n_providers);
	}
	list_providers__result__free_unpacked(r, NULL);
	return rc;
}

int tessera_list_opcodes(struct tessera_client *c, uint8_t provider, uint32_t **ret, size_t *ret_n)
{
	ListOpcodes__Operation op = LIST_OPCODES__OPERATION__INIT;
	ListOpcodes__Result *r;
	uint32_t *out;
	int rc;

	op.provider_id = provider;
	op.include_extensions = 1;
	rc = tessera_call(c, 0, WIRE_OP_LIST_OPCODES, &op.base, &list_opcodes__result__descriptor,
	                  (ProtobufCMessage **)&r);
	if (rc != TESSERA_OK)
		return rc;
	out = malloc((r->n_opcodes ? r->n_opcodes : 1) * sizeof(*out));
	if (out == NULL) {
		list_opcodes__result__free_unpacked(r, NULL);
		return TESSERA_ERR_NOMEM;
	}
	if (r->n_opcodes > 0)
		memcpy(out, r->opcodes, r->n_opcodes * sizeof(*out));
	*ret = out;
	*ret_n = r->n_opcodes;
	list_opcodes__result__free_unpacked(r, NULL);
	return TESSERA_OK;
}

void tessera_authenticator_info_free(struct tessera_authenticator_info *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(a[i].description);
	free(a);
}

int tessera_list_authenticators(struct tessera_client *c, struct tessera_authenticator_info **ret,
                                size_t *ret_n)
{
	ListAuthenticators__Operation op = LIST_AUTHENTICATORS__OPERATION__INIT;
	ListAuthenticators__Result *r;
	struct tessera_authenticator_info *out;
	int rc = tessera_call(c, 0, WIRE_OP_LIST_AUTHENTICATORS, &op.base,
	                      &list_authenticators__result__descriptor, (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	out = calloc(r->n_authenticators ? r->n_authenticators : 1, sizeof(*out));
	rc = out != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
	for (size_t i = 0; rc == TESSERA_OK && i < r->n_authenticators; i++) {
		const ListAuthenticators__AuthenticatorInfo *a = r->authenticators[i];

		out[i].description = dup_or_empty(a->description);
		out[i].version_maj = a->version_maj;
		out[i].version_min = a->version_min;
		out[i].version_rev = a->version_rev;
		out[i].id = a->id;
		if (out[i].description == NULL)
			rc = TESSERA_ERR_NOMEM;
	}
	if (rc == TESSERA_OK) {
		*ret = out;
		*ret_n = r->n_authenticators;
	} else {
		tessera_authenticator_info_free(out, r->n_authenticators);
	}
	list_authenticators__result__free_unpacked(r, NULL);
	return rc;
}

void tessera_key_info_free(struct tessera_key_info *k, size_t n)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(k[i].name);
		free(k[i].provider_name);
		free(k[i].type);
		free(k[i].alg);
	}
	free(k);
}

/* One key's facts from its protobuf attributes (NULL: none known). */
static int key_info_fill(struct tessera_key_info *k, const PsaKeyAttributes__KeyAttributes *a)
{
	k->type = strdup(tessera_type_name(a != NULL ? a->key_type : NULL));
	if (a != NULL) {
		k->bits = a->key_bits;
		if (a->key_policy != NULL) {
			const PsaKeyAttributes__UsageFlags *u = a->key_policy->key_usage_flags;

			k->alg = tessera_alg_name(a->key_policy->key_algorithm);
			if (u != NULL)
				k->usage = (u->export ? TESSERA_USAGE_EXPORT : 0) |
				           (u->encrypt ? TESSERA_USAGE_ENCRYPT : 0) |
				           (u->decrypt ? TESSERA_USAGE_DECRYPT : 0) |
				           (u->sign_message ? TESSERA_USAGE_SIGN_MESSAGE : 0) |
				           (u->verify_message ? TESSERA_USAGE_VERIFY_MESSAGE : 0) |
				           (u->sign_hash ? TESSERA_USAGE_SIGN_HASH : 0) |
				           (u->verify_hash ? TESSERA_USAGE_VERIFY_HASH : 0) |
				           (u->derive ? TESSERA_USAGE_DERIVE : 0);
		}
	}
	return k->type != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
}

int tessera_list_keys(struct tessera_client *c, struct tessera_key_info **ret, size_t *ret_n)
{
	ListKeys__Operation op = LIST_KEYS__OPERATION__INIT;
	ListKeys__Result *r;
	struct tessera_key_info *out;
	int rc;

	op.include_extensions = 1; /* a Parsec service ignores the field */
	rc = tessera_call(c, 0, WIRE_OP_LIST_KEYS, &op.base, &list_keys__result__descriptor,
	                  (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	out = calloc(r->n_keys ? r->n_keys : 1, sizeof(*out));
	rc = out != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
	for (size_t i = 0; rc == TESSERA_OK && i < r->n_keys; i++) {
		out[i].provider_id = r->keys[i]->provider_id;
		out[i].provider_name = dup_or_empty(r->keys[i]->provider_name);
		out[i].name = dup_or_empty(r->keys[i]->name);
		rc = key_info_fill(&out[i], r->keys[i]->attributes);
		if (out[i].name == NULL || out[i].provider_name == NULL)
			rc = TESSERA_ERR_NOMEM;
	}
	if (rc == TESSERA_OK) {
		*ret = out;
		*ret_n = r->n_keys;
	} else {
		tessera_key_info_free(out, r->n_keys);
	}
	list_keys__result__free_unpacked(r, NULL);
	return rc;
}

int tessera_key_attributes(struct tessera_client *c, uint8_t provider, const char *name,
                           struct tessera_key_info **ret)
{
	PsaGetKeyAttributes__Operation op = PSA_GET_KEY_ATTRIBUTES__OPERATION__INIT;
	PsaGetKeyAttributes__Result *r;
	struct tessera_key_info *out;
	int rc;

	if (name == NULL || name[0] == '\0')
		return TESSERA_ERR_ARG;
	op.key_name = (char *)name;
	rc = tessera_call(c, provider, WIRE_OP_PSA_GET_KEY_ATTRIBUTES, &op.base,
	                  &psa_get_key_attributes__result__descriptor, (ProtobufCMessage **)&r);
	if (rc != TESSERA_OK)
		return rc;
	out = calloc(1, sizeof(*out));
	rc = out != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
	if (rc == TESSERA_OK) {
		out->provider_id = provider;
		out->provider_name = strdup("");
		out->name = strdup(name);
		rc = key_info_fill(out, r->attributes);
		if (out->name == NULL || out->provider_name == NULL)
			rc = TESSERA_ERR_NOMEM;
	}
	if (rc == TESSERA_OK)
		*ret = out;
	else if (out != NULL)
		tessera_key_info_free(out, 1);
	psa_get_key_attributes__result__free_unpacked(r, NULL);
	return rc;
}

void tessera_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int tessera_list_clients(struct tessera_client *c, char ***ret, size_t *ret_n)
{
	ListClients__Operation op = LIST_CLIENTS__OPERATION__INIT;
	ListClients__Result *r;
	char **out;
	int rc = tessera_call(c, 0, WIRE_OP_LIST_CLIENTS, &op.base,
	                      &list_clients__result__descriptor, (ProtobufCMessage **)&r);

	if (rc != TESSERA_OK)
		return rc;
	out = calloc(r->n_clients ? r->n_clients : 1, sizeof(*out));
	rc = out != NULL ? TESSERA_OK : TESSERA_ERR_NOMEM;
	for (size_t i = 0; rc == TESSERA_OK && i < r->n_clients; i++) {
		out[i] = dup_or_empty(r->clients[i]);
		if (out[i] == NULL)
			rc = TESSERA_ERR_NOMEM;
	}
	if (rc == TESSERA_OK) {
		*ret = out;
		*ret_n = r->n_clients;
	} else {
		tessera_strv_free(out, r->n_clients);
	}
	list_clients__result__free_unpacked(r, NULL);
	return rc;
}

int tessera_delete_client(struct tessera_client *c, const char *client)
{
	DeleteClient__Operation op = DELETE_CLIENT__OPERATION__INIT;

	if (client == NULL)
		return TESSERA_ERR_ARG;
	op.client = (char *)client;
	return tessera_call(c, 0, WIRE_OP_DELETE_CLIENT, &op.base, NULL, NULL);
}
