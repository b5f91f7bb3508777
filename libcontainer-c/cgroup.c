#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup-systemd.h"
#include "cleanup.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

static bool is_fs(const char *path, long magic)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

enum hrun_cgroup_mode hrun_cgroup_detect(void)
{
	if (is_fs(CGROUP_ROOT, CGROUP2_SUPER_MAGIC))
		return HRUN_CGROUP_UNIFIED;
	if (!is_fs(CGROUP_ROOT, TMPFS_MAGIC))
		return HRUN_CGROUP_NONE;
	if (is_fs(CGROUP_ROOT "/unified", CGROUP2_SUPER_MAGIC))
		return HRUN_CGROUP_HYBRID;
	return HRUN_CGROUP_LEGACY;
}

static const char *v2_root(enum hrun_cgroup_mode mode)
{
	return mode == HRUN_CGROUP_UNIFIED ? CGROUP_ROOT : CGROUP_ROOT "/unified";
}

/* hrun's own cgroup in the unified hierarchy ("0::/x") or, on v1-only
 * hosts, its memory cgroup; relative cgroupsPath values hang below it. */
static char *own_cgroup(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
	char line[4096];
	char *found = NULL;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, ':');
		if (!path || !(path = strchr(path + 1, ':')))
			continue;
		path++;
		path[strcspn(path, "\n")] = '\0';
		if (strncmp(line, "0::", 3) == 0 || strstr(line, ":memory:")) {
			free(found);
			found = strdup(path);
			if (strncmp(line, "0::", 3) == 0)
				break;
		}
	}
	return found;
}

char *hrun_cgroup_resolve_path(const char *cgroups_path, const char *id, struct hrun_error *err)
{
	char *out = NULL;
	int r;

	if (!cgroups_path || !*cgroups_path) {
		r = asprintf(&out, "/hrun/%s", id);
	} else if (cgroups_path[0] == '/') {
		out = strdup(cgroups_path);
		r = out ? 0 : -1;
	} else {
		_cleanup_free_ char *own = own_cgroup();
		r = asprintf(&out, "%s/%s", own && strcmp(own, "/") ? own : "", cgroups_path);
	}
	if (r < 0 || !out) {
		hrun_error_errno(err, "cgroup path");
		return NULL;
	}
	if (strstr(out, "/../") || (strlen(out) >= 3 && strcmp(out + strlen(out) - 3, "/..") == 0)) {
		hrun_error_plain(err, EINVAL, "cgroupsPath \"%s\" must not contain \"..\"", cgroups_path);
		free(out);
		return NULL;
	}
	return out;
}

static int mkdir_p(const char *dir, struct hrun_error *err)
{
	_cleanup_free_ char *copy = strdup(dir);

	if (!copy)
		return hrun_error_errno(err, "strdup");
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0755) < 0 && errno != EEXIST)
			return hrun_error_errno(err, "mkdir cgroup \"%s\"", copy);
		*p = '/';
	}
	if (mkdir(copy, 0755) < 0 && errno != EEXIST)
		return hrun_error_errno(err, "mkdir cgroup \"%s\"", copy);
	return 0;
}

/* Call FN for each v1 hierarchy mounted under /sys/fs/cgroup. Aliases such
 * as "cpu,cpuacct" symlinks are skipped: the real directory is listed. */
static int for_each_v1(int (*fn)(const char *hier, void *data), void *data)
{
	_cleanup_free_ struct dirent **names = NULL;
	int n = scandir(CGROUP_ROOT, &names, NULL, alphasort);
	int r = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char hier[512];
		struct stat st;

		snprintf(hier, sizeof(hier), CGROUP_ROOT "/%s", names[i]->d_name);
		if (r == 0 && names[i]->d_name[0] != '.' && lstat(hier, &st) == 0 && S_ISDIR(st.st_mode) &&
		    is_fs(hier, CGROUP_SUPER_MAGIC))
			r = fn(hier, data);
		free(names[i]);
	}
	return r;
}

struct v1_op {
	const struct hrun_cgroup *cg;
	pid_t pid;
	struct hrun_error *err;
	bool failed;	/* removal goes on over every hierarchy */
};

