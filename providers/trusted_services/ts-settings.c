/* The provider's settings: "transport", "device", "libts_path", "service". */
#include "providers/trusted_services/ts-priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define DEFAULT_SERVICE "sn:trustedfirmware.org:crypto:0"

void tsp_settings_free(struct tsp_settings *s)
{
	free(s->transport);
	free(s->device);
	free(s->libts_path);
	free(s->service);
	memset(s, 0, sizeof(*s));
}

enum ts_err tsp_parse_settings(const char *text, const char *path, struct tsp_settings *ret,
                               char *err, size_t errlen)
{
	static const char *const keys[] = {"transport", "device", "libts_path", "service"};
	struct tsp_settings s = {0};
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr), *v;
	const char *key;
	enum ts_err rc = TS_E_CONFIG;

	if (o == NULL || !json_is_object(o)) {
		snprintf(err, errlen, "%s: settings are not a JSON object", path);
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		char **dst[] = {&s.transport, &s.device, &s.libts_path, &s.service};
		size_t i;

		for (i = 0; i < 4 && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == 4) {
			snprintf(err, errlen,
			         "%s.%.64s: unknown key (the Trusted Services provider takes "
			         "transport, device, libts_path and service)",
			         path, key);
			goto out;
		}
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 4096) {
			snprintf(err, errlen, "%s.%s: must be a non-empty string", path, key);
			goto out;
		}
		*dst[i] = strdup(json_string_value(v));
		if (*dst[i] == NULL) {
			rc = TS_E_NOMEM;
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
	}
	if (s.transport != NULL && strcmp(s.transport, "auto") != 0 &&
	    strcmp(s.transport, "tstee") != 0 && strcmp(s.transport, "libts") != 0) {
		snprintf(err, errlen, "%s.transport: \"%.64s\" is not auto, tstee or libts", path,
		         s.transport);
		goto out;
	}
	if (s.service == NULL && (s.service = strdup(DEFAULT_SERVICE)) == NULL) {
		rc = TS_E_NOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if (s.transport != NULL && strcmp(s.transport, "tstee") == 0 && s.libts_path != NULL) {
		snprintf(err, errlen, "%s.libts_path: only for the libts or auto transport", path);
		goto out;
	}
	if (s.transport != NULL && strcmp(s.transport, "tstee") == 0) {
		uint8_t uuid[16];

		if (tst_service_uuid(s.service, uuid) != TS_OK) {
			snprintf(err, errlen,
			         "%s.service: the tstee transport speaks only the packed-c crypto "
			         "service, sn:trustedfirmware.org:crypto:<n>",
			         path);
			goto out;
		}
	}
	if (s.transport != NULL && strcmp(s.transport, "libts") == 0 && s.device != NULL) {
		snprintf(err, errlen, "%s.device: only for the tstee or auto transport", path);
		goto out;
	}
	*ret = s;
	memset(&s, 0, sizeof(s));
	rc = TS_OK;
out:
	tsp_settings_free(&s);
	json_decref(o);
	return rc;
}

enum ts_err tsp_check_settings(const char *settings, const char *path, char *err, size_t errlen)
{
	struct tsp_settings s = {0};
	enum ts_err rc = tsp_parse_settings(settings, path, &s, err, errlen);

	tsp_settings_free(&s);
	return rc;
}
