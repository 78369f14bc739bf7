/* libFuzzer target: the configuration loader on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[512];
	struct ts_config *cfg;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = config_load_string(text, "fuzz", err, sizeof(err));
	if (cfg == NULL && err[0] == '\0')
		abort(); /* every rejection says why */
	config_free(cfg);
	free(text);
	return 0;
}