static int read_line(const char *path, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (!f || !fgets(buf, (int)len, f))
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A new v1 cpuset starts with empty cpus and mems, and a task cannot join
 * it then: fill each empty level from its parent, top down. */
static int cpuset_inherit(const char *hier, const char *path, struct hrun_error *err)
{
	static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
	_cleanup_free_ char *dir = NULL;
	size_t base = strlen(hier);

	if (asprintf(&dir, "%s%s", hier, path) < 0)
		return hrun_error_errno(err, "asprintf");
	for (size_t i = 0; i < 2; i++) {
		char parent[1024], cur[1024], file[4200];

		snprintf(file, sizeof(file), "%s/%s", hier, files[i]);
		if (read_line(file, parent, sizeof(parent)) < 0)
			continue;
		for (char *p = dir + base + 1;; p++) {
			char c = *p;
			if (c != '/' && c != '\0')
				continue;
			*p = '\0';
			snprintf(file, sizeof(file), "%s/%s", dir, files[i]);
			if (read_line(file, cur, sizeof(cur)) == 0 && cur[0] == '\0') {
				_cleanup_close_ int fd = open(file, O_WRONLY | O_CLOEXEC);
				if (fd < 0 || write(fd, parent, strlen(parent)) < 0)
					return hrun_error_errno(err, "write \"%s\"", file);
			} else {
				snprintf(parent, sizeof(parent), "%s", cur);
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

static bool has_children(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool found = false;

	if (!d)
		return false;
	while (!found && (de = readdir(d)))
		found = de->d_type == DT_DIR && strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return found;
}

/* A cgroup that already holds processes is another container's: sharing
 * it would mix the two, and removing it when we exit would kill theirs. */
static int check_unused(const char *dir, struct hrun_error *err)
{
	char file[4200], buf[16];
	_cleanup_close_ int fd = -1;

	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
		return hrun_error_plain(err, EBUSY, "cgroup \"%s\" is not empty: another container uses it",
					dir);
	/* A parent of other cgroups (a slice, a pod) is not ours to take:
	 * when the container ends its whole subtree would be killed. */
	if (has_children(dir))
		return hrun_error_plain(err, EBUSY, "cgroup \"%s\" has child cgroups: it is not a container's",
					dir);
	return 0;
}

static int v1_create(const char *hier, void *data)
{
	struct v1_op *op = data;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s%s", hier, op->cg->path);
	if (mkdir_p(dir, op->err) < 0)
		return -1;
	if (strcmp(hier, CGROUP_ROOT "/cpuset") == 0)
		return cpuset_inherit(hier, op->cg->path, op->err);
	return 0;
}

static int v1_check_unused(const char *hier, void *data)
{
	struct v1_op *op = data;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s%s", hier, op->cg->path);
	return check_unused(dir, op->err);
}

/* Every hierarchy is checked before any directory is made: on a hybrid
 * host the cgroup may exist, busy, in a v1 hierarchy only, and a refusal
 * after mkdir elsewhere would leave directories that are nobody's. */
static int check_all_unused(const struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];

	if (cg->mode != HRUN_CGROUP_LEGACY) {
		snprintf(dir, sizeof(dir), "%s%s", v2_root(cg->mode), cg->path);
		if (check_unused(dir, err) < 0)
			return -1;
	}
	if (cg->mode != HRUN_CGROUP_UNIFIED) {
		struct v1_op op = { .cg = cg, .err = err };
		if (for_each_v1(v1_check_unused, &op) < 0)
			return -1;
	}
	return 0;
}

int hrun_cgroup_create(const char *path, struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];

	cg->mode = hrun_cgroup_detect();
	cg->v2_fd = -1;
	cg->path = strdup(path);
	if (!cg->path)
		return hrun_error_errno(err, "strdup");
	if (cg->mode == HRUN_CGROUP_NONE)
		return 0;
	if (check_all_unused(cg, err) < 0)
		goto not_ours;
	if (cg->mode != HRUN_CGROUP_LEGACY) {
		snprintf(dir, sizeof(dir), "%s%s", v2_root(cg->mode), path);
		if (mkdir_p(dir, err) < 0)
			return -1;
		cg->v2_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd < 0)
			return hrun_error_errno(err, "open cgroup \"%s\"", dir);
	}
	if (cg->mode != HRUN_CGROUP_UNIFIED) {
		struct v1_op op = { .cg = cg, .err = err };
		if (for_each_v1(v1_create, &op) < 0)
			return -1;
	}
	return 0;
not_ours:
	/* Nothing for hrun_cgroup_destroy to remove or kill. */
	free(cg->path);
	cg->path = NULL;
	return -1;
}

/* Whether PID is in the unit's cgroup PATH as systemd tracks it: in the
 * unified hierarchy, or on a v1-only host in its name=systemd one. */
static bool in_unit(pid_t pid, const char *path)
{
	char file[64], line[4200];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(file, sizeof(file), "/proc/%d/cgroup", (int)pid);
	f = fopen(file, "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');
		if (!p)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if ((strncmp(line, "0::", 3) == 0 || strncmp(p, ":name=systemd:", 14) == 0) &&
		    strcmp(strchr(p + 1, ':') + 1, path) == 0)
			return true;
	}
	return false;
}

/* The unit's cgroup holds only systemd's placeholder, in the unit: in a
 * v1 hierarchy systemd does not manage, a directory of that name may be
 * another container's, with processes that are not the unit's. */
static int v1_adopt_check(const char *hier, void *data)
{
	struct v1_op *op = data;
	char dir[4096], file[4200];
	_cleanup_fclose_ FILE *f = NULL;
	int pid;

	snprintf(dir, sizeof(dir), "%s%s", hier, op->cg->path);
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	f = fopen(file, "re");
	while (f && fscanf(f, "%d", &pid) == 1)
		if (!in_unit(pid, op->cg->path))
			return hrun_error_plain(op->err, EBUSY,
						"cgroup \"%s\" is not empty: another container uses it", dir);
	if (has_children(dir))
		return hrun_error_plain(op->err, EBUSY, "cgroup \"%s\" has child cgroups: it is not a container's",
					dir);
	return 0;
}

int hrun_cgroup_adopt(const char *path, struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];
	struct v1_op op = { .cg = cg, .err = err };

	cg->mode = hrun_cgroup_detect();
	cg->v2_fd = -1;
	if (cg->mode == HRUN_CGROUP_NONE)
		return hrun_error_plain(err, ENOENT, "no cgroup filesystem at " CGROUP_ROOT);
	cg->path = strdup(path);
	if (!cg->path)
		return hrun_error_errno(err, "strdup");
	if (cg->mode != HRUN_CGROUP_LEGACY) {
		snprintf(dir, sizeof(dir), "%s%s", v2_root(cg->mode), path);
		cg->v2_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd < 0)
			return hrun_error_errno(err, "open cgroup \"%s\"", dir);
	}
	if (cg->mode != HRUN_CGROUP_UNIFIED &&
	    (for_each_v1(v1_adopt_check, &op) < 0 || for_each_v1(v1_create, &op) < 0))
		return -1;
	return 0;
}

