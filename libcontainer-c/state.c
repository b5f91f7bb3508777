#define _GNU_SOURCE
#include "state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"

int hrun_id_validate(const char *id, struct hrun_error *err)
{
	size_t len = strlen(id);

	if (len == 0)
		return hrun_error_plain(err, EINVAL, "invalid container ID: empty");
	if (len > HRUN_ID_MAX)
		return hrun_error_plain(err, EINVAL, "invalid container ID: longer than %d bytes", HRUN_ID_MAX);
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return hrun_error_plain(err, EINVAL, "invalid container ID format: %s", id);
	for (const char *p = id; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '-' || c == '.'))
			return hrun_error_plain(err, EINVAL, "invalid container ID format: %s", id);
	}
	return 0;
}

static int open_root(const char *root, struct hrun_error *err)
{
	int fd;

	if (mkdir(root, 0700) < 0 && errno != EEXIST)
		return hrun_error_errno(err, "create state root \"%s\"", root);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return hrun_error_errno(err, "open state root \"%s\"", root);
	return fd;
}

/* Returns the locked directory fd, -1 with errno EEXIST when taken. */
static int create_dir(int rootfd, const char *root, const char *id, struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;

	if (mkdirat(rootfd, id, 0700) < 0) {
		if (errno == EEXIST)
			return hrun_error_plain(err, EEXIST, "container with given ID already exists");
		return hrun_error_errno(err, "create state directory \"%s/%s\"", root, id);
	}
	fd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	/* Held for the command's lifetime: operations on one container are
	 * serialised. */
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		hrun_error_errno(err, "open state directory \"%s/%s\"", root, id);
		unlinkat(rootfd, id, AT_REMOVEDIR);
		return -1;
	}
	return hrun_steal_fd(&fd);
}

int hrun_state_create(const char *root, const char *id, struct hrun_error *err)
{
	_cleanup_close_ int rootfd = -1;

	if (hrun_id_validate(id, err) < 0)
		return -1;
	rootfd = open_root(root, err);
	if (rootfd < 0)
		return -1;
	return create_dir(rootfd, root, id, err);
}

int hrun_state_create_unique(const char *root, const char *base, char **id,
			     struct hrun_error *err)
{
	_cleanup_close_ int rootfd = -1;

	if (hrun_id_validate(base, err) < 0)
		return -1;
	rootfd = open_root(root, err);
	if (rootfd < 0)
		return -1;
	for (unsigned int n = 1; n < 10000; n++) {
		_cleanup_free_ char *candidate = NULL;
		int fd;

		if (n == 1)
			candidate = strdup(base);
		else if (asprintf(&candidate, "%.*s-%u", HRUN_ID_MAX - 6, base, n) < 0)
			candidate = NULL;
		if (!candidate)
			return hrun_error_errno(err, "allocate container ID");
		fd = create_dir(rootfd, root, candidate, err);
		if (fd >= 0) {
			*id = hrun_steal_ptr(&candidate);
			return fd;
		}
		if (err->code != EEXIST)
			return -1;
	}
	return hrun_error_plain(err, EEXIST, "no free container ID for \"%s\"", base);
}

/* Write NAME atomically: a reader sees the old file or the new one. */
static int write_file_atomic(int dirfd, const char *name, const char *text, struct hrun_error *err)
{
	char tmp[64];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(text);

	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return hrun_error_errno(err, "create \"%s\"", tmp);
	if (write(fd, text, len) != (ssize_t)len)
		return hrun_error_errno(err, "write \"%s\"", tmp);
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		return hrun_error_errno(err, "rename \"%s\"", name);
	return 0;
}

int hrun_state_write(int dirfd, const struct hrun_state *st, struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(false);
	_cleanup_free_ char *text = NULL;

	if (!g)
		return hrun_error_errno(err, "allocate json generator");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "id");
	hrun_jgen_string(g, st->id);
	hrun_jgen_key(g, "status");
	hrun_jgen_string(g, st->status);
	hrun_jgen_key(g, "pid");
	hrun_jgen_int64(g, st->pid);
	hrun_jgen_key(g, "bundle");
	hrun_jgen_string(g, st->bundle);
	hrun_jgen_key(g, "rootfs");
	hrun_jgen_string(g, st->rootfs);
	hrun_jgen_key(g, "created");
	hrun_jgen_string(g, st->created);
	hrun_jgen_key(g, "cgroupPath");
	hrun_jgen_string(g, st->cgroup_path ? st->cgroup_path : "");
	hrun_jgen_key(g, "hardening");
	hrun_jgen_string(g, st->hardening ? st->hardening : "");
	hrun_jgen_map_close(g);
	text = hrun_jgen_finish(g, err);
	if (!text)
		return -1;
	return write_file_atomic(dirfd, "state.json", text, err);
}

int hrun_state_write_config(int dirfd, const struct hrun_spec *spec, struct hrun_error *err)
{
	_cleanup_free_ char *text = hrun_spec_to_json(spec, err);

	if (!text)
		return -1;
	return write_file_atomic(dirfd, "config.json", text, err);
}

int hrun_state_remove(const char *root, const char *id, struct hrun_error *err)
{
	_cleanup_close_ int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_close_ int cfd = -1;
	DIR *d;
	struct dirent *de;

	if (rootfd < 0)
		return hrun_error_errno(err, "open state root \"%s\"", root);
	cfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (cfd < 0)
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open state directory of \"%s\"", id);
	d = fdopendir(cfd);
	if (!d)
		return hrun_error_errno(err, "read state directory of \"%s\"", id);
	cfd = -1; /* owned by d now */
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	if (unlinkat(rootfd, id, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return hrun_error_errno(err, "remove state directory of \"%s\"", id);
	return 0;
}

char *hrun_rfc3339_now(void)
{
	struct timespec ts;
	struct tm tm;
	char base[32];
	char *out = NULL;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	if (asprintf(&out, "%s.%09ldZ", base, ts.tv_nsec) < 0)
		return NULL;
	return out;
}
