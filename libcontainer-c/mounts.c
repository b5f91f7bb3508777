#define _GNU_SOURCE
#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "cgroup-mount.h"
#include "cleanup.h"
#include "safepath.h"

struct attr_word {
	const char *name;
	uint64_t set;
	uint64_t clr;
};

/* Per-mount attributes. "r"-prefixed forms apply to the whole tree. */
static const struct attr_word attr_words[] = {
	{ "ro", MOUNT_ATTR_RDONLY, 0 },
	{ "rw", 0, MOUNT_ATTR_RDONLY },
	{ "nosuid", MOUNT_ATTR_NOSUID, 0 },
	{ "suid", 0, MOUNT_ATTR_NOSUID },
	{ "nodev", MOUNT_ATTR_NODEV, 0 },
	{ "dev", 0, MOUNT_ATTR_NODEV },
	{ "noexec", MOUNT_ATTR_NOEXEC, 0 },
	{ "exec", 0, MOUNT_ATTR_NOEXEC },
	{ "nodiratime", MOUNT_ATTR_NODIRATIME, 0 },
	{ "diratime", 0, MOUNT_ATTR_NODIRATIME },
	{ "nosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0 },
	{ "symfollow", 0, MOUNT_ATTR_NOSYMFOLLOW },
	{ "relatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	{ "norelatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
	{ "noatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME },
	{ "atime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
	{ "strictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME },
	{ "nostrictatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME },
};

/* Words that mean nothing to the mount API, or that the superblock
 * already has by default. */
static const char *const ignored_words[] = { "defaults", "async", "tmpcopyup", "private-bind" };

uint64_t hrun_propagation_flag(const char *word, bool *recursive)
{
	static const struct {
		const char *name;
		uint64_t flag;
	} words[] = {
		{ "private", MS_PRIVATE },
		{ "shared", MS_SHARED },
		{ "slave", MS_SLAVE },
		{ "unbindable", MS_UNBINDABLE },
	};
	bool rec = word[0] == 'r' && word[1] != '\0';

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(word, words[i].name) == 0 || (rec && strcmp(word + 1, words[i].name) == 0)) {
			if (recursive)
				*recursive = rec && strcmp(word, words[i].name) != 0;
			return words[i].flag;
		}
	}
	return 0;
}

static bool parse_attr_word(const char *w, struct hrun_mount_opts *o)
{
	bool rec = w[0] == 'r';

	for (size_t i = 0; i < sizeof(attr_words) / sizeof(attr_words[0]); i++) {
		if (strcmp(w, attr_words[i].name) == 0) {
			o->attr_set = (o->attr_set & ~attr_words[i].clr) | attr_words[i].set;
			o->attr_clr = (o->attr_clr | attr_words[i].clr) & ~attr_words[i].set;
			if (attr_words[i].clr == MOUNT_ATTR__ATIME)
				o->attr_clr |= MOUNT_ATTR__ATIME;
			return true;
		}
		if (rec && strcmp(w + 1, attr_words[i].name) == 0) {
			o->rattr_set = (o->rattr_set & ~attr_words[i].clr) | attr_words[i].set;
			o->rattr_clr = (o->rattr_clr | attr_words[i].clr) & ~attr_words[i].set;
			if (attr_words[i].clr == MOUNT_ATTR__ATIME)
				o->rattr_clr |= MOUNT_ATTR__ATIME;
			return true;
		}
	}
	return false;
}

int hrun_mount_opts_parse(const struct hrun_strv *options, struct hrun_mount_opts *o,
			  struct hrun_error *err)
{
	memset(o, 0, sizeof(*o));
	if (!options->set)
		return 0;
	o->data = calloc(options->n + 1, sizeof(char *));
	if (!o->data)
		return hrun_error_errno(err, "allocate mount options");
	for (size_t i = 0; i < options->n; i++) {
		const char *w = options->v[i];
		bool ignored = false;
		bool rec = false;
		uint64_t prop;

		if (strcmp(w, "bind") == 0 || strcmp(w, "rbind") == 0) {
			o->bind = true;
			o->recursive_bind |= w[0] == 'r';
			continue;
		}
		/* Done by the parent (idmap.c) before init mounts the tree. */
		if (strcmp(w, "idmap") == 0 || strcmp(w, "ridmap") == 0)
			continue;
		if (parse_attr_word(w, o))
			continue;
		prop = hrun_propagation_flag(w, &rec);
		if (prop) {
			o->propagation = prop;
			o->propagation_recursive = rec;
			continue;
		}
		for (size_t j = 0; j < sizeof(ignored_words) / sizeof(ignored_words[0]); j++)
			ignored |= strcmp(w, ignored_words[j]) == 0;
		if (ignored)
			continue;
		o->data[o->n_data++] = (char *)w;
	}
	return 0;
}

void hrun_mount_opts_free(struct hrun_mount_opts *opts)
{
	free(opts->data);
	opts->data = NULL;
	opts->n_data = 0;
}

static int set_attrs(int mfd, unsigned int flags, uint64_t set, uint64_t clr, uint64_t propagation,
		     const char *what, struct hrun_error *err)
{
	struct mount_attr attr = { .attr_set = set, .attr_clr = clr, .propagation = propagation };

	if (!set && !clr && !propagation)
		return 0;
	if (mount_setattr(mfd, "", AT_EMPTY_PATH | flags, &attr, sizeof(attr)) < 0)
		return hrun_error_errno(err, "set mount attributes of \"%s\"", what);
	return 0;
}

/* After the mount is attached: the tree-wide attributes and propagation. */
static int finish_mount(int mfd, const struct hrun_mount_opts *o, const char *what,
			struct hrun_error *err)
{
	if (set_attrs(mfd, AT_RECURSIVE, o->rattr_set, o->rattr_clr, 0, what, err) < 0)
		return -1;
	return set_attrs(mfd, o->propagation_recursive ? AT_RECURSIVE : 0, 0, 0, o->propagation,
			 what, err);
}

static int attach(int mfd, int targetfd, const char *what, struct hrun_error *err)
{
	if (move_mount(mfd, "", targetfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return hrun_error_errno(err, "attach mount \"%s\"", what);
	return 0;
}

const char *hrun_mount_context(const struct hrun_spec *spec, const char *type)
{
	static const char *const self_labelled[] = { "proc", "sysfs", "cgroup", "cgroup2" };
	const char *label = spec->linux_.mount_label;

	if (!label || !*label)
		return NULL;
	for (size_t i = 0; i < sizeof(self_labelled) / sizeof(self_labelled[0]); i++)
		if (strcmp(type, self_labelled[i]) == 0)
			return NULL;
	return label;
}

static int configure_fs(int fsfd, const char *type, const char *source,
			const struct hrun_mount_opts *o, struct hrun_error *err)
{
	/* The source names the device for block filesystems and labels the
	 * mount in mountinfo for the virtual ones. */
	if (source && *source && fsconfig(fsfd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return hrun_error_errno(err, "%s source \"%s\"", type, source);
	if (o->context && fsconfig(fsfd, FSCONFIG_SET_STRING, "context", o->context, 0) < 0)
		return hrun_error_errno(err, "%s mountLabel \"%s\"", type, o->context);
	for (size_t i = 0; i < o->n_data; i++) {
		_cleanup_free_ char *key = strdup(o->data[i]);
		char *value;
		int r;

		if (!key)
			return hrun_error_errno(err, "strdup");
		value = strchr(key, '=');
		if (value) {
			*value++ = '\0';
			r = fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0);
		} else {
			r = fsconfig(fsfd, FSCONFIG_SET_FLAG, key, NULL, 0);
		}
		if (r < 0)
			return hrun_error_errno(err, "%s option \"%s\"", type, o->data[i]);
	}
	if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return hrun_error_errno(err, "create %s filesystem", type);
	return 0;
}

int hrun_mount_fs_at(const char *type, const char *source, const char *what, int targetfd,
		     const struct hrun_mount_opts *o, struct hrun_error *err)
{
	_cleanup_close_ int fsfd = fsopen(type, FSOPEN_CLOEXEC);
	_cleanup_close_ int mfd = -1;

	if (fsfd < 0)
		return hrun_error_errno(err, "fsopen %s for \"%s\"", type, what);
	if (configure_fs(fsfd, type, source, o, err) < 0)
		return hrun_error_prefix(err, "mount \"%s\"", what);
	mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, (unsigned int)o->attr_set);
	if (mfd < 0)
		return hrun_error_errno(err, "fsmount %s for \"%s\"", type, what);
	if (attach(mfd, targetfd, what, err) < 0)
		return -1;
	return finish_mount(mfd, o, what, err);
}

int hrun_mount_attach_tree(int treefd, int targetfd, uint64_t attr_set, struct hrun_error *err)
{
	if (set_attrs(treefd, 0, attr_set, 0, 0, "bind", err) < 0)
		return -1;
	return attach(treefd, targetfd, "bind", err);
}

int hrun_mount_bind_fd(int srcfd, int targetfd, bool recursive, uint64_t attr_set,
		       struct hrun_error *err)
{
	_cleanup_close_ int tfd = open_tree(srcfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
						(recursive ? AT_RECURSIVE : 0));

	if (tfd < 0)
		return hrun_error_errno(err, "clone mount tree");
	if (set_attrs(tfd, 0, attr_set, 0, 0, "bind", err) < 0)
		return -1;
	return attach(tfd, targetfd, "bind", err);
}

/* TREE, when not -1, is the source already cloned (and idmapped) by the
 * parent; this takes it over. */
static int mount_bind(const struct hrun_mount *m, const struct hrun_mount_opts *o, int tree,
		      int targetfd, struct hrun_error *err)
{
	_cleanup_close_ int tfd = tree;

	/* The source is a host path (relative ones to the bundle, our cwd). */
	if (tfd < 0)
		tfd = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
					(o->recursive_bind ? AT_RECURSIVE : 0));
	if (tfd < 0)
		return hrun_error_errno(err, "mount \"%s\": bind source \"%s\"", m->destination, m->source);
	/* A bind only ever adds restrictions: "rw", "suid", "dev" or "exec"
	 * must not lift what the host put on the source mount. Only the
	 * atime mode is replaced, since it is one value, not a restriction. */
	if (set_attrs(tfd, 0, o->attr_set, o->attr_clr & MOUNT_ATTR__ATIME, 0, m->destination, err) < 0)
		return -1;
	if (attach(tfd, targetfd, m->destination, err) < 0)
		return -1;
	return finish_mount(tfd, o, m->destination, err);
}


/* A cgroup mount shows the container's cgroups, read-only unless the
 * config says "rw": on a pure v2 host a cgroup2 mount (the container's
 * cgroup namespace root), elsewhere one directory per hierarchy. */
static int mount_cgroup(const struct hrun_spec *spec, const struct hrun_mount *m,
			struct hrun_mount_opts *o, int targetfd, struct hrun_error *err)
{
	enum hrun_cgroup_mode mode = hrun_cgroup_detect();
	_cleanup_close_ int mfd = -1;

	if (mode == HRUN_CGROUP_HYBRID || mode == HRUN_CGROUP_LEGACY) {
		mfd = hrun_cgroup_mount_v1(targetfd, m->destination, o,
					   hrun_spec_find_ns(spec, HRUN_NS_CGROUP) != NULL, err);
		if (mfd < 0)
			return -1;
		return finish_mount(mfd, o, m->destination, err);
	}
	if (!(o->attr_clr & MOUNT_ATTR_RDONLY))
		o->attr_set |= MOUNT_ATTR_RDONLY;
	return hrun_mount_fs_at("cgroup2", m->source, m->destination, targetfd, o, err);
}

static bool source_is_file(const struct hrun_mount *m)
{
	struct stat st;

	return m->source && stat(m->source, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int mount_one(int rootfd, const struct hrun_spec *spec, size_t index, int tree,
		     struct hrun_error *err)
{
	const struct hrun_mount *m = &spec->mounts[index];
	_cleanup_close_ int owned_tree = tree;
	struct hrun_mount_opts o;
	_cleanup_close_ int targetfd = -1;
	const char *type = m->type;
	int r;

	if (hrun_mount_opts_parse(&m->options, &o, err) < 0)
		return -1;
	if (!o.bind && type && strcmp(type, "bind") == 0)
		o.bind = true;
	targetfd = hrun_mkpath_in_root(rootfd, m->destination, o.bind && source_is_file(m), err);
	if (targetfd < 0) {
		hrun_mount_opts_free(&o);
		return hrun_error_prefix(err, "mount \"%s\" (mounts[%zu].destination)", m->destination,
					 index);
	}
	if (o.bind) {
		r = mount_bind(m, &o, owned_tree, targetfd, err);
		owned_tree = -1;
	} else if (!type || !*type) {
		r = hrun_error_plain(err, EINVAL, "mount \"%s\": no filesystem type", m->destination);
	} else if (strcmp(type, "cgroup") == 0) {
		r = mount_cgroup(spec, m, &o, targetfd, err);
	} else {
		o.context = hrun_mount_context(spec, type);
		r = hrun_mount_fs_at(type, m->source, m->destination, targetfd, &o, err);
		/* sysfs cannot be mounted from a user namespace that does not
		 * own the network namespace; bind the host's, as runc does. */
		if (r < 0 && err->code == EPERM && strcmp(type, "sysfs") == 0) {
			struct hrun_mount sys = { .source = "/sys", .destination = m->destination };
			o.recursive_bind = true;
			/* Every mount below the host's /sys, not just the top. */
			o.rattr_set |= o.attr_set | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
			r = mount_bind(&sys, &o, -1, targetfd, err);
		}
	}
	hrun_mount_opts_free(&o);
	return r;
}

int hrun_mounts_apply(int rootfd, const struct hrun_spec *spec, const int *trees,
		      struct hrun_error *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++)
		if (mount_one(rootfd, spec, i, trees ? trees[i] : -1, err) < 0)
			return -1;
	return 0;
}

int hrun_mounts_mask_paths(int rootfd, const struct hrun_strv *paths, int devnullfd,
			   struct hrun_error *err)
{
	struct hrun_mount_opts ro = { .attr_set = MOUNT_ATTR_RDONLY };
	char *size_opt[] = { "size=0", "nr_inodes=1" };

	ro.data = size_opt;
	ro.n_data = 2;
	for (size_t i = 0; paths->set && i < paths->n; i++) {
		_cleanup_close_ int fd = hrun_open_in_root(rootfd, paths->v[i], O_PATH | O_NOFOLLOW, err);
		struct stat st;

		if (fd < 0) {
			if (err->code == ENOENT)
				continue;
			return hrun_error_prefix(err, "mask \"%s\"", paths->v[i]);
		}
		if (fstat(fd, &st) < 0)
			return hrun_error_errno(err, "mask \"%s\": fstat", paths->v[i]);
		if (S_ISDIR(st.st_mode)) {
			if (hrun_mount_fs_at("tmpfs", "tmpfs", paths->v[i], fd, &ro, err) < 0)
				return hrun_error_prefix(err, "mask \"%s\"", paths->v[i]);
		} else if (hrun_mount_bind_fd(devnullfd, fd, false, 0, err) < 0) {
			return hrun_error_prefix(err, "mask \"%s\"", paths->v[i]);
		}
	}
	return 0;
}

int hrun_mounts_readonly_paths(int rootfd, const struct hrun_strv *paths, struct hrun_error *err)
{
	for (size_t i = 0; paths->set && i < paths->n; i++) {
		_cleanup_close_ int fd = hrun_open_in_root(rootfd, paths->v[i], O_PATH, err);
		_cleanup_close_ int tfd = -1;

		if (fd < 0) {
			if (err->code == ENOENT)
				continue;
			return hrun_error_prefix(err, "make \"%s\" read-only", paths->v[i]);
		}
		tfd = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
		if (tfd < 0)
			return hrun_error_errno(err, "make \"%s\" read-only: clone", paths->v[i]);
		if (set_attrs(tfd, AT_RECURSIVE,
			      MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0,
			      paths->v[i], err) < 0)
			return -1;
		if (attach(tfd, fd, paths->v[i], err) < 0)
			return -1;
	}
	return 0;
}