static int v1_enter(const char *hier, void *data)
{
	struct v1_op *op = data;
	char file[4200];
	char pid[32];
	_cleanup_close_ int fd = -1;
	int len = snprintf(pid, sizeof(pid), "%d", op->pid);

	snprintf(file, sizeof(file), "%s%s/cgroup.procs", hier, op->cg->path);
	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, pid, (size_t)len) != len)
		return hrun_error_errno(op->err, "join cgroup \"%s\"", file);
	return 0;
}

int hrun_cgroup_enter_v1(const struct hrun_cgroup *cg, pid_t pid, struct hrun_error *err)
{
	struct v1_op op = { .cg = cg, .pid = pid, .err = err };

	if (cg->mode != HRUN_CGROUP_HYBRID && cg->mode != HRUN_CGROUP_LEGACY)
		return 0;
	return for_each_v1(v1_enter, &op);
}

/* The deepest subtree below a container's cgroup that hrun walks: one open
 * directory per level. A delegated cgroup is capped well below it
 * (HRUN_CGROUP_MAX_DEPTH, written at delegation); a v1 tree has no such
 * cap, but only a container that is root on the host can make one. */
#define WALK_MAX_DEPTH 64
_Static_assert(HRUN_CGROUP_MAX_DEPTH < WALK_MAX_DEPTH, "removal must reach every level a container can make");

/* Called for each cgroup below the top, children before their parent:
 * PARENT and FD are open directories, NAME the entry in PARENT. */
