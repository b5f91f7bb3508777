#define _GNU_SOURCE
#include "spec-template.h"

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include "json.h"
#include "policy.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char *const env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"TERM=xterm",
};

/* Size of the root template's id range: a full 16-bit range, so that
 * image files owned by any traditional uid or gid (tty is 5) stay mapped. */
#define ROOT_MAP_HOST 100000
#define ROOT_MAP_SIZE 65536

static void kstr(struct hrun_jgen *g, const char *k, const char *v)
{
	hrun_jgen_key(g, k);
	hrun_jgen_string(g, v);
}

static void kstrv(struct hrun_jgen *g, const char *k, char *const *v, size_t n)
{
	hrun_jgen_key(g, k);
	hrun_jgen_strv(g, v, n);
}

static void add_mount(struct hrun_jgen *g, const char *dst, const char *type, const char *src,
		  char *const *opts, size_t n)
{
	hrun_jgen_map_open(g);
	kstr(g, "destination", dst);
	kstr(g, "type", type);
	kstr(g, "source", src);
	if (n)
		kstrv(g, "options", opts, n);
	hrun_jgen_map_close(g);
}

static void process(struct hrun_jgen *g)
{
	static char *const args[] = { "sh" };

	hrun_jgen_key(g, "process");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "terminal");
	hrun_jgen_bool(g, false);
	hrun_jgen_key(g, "user");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "uid");
	hrun_jgen_uint64(g, 0);
	hrun_jgen_key(g, "gid");
	hrun_jgen_uint64(g, 0);
	hrun_jgen_map_close(g);
	kstrv(g, "args", args, N(args));
	kstrv(g, "env", env, N(env));
	kstr(g, "cwd", "/");
	hrun_jgen_key(g, "capabilities");
	hrun_jgen_map_open(g);
	kstrv(g, "bounding", (char *const *)hrun_default_caps, hrun_default_caps_n);
	kstrv(g, "effective", (char *const *)hrun_default_caps, hrun_default_caps_n);
	kstrv(g, "permitted", (char *const *)hrun_default_caps, hrun_default_caps_n);
	hrun_jgen_map_close(g);
	hrun_jgen_key(g, "rlimits");
	hrun_jgen_array_open(g);
	hrun_jgen_map_open(g);
	kstr(g, "type", "RLIMIT_NOFILE");
	hrun_jgen_key(g, "hard");
	hrun_jgen_uint64(g, 1024);
	hrun_jgen_key(g, "soft");
	hrun_jgen_uint64(g, 1024);
	hrun_jgen_map_close(g);
	hrun_jgen_array_close(g);
	hrun_jgen_key(g, "noNewPrivileges");
	hrun_jgen_bool(g, true);
	hrun_jgen_map_close(g);
}

static void mounts(struct hrun_jgen *g, bool rootless)
{
	static char *const proc[] = { "nosuid", "noexec", "nodev" };
	static char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k" };
	/* gid=5 (tty) only where it is mapped: the rootless map has gid 0 only,
	 * so it is kept last and left off there. */
	static char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
				     "mode=0620", "gid=5" };
	static char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" };
	static char *const mqueue[] = { "nosuid", "noexec", "nodev" };
	static char *const sysfs[] = { "nosuid", "noexec", "nodev", "ro" };
	/* Without a network namespace of its own the container may not mount
	 * sysfs; it gets the host's /sys read-only instead. */
	static char *const sysbind[] = { "rbind", "nosuid", "noexec", "nodev", "ro" };
	static char *const tmp[] = { "nosuid", "nodev", "mode=1777" };

	hrun_jgen_key(g, "mounts");
	hrun_jgen_array_open(g);
	add_mount(g, "/proc", "proc", "proc", proc, N(proc));
	add_mount(g, "/dev", "tmpfs", "tmpfs", dev, N(dev));
	add_mount(g, "/dev/pts", "devpts", "devpts", pts, rootless ? N(pts) - 1 : N(pts));
	add_mount(g, "/dev/shm", "tmpfs", "shm", shm, N(shm));
	add_mount(g, "/dev/mqueue", "mqueue", "mqueue", mqueue, N(mqueue));
	if (rootless)
		add_mount(g, "/sys", "none", "/sys", sysbind, N(sysbind));
	else
		add_mount(g, "/sys", "sysfs", "sysfs", sysfs, N(sysfs));
	/* The root is read-only; programs still expect a writable /tmp. */
	add_mount(g, "/tmp", "tmpfs", "tmpfs", tmp, N(tmp));
	hrun_jgen_array_close(g);
}

