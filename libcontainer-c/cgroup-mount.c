#define _GNU_SOURCE
#include "cgroup-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "safepath.h"

/* One hierarchy init is in, as /proc/self/cgroup and mountinfo tell. */
struct hier {
	char *controllers; /* "cpu,cpuacct", "name=systemd"; "" for the unified one */
	char *path;        /* init's cgroup in it ("/" inside a cgroup namespace) */
	char *host_dir;    /* that cgroup's directory in the host's mount of it
			    * (without a cgroup namespace; else a mount point) */
};

struct hiers {
	struct hier *v;
	size_t n;
};

static void hiers_free(struct hiers *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].controllers);
		free(h->v[i].path);
		free(h->v[i].host_dir);
	}
	free(h->v);
}

static FILE *open_proc_file(int procfd, const char *rel, struct hrun_error *err)
{
	int fd = openat(procfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	FILE *f;

	if (fd < 0) {
		hrun_error_errno(err, "open \"/proc/%s\"", rel);
		return NULL;
	}
	f = fdopen(fd, "re");
	if (!f) {
		hrun_error_errno(err, "fdopen \"/proc/%s\"", rel);
		close(fd);
	}
	return f;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Whether every comma-separated word of WANT is among those of HAVE. */
static bool words_within(const char *want, const char *have)
{
	_cleanup_free_ char *copy = strdup(want);
	char *save = NULL;
	size_t n = 0;

	if (!copy)
		return false;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		size_t len = strlen(w);
		const char *p = have;
		bool found = false;

		while (p && !found) {
			found = strncmp(p, w, len) == 0 && (p[len] == ',' || p[len] == '\0');
			p = strchr(p, ',');
			if (p)
				p++;
		}
		if (!found)
			return false;
		n++;
	}
	return n > 0;
}

/* The directory of cgroup PATH of the hierarchy serving CONTROLLERS
 * ("" for cgroup2) in the host's first mount of it whose root holds
 * PATH; NULL when the host mounts it nowhere. Inside a cgroup namespace
 * (IN_NS) paths and mount roots are relative to its root (a host mount
 * shows "/.."): any mount of the hierarchy will do, its directory is
 * not used. MOUNTINFO is read again from the start. */
static char *find_host_dir(FILE *mountinfo, const char *controllers, const char *path, bool in_ns)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	rewind(mountinfo);
	while (getline(&line, &cap, mountinfo) > 0) {
		char *f[6], *save = NULL, *fstype = NULL, *super = NULL, *tok;
		size_t n = 0, rootlen;
		char *dir;

		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			if (n < 6) {
				f[n++] = tok;
			} else if (strcmp(tok, "-") == 0) {
				fstype = strtok_r(NULL, " ", &save);
				if (strtok_r(NULL, " ", &save))
					super = strtok_r(NULL, " ", &save);
				break;
			}
		}
		if (n < 6 || !fstype || !super)
			continue;
		if (*controllers ? strcmp(fstype, "cgroup") != 0 || !words_within(controllers, super)
				 : strcmp(fstype, "cgroup2") != 0)
			continue;
		unescape(f[3]);
		unescape(f[4]);
		/* The mount shows the subtree at its root: PATH must be in it. */
		rootlen = strcmp(f[3], "/") == 0 ? 0 : strlen(f[3]);
		if (in_ns)
			return strdup(f[4]);
		if (strncmp(path, f[3], rootlen) != 0 || (path[rootlen] != '/' && path[rootlen] != '\0'))
			continue;
		if (asprintf(&dir, "%s%s", f[4], path + rootlen) < 0)
			return NULL;
		return dir;
	}
	return NULL;
}

/* The hierarchies to show: those init is in (it is in its cgroups by
 * now) that the host mounts; the unified one only when some v1 one is
 * there too, i.e. on a hybrid host. */
static int read_hiers(struct hiers *out, bool in_cgroupns, struct hrun_error *err)
{
	_cleanup_close_ int procfd = hrun_procfs_open("/proc", err);
	_cleanup_fclose_ FILE *cg = NULL;
	_cleanup_fclose_ FILE *mi = NULL;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;

	if (procfd < 0)
		return -1;
	cg = open_proc_file(procfd, "self/cgroup", err);
	if (!cg)
		return -1;
	mi = open_proc_file(procfd, "self/mountinfo", err);
	if (!mi)
		return -1;
	while (getline(&line, &cap, cg) > 0) {
		char *ctl = strchr(line, ':');
		char *path = ctl ? strchr(ctl + 1, ':') : NULL;
		struct hier h = { 0 };
		struct hier *v;

		if (!path)
			continue;
		*ctl++ = '\0';
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		h.host_dir = find_host_dir(mi, ctl, path, in_cgroupns);
		if (!h.host_dir)
			continue;
		h.controllers = strdup(ctl);
		h.path = strdup(path);
		v = realloc(out->v, (out->n + 1) * sizeof(*v));
		if (!h.controllers || !h.path || !v) {
			free(h.controllers);
			free(h.path);
			free(h.host_dir);
			if (v)
				out->v = v;
			return hrun_error_errno(err, "read the container's cgroups");
		}
		out->v = v;
		out->v[out->n++] = h;
	}
	return 0;
}

/* The directory a hierarchy gets: its controllers ("cpu,cpuacct"), the
 * name of a named one ("systemd"), "unified" for cgroup2. */
