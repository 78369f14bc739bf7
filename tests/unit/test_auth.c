#include <criterion/criterion.h>
#include <string.h>

#include "auth/auth.h"

static struct auth_set *make_set(void)
{
	static const char *const direct_admins[] = {"root-app"};
	static const char *const unix_admins[] = {"1000"};
	struct auth_settings d = {.admins = direct_admins, .n_admins = 1};
	struct auth_settings u = {.admins = unix_admins, .n_admins = 1};
	struct auth_set *set;

	cr_assert_eq(auth_set_new(&set), TS_OK);
	cr_assert_eq(auth_set_add(set, 3, &u), TS_OK);
	cr_assert_eq(auth_set_add(set, 1, &d), TS_OK);
	return set;
}

static const struct auth_peer peer1000 = {.valid = true, .pid = 42, .uid = 1000, .gid = 1000};

Test(auth, order_is_configuration_order)
{
	struct auth_set *set = make_set();

	cr_assert_eq(auth_set_count(set), 2);
	cr_assert_eq(auth_set_get(set, 0)->auth_type, 3);
	cr_assert_eq(auth_set_get(set, 1)->auth_type, 1);
	cr_assert_null(auth_set_get(set, 2));
	auth_set_free(set);
}

Test(auth, duplicates_and_unknown_types_are_refused)
{
	struct auth_set *set = make_set();

	cr_assert_eq(auth_set_add(set, 1, NULL), TS_E_CONFIG);
	cr_assert_eq(auth_set_add(set, 9, NULL), TS_E_AUTHENTICATOR_DOES_NOT_EXIST);
	cr_assert_eq(auth_set_add(set, 0, NULL), TS_E_AUTHENTICATOR_DOES_NOT_EXIST);
	auth_set_free(set);
}

Test(auth, noauth_gives_no_identity)
{
	struct auth_set *set = make_set();
	struct auth_identity id = {.name = (char *)"untouched"};

	cr_assert_eq(auth_set_authenticate(set, 0, (const uint8_t *)"x", 1, NULL, &id), TS_OK);
	cr_assert_null(id.name);
	cr_assert_not(id.is_admin);
	auth_set_free(set);
}

Test(auth, type_not_enabled_is_not_registered)
{
	struct auth_set *set;
	struct auth_identity id = {0};

	cr_assert_eq(auth_set_new(&set), TS_OK);
	cr_assert_eq(auth_set_add(set, 3, NULL), TS_OK);
	cr_assert_eq(auth_set_authenticate(set, 1, (const uint8_t *)"a", 1, &peer1000, &id),
	             TS_E_AUTHENTICATOR_NOT_REGISTERED);
	cr_assert_eq(auth_set_authenticate(set, 2, (const uint8_t *)"a", 1, &peer1000, &id),
	             TS_E_AUTHENTICATOR_NOT_REGISTERED);
	cr_assert_null(id.name);
	auth_set_free(set);
}

Test(auth, direct_names_and_admins)
{
	struct auth_set *set = make_set();
	struct auth_identity id = {0};

	cr_assert_eq(auth_set_authenticate(set, 1, (const uint8_t *)"alice", 5, NULL, &id), TS_OK);
	cr_assert_str_eq(id.name, "alice");
	cr_assert_eq(id.auth_type, 1);
	cr_assert_not(id.is_admin);
	auth_identity_clear(&id);
	cr_assert_eq(auth_set_authenticate(set, 1, (const uint8_t *)"root-app", 8, NULL, &id),
	             TS_OK);
	cr_assert(id.is_admin);
	auth_identity_clear(&id);
	/* A prefix of an admin name is not an admin. */
	cr_assert_eq(auth_set_authenticate(set, 1, (const uint8_t *)"root-ap", 7, NULL, &id),
	             TS_OK);
	cr_assert_not(id.is_admin);
	auth_identity_clear(&id);
	auth_set_free(set);
}

Test(auth, direct_rejects_empty_and_invalid_utf8)
{
	struct auth_set *set = make_set();
	struct auth_identity id = {0};
	static const uint8_t bad_utf8[] = {'a', 0xC3, 0x28};
	static const uint8_t overlong[] = {0xC0, 0xAF};
	static const uint8_t surrogate[] = {0xED, 0xA0, 0x80};
	static const uint8_t good[] = {0xC3, 0xA9, 't', 0xC3, 0xA9}; /* "été" */

	cr_assert_eq(auth_set_authenticate(set, 1, (const uint8_t *)"", 0, NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 1, bad_utf8, sizeof(bad_utf8), NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 1, overlong, sizeof(overlong), NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 1, surrogate, sizeof(surrogate), NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_null(id.name);
	cr_assert_eq(auth_set_authenticate(set, 1, good, sizeof(good), NULL, &id), TS_OK);
	cr_assert_str_eq(id.name, "\xC3\xA9t\xC3\xA9");
	auth_identity_clear(&id);
	auth_set_free(set);
}

Test(auth, unix_peer_matches_peer_uid)
{
	struct auth_set *set = make_set();
	struct auth_identity id = {0};
	static const uint8_t uid1000[4] = {0xE8, 0x03, 0, 0};
	static const uint8_t uid1001[4] = {0xE9, 0x03, 0, 0};
	struct auth_peer no_cred = {.valid = false};
	struct auth_peer peer0 = {.valid = true, .uid = 0};
	static const uint8_t uid0[4] = {0, 0, 0, 0};

	cr_assert_eq(auth_set_authenticate(set, 3, uid1000, 4, &peer1000, &id), TS_OK);
	cr_assert_str_eq(id.name, "1000");
	cr_assert(id.is_admin);
	auth_identity_clear(&id);
	cr_assert_eq(auth_set_authenticate(set, 3, uid0, 4, &peer0, &id), TS_OK);
	cr_assert_str_eq(id.name, "0");
	cr_assert_not(id.is_admin);
	auth_identity_clear(&id);

	cr_assert_eq(auth_set_authenticate(set, 3, uid1001, 4, &peer1000, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 3, uid1000, 3, &peer1000, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(
	        auth_set_authenticate(set, 3, (const uint8_t *)"\xE8\x03\0\0\0", 5, &peer1000, &id),
	        TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 3, uid1000, 4, &no_cred, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_eq(auth_set_authenticate(set, 3, uid1000, 4, NULL, &id),
	             TS_E_AUTHENTICATION_ERROR);
	cr_assert_null(id.name);
	auth_set_free(set);
}
