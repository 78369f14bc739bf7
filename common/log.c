#include "common/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static _Atomic int log_level = TS_LOG_INFO;
static int log_journal = -1; /* -1: not decided yet */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const int level_prio[] = {3, 4, 6, 7};

void ts_log_set_level(enum ts_log_level level)
{
	if (level < TS_LOG_ERROR)
		level = TS_LOG_ERROR;
	if (level > TS_LOG_DEBUG)
		level = TS_LOG_DEBUG;
	atomic_store(&log_level, (int)level);
}

enum ts_log_level ts_log_get_level(void)
{
	return (enum ts_log_level)atomic_load(&log_level);
}

int ts_log_level_parse(const char *text, enum ts_log_level *ret_level)
{
	for (int i = 0; i <= TS_LOG_DEBUG; i++) {
		if (strcmp(text, level_names[i]) == 0) {
			*ret_level = (enum ts_log_level)i;
			return 0;
		}
	}
	if (strcmp(text, "trace") == 0) {
		*ret_level = TS_LOG_DEBUG;
		return 0;
	}
	return -1;
}

const char *ts_log_level_name(enum ts_log_level level)
{
	if (level < TS_LOG_ERROR || level > TS_LOG_DEBUG)
		return "?";
	return level_names[level];
}

void ts_log_write(enum ts_log_level level, const char *func, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if ((int)level > atomic_load(&log_level))
		return;
	if (log_journal < 0)
		log_journal = getenv("JOURNAL_STREAM") != NULL;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* One fprintf per line keeps lines from different threads whole. */
	if (log_journal) {
		fprintf(stderr, "<%d>%s: %s\n", level_prio[level], func, msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ldZ %-5s %s: %s\n", when, ts.tv_nsec / 1000000L,
		        level_names[level], func, msg);
	}
}

char *ts_log_escape(const void *in, size_t inlen, size_t max, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (size_t i = 0; i < inlen && i < max; i++) {
		char tmp[5];
		size_t n;

		if (p[i] == '"' || p[i] == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)p[i];
			n = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			n = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
			n = 4;
		}
		if (o + n + 1 > outlen)
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (inlen > max && o + 3 + 1 <= outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}
