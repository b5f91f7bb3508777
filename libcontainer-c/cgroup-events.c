#define _GNU_SOURCE
#include "cgroup-events.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "cleanup.h"

/* The oom_kill line of memory.events, read from the start each time
 * (cgroup files are generated on read; pread at 0 gives the current one). */
static int read_oom_kill(int fd, uint64_t *out)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return -1;
	buf[n] = '\0';
	for (char *line = buf; line && *line;) {
		if (strncmp(line, "oom_kill ", 9) == 0) {
			*out = strtoull(line + 9, NULL, 10);
			return 0;
		}
		line = strchr(line, '\n');
		line = line ? line + 1 : NULL;
	}
	errno = ENOENT;
	return -1;
}

static int open_v2(const char *dir, struct hrun_oom_watch *w, struct hrun_error *err)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	w->v2_events_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->v2_events_fd < 0)
		return hrun_error_errno(err, "open \"%s\"", path);
	if (read_oom_kill(w->v2_events_fd, &w->last) < 0)
		return hrun_error_errno(err, "read \"%s\"", path);
	/* The kernel signals a change of memory.events as a modification. */
	w->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->fd < 0)
		return hrun_error_errno(err, "inotify_init1");
	if (inotify_add_watch(w->fd, path, IN_MODIFY) < 0)
		return hrun_error_errno(err, "inotify_add_watch \"%s\"", path);
	/* Removing a cgroup sends its files no inotify event; the last
	 * process leaving it changes cgroup.events, and ends the container. */
	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	w->v2_state_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->v2_state_fd < 0)
		return hrun_error_errno(err, "open \"%s\"", path);
	if (inotify_add_watch(w->fd, path, IN_MODIFY) < 0)
		return hrun_error_errno(err, "inotify_add_watch \"%s\"", path);
	return 0;
}

static int open_v1(const char *dir, struct hrun_oom_watch *w, struct hrun_error *err)
{
	char path[4200], line[64];
	_cleanup_close_ int control = -1;
	int len;

	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	w->v1_control_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (w->v1_control_fd < 0)
		return hrun_error_errno(err, "open \"%s\"", path);
	w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->fd < 0)
		return hrun_error_errno(err, "eventfd");
	snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
	control = open(path, O_WRONLY | O_CLOEXEC);
	len = snprintf(line, sizeof(line), "%d %d", w->fd, w->v1_control_fd);
	if (control < 0 || write(control, line, (size_t)len) != len)
		return hrun_error_errno(err, "register OOM notification in \"%s\"", path);
	return 0;
}

int hrun_oom_watch_open(const struct hrun_cgroup *cg, struct hrun_oom_watch *w, struct hrun_error *err)
{
	char dir[4096];
	int r;

	*w = (struct hrun_oom_watch){ .fd = -1, .v2_events_fd = -1, .v2_state_fd = -1, .v1_control_fd = -1 };
	if (hrun_cgroup_controller_dir(cg, "memory", dir, sizeof(dir)) < 0)
		return 0;
	r = hrun_cgroup_v2_serves(cg, "memory") ? open_v2(dir, w, err) : open_v1(dir, w, err);
	if (r < 0) {
		hrun_oom_watch_close(w);
		/* A memory controller that is not there: no OOM to report. */
		if (err->code == ENOENT) {
			hrun_error_clear(err);
			return 0;
		}
	}
	return r;
}

static bool unpopulated(int fd)
{
	char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return true;
	buf[n] = '\0';
	return strstr(buf, "populated 0") != NULL;
}

static int read_v2(struct hrun_oom_watch *w, bool *gone)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t now;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
		}
	/* An OOM kill that emptied the cgroup is still reported. */
	*gone = unpopulated(w->v2_state_fd);
	if (read_oom_kill(w->v2_events_fd, &now) < 0)
		return -1;
	if (now <= w->last)
		return 0;
	n = (ssize_t)(now - w->last);
	w->last = now;
	return n > INT_MAX ? INT_MAX : (int)n;
}

/* The kernel also signals the eventfd when the cgroup is removed: only a
 * cgroup that still exists had an OOM. */
static int read_v1(struct hrun_oom_watch *w, bool *gone)
{
	uint64_t count;
	char probe[8];

	if (read(w->fd, &count, sizeof(count)) != sizeof(count))
		return errno == EAGAIN ? 0 : -1;
	/* Reading a file of a removed cgroup fails (ENODEV). */
	if (pread(w->v1_control_fd, probe, sizeof(probe), 0) < 0) {
		*gone = true;
		return 0;
	}
	return count > INT_MAX ? INT_MAX : (int)count;
}

int hrun_oom_watch_read(struct hrun_oom_watch *w, bool *gone)
{
	*gone = false;
	if (w->fd < 0)
		return 0;
	return w->v2_events_fd >= 0 ? read_v2(w, gone) : read_v1(w, gone);
}

void hrun_oom_watch_close(struct hrun_oom_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->v2_events_fd >= 0)
		close(w->v2_events_fd);
	if (w->v2_state_fd >= 0)
		close(w->v2_state_fd);
	if (w->v1_control_fd >= 0)
		close(w->v1_control_fd);
	w->fd = w->v2_events_fd = w->v2_state_fd = w->v1_control_fd = -1;
}