typedef int (*walk_fn)(int parent, const char *name, int fd, void *data, struct hrun_error *err);

/* Walk the cgroups below the open directory TOP with no path buffer: a
 * tree the container made may be deep or have long names, and only the
 * depth bounds what is held (an open directory per level). */
static int walk_below(int top, walk_fn fn, void *data, struct hrun_error *err)
{
	struct {
		DIR *d;
		char name[NAME_MAX + 1];
	} stack[WALK_MAX_DEPTH + 1];
	int depth = 0, r = 0;
	int fd = openat(top, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || !(stack[0].d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return hrun_error_errno(err, "list cgroup");
	}
	while (depth >= 0) {
		struct dirent *de = readdir(stack[depth].d);
		int sub;

		if (!de || r < 0) {
			/* This level is done: now it has no children left. */
			if (depth > 0 && r == 0)
				r = fn(dirfd(stack[depth - 1].d), stack[depth].name, dirfd(stack[depth].d), data, err);
			closedir(stack[depth].d);
			depth--;
			continue;
		}
		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (depth == WALK_MAX_DEPTH) {
			r = hrun_error_plain(err, ELOOP, "cgroup subtree nested deeper than %d levels", WALK_MAX_DEPTH);
			continue;
		}
		sub = openat(dirfd(stack[depth].d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			if (errno != ENOENT) /* gone meanwhile: nothing to do */
				r = hrun_error_errno(err, "open cgroup \"%s\"", de->d_name);
			continue;
		}
		snprintf(stack[depth + 1].name, sizeof(stack[depth + 1].name), "%s", de->d_name);
		stack[depth + 1].d = fdopendir(sub);
		if (!stack[depth + 1].d) {
			r = hrun_error_errno(err, "list cgroup \"%s\"", de->d_name);
			close(sub);
			continue;
		}
		depth++;
	}
	return r;
}

/* Read the pids in the cgroup.procs of the open directory DIR. */
static int read_procs(int dir, pid_t **v, size_t *count, struct hrun_error *err)
{
	int fd = openat(dir, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	_cleanup_fclose_ FILE *f = fd >= 0 ? fdopen(fd, "re") : NULL;
	int pid;

	if (!f) {
		if (fd >= 0)
			close(fd);
		/* Removed meanwhile: it holds nobody. */
		return errno == ENOENT ? 0 : hrun_error_errno(err, "read cgroup.procs");
	}
	while (fscanf(f, "%d", &pid) == 1) {
		pid_t *more = realloc(*v, (*count + 1) * sizeof(**v));
		if (!more)
			return hrun_error_errno(err, "read cgroup.procs");
		*v = more;
		(*v)[(*count)++] = pid;
	}
	return 0;
}

static void kill_procs(int dir)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0;
	struct hrun_error ignored;
	int fd = openat(dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
		return;
	}
	(void)read_procs(dir, &pids, &n, &ignored);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
}

/* rmdir fails with EBUSY until the killed processes are gone. */
static int remove_one(int parent, const char *name, int fd, void *data, struct hrun_error *err)
{
	(void)data;
	for (int attempt = 0; attempt < 200; attempt++) {
		if (unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		kill_procs(fd);
		nanosleep(&(struct timespec){ .tv_nsec = 5 * 1000 * 1000 }, NULL);
	}
	return hrun_error_errno(err, "remove cgroup \"%s\"", name);
}

/* The container may have made cgroups below its own (a delegated v2
 * cgroup, a rw cgroup mount): a cgroup with children cannot be removed,
 * so they go first, depth first. */
static int remove_dir(const char *dir, struct hrun_error *err)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int parent = -1;
	_cleanup_free_ char *copy = NULL;
	char *slash;

	if (fd < 0)
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open cgroup \"%s\"", dir);
	/* One write kills the whole subtree at once where the kernel can. */
	kill_procs(fd);
	if (walk_below(fd, remove_one, NULL, err) < 0)
		return hrun_error_prefix(err, "remove cgroup \"%s\"", dir);
	copy = strdup(dir);
	if (!copy)
		return hrun_error_errno(err, "strdup");
	slash = strrchr(copy, '/');
	*slash = '\0';
	parent = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* Gone with its parent: systemd trims a scope it stopped, below it
	 * too, once our kill emptied it. */
	if (parent < 0)
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open cgroup \"%s\"", copy);
	if (remove_one(parent, slash + 1, fd, NULL, err) < 0)
		return hrun_error_prefix(err, "remove cgroup \"%s\"", dir);
	return 0;
}

