#include <criterion/criterion.h>

#include "common/errors.h"
#include "wire/wire.h"

Test(errors, every_error_maps_to_a_named_wire_status)
{
	for (int e = 0; e < TS_E__COUNT; e++) {
		uint16_t s = ts_err_wire_status((enum ts_err)e);

		cr_assert_not_null(wire_status_name(s), "%s maps to unnamed status %u",
		                   ts_errname((enum ts_err)e), s);
		cr_assert_str_neq(ts_strerror((enum ts_err)e), "unknown error");
	}
}

Test(errors, psa_rule_is_1000_minus_psa_status)
{
	/* Parsec status = 1000 - psa_status_t for PSA errors. */
	cr_assert_eq(ts_err_wire_status(TS_E_PSA_GENERIC_ERROR), 1000 + 132);
	cr_assert_eq(ts_err_wire_status(TS_E_PSA_DOES_NOT_EXIST), 1000 + 140);
	cr_assert_eq(ts_err_wire_status(TS_E_PSA_DATA_INVALID), 1000 + 153);
}

Test(errors, internal_errors_and_out_of_range)
{
	cr_assert_eq(ts_err_wire_status(TS_E_NOMEM), 1141);
	cr_assert_eq(ts_err_wire_status(TS_E_TIMEOUT), 15);
	cr_assert_eq(ts_err_wire_status(TS_OK), 0);
	cr_assert_eq(ts_err_wire_status((enum ts_err)9999), 1132);
	cr_assert_str_eq(ts_strerror((enum ts_err)9999), "unknown error");
	cr_assert_str_eq(ts_errname(TS_E_ADMIN_OPERATION), "ADMIN_OPERATION");
}
