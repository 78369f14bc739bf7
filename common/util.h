/* Small helpers shared by every component. */
#ifndef TESSERA_COMMON_UTIL_H
#define TESSERA_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Parse a whole decimal string into [min, max]. Returns 0 and sets *ret, or -1
 * for empty input, a sign, trailing bytes, overflow or a value out of range. */
int ts_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *ret);

/* Tessera's version (TESSERA_VERSION, "major.minor.revision") as numbers. */
void ts_version(uint32_t ret_v[3]);

/* len bytes as lowercase hex into out (2 * len + 1 bytes, NUL-terminated). */
void ts_hex(const uint8_t *p, size_t len, char *out);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t ts_now_ms(void);

/* True when the len bytes at p are valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool ts_utf8_valid(const void *p, size_t len);

#endif