static void idmap(struct hrun_jgen *g, const char *key, unsigned host, unsigned size)
{
	hrun_jgen_key(g, key);
	hrun_jgen_array_open(g);
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "containerID");
	hrun_jgen_uint64(g, 0);
	hrun_jgen_key(g, "hostID");
	hrun_jgen_uint64(g, host);
	hrun_jgen_key(g, "size");
	hrun_jgen_uint64(g, size);
	hrun_jgen_map_close(g);
	hrun_jgen_array_close(g);
}

static void linux_section(struct hrun_jgen *g, bool rootless)
{
	static const char *const ns_root[] = { "pid", "network", "ipc", "uts",
					       "mount", "cgroup", "user" };
	/* Rootless keeps the host network (a new one would have no usable
	 * interface) and the caller's cgroup, as `runc spec --rootless`. */
	static const char *const ns_rootless[] = { "pid", "ipc", "uts", "mount", "user" };
	const char *const *ns = rootless ? ns_rootless : ns_root;
	size_t n_ns = rootless ? N(ns_rootless) : N(ns_root);

	hrun_jgen_key(g, "linux");
	hrun_jgen_map_open(g);
	if (rootless) {
		idmap(g, "uidMappings", (unsigned)getuid(), 1);
		idmap(g, "gidMappings", (unsigned)getgid(), 1);
	} else {
		idmap(g, "uidMappings", ROOT_MAP_HOST, ROOT_MAP_SIZE);
		idmap(g, "gidMappings", ROOT_MAP_HOST, ROOT_MAP_SIZE);
		/* Deny every device node by default; rootless has no cgroup to
		 * enforce it with. */
		hrun_jgen_key(g, "resources");
		hrun_jgen_map_open(g);
		hrun_jgen_key(g, "devices");
		hrun_jgen_array_open(g);
		hrun_jgen_map_open(g);
		hrun_jgen_key(g, "allow");
		hrun_jgen_bool(g, false);
		kstr(g, "access", "rwm");
		hrun_jgen_map_close(g);
		hrun_jgen_array_close(g);
		hrun_jgen_map_close(g);
	}
	hrun_jgen_key(g, "namespaces");
	hrun_jgen_array_open(g);
	for (size_t i = 0; i < n_ns; i++) {
		hrun_jgen_map_open(g);
		kstr(g, "type", ns[i]);
		hrun_jgen_map_close(g);
	}
	hrun_jgen_array_close(g);
	kstrv(g, "maskedPaths", (char *const *)hrun_default_masked, hrun_default_masked_n);
	kstrv(g, "readonlyPaths", (char *const *)hrun_default_readonly, hrun_default_readonly_n);
	hrun_jgen_map_close(g);
}

char *hrun_spec_template(bool rootless, struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(true);

	if (!g) {
		hrun_error_set(err, 0, "out of memory");
		if (err)
			err->code = ENOMEM;
		return NULL;
	}
	/* Generator errors are sticky; hrun_jgen_finish reports the first. */
	hrun_jgen_map_open(g);
	kstr(g, "ociVersion", "1.3.0");
	process(g);
	hrun_jgen_key(g, "root");
	hrun_jgen_map_open(g);
	kstr(g, "path", "rootfs");
	hrun_jgen_key(g, "readonly");
	hrun_jgen_bool(g, true);
	hrun_jgen_map_close(g);
	kstr(g, "hostname", "hrun");
	mounts(g, rootless);
	linux_section(g, rootless);
	hrun_jgen_map_close(g);
	return hrun_jgen_finish(g, err);
}
