#define _GNU_SOURCE
#include "features.h"

#include <stdio.h>

#include "capnames.h"
#include "json.h"
#include "landlock.h"
#include "seccomp.h"
#include "spec.h"

#include "config.h"

static const char *const mount_options[] = {
	"async",      "atime",	     "bind",	      "defaults",     "dev",	     "diratime",
	"exec",	      "idmap",	     "noatime",     "nodev",	      "nodiratime",   "noexec",	     "norelatime",
	"nostrictatime", "nosuid",   "nosymfollow",   "private",      "ratime",	     "rbind",
	"rdev",	      "rdiratime",   "relatime",      "rexec",	      "rnoatime",    "rnodev",
	"rnodiratime", "rnoexec",    "rnorelatime",   "rnostrictatime", "rnosuid",   "rnosymfollow",
	"ridmap",     "ro",	      "rprivate",    "rrelatime",     "rro",	      "rrw",	     "rshared",
	"rslave",     "rstrictatime", "rsuid",	      "rsymfollow",   "runbindable", "rw",
	"shared",     "slave",	     "strictatime",   "suid",	      "symfollow",   "unbindable",
};

static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
				     "poststart", "poststop" };

static void namespaces(struct hrun_jgen *g)
{
	hrun_jgen_key(g, "namespaces");
	hrun_jgen_array_open(g);
	for (int t = 0; t < HRUN_NS_COUNT; t++)
		hrun_jgen_string(g, hrun_ns_type_name((enum hrun_ns_type)t));
	hrun_jgen_array_close(g);
}

static void capabilities(struct hrun_jgen *g)
{
	hrun_jgen_key(g, "capabilities");
	hrun_jgen_array_open(g);
	for (int c = 0; c <= HRUN_CAP_LAST; c++)
		hrun_jgen_string(g, hrun_cap_name(c));
	hrun_jgen_array_close(g);
}

static void names(struct hrun_jgen *g, const char *key, const char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	hrun_jgen_key(g, key);
	hrun_jgen_strv(g, (char *const *)v, n);
}

/* runtime-spec features: what linux.seccomp may use here; supportedFlags
 * are the known ones this kernel accepts. */
static void seccomp(struct hrun_jgen *g)
{
	hrun_jgen_key(g, "seccomp");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "enabled");
	hrun_jgen_bool(g, true);
	names(g, "actions", hrun_seccomp_actions);
	names(g, "operators", hrun_seccomp_operators);
	names(g, "archs", hrun_seccomp_archs);
	names(g, "knownFlags", hrun_seccomp_known_flags);
	hrun_jgen_key(g, "supportedFlags");
	hrun_jgen_array_open(g);
	for (size_t i = 0; hrun_seccomp_known_flags[i]; i++)
		if (hrun_seccomp_flag_supported(hrun_seccomp_known_flags[i]))
			hrun_jgen_string(g, hrun_seccomp_known_flags[i]);
	hrun_jgen_array_close(g);
	hrun_jgen_map_close(g);
}

static void flag_object(struct hrun_jgen *g, const char *key, const char *const *names,
			const bool *values, size_t n)
{
	hrun_jgen_key(g, key);
	hrun_jgen_map_open(g);
	for (size_t i = 0; i < n; i++) {
		hrun_jgen_key(g, names[i]);
		hrun_jgen_bool(g, values[i]);
	}
	hrun_jgen_map_close(g);
}

char *hrun_features_json(struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(true);
	static const char *const cgroup_keys[] = { "v1", "v2", "systemd", "systemdUser", "rdma" };
	static const bool cgroup_vals[] = { true, true, true, false, false };
	static const char *const off_keys[] = { "enabled" };
	static const bool off[] = { false };
	static const bool on[] = { true };

	if (!g) {
		hrun_error_errno(err, "allocate json generator");
		return NULL;
	}
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "ociVersionMin");
	hrun_jgen_string(g, "1.0.0");
	hrun_jgen_key(g, "ociVersionMax");
	hrun_jgen_string(g, HRUN_OCI_VERSION);
	hrun_jgen_key(g, "hooks");
	hrun_jgen_strv(g, (char *const *)hooks, sizeof(hooks) / sizeof(hooks[0]));
	hrun_jgen_key(g, "mountOptions");
	hrun_jgen_strv(g, (char *const *)mount_options, sizeof(mount_options) / sizeof(mount_options[0]));

	hrun_jgen_key(g, "linux");
	hrun_jgen_map_open(g);
	namespaces(g);
	capabilities(g);
	flag_object(g, "cgroup", cgroup_keys, cgroup_vals, 5);
	seccomp(g);
	/* Compiled in always (lsm.c); whether this host has AppArmor or
	 * SELinux is checked when a container asks for a label, as runc does. */
	flag_object(g, "apparmor", off_keys, on, 1);
	flag_object(g, "selinux", off_keys, on, 1);
	flag_object(g, "intelRdt", off_keys, off, 1);
	hrun_jgen_key(g, "mountExtensions");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "idmap");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "enabled");
	hrun_jgen_bool(g, true);
	hrun_jgen_map_close(g);
	hrun_jgen_map_close(g);
	hrun_jgen_map_close(g);

	hrun_jgen_key(g, "annotations");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "io.hrun.version");
	hrun_jgen_string(g, PACKAGE_VERSION);
	hrun_jgen_key(g, "io.hrun.commit");
	hrun_jgen_string(g, HRUN_COMMIT);
	hrun_jgen_key(g, "io.hrun.hardening.levels");
	hrun_jgen_string(g, "compat,default,strict");
	/* Landlock is hrun's own (io.hrun.landlock, docs/landlock.md): the
	 * kernel's ABI decides what a policy may restrict here, 0 none. */
	{
		char abi[16];
		snprintf(abi, sizeof(abi), "%d", hrun_landlock_abi());
		hrun_jgen_key(g, "io.hrun.landlock.abi");
		hrun_jgen_string(g, abi);
	}
	hrun_jgen_key(g, "io.github.seccomp.libseccomp.version");
	hrun_jgen_string(g, hrun_seccomp_libseccomp_version());
	hrun_jgen_map_close(g);
	hrun_jgen_map_close(g);
	return hrun_jgen_finish(g, err);
}
