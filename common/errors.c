#include "common/errors.h"

#include <stddef.h>

struct err_entry {
	const char *name;
	const char *msg;
	uint16_t wire;
};

static const struct err_entry err_table[] = {
#define TS_ERR_ROW(name, wire, msg) [TS_E_##name] = {#name, msg, wire},
        TS_ERROR_LIST(TS_ERR_ROW)
#undef TS_ERR_ROW
};

const char *ts_strerror(enum ts_err err)
{
	if ((unsigned)err >= TS_E__COUNT)
		return "unknown error";
	return err_table[err].msg;
}

const char *ts_errname(enum ts_err err)
{
	if ((unsigned)err >= TS_E__COUNT)
		return "UNKNOWN";
	return err_table[err].name;
}

uint16_t ts_err_wire_status(enum ts_err err)
{
	if ((unsigned)err >= TS_E__COUNT)
		return 1132; /* PsaErrorGenericError: never leak an unmapped value */
	return err_table[err].wire;
}
