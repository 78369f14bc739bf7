/*
 * A program of the PSA Storage API only (its headers, no libtessera), as
 * psa-arch-tests' storage suites use it: the checks of s001 to s017 in
 * spirit, for ITS and PS. It prints "ok <check>" for each and exits 0, or
 * names the first check that failed and exits 1. No init call: the library
 * connects at the first call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "psa/internal_trusted_storage.h"
#include "psa/protected_storage.h"

typedef psa_status_t (*set_fn)(psa_storage_uid_t, size_t, const void *, psa_storage_create_flags_t);
typedef psa_status_t (*get_fn)(psa_storage_uid_t, size_t, size_t, void *, size_t *);
typedef psa_status_t (*info_fn)(psa_storage_uid_t, struct psa_storage_info_t *);
typedef psa_status_t (*remove_fn)(psa_storage_uid_t);

struct api {
	const char *name;
	set_fn set;
	get_fn get;
	info_fn info;
	remove_fn remove;
};

static const struct api its = {"its", psa_its_set, psa_its_get, psa_its_get_info, psa_its_remove};
static const struct api ps = {"ps", psa_ps_set, psa_ps_get, psa_ps_get_info, psa_ps_remove};

static const char *current;

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "FAIL %s: %s (line %d)\n", current, #cond, __LINE__); \
			exit(1);                                                              \
		}                                                                             \
	} while (0)

static void begin(const struct api *a, const char *test)
{
	static char name[64];

	snprintf(name, sizeof(name), "%s %s", a->name, test);
	current = name;
}

static void done(void)
{
	printf("ok %s\n", current);
}

static void s001_uid_not_found(const struct api *a)
{
	struct psa_storage_info_t info;
	uint8_t buf[8];
	size_t len;

	begin(a, "s001");
	CHECK(a->get(70, 0, sizeof(buf), buf, &len) == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(a->info(70, &info) == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(a->remove(70) == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(a->set(70, 4, "abcd", 0) == PSA_SUCCESS);
	CHECK(a->remove(70) == PSA_SUCCESS);
	CHECK(a->get(70, 0, sizeof(buf), buf, &len) == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(a->info(70, &info) == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(a->remove(70) == PSA_ERROR_DOES_NOT_EXIST);
	done();
}

static void s002_write_once(const struct api *a)
{
	struct psa_storage_info_t info;
	uint8_t buf[8];
	size_t len = 0;

	begin(a, "s002");
	CHECK(a->set(1, 5, "first", PSA_STORAGE_FLAG_WRITE_ONCE) == PSA_SUCCESS);
	CHECK(a->set(1, 6, "second", 0) == PSA_ERROR_NOT_PERMITTED);
	CHECK(a->set(1, 6, "second", PSA_STORAGE_FLAG_WRITE_ONCE) == PSA_ERROR_NOT_PERMITTED);
	CHECK(a->remove(1) == PSA_ERROR_NOT_PERMITTED);
	CHECK(a->get(1, 0, sizeof(buf), buf, &len) == PSA_SUCCESS);
	CHECK(len == 5 && memcmp(buf, "first", 5) == 0);
	CHECK(a->info(1, &info) == PSA_SUCCESS);
	CHECK(info.size == 5 && info.flags == PSA_STORAGE_FLAG_WRITE_ONCE);
	done();
}

static void s003_insufficient_space(const struct api *a)
{
	uint8_t block[512];
	unsigned first = 0;

	begin(a, "s003");
	memset(block, 0xA5, sizeof(block));
	for (int round = 0; round < 3; round++) {
		unsigned n = 0;
		psa_status_t s;

		while ((s = a->set(5 + n, sizeof(block), block, 0)) == PSA_SUCCESS)
			n++;
		CHECK(s == PSA_ERROR_INSUFFICIENT_STORAGE);
		CHECK(n > 0);
		if (round == 0)
			first = n;
		CHECK(n == first);
		for (unsigned i = 0; i < n; i++)
			CHECK(a->remove(5 + i) == PSA_SUCCESS);
	}
	printf("# %s fits %u assets of 512 bytes\n", a->name, first);
	done();
}

static void s004_data_consistency(const struct api *a)
{
	uint8_t data[64], buf[64];
	size_t len;

	begin(a, "s004");
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 3);
	CHECK(a->set(71, sizeof(data), data, 0) == PSA_SUCCESS);
	for (size_t off = 0; off < sizeof(data); off += 7) {
		CHECK(a->get(71, off, 5, buf, &len) == PSA_SUCCESS);
		CHECK(len == (sizeof(data) - off < 5 ? sizeof(data) - off : 5));
		CHECK(memcmp(buf, data + off, len) == 0);
	}
	CHECK(a->remove(71) == PSA_SUCCESS);
	done();
}

static void s005_success(const struct api *a)
{
	struct psa_storage_info_t info;
	uint8_t buf[16];
	size_t len;

	begin(a, "s005");
	CHECK(a->set(72, 10, "0123456789", 0) == PSA_SUCCESS);
	CHECK(a->info(72, &info) == PSA_SUCCESS);
	CHECK(info.size == 10 && info.capacity == 10 && info.flags == 0);
	CHECK(a->set(72, 3, "abc", 0) == PSA_SUCCESS);
	CHECK(a->get(72, 0, sizeof(buf), buf, &len) == PSA_SUCCESS);
	CHECK(len == 3 && memcmp(buf, "abc", 3) == 0);
	CHECK(a->remove(72) == PSA_SUCCESS);
	done();
}

static void s006_create_flags(const struct api *a)
{
	const psa_storage_create_flags_t flags[] = {PSA_STORAGE_FLAG_NONE,
	                                            PSA_STORAGE_FLAG_NO_CONFIDENTIALITY,
	                                            PSA_STORAGE_FLAG_NO_REPLAY_PROTECTION};
	struct psa_storage_info_t info;

	begin(a, "s006");
	for (int i = 0; i < 3; i++) {
		CHECK(a->set(73, 4, "flag", flags[i]) == PSA_SUCCESS);
		CHECK(a->info(73, &info) == PSA_SUCCESS);
		CHECK(info.flags == flags[i]);
		CHECK(a->remove(73) == PSA_SUCCESS);
	}
	CHECK(a->set(73, 4, "flag", 1u << 7) == PSA_ERROR_NOT_SUPPORTED);
	done();
}

static void s007_incorrect_size(const struct api *a)
{
	uint8_t buf[32];
	size_t len = 0;

	begin(a, "s007");
	CHECK(a->set(74, 20, "twenty bytes of data", 0) == PSA_SUCCESS);
	CHECK(a->set(74, 5, "short", 0) == PSA_SUCCESS);
	memset(buf, '#', sizeof(buf));
	CHECK(a->get(74, 0, 20, buf, &len) == PSA_SUCCESS);
	CHECK(len == 5 && memcmp(buf, "short", 5) == 0);
	/* Past what came, the buffer is untouched. */
	CHECK(buf[5] == '#' && buf[19] == '#');
	CHECK(a->get(74, 10, 5, buf, &len) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->remove(74) == PSA_SUCCESS);
	done();
}