static int v1_remove(const char *hier, void *data)
{
	struct v1_op *op = data;
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s%s", hier, op->cg->path);
	if (remove_dir(dir, op->err) < 0)
		op->failed = true;
	return 0;
}

int hrun_cgroup_destroy(struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];
	int r = 0;

	if (!cg->path || cg->mode == HRUN_CGROUP_NONE)
		return 0;
	/* Killing the root cgroup's tree would kill the host. */
	if (strcmp(cg->path, "/") == 0 || !*cg->path)
		return hrun_error_plain(err, EINVAL, "refusing to remove the root cgroup");
	if (cg->mode != HRUN_CGROUP_LEGACY) {
		snprintf(dir, sizeof(dir), "%s%s", v2_root(cg->mode), cg->path);
		r = remove_dir(dir, err);
	}
	if (cg->mode != HRUN_CGROUP_UNIFIED) {
		struct v1_op op = { .cg = cg, .err = err };
		if (for_each_v1(v1_remove, &op) < 0 || op.failed)
			r = -1;
	}
	/* Killed above, so stopping the scope waits for no stop timeout.
	 * The container is gone either way: a manager we cannot reach only
	 * keeps a stale unit. */
	if (cg->unit) {
		struct hrun_error serr;
		if (hrun_cgroup_systemd_stop(cg, &serr) < 0)
			hrun_warn("%s", serr.msg);
	}
	return r;
}

int hrun_cgroup_delegate(const struct hrun_cgroup *cg, uid_t uid, gid_t gid, struct hrun_error *err)
{
	/* What systemd's delegation hands over: the directory (so the
	 * container can make sub-cgroups) and the files that move processes
	 * and enable controllers below it. The limits set on the cgroup stay
	 * root's: the container can only divide what it was given. */
	static const char *const files[] = { "", "cgroup.procs", "cgroup.threads", "cgroup.subtree_control" };

	static const struct {
		const char *file;
		int value;
	} caps[] = { { "cgroup.max.depth", HRUN_CGROUP_MAX_DEPTH },
		     { "cgroup.max.descendants", HRUN_CGROUP_MAX_DESCENDANTS } };

	if (cg->v2_fd < 0)
		return 0;
	/* Bounds on what the container can make below: removal must reach
	 * every level (walk_below), and a tree of millions of cgroups would
	 * pin kernel memory and make delete crawl. The files stay root's. */
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		_cleanup_close_ int fd = openat(cg->v2_fd, caps[i].file, O_WRONLY | O_CLOEXEC);
		char v[16];
		int len = snprintf(v, sizeof(v), "%d", caps[i].value);
		if (fd < 0 || write(fd, v, (size_t)len) != len)
			return hrun_error_errno(err, "delegate cgroup \"%s\": write %s", cg->path, caps[i].file);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int flags = *files[i] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;
		if (fchownat(cg->v2_fd, files[i], uid, gid, flags) < 0 && !(errno == ENOENT && *files[i]))
			return hrun_error_errno(err, "delegate cgroup \"%s\": chown %s", cg->path,
						*files[i] ? files[i] : "the directory");
	}
	return 0;
}

int hrun_cgroup_open(const char *path, struct hrun_cgroup *cg, struct hrun_error *err)
{
	char dir[4096];

	cg->mode = hrun_cgroup_detect();
	cg->v2_fd = -1;
	cg->path = strdup(path);
	if (!cg->path)
		return hrun_error_errno(err, "strdup");
	if (cg->mode == HRUN_CGROUP_UNIFIED || cg->mode == HRUN_CGROUP_HYBRID) {
		snprintf(dir, sizeof(dir), "%s%s", v2_root(cg->mode), path);
		cg->v2_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cg->v2_fd < 0 && errno != ENOENT)
			return hrun_error_errno(err, "open cgroup \"%s\"", dir);
	}
	return 0;
}

/* The directory of CG in the hierarchy that serves CONTROLLER: the unified
 * one when the cgroup is there and has FILE, else the v1 one. */
