/*
 * Logging for the request layer and the programs' main functions. Components
 * return error codes and leave logging to their callers.
 *
 * Output goes to stderr. Under systemd (JOURNAL_STREAM set) each line starts
 * with a "<N>" syslog priority prefix so journald records the level; otherwise
 * lines carry a UTC timestamp and the level name.
 */
#ifndef TESSERA_COMMON_LOG_H
#define TESSERA_COMMON_LOG_H

#include <stddef.h>

enum ts_log_level {
	TS_LOG_ERROR = 0,
	TS_LOG_WARN = 1,
	TS_LOG_INFO = 2,
	TS_LOG_DEBUG = 3,
};

/* Set the most verbose level that is printed. Thread-safe. */
void ts_log_set_level(enum ts_log_level level);
enum ts_log_level ts_log_get_level(void);

/* Parse "error", "warn", "info", "debug" ("trace" is taken as debug, as Parsec
 * users write it). Returns 0 and sets *ret_level, or -1 for any other text. */
int ts_log_level_parse(const char *text, enum ts_log_level *ret_level);
const char *ts_log_level_name(enum ts_log_level level);

void ts_log_write(enum ts_log_level level, const char *func, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Copy untrusted text into out (size outlen) for a log line: at most max
 * input bytes, non-printable bytes as \xNN, quotes and backslashes escaped.
 * Always NUL-terminates; returns out. */
char *ts_log_escape(const void *in, size_t inlen, size_t max, char *out, size_t outlen);

#define ts_error(...) ts_log_write(TS_LOG_ERROR, __func__, __VA_ARGS__)
#define ts_warn(...)  ts_log_write(TS_LOG_WARN, __func__, __VA_ARGS__)
#define ts_info(...)  ts_log_write(TS_LOG_INFO, __func__, __VA_ARGS__)
#define ts_debug(...) ts_log_write(TS_LOG_DEBUG, __func__, __VA_ARGS__)

#endif
