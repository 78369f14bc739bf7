/*
 * The trusted side of one trust relationship (idp -> tesserad, orchestrator
 * -> idp): a root made at start-up and shared once, intermediates shared
 * before they are used, and recovery when the trusting side restarted (it
 * answers BadState to an intermediate: it holds no root; we share the root
 * again, which a fresh process accepts, and let the owner re-send what the
 * other side lost).
 */
#include "identity/identity-priv.h"

#include <stdlib.h>
#include <string.h>

#include "client/tessera.h"
#include "common/log.h"

#define CALL_TIMEOUT_MS 2000

enum ts_err sharer_init(struct sharer *s, const char *endpoint, const char *peer_name,
                        const char *cn, int64_t rotate_s)
{
	char name[160];
	enum ts_err err;

	memset(s, 0, sizeof(*s));
	s->endpoint = strdup(endpoint);
	if (s->endpoint == NULL)
		return TS_E_NOMEM;
	s->peer_name = peer_name;
	s->rotate_s = rotate_s;
	/* Valid for two rotation periods: a late rotation never leaves the
	 * current one expired. */
	s->inter_lifetime_s = 2 * rotate_s + 300;
	snprintf(name, sizeof(name), "%s root", cn);
	err = pki_root_new(name, &s->root);
	if (err != TS_OK)
		return err;
	snprintf(name, sizeof(name), "%s intermediate", cn);
	err = pki_intermediate_new(s->root, name, s->inter_lifetime_s, &s->inter);
	s->rotated_at = now_s();
	return err;
}

void sharer_fini(struct sharer *s)
{
	pki_cert_free(s->inter);
	pki_cert_free(s->root);
	free(s->endpoint);
	memset(s, 0, sizeof(*s));
}

int sharer_connect(const struct sharer *s, struct tessera_client **ret)
{
	struct tessera_options o;

	tessera_options_init(&o);
	o.endpoint = s->endpoint;
	o.auth_type = TESSERA_AUTH_NONE;
	o.timeout_ms = CALL_TIMEOUT_MS;
	o.persistent = 1;
	return tessera_open(&o, ret);
}

static int share(struct tessera_client *c, const struct pki_cert *cert, int root)
{
	size_t len;
	const uint8_t *der = pki_cert_der(cert, &len);

	return tessera_share_trust_bundle(c, der, len, root);
}

static int share_root(struct sharer *s, struct tessera_client *c)
{
	int rc = share(c, s->root, 1);

	if (rc == TESSERA_OK) {
		s->root_shared = true;
		ts_info("shared our root with %s", s->peer_name);
		return 0;
	}
	if (rc == 1139) /* PsaErrorAlreadyExists */
		ts_error("%s already trusts another root (from an earlier run of this "
		         "program): restart %s so that it accepts this one",
		         s->peer_name, s->peer_name);
	else if (rc == 1133)
		ts_error("%s refused our root: this user is not its trusted peer (trust.*)",
		         s->peer_name);
	else
		ts_warn("cannot share our root with %s: %s", s->peer_name, tessera_strerror(rc));
	return -1;
}

/* Share inter; when the other side lost our root, share that first. */
static int share_inter(struct sharer *s, struct tessera_client *c, const struct pki_cert *inter,
                       bool *ret_reset)
{
	int rc;

	if (!s->root_shared && share_root(s, c) != 0)
		return -1;
	rc = share(c, inter, 0);
	if (rc == 1137) { /* PsaErrorBadState: a new process, without our root */
		ts_warn("%s restarted: sharing our root again", s->peer_name);
		s->root_shared = false;
		if (share_root(s, c) != 0)
			return -1;
		*ret_reset = true;
		rc = share(c, inter, 0);
	}
	if (rc != TESSERA_OK) {
		ts_warn("cannot share an intermediate with %s: %s", s->peer_name,
		        tessera_strerror(rc));
		return -1;
	}
	return 0;
}

int sharer_tick(struct sharer *s)
{
	struct tessera_client *c;
	bool reset = !s->in_sync && s->root_shared;
	int rc;

	if (sharer_connect(s, &c) != TESSERA_OK)
		return -1;
	rc = share_inter(s, c, s->inter, &reset);
	if (rc == 0 && now_s() - s->rotated_at >= s->rotate_s) {
		struct pki_cert *next = NULL;

		/* Share the new intermediate before signing anything with it. */
		if (pki_intermediate_new(s->root, "intermediate", s->inter_lifetime_s, &next) ==
		            TS_OK &&
		    share_inter(s, c, next, &reset) == 0) {
			pki_cert_free(s->inter);
			s->inter = next;
			s->rotated_at = now_s();
			ts_info("rotated the intermediate shared with %s", s->peer_name);
		} else {
			pki_cert_free(next);
			rc = -1;
		}
	}
	tessera_close(c);
	if (rc == 0 && !s->in_sync)
		ts_info("%s holds our root and current intermediate", s->peer_name);
	s->in_sync = rc == 0;
	if (rc == 0 && reset && s->on_reset != NULL)
		s->on_reset(s->ctx);
	return rc;
}