static bool control_file(const struct hrun_cgroup *cg, const char *controller, const char *file,
			 char *out, size_t len)
{
	if (!cg->path || cg->mode == HRUN_CGROUP_NONE)
		return false;
	if (cg->mode != HRUN_CGROUP_LEGACY) {
		snprintf(out, len, "%s%s/%s", v2_root(cg->mode), cg->path, file);
		if (access(out, F_OK) == 0)
			return true;
	}
	if (cg->mode != HRUN_CGROUP_UNIFIED && controller) {
		snprintf(out, len, "%s/%s%s/%s", CGROUP_ROOT, controller, cg->path, file);
		if (access(out, F_OK) == 0)
			return true;
	}
	return false;
}

char *hrun_cgroup_read(const struct hrun_cgroup *cg, const char *controller, const char *file)
{
	char path[4400];
	_cleanup_close_ int fd = -1;
	char buf[8192];
	ssize_t n;

	if (!control_file(cg, controller, file, path, sizeof(path)))
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return strdup(buf);
}

static int write_control(const struct hrun_cgroup *cg, const char *controller, const char *file,
			 const char *value, struct hrun_error *err)
{
	char path[4400];
	_cleanup_close_ int fd = -1;
	ssize_t len = (ssize_t)strlen(value);

	if (!control_file(cg, controller, file, path, sizeof(path)))
		return hrun_error_plain(err, ENOTSUP, "cgroup \"%s\" has no %s", cg->path ? cg->path : "", file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, (size_t)len) != len)
		return hrun_error_errno(err, "write \"%s\"", path);
	return 0;
}

struct pid_list {
	pid_t **v;
	size_t *n;
};

