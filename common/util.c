#include "common/util.h"

#include <stdlib.h>

#include <time.h>

int ts_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (text == NULL || *text == '\0')
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		unsigned d;

		if (*p < '0' || *p > '9')
			return -1;
		d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

uint64_t ts_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool ts_utf8_valid(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000))
			return false; /* overlong */
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

void ts_version(uint32_t ret_v[3])
{
	const char *p = TESSERA_VERSION;

	for (int i = 0; i < 3; i++) {
		char *end;

		ret_v[i] = (uint32_t)strtoul(p, &end, 10);
		p = *end == '.' ? end + 1 : end;
	}
}

void ts_hex(const uint8_t *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}
