/* The error value every fallible function fills, and the log.
 *
 * struct hrun_error is plain data on purpose: the container's init sends it
 * to the parent over the sync socket byte for byte. */
#ifndef HRUN_ERROR_H
#define HRUN_ERROR_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>

#define HRUN_ERROR_MSG_MAX 1024

struct hrun_error {
	int code; /* errno, or 0 when the failure is not a syscall's */
	char msg[HRUN_ERROR_MSG_MAX];
};

/* Fill ERR with the formatted message and, when ERRNUM is non-zero,
 * ": strerror(ERRNUM)". Always returns -1 so callers can `return
 * hrun_error_set(...)`. */
int hrun_error_set(struct hrun_error *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fill ERR with the formatted message as is and record CODE (no strerror
 * text: for failures whose message already says it all). Returns -1. */
int hrun_error_plain(struct hrun_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, with errno taken at the call. */
#define hrun_error_errno(err, ...) hrun_error_set((err), errno, __VA_ARGS__)

/* Prepend context: "FMT: <previous message>". Returns -1. */
int hrun_error_prefix(struct hrun_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void hrun_error_clear(struct hrun_error *err);

enum hrun_log_level {
	HRUN_LOG_ERROR,
	HRUN_LOG_WARNING,
	HRUN_LOG_INFO,
	HRUN_LOG_DEBUG,
};

enum hrun_log_format {
	HRUN_LOG_TEXT,
	HRUN_LOG_JSON,
};

/* Where log lines go besides stderr. PATH may be NULL (stderr only). */
int hrun_log_open(const char *path, enum hrun_log_format format, bool debug,
		  struct hrun_error *err);
void hrun_log_close(void);

/* Log at LEVEL. Errors and warnings always reach stderr as plain text;
 * every level that passes the debug filter reaches the log file in its
 * format. */
void hrun_log(enum hrun_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hrun_vlog(enum hrun_log_level level, const char *fmt, va_list ap);

#define hrun_warn(...) hrun_log(HRUN_LOG_WARNING, __VA_ARGS__)
#define hrun_debug(...) hrun_log(HRUN_LOG_DEBUG, __VA_ARGS__)

#endif
