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
#include "rootless.h"
#include "userns-pool.h"

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

/* An unprivileged caller's state root must be its own and closed to
 * others: another user who made it (in a shared /tmp, say) could see or
 * swap the containers' state. */
static int check_rootless_dir(int fd, const char *what, const char *path, struct hrun_error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "stat %s \"%s\"", what, path);
	if (st.st_uid != geteuid())
		return hrun_error_plain(err, EPERM, "%s \"%s\" belongs to uid %u, not to this user (uid %u)", what,
					path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return hrun_error_plain(err, EPERM, "%s \"%s\" is writable by other users (mode %04o)", what, path,
					(unsigned)(st.st_mode & 07777));
	return 0;
}

static int root_failed(const char *what, const char *root, struct hrun_error *err)
{
	if (errno == EACCES && hrun_rootless_caller())
		return hrun_error_errno(err, "%s \"%s\" (running rootless: set XDG_RUNTIME_DIR or give --root a directory of yours)",
					what, root);
	return hrun_error_errno(err, "%s \"%s\"", what, root);
}

static int open_root(const char *root, struct hrun_error *err)
{
	_cleanup_free_ char *path = strdup(root);
	_cleanup_close_ int fd = -1;
	bool made;

	if (!path)
		return hrun_error_errno(err, "strdup");
	/* Parents too, as runc does (containerd's /run/containerd/runc/NS). */
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0711) < 0 && errno != EEXIST)
			return root_failed("create state root", path, err);
		*p = '/';
	}
	made = mkdir(root, 0700) == 0;
	if (!made && errno != EEXIST)
		return root_failed("create state root", root, err);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return root_failed("open state root", root, err);
	if (!hrun_rootless_caller())
		return hrun_steal_fd(&fd);
	/* The XDG base directory spec: a sticky file or directory in
	 * $XDG_RUNTIME_DIR is not removed for age (runc does the same). */
	if (made && fchmod(fd, 01700) < 0)
		return hrun_error_errno(err, "chmod state root \"%s\"", root);
	if (check_rootless_dir(fd, "state root", root, err) < 0)
		return -1;
	return hrun_steal_fd(&fd);
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
	hrun_jgen_key(g, "pidStart");
	hrun_jgen_uint64(g, st->pid_start);
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
	hrun_jgen_key(g, "userns");
	hrun_jgen_string(g, st->userns ? st->userns : "");
	if (st->systemd_unit && *st->systemd_unit) {
		hrun_jgen_key(g, "systemdUnit");
		hrun_jgen_string(g, st->systemd_unit);
		hrun_jgen_key(g, "systemdBus");
		hrun_jgen_string(g, st->systemd_bus ? st->systemd_bus : "");
	}
	if (st->landlock_host && *st->landlock_host) {
		hrun_jgen_key(g, "landlockHost");
		hrun_jgen_string(g, st->landlock_host);
	}
	hrun_jgen_map_close(g);
	text = hrun_jgen_finish(g, err);
	if (!text)
		return -1;
	return write_file_atomic(dirfd, "state.json", text, err);
}

/* An existing state root, for the commands that read it. Rootless, it
 * must be this user's and closed to others like a new one (open_root):
 * its state.json and config.json (pids, cgroups, hooks) are believed. */
static int open_existing_root(const char *root, struct hrun_error *err)
{
	_cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return -1;
	if (hrun_rootless_caller() && check_rootless_dir(fd, "state root", root, err) < 0) {
		errno = EPERM;
		return -1;
	}
	return hrun_steal_fd(&fd);
}

int hrun_state_open(const char *root, const char *id, bool lock, struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;

	if (hrun_id_validate(id, err) < 0)
		return -1;
	hrun_error_clear(err);
	fd = open_existing_root(root, err);
	if (fd < 0 && err->msg[0])
		return -1;
	if (fd >= 0) {
		int dfd = openat(fd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		close(fd);
		fd = dfd;
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return hrun_error_plain(err, ENOENT, "container does not exist");
		return hrun_error_errno(err, "open state directory of \"%s\"", id);
	}
	/* The container's own directory too: the root being ours does not
	 * make what another user put there before it was closed ours. */
	if (hrun_rootless_caller() && check_rootless_dir(fd, "state directory of container", id, err) < 0)
		return -1;
	if (lock && flock(fd, LOCK_EX) < 0)
		return hrun_error_errno(err, "lock container \"%s\"", id);
	return hrun_steal_fd(&fd);
}

static int read_state_file(int dirfd, char **text, size_t *len, struct hrun_error *err)
{
	_cleanup_close_ int fd = openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t cap = 4096;
	char *buf;

	if (fd < 0)
		return errno == ENOENT ? hrun_error_plain(err, ENOENT, "container does not exist")
				       : hrun_error_errno(err, "open state.json");
	buf = malloc(cap);
	if (!buf)
		return hrun_error_errno(err, "malloc");
	*len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0) {
			free(buf);
			return hrun_error_errno(err, "read state.json");
		}
		if (n == 0)
			break;
		*len += (size_t)n;
		if (*len == cap) {
			char *more = cap < (1 << 20) ? realloc(buf, cap * 2) : NULL;
			if (!more) {
				free(buf);
				return hrun_error_plain(err, EFBIG, "state.json: too large");
			}
			buf = more;
			cap *= 2;
		}
	}
	*text = buf;
	return 0;
}

