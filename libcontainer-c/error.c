#define _GNU_SOURCE
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int hrun_error_set(struct hrun_error *err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (errnum && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - n, ": %s", strerror(errnum));
	err->code = errnum;
	return -1;
}

int hrun_error_plain(struct hrun_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code;
	return -1;
}

int hrun_error_prefix(struct hrun_error *err, const char *fmt, ...)
{
	char prefix[HRUN_ERROR_MSG_MAX];
	char old[HRUN_ERROR_MSG_MAX];
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	/* Truncation keeps the head of the message, which says the most. */
	if (snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old) < 0)
		err->msg[0] = '\0';
	return -1;
}

void hrun_error_clear(struct hrun_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

/* The log is process-global state: one command, one log. */
static int log_fd = -1;
static enum hrun_log_format log_format = HRUN_LOG_TEXT;
static bool log_debug;

int hrun_log_open(const char *path, enum hrun_log_format format, bool debug,
		  struct hrun_error *err)
{
	log_format = format;
	log_debug = debug;
	if (!path || !*path)
		return 0;
	log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0)
		return hrun_error_errno(err, "open log file \"%s\"", path);
	return 0;
}

void hrun_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

static const char *level_name(enum hrun_log_level level)
{
	switch (level) {
	case HRUN_LOG_ERROR:
		return "error";
	case HRUN_LOG_WARNING:
		return "warning";
	case HRUN_LOG_INFO:
		return "info";
	case HRUN_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

/* RFC 3339 with nanoseconds, UTC, the way runc's logrus lines carry it. */
static void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", base, ts.tv_nsec);
}

/* Minimal JSON string escaping for log lines; the log must stay valid JSON
 * whatever a message carries (paths from a config, for one). */
static size_t json_escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p && o + 7 < outlen; p++) {
		switch (*p) {
		case '"':
		case '\\':
			out[o++] = '\\';
			out[o++] = (char)*p;
			break;
		case '\n':
			out[o++] = '\\';
			out[o++] = 'n';
			break;
		case '\t':
			out[o++] = '\\';
			out[o++] = 't';
			break;
		default:
			if (*p < 0x20)
				o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", *p);
			else
				out[o++] = (char)*p;
		}
	}
	out[o] = '\0';
	return o;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += w;
		len -= (size_t)w;
	}
}

void hrun_vlog(enum hrun_log_level level, const char *fmt, va_list ap)
{
	char msg[4096];
	char line[8192 + 128];
	int saved = errno;
	int n;

	if (level == HRUN_LOG_DEBUG && !log_debug) {
		errno = saved;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);

	if (level <= HRUN_LOG_WARNING || (log_debug && log_fd < 0)) {
		n = snprintf(line, sizeof(line), "%s%s\n",
			     level == HRUN_LOG_ERROR ? "" : level == HRUN_LOG_WARNING ? "warning: " : "debug: ",
			     msg);
		if (n > 0)
			write_all(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	if (log_fd >= 0) {
		char when[64];
		char esc[8192];

		rfc3339_now(when, sizeof(when));
		if (log_format == HRUN_LOG_JSON) {
			json_escape(esc, sizeof(esc), msg);
			n = snprintf(line, sizeof(line), "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
				     level_name(level), esc, when);
		} else {
			n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", when,
				     level_name(level), msg);
		}
		if (n > 0)
			write_all(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	errno = saved;
}

void hrun_log(enum hrun_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hrun_vlog(level, fmt, ap);
	va_end(ap);
}
