#include <criterion/criterion.h>
#include <string.h>

#include "common/log.h"
#include "common/secmem.h"
#include "common/util.h"

Test(util, parse_u64_bounds_and_garbage)
{
	uint64_t v = 7;

	cr_assert_eq(ts_parse_u64("42", 0, 100, &v), 0);
	cr_assert_eq(v, 42);
	cr_assert_eq(ts_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	v = 7;
	cr_assert_eq(ts_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -1);
	cr_assert_eq(ts_parse_u64("", 0, 100, &v), -1);
	cr_assert_eq(ts_parse_u64("-1", 0, 100, &v), -1);
	cr_assert_eq(ts_parse_u64("+1", 0, 100, &v), -1);
	cr_assert_eq(ts_parse_u64("1x", 0, 100, &v), -1);
	cr_assert_eq(ts_parse_u64("101", 0, 100, &v), -1);
	cr_assert_eq(ts_parse_u64("4", 5, 100, &v), -1);
	cr_assert_eq(v, 7, "untouched on failure");
}

Test(util, utf8)
{
	cr_assert(ts_utf8_valid("plain", 5));
	cr_assert(ts_utf8_valid("\xF0\x9F\x94\x91", 4));     /* U+1F511 */
	cr_assert_not(ts_utf8_valid("\xF0\x9F\x94", 3));     /* truncated */
	cr_assert_not(ts_utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
	cr_assert_not(ts_utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
	cr_assert_not(ts_utf8_valid("\xFF", 1));
}

Test(secmem, wipe_and_compare)
{
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t zero[8] = {0};

	cr_assert_not(ts_consttime_eq(buf, zero, 8));
	ts_wipe(buf, sizeof(buf));
	cr_assert(ts_consttime_eq(buf, zero, 8));
	ts_wipe(NULL, 5);
	ts_free_secret(NULL, 5);
}

Test(log, levels_and_escape)
{
	enum ts_log_level l;
	char out[32];

	cr_assert_eq(ts_log_level_parse("debug", &l), 0);
	cr_assert_eq(l, TS_LOG_DEBUG);
	cr_assert_eq(ts_log_level_parse("trace", &l), 0);
	cr_assert_eq(l, TS_LOG_DEBUG);
	cr_assert_eq(ts_log_level_parse("verbose", &l), -1);
	ts_log_escape("a\"b\n\x01", 5, 100, out, sizeof(out));
	cr_assert_str_eq(out, "a\\\"b\\x0a\\x01");
	ts_log_escape("abcdefgh", 8, 3, out, sizeof(out));
	cr_assert_str_eq(out, "abc...");
	ts_log_escape("abcdefgh", 8, 100, out, 4);
	cr_assert_str_eq(out, "abc");
}