int hrun_state_read(int dirfd, struct hrun_state *st, struct hrun_error *err)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_json_doc_ struct hrun_json_doc *doc = NULL;
	struct hrun_jpath root = HRUN_JPATH_ROOT("state.json");
	const struct hrun_json *obj;
	int64_t pid = 0;
	uint64_t start = 0;
	size_t len = 0;

	memset(st, 0, sizeof(*st));
	if (read_state_file(dirfd, &text, &len, err) < 0)
		return -1;
	doc = hrun_json_parse(text, len, "state.json", err);
	if (!doc)
		return -1;
	obj = hrun_json_root(doc);
	if (hrun_json_get_string(obj, &root, "id", &st->id, err) < 0 ||
	    hrun_json_get_string(obj, &root, "status", &st->status, err) < 0 ||
	    hrun_json_get_int(obj, &root, "pid", 32, &pid, err) < 0 ||
	    hrun_json_get_uint(obj, &root, "pidStart", 64, &start, err) < 0 ||
	    hrun_json_get_string(obj, &root, "bundle", &st->bundle, err) < 0 ||
	    hrun_json_get_string(obj, &root, "rootfs", &st->rootfs, err) < 0 ||
	    hrun_json_get_string(obj, &root, "created", &st->created, err) < 0 ||
	    hrun_json_get_string(obj, &root, "cgroupPath", &st->cgroup_path, err) < 0 ||
	    hrun_json_get_string(obj, &root, "hardening", &st->hardening, err) < 0 ||
	    hrun_json_get_string(obj, &root, "userns", &st->userns, err) < 0 ||
	    hrun_json_get_string(obj, &root, "landlockHost", &st->landlock_host, err) < 0 ||
	    hrun_json_get_string(obj, &root, "systemdUnit", &st->systemd_unit, err) < 0 ||
	    hrun_json_get_string(obj, &root, "systemdBus", &st->systemd_bus, err) < 0) {
		hrun_state_free(st);
		return -1;
	}
	if (!st->id || !st->status) {
		hrun_state_free(st);
		return hrun_error_plain(err, EINVAL, "state.json: id and status are required");
	}
	st->pid = (pid_t)pid;
	st->pid_start = start;
	return 0;
}

void hrun_state_free(struct hrun_state *st)
{
	free(st->id);
	free(st->status);
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->cgroup_path);
	free(st->hardening);
	free(st->userns);
	free(st->landlock_host);
	free(st->systemd_unit);
	free(st->systemd_bus);
	memset(st, 0, sizeof(*st));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int hrun_state_list(const char *root, char ***ids, size_t *n, struct hrun_error *err)
{
	int rootfd;
	DIR *d;
	struct dirent *de;
	char **v = NULL;
	size_t count = 0;

	*ids = NULL;
	*n = 0;
	hrun_error_clear(err);
	rootfd = open_existing_root(root, err);
	if (rootfd < 0 && err->msg[0])
		return -1;
	d = rootfd >= 0 ? fdopendir(rootfd) : NULL;
	if (!d) {
		if (rootfd >= 0)
			close(rootfd);
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open state root \"%s\"", root);
	}
	while ((de = readdir(d))) {
		char **more;
		struct hrun_error ignored;

		if (de->d_name[0] == '.' || hrun_id_validate(de->d_name, &ignored) < 0)
			continue;
		more = realloc(v, (count + 1) * sizeof(*v));
		if (!more || !(more[count] = strdup(de->d_name))) {
			v = more ? more : v;
			while (count)
				free(v[--count]);
			free(v);
			closedir(d);
			return hrun_error_errno(err, "list containers");
		}
		v = more;
		count++;
	}
	closedir(d);
	if (count)
		qsort(v, count, sizeof(*v), by_name);
	*ids = v;
	*n = count;
	return 0;
}

uint64_t hrun_proc_start_time(pid_t pid)
{
	char path[64];
	char buf[1024];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	char *p;
	unsigned long long start = 0;
	char state;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields start
	 * after the last ')'. State is field 3, start time field 22. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			 &state, &start) != 2)
		return 0;
	if (state == 'Z' || state == 'X' || state == 'x')
		return 0;
	return start;
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
	_cleanup_close_ int rootfd = -1;
	_cleanup_close_ int cfd = -1;
	DIR *d;
	struct dirent *de;

	hrun_error_clear(err);
	rootfd = open_existing_root(root, err);
	if (rootfd < 0)
		return err->msg[0] ? -1 : hrun_error_errno(err, "open state root \"%s\"", root);
	cfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (cfd < 0)
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open state directory of \"%s\"", id);
	/* Whatever removes the state gives its user namespace slice back. */
	hrun_userns_pool_release(cfd);
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