static int collect_procs(int parent, const char *name, int fd, void *data, struct hrun_error *err)
{
	struct pid_list *out = data;

	(void)parent;
	(void)name;
	return read_procs(fd, out->v, out->n, err);
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

int hrun_cgroup_pids(const struct hrun_cgroup *cg, pid_t **pids, size_t *n, struct hrun_error *err)
{
	/* Every process sits in the unified cgroup (init was cloned into it,
	 * exec'd ones too); v1-only hosts: the pids or freezer hierarchy. */
	static const char *const controllers[] = { "pids", "freezer", "memory", "cpu,cpuacct" };
	char path[4400];
	_cleanup_close_ int fd = -1;
	pid_t *v = NULL;
	size_t count = 0, kept = 0;
	struct pid_list out = { &v, &count };

	*pids = NULL;
	*n = 0;
	for (size_t i = 0; i < sizeof(controllers) / sizeof(controllers[0]) && fd < 0; i++)
		if (control_file(cg, controllers[i], "cgroup.procs", path, sizeof(path))) {
			*strrchr(path, '/') = '\0';
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
	if (fd < 0)
		return hrun_error_plain(err, ENOENT, "cgroup \"%s\" not found", cg->path ? cg->path : "");
	/* The container's own sub-cgroups (delegated, or a rw cgroup mount)
	 * hold its processes too: ps and kill --all must see them. */
	if (read_procs(fd, &v, &count, err) < 0 || walk_below(fd, collect_procs, &out, err) < 0) {
		free(v);
		return -1;
	}
	/* A process whose threads sit in several (threaded) cgroups is
	 * listed in each: once is enough. */
	qsort(v, count, sizeof(*v), cmp_pid);
	for (size_t i = 0; i < count; i++)
		if (kept == 0 || v[kept - 1] != v[i])
			v[kept++] = v[i];
	*pids = v;
	*n = kept;
	return 0;
}

static bool v2_freezable(const struct hrun_cgroup *cg)
{
	char path[4400];

	return cg->mode != HRUN_CGROUP_LEGACY && control_file(cg, NULL, "cgroup.freeze", path, sizeof(path));
}

bool hrun_cgroup_is_frozen(const struct hrun_cgroup *cg)
{
	_cleanup_free_ char *v = NULL;

	if (v2_freezable(cg)) {
		_cleanup_free_ char *events = hrun_cgroup_read(cg, NULL, "cgroup.events");
		return events && strstr(events, "frozen 1");
	}
	v = hrun_cgroup_read(cg, "freezer", "freezer.state");
	return v && strcmp(v, "FROZEN") == 0;
}

int hrun_cgroup_freeze(const struct hrun_cgroup *cg, bool frozen, struct hrun_error *err)
{
	bool v2 = v2_freezable(cg);
	int r;

	if (v2)
		r = write_control(cg, NULL, "cgroup.freeze", frozen ? "1" : "0", err);
	else
		r = write_control(cg, "freezer", "freezer.state", frozen ? "FROZEN" : "THAWED", err);
	if (r < 0)
		return -1;
	/* Freezing completes asynchronously: FREEZING on v1, "frozen 0" on
	 * v2 until every task has stopped. */
	for (int attempt = 0; attempt < 1000; attempt++) {
		if (hrun_cgroup_is_frozen(cg) == frozen)
			return 0;
		if (!v2 && frozen) {
			/* The v1 freezer retries only when asked again. */
			if (write_control(cg, "freezer", "freezer.state", "FROZEN", err) < 0)
				return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 1000 * 1000 }, NULL);
	}
	return hrun_error_plain(err, ETIMEDOUT, "cgroup \"%s\" did not become %s", cg->path,
				frozen ? "frozen" : "thawed");
}

int hrun_cgroup_signal(const struct hrun_cgroup *cg, int sig, struct hrun_error *err)
{
	struct hrun_error ignored;
	_cleanup_free_ pid_t *pids = NULL;
	bool was_frozen, frozen;
	size_t n;
	int r = 0;

	/* One write kills the whole subtree, with no pid to go stale. */
	if (sig == SIGKILL && write_control(cg, NULL, "cgroup.kill", "1", &ignored) == 0)
		return 0;
	/* Frozen, nothing can exit and be reaped between reading a pid and
	 * signalling it, so no pid is reused under us. */
	was_frozen = hrun_cgroup_is_frozen(cg);
	frozen = was_frozen || hrun_cgroup_freeze(cg, true, &ignored) == 0;
	if (hrun_cgroup_pids(cg, &pids, &n, err) < 0)
		r = -1;
	for (size_t i = 0; r == 0 && i < n; i++)
		if (kill(pids[i], sig) < 0 && errno != ESRCH)
			r = hrun_error_errno(err, "kill %d", pids[i]);
	/* Thaw what we froze; a paused container thaws for SIGKILL only,
	 * since frozen tasks act on it only once thawed. */
	if (frozen && (!was_frozen || sig == SIGKILL) && hrun_cgroup_freeze(cg, false, &ignored) < 0 && r == 0)
		r = hrun_error_plain(err, ignored.code, "%s", ignored.msg);
	return r;
}

const char *hrun_cgroup_v2_root(const struct hrun_cgroup *cg)
{
	return cg->mode == HRUN_CGROUP_UNIFIED || cg->mode == HRUN_CGROUP_HYBRID ? v2_root(cg->mode) : NULL;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

bool hrun_cgroup_v2_serves(const struct hrun_cgroup *cg, const char *controller)
{
	char file[256], line[1024];

	if (cg->mode == HRUN_CGROUP_UNIFIED)
		return true;
	if (cg->mode != HRUN_CGROUP_HYBRID)
		return false;
	snprintf(file, sizeof(file), "%s/cgroup.controllers", v2_root(cg->mode));
	return read_line(file, line, sizeof(line)) == 0 && has_word(line, controller);
}

int hrun_cgroup_controller_dir(const struct hrun_cgroup *cg, const char *controller, char *out,
			       size_t len)
{
	int n;

	if (!cg->path || cg->mode == HRUN_CGROUP_NONE)
		return -1;
	if (hrun_cgroup_v2_serves(cg, controller))
		n = snprintf(out, len, "%s%s", v2_root(cg->mode), cg->path);
	else
		n = snprintf(out, len, CGROUP_ROOT "/%s%s", controller, cg->path);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void hrun_cgroup_release(struct hrun_cgroup *cg)
{
	hrun_cgroup_systemd_settle(cg);
	free(cg->unit);
	free(cg->bus);
	cg->unit = cg->bus = NULL;
	if (cg->v2_fd >= 0)
		close(cg->v2_fd);
	cg->v2_fd = -1;
	free(cg->path);
	cg->path = NULL;
}