static void s008_invalid_offset(const struct api *a)
{
	uint8_t buf[16];
	size_t len = 99;

	begin(a, "s008");
	CHECK(a->set(75, 8, "12345678", 0) == PSA_SUCCESS);
	CHECK(a->get(75, 7, 1, buf, &len) == PSA_SUCCESS && len == 1 && buf[0] == '8');
	CHECK(a->get(75, 8, 1, buf, &len) == PSA_SUCCESS && len == 0);
	memset(buf, '#', sizeof(buf));
	CHECK(a->get(75, 9, 1, buf, &len) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->get(75, SIZE_MAX, 1, buf, &len) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(buf[0] == '#'); /* a failed get leaves the buffer as it was */
	CHECK(a->remove(75) == PSA_SUCCESS);
	done();
}

static void s009_zero_length(const struct api *a)
{
	struct psa_storage_info_t info;
	uint8_t buf[8];
	size_t len = 99;

	begin(a, "s009");
	CHECK(a->set(76, 0, NULL, 0) == PSA_SUCCESS);
	CHECK(a->info(76, &info) == PSA_SUCCESS && info.size == 0);
	CHECK(a->get(76, 0, 0, NULL, &len) == PSA_SUCCESS && len == 0);
	len = 99;
	CHECK(a->get(76, 0, sizeof(buf), buf, &len) == PSA_SUCCESS && len == 0);
	CHECK(a->set(76, 3, "abc", 0) == PSA_SUCCESS);
	CHECK(a->get(76, 0, sizeof(buf), buf, &len) == PSA_SUCCESS && len == 3);
	/* Local argument checks. */
	CHECK(a->set(76, 3, NULL, 0) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->get(76, 0, 3, NULL, &len) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->get(76, 0, 3, buf, NULL) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->info(76, NULL) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->remove(76) == PSA_SUCCESS);
	done();
}

static void s010_uid_zero(const struct api *a)
{
	struct psa_storage_info_t info;
	uint8_t buf[4];
	size_t len;

	begin(a, "s010");
	CHECK(a->set(0, 4, "zero", 0) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->get(0, 0, sizeof(buf), buf, &len) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->info(0, &info) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(a->remove(0) == PSA_ERROR_INVALID_ARGUMENT);
	done();
}

static void ps_optional(void)
{
	struct psa_storage_info_t info;
	uint8_t buf[32];
	size_t len;

	current = "ps s011-s017";
	CHECK(psa_ps_get_support() == PSA_STORAGE_SUPPORT_SET_EXTENDED);
	/* s011 */
	CHECK(psa_ps_set_extended(80, 0, 1, "x") == PSA_ERROR_DOES_NOT_EXIST);
	CHECK(psa_ps_create(80, 10, 0) == PSA_SUCCESS);
	CHECK(psa_ps_create(80, 20, 0) == PSA_ERROR_ALREADY_EXISTS);
	CHECK(psa_ps_create(80, 20, PSA_STORAGE_FLAG_WRITE_ONCE) == PSA_ERROR_NOT_SUPPORTED);
	CHECK(psa_ps_remove(80) == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(80, 0, 1, "x") == PSA_ERROR_DOES_NOT_EXIST);
	/* s012 */
	CHECK(psa_ps_create(81, 10, 0) == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(81, 0, 4, "abcd") == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(81, 5, 1, "x") == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_set_extended(81, 4, 7, "1234567") == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_set_extended(81, 4, 2, "ef") == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(81, 0, 3, NULL) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_create(0, 10, 0) == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_set_extended(0, 0, 1, "x") == PSA_ERROR_INVALID_ARGUMENT);
	/* s013 */
	CHECK(psa_ps_set_extended(81, 6, 4, "ghij") == PSA_SUCCESS);
	CHECK(psa_ps_get(81, 0, sizeof(buf), buf, &len) == PSA_SUCCESS);
	CHECK(len == 10 && memcmp(buf, "abcdefghij", 10) == 0);
	CHECK(psa_ps_remove(81) == PSA_SUCCESS);
	/* s015 */
	CHECK(psa_ps_create(82, 10, PSA_STORAGE_FLAG_WRITE_ONCE) == PSA_ERROR_NOT_SUPPORTED);
	CHECK(psa_ps_get_info(82, &info) == PSA_ERROR_DOES_NOT_EXIST);
	/* s016 */
	CHECK(psa_ps_create(83, 10, 0) == PSA_SUCCESS);
	CHECK(psa_ps_create(83, 10, 0) == PSA_ERROR_ALREADY_EXISTS);
	CHECK(psa_ps_set(83, 8, "12345678", 0) == PSA_SUCCESS);
	CHECK(psa_ps_get_info(83, &info) == PSA_SUCCESS && info.capacity == 8 && info.size == 8);
	CHECK(psa_ps_set_extended(83, 0, 10, "0123456789") == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_create(84, 0xFFFFFFFFu, 0) == PSA_ERROR_INSUFFICIENT_STORAGE);
	CHECK(psa_ps_create(83, 0xFFFFFFFFu, 0) == PSA_ERROR_INSUFFICIENT_STORAGE);
	CHECK(psa_ps_remove(83) == PSA_SUCCESS);
	/* s017 */
	CHECK(psa_ps_create(85, 12, 0) == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(85, 0, 6, "ABCDEF") == PSA_SUCCESS);
	CHECK(psa_ps_set_extended(85, 8, 2, "XY") == PSA_ERROR_INVALID_ARGUMENT);
	CHECK(psa_ps_set_extended(85, 3, 6, "defGHI") == PSA_SUCCESS);
	CHECK(psa_ps_get_info(85, &info) == PSA_SUCCESS);
	CHECK(info.capacity == 12 && info.size == 9 && info.flags == 0);
	CHECK(psa_ps_get(85, 0, sizeof(buf), buf, &len) == PSA_SUCCESS);
	CHECK(len == 9 && memcmp(buf, "ABCdefGHI", 9) == 0);
	CHECK(psa_ps_remove(85) == PSA_SUCCESS);
	done();
}

int main(void)
{
	const struct api *apis[] = {&its, &ps};

	for (int i = 0; i < 2; i++) {
		s001_uid_not_found(apis[i]);
		s002_write_once(apis[i]);
		s003_insufficient_space(apis[i]);
		s004_data_consistency(apis[i]);
		s005_success(apis[i]);
		s006_create_flags(apis[i]);
		s007_incorrect_size(apis[i]);
		s008_invalid_offset(apis[i]);
		s009_zero_length(apis[i]);
		s010_uid_zero(apis[i]);
	}
	ps_optional();
	return 0;
}
