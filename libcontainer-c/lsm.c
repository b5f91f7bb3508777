#define _GNU_SOURCE
#include "lsm.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <selinux/selinux.h>
#include <unistd.h>

#include "cleanup.h"
#include "safepath.h"
#include "syscalls.h"

#define SELINUX_FS "/sys/fs/selinux"
#define SELINUX_MAGIC 0xf97cff8cU
#define APPARMOR_ENABLED "/sys/module/apparmor/parameters/enabled"
#define APPARMOR_FS "/sys/kernel/security/apparmor"
#define APPARMOR_UNCONFINED "unconfined"
/* The kernel takes at most a page through /proc/self/attr. */
#define APPARMOR_NAME_MAX 2048

bool hrun_apparmor_enabled(void)
{
	_cleanup_fclose_ FILE *f = fopen(APPARMOR_ENABLED, "re");
	struct stat st;
	int c;

	if (!f)
		return false;
	c = fgetc(f);
	return c == 'Y' && stat(APPARMOR_FS, &st) == 0 && S_ISDIR(st.st_mode);
}

bool hrun_apparmor_profile_loaded(const char *name)
{
	_cleanup_fclose_ FILE *f = fopen(APPARMOR_FS "/profiles", "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0, n = strlen(name);
	ssize_t len;

	if (!f)
		return false;
	/* One "NAME (MODE)" a line; a name may itself contain spaces. */
	while ((len = getline(&line, &cap, f)) > 0) {
		char *mode = strrchr(line, '(');

		if (mode && mode > line && mode[-1] == ' ' && (size_t)(mode - 1 - line) == n &&
		    strncmp(line, name, n) == 0)
			return true;
	}
	return false;
}

/* What goes after "exec " must be one line of text the kernel accepts. */
static int check_name(const char *profile, struct hrun_error *err)
{
	size_t n = strlen(profile);

	if (n > APPARMOR_NAME_MAX)
		return hrun_error_plain(err, EINVAL, "process.apparmorProfile: longer than %d bytes", APPARMOR_NAME_MAX);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)profile[i] < 0x20 || profile[i] == 0x7f)
			return hrun_error_plain(err, EINVAL, "process.apparmorProfile: control character in \"%s\"",
						profile);
	return 0;
}

bool hrun_selinux_enabled(void)
{
	struct statfs sfs;

	return statfs(SELINUX_FS, &sfs) == 0 && (uint32_t)sfs.f_type == SELINUX_MAGIC &&
	       access(SELINUX_FS "/enforce", F_OK) == 0;
}

/* libselinux is opened only when a label is asked for on a host with
 * SELinux on. Linked, it would be loaded (with libpcre2) and its
 * constructor would probe selinuxfs at every start of hrun, on every host:
 * measured +0.1 ms and 28 syscalls for `hrun --version` on a host without
 * SELinux. The soname is libselinux's stable one. */
#define SELINUX_SONAME "libselinux.so.1"

static int selinux_check_context(const char *label)
{
	static __typeof__(security_check_context_raw) *check;

	if (!check) {
		void *lib = dlopen(SELINUX_SONAME, RTLD_NOW | RTLD_LOCAL);

		if (lib)
			check = (__typeof__(check))dlsym(lib, "security_check_context_raw");
		if (!check) {
			hrun_debug("dlopen %s: %s", SELINUX_SONAME, dlerror());
			errno = ELIBACC;
			return -1;
		}
	}
	return check(label);
}

/* The kernel's policy knows LABEL (security_check_context asks it through
 * selinuxfs), so a typo fails here, before anything exists, rather than
 * at the write in the container. */
static int check_label(const char *what, const char *label, struct hrun_error *err)
{
	if (!label || !*label)
		return 0;
	if (selinux_check_context(label) < 0)
		return hrun_error_errno(err, "%s \"%s\": not a valid context for this host's SELinux policy", what,
					label);
	return 0;
}

/* SELinux labels: the exec label (also the session keyring's), and
 * mountLabel for the mounts that take context=. */