static char *hier_dir_name(const char *controllers)
{
	char *name;
	char *out;

	if (!*controllers)
		return strdup("unified");
	name = malloc(strlen(controllers) + 1);
	if (!name)
		return NULL;
	out = name;
	for (const char *p = controllers; *p;) {
		size_t len = strcspn(p, ",");

		if (strncmp(p, "name=", 5) == 0 && len > 5) {
			p += 5;
			len -= 5;
		}
		if (out != name)
			*out++ = ',';
		memcpy(out, p, len);
		out += len;
		p += len;
		if (*p == ',')
			p++;
	}
	*out = '\0';
	return name;
}

/* Mount one hierarchy on DIRFD: afresh inside the cgroup namespace (the
 * kernel picks the existing hierarchy with these controllers and shows
 * the namespace's root), else a bind of the host's directory. */
static int mount_hier(const struct hier *h, int dirfd, uint64_t attrs, bool in_cgroupns,
		      const char *what, struct hrun_error *err)
{
	struct hrun_mount_opts o = { .attr_set = attrs };
	_cleanup_free_ char *words = NULL;
	_cleanup_free_ char **data = NULL;
	_cleanup_close_ int tree = -1;
	char *save = NULL;

	if (in_cgroupns) {
		if (!*h->controllers)
			return hrun_mount_fs_at("cgroup2", "cgroup", what, dirfd, &o, err);
		words = strdup(h->controllers);
		data = calloc(strlen(h->controllers) / 2 + 2, sizeof(char *));
		if (!words || !data)
			return hrun_error_errno(err, "allocate cgroup options");
		o.data = data;
		for (char *w = strtok_r(words, ",", &save); w; w = strtok_r(NULL, ",", &save))
			o.data[o.n_data++] = w;
		return hrun_mount_fs_at("cgroup", "cgroup", what, dirfd, &o, err);
	}
	tree = open_tree(AT_FDCWD, h->host_dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return hrun_error_errno(err, "mount \"%s\": bind \"%s\"", what, h->host_dir);
	return hrun_mount_attach_tree(tree, dirfd, attrs, err);
}

/* "cpu" -> "cpu,cpuacct" and so on, for hierarchies serving several
 * controllers, so both spellings work as on the host. */
static int link_controllers(int tmpfd, const char *controllers, const char *dir, const char *what,
			    struct hrun_error *err)
{
	_cleanup_free_ char *copy = strdup(controllers);
	char *save = NULL;

	if (!copy)
		return hrun_error_errno(err, "strdup");
	if (!strchr(controllers, ','))
		return 0;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (strncmp(w, "name=", 5) == 0 || strcmp(w, dir) == 0)
			continue;
		if (symlinkat(dir, tmpfd, w) < 0 && errno != EEXIST)
			return hrun_error_errno(err, "mount \"%s\": symlink \"%s\"", what, w);
	}
	return 0;
}

/* The tmpfs that holds the hierarchies; still writable until they are in. */
static int mount_holder(int targetfd, uint64_t attrs, const char *what, struct hrun_error *err)
{
	_cleanup_close_ int fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC);
	_cleanup_close_ int mfd = -1;

	if (fsfd < 0)
		return hrun_error_errno(err, "mount \"%s\": fsopen tmpfs", what);
	if (fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_SET_STRING, "mode", "755", 0) < 0 ||
	    fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hrun_error_errno(err, "mount \"%s\": create tmpfs", what);
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)(attrs & ~(uint64_t)MOUNT_ATTR_RDONLY));
	if (mfd < 0)
		return hrun_error_errno(err, "mount \"%s\": fsmount tmpfs", what);
	if (move_mount(mfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hrun_error_errno(err, "mount \"%s\": attach tmpfs", what);
	return hrun_steal_fd(&mfd);
}

int hrun_cgroup_mount_v1(int targetfd, const char *what, const struct hrun_mount_opts *o,
			 bool in_cgroupns, struct hrun_error *err)
{
	struct hiers hs = { 0 };
	_cleanup_close_ int mfd = -1;
	uint64_t attrs = o->attr_set;
	int r = -1;

	/* Read-only unless the config says "rw": a writable view would let
	 * the container raise its own limits. */
	if (!(o->attr_clr & MOUNT_ATTR_RDONLY))
		attrs |= MOUNT_ATTR_RDONLY;
	if (read_hiers(&hs, in_cgroupns, err) < 0)
		goto out;
	mfd = mount_holder(targetfd, attrs, what, err);
	if (mfd < 0)
		goto out;
	/* The tmpfs is new and only init sees it: names made in it by fd
	 * cannot be raced by the container. */
	for (size_t i = 0; i < hs.n; i++) {
		_cleanup_free_ char *dir = hier_dir_name(hs.v[i].controllers);
		_cleanup_close_ int dirfd = -1;

		if (!dir) {
			hrun_error_errno(err, "strdup");
			goto out;
		}
		if (mkdirat(mfd, dir, 0755) < 0) {
			hrun_error_errno(err, "mount \"%s\": mkdir \"%s\"", what, dir);
			goto out;
		}
		dirfd = openat(mfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0) {
			hrun_error_errno(err, "mount \"%s\": open \"%s\"", what, dir);
			goto out;
		}
		if (mount_hier(&hs.v[i], dirfd, attrs, in_cgroupns, what, err) < 0 ||
		    link_controllers(mfd, hs.v[i].controllers, dir, what, err) < 0)
			goto out;
	}
	if (attrs & MOUNT_ATTR_RDONLY) {
		struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };

		if (mount_setattr(mfd, "", AT_EMPTY_PATH, &ro, sizeof(ro)) < 0) {
			hrun_error_errno(err, "mount \"%s\": make it read-only", what);
			goto out;
		}
	}
	r = hrun_steal_fd(&mfd);
out:
	hiers_free(&hs);
	return r;
}