static int check_selinux(const struct hrun_spec *spec, struct hrun_error *err)
{
	const char *exec_label = spec->process ? spec->process->selinux_label : NULL;
	const char *mount_label = spec->linux_.mount_label;
	bool wanted = (exec_label && *exec_label) || (mount_label && *mount_label);

	if (!wanted)
		return 0;
	if (!hrun_selinux_enabled())
		return hrun_error_plain(err, EOPNOTSUPP,
					"%s \"%s\" requested but SELinux is not enabled on this host",
					exec_label && *exec_label ? "process.selinuxLabel" : "linux.mountLabel",
					exec_label && *exec_label ? exec_label : mount_label);
	if (check_label("process.selinuxLabel", exec_label, err) < 0 ||
	    check_label("linux.mountLabel", mount_label, err) < 0)
		return -1;
	return 0;
}

/* Writes to the process's own attr files, through PROCFD. The parent
 * checked that SELinux is on whenever a label is set. */
static int write_selinux_attr(int procfd, const char *attr, const char *label, struct hrun_error *err)
{
	char rel[64];

	if (!label || !*label)
		return 0;
	snprintf(rel, sizeof(rel), "self/attr/%s", attr);
	if (hrun_proc_write(procfd, rel, label, strlen(label), err) < 0)
		return hrun_error_prefix(err, "selinuxLabel \"%s\"", label);
	return 0;
}

int hrun_selinux_exec_label(int procfd, const char *label, struct hrun_error *err)
{
	return write_selinux_attr(procfd, "exec", label, err);
}

int hrun_selinux_keyring_label(int procfd, const char *label, struct hrun_error *err)
{
	return write_selinux_attr(procfd, "keycreate", label, err);
}

int hrun_lsm_check_host(const struct hrun_spec *spec, struct hrun_error *err)
{
	const char *profile = spec->process ? spec->process->apparmor_profile : NULL;

	if (check_selinux(spec, err) < 0)
		return -1;
	if (!profile || !*profile)
		return 0;
	if (check_name(profile, err) < 0)
		return -1;
	if (strcmp(profile, APPARMOR_UNCONFINED) == 0 || hrun_apparmor_enabled())
		return 0;
	return hrun_error_plain(err, EOPNOTSUPP,
				"apparmorProfile \"%s\" requested but AppArmor is not enabled on this host", profile);
}

/* /proc/self/attr/apparmor/ exists on kernels since 5.1 that have
 * AppArmor built in; older ones only have the shared /proc/self/attr/. */
static bool has_apparmor_attr(int procfd)
{
	_cleanup_close_ int fd = -1;

	fd = hrun_openat2(procfd, "self/attr/apparmor", O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
			  RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (fd < 0 && errno == ENOSYS)
		fd = openat(procfd, "self/attr/apparmor", O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd >= 0;
}

int hrun_apparmor_exec_profile(int procfd, const char *profile, struct hrun_error *err)
{
	_cleanup_free_ char *cmd = NULL;
	bool unconfined;
	const char *rel;
	int len;

	if (!profile || !*profile)
		return 0;
	if (check_name(profile, err) < 0)
		return -1;
	unconfined = strcmp(profile, APPARMOR_UNCONFINED) == 0;
	if (has_apparmor_attr(procfd))
		rel = "self/attr/apparmor/exec";
	else if (unconfined)
		return 0; /* no AppArmor: unconfined already */
	else
		rel = "self/attr/exec"; /* the parent checked AppArmor owns it */
	len = asprintf(&cmd, "exec %s", profile);
	if (len < 0)
		return hrun_error_errno(err, "asprintf");
	if (hrun_proc_write(procfd, rel, cmd, (size_t)len, err) == 0)
		return 0;
	/* Built in but not the active LSM: nobody confines the process. */
	if (unconfined && err->code == EINVAL) {
		hrun_error_clear(err);
		return 0;
	}
	if (err->code == ENOENT)
		return hrun_error_prefix(err, "apparmorProfile \"%s\" is not loaded", profile);
	return hrun_error_prefix(err, "apparmorProfile \"%s\"", profile);
}
