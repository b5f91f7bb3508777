#define _GNU_SOURCE
#include "policy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "lsm.h"
#include "mounts.h"
#include "seccomp-cache.h"

const char *const hrun_default_caps[] = {
	"CAP_CHOWN",	    "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL",	    "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
	"CAP_SETPCAP",	    "CAP_SETUID",	"CAP_SYS_CHROOT",
};
const size_t hrun_default_caps_n = sizeof(hrun_default_caps) / sizeof(hrun_default_caps[0]);

/* What a container should not see or change of the host's /proc and /sys:
 * kernel interfaces that leak host data or allow host-wide actions. */
const char *const hrun_default_masked[] = {
	"/proc/acpi",	     "/proc/asound",	     "/proc/interrupts", "/proc/kcore",
	"/proc/keys",	     "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
	"/proc/sched_debug", "/proc/scsi",	     "/sys/firmware",	 "/sys/devices/virtual/powercap",
};
const size_t hrun_default_masked_n = sizeof(hrun_default_masked) / sizeof(hrun_default_masked[0]);

const char *const hrun_default_readonly[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
const size_t hrun_default_readonly_n = sizeof(hrun_default_readonly) / sizeof(hrun_default_readonly[0]);

static const char *const level_names[] = { "compat", "default", "strict" };

int hrun_hardening_from_name(const char *name)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

const char *hrun_hardening_name(enum hrun_hardening level)
{
	return level_names[level];
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int hrun_host_config_load(const char *path, struct hrun_host_config *conf, struct hrun_error *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[1024];
	unsigned int lineno = 0;

	conf->hardening = HRUN_HARDENING_DEFAULT;
	conf->allow_annotation_lowering = false;
	memset(&conf->userns_pool, 0, sizeof(conf->userns_pool));
	snprintf(conf->userns_pool_dir, sizeof(conf->userns_pool_dir), "%s", HRUN_USERNS_POOL_DIR);
	conf->userns_pool.dir = conf->userns_pool_dir;
	snprintf(conf->seccomp_cache_dir, sizeof(conf->seccomp_cache_dir), "%s", HRUN_SECCOMP_CACHE_DIR);
	conf->landlock_policy[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : hrun_error_errno(err, "open \"%s\"", path);
	while (fgets(line, sizeof(line), f)) {
		char *key = line, *value, *hash;
		int level;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		key = trim(key);
		if (!*key)
			continue;
		value = strchr(key, '=');
		if (!value)
			return hrun_error_plain(err, EINVAL, "%s:%u: expected KEY = VALUE", path, lineno);
		*value++ = '\0';
		key = trim(key);
		value = trim(value);
		if (strcmp(key, "hardening") == 0) {
			level = hrun_hardening_from_name(value);
			if (level < 0)
				return hrun_error_plain(err, EINVAL,
						      "%s:%u: hardening: unknown level \"%s\" (compat, default, strict)",
						      path, lineno, value);
			conf->hardening = (enum hrun_hardening)level;
		} else if (strcmp(key, "allow_annotation_lowering") == 0) {
			if (parse_bool(value, &conf->allow_annotation_lowering) < 0)
				return hrun_error_plain(err, EINVAL, "%s:%u: %s: expected true or false", path,
						      lineno, key);
		} else if (strcmp(key, "userns_pool") == 0) {
			if (hrun_userns_pool_parse(value, &conf->userns_pool) < 0)
				return hrun_error_plain(err, EINVAL,
						      "%s:%u: userns_pool: expected FIRST:COUNT, COUNT a multiple of 65536, within 32 bits, FIRST not 0",
						      path, lineno);
		} else if (strcmp(key, "userns_pool_dir") == 0) {
			if (value[0] != '/' || strlen(value) >= sizeof(conf->userns_pool_dir))
				return hrun_error_plain(err, EINVAL, "%s:%u: userns_pool_dir: expected an absolute path",
						      path, lineno);
			snprintf(conf->userns_pool_dir, sizeof(conf->userns_pool_dir), "%s", value);
		} else if (strcmp(key, "seccomp_cache_dir") == 0) {
			if ((*value && value[0] != '/') || strlen(value) >= sizeof(conf->seccomp_cache_dir))
				return hrun_error_plain(err, EINVAL,
						      "%s:%u: seccomp_cache_dir: expected an absolute path, or nothing to turn the cache off",
						      path, lineno);
			snprintf(conf->seccomp_cache_dir, sizeof(conf->seccomp_cache_dir), "%s", value);
		} else if (strcmp(key, "landlock_policy") == 0) {
			if (value[0] != '/' || strlen(value) >= sizeof(conf->landlock_policy))
				return hrun_error_plain(err, EINVAL, "%s:%u: landlock_policy: expected an absolute path",
						      path, lineno);
			snprintf(conf->landlock_policy, sizeof(conf->landlock_policy), "%s", value);
		} else {
			return hrun_error_plain(err, EINVAL, "%s:%u: unknown key \"%s\"", path, lineno, key);
		}
	}
	/* A directory opens but does not read: that is no config at all. */
	if (ferror(f))
		return hrun_error_errno(err, "read \"%s\"", path);
	return 0;
}

int hrun_policy_level(const struct hrun_host_config *conf, int flag, const struct hrun_spec *spec,
		      enum hrun_hardening *out, struct hrun_error *err)
{
	enum hrun_hardening level = flag >= 0 ? (enum hrun_hardening)flag : conf->hardening;
	const char *asked = hrun_spec_annotation(spec, HRUN_HARDENING_ANNOTATION);

	if (asked) {
		int a = hrun_hardening_from_name(asked);
		if (a < 0)
			return hrun_error_plain(err, EINVAL, "annotation %s: unknown level \"%s\"",
					      HRUN_HARDENING_ANNOTATION, asked);
		/* Annotations come from whoever writes the pod, not the host
		 * admin: they only raise the level unless the host allows more. */
		if ((enum hrun_hardening)a > level || conf->allow_annotation_lowering)
			level = (enum hrun_hardening)a;
		else if ((enum hrun_hardening)a < level)
			hrun_warn("annotation %s=%s ignored: the host does not allow lowering \"%s\"",
				  HRUN_HARDENING_ANNOTATION, asked, hrun_hardening_name(level));
	}
	*out = level;
	return 0;
}

static int strv_fill(struct hrun_strv *v, const char *const *items, size_t n, struct hrun_error *err)
{
	v->v = calloc(n + 1, sizeof(char *));
	if (!v->v)
		return hrun_error_errno(err, "allocate defaults");
	for (v->n = 0; v->n < n; v->n++) {
		v->v[v->n] = strdup(items[v->n]);
		if (!v->v[v->n])
			return hrun_error_errno(err, "allocate defaults");
	}
	v->set = true;
	return 0;
}

static bool strv_has(const struct hrun_strv *set, const char *name);

static int fill_defaults(struct hrun_spec *spec, struct hrun_error *err)
{
	struct hrun_process *p = spec->process;

	if (p && !p->no_new_privileges.set)
		p->no_new_privileges = (struct hrun_opt_bool){ .set = true, .v = true };
	if (p && !p->capabilities.set) {
		struct hrun_capabilities *c = &p->capabilities;
		if (strv_fill(&c->bounding, hrun_default_caps, hrun_default_caps_n, err) < 0 ||
		    strv_fill(&c->effective, hrun_default_caps, hrun_default_caps_n, err) < 0 ||
		    strv_fill(&c->permitted, hrun_default_caps, hrun_default_caps_n, err) < 0)
			return -1;
		c->set = true;
	}
	/* After the capabilities: a container that holds CAP_SYS_ADMIN gets
	 * the variant that lets it mount and make namespaces. */
	if (!spec->linux_.seccomp.set &&
	    hrun_seccomp_builtin_profile(p && strv_has(&p->capabilities.bounding, "CAP_SYS_ADMIN")
						 ? HRUN_SECCOMP_SYS_ADMIN_PROFILE
						 : HRUN_SECCOMP_DEFAULT_PROFILE,
					 &spec->linux_.seccomp, err) < 0)
		return -1;
	if (!spec->linux_.masked_paths.set &&
	    strv_fill(&spec->linux_.masked_paths, hrun_default_masked, hrun_default_masked_n, err) < 0)
		return -1;
	if (!spec->linux_.readonly_paths.set &&
	    strv_fill(&spec->linux_.readonly_paths, hrun_default_readonly, hrun_default_readonly_n, err) < 0)
		return -1;
	/* A fork bomb must not use up the host's pids: an explicit limit
	 * (even -1, unlimited) is the config speaking and is kept. */
	if (!spec->linux_.resources.pids.set) {
		spec->linux_.resources.pids = (struct hrun_pids){ .set = true, .limit = HRUN_DEFAULT_PIDS_LIMIT };
		spec->linux_.resources.set = true;
	}
	/* Depends on the host, not only the config: applied only where the
	 * admin loaded contrib/apparmor/hrun-default. */
	if (p && (!p->apparmor_profile || !*p->apparmor_profile) && hrun_apparmor_enabled() &&
	    hrun_apparmor_profile_loaded(HRUN_APPARMOR_DEFAULT_PROFILE)) {
		free(p->apparmor_profile);
		p->apparmor_profile = strdup(HRUN_APPARMOR_DEFAULT_PROFILE);
		if (!p->apparmor_profile)
			return hrun_error_errno(err, "allocate defaults");
	}
	return 0;
}

/* --- the rules ----------------------------------------------------------- */

static bool rule_no_new_privs(const struct hrun_spec *spec, char *found, size_t len)
{
	const struct hrun_process *p = spec->process;

	if (!p || (p->no_new_privileges.set && p->no_new_privileges.v))
		return false;
	snprintf(found, len, "process.noNewPrivileges is %s", p->no_new_privileges.set ? "false" : "unset");
	return true;
}

static bool rule_readonly_root(const struct hrun_spec *spec, char *found, size_t len)
{
	if (spec->root.readonly)
		return false;
	snprintf(found, len, "root.readonly is false");
	return true;
}

static const char *const dangerous_caps[] = {
	"CAP_SYS_ADMIN",  "CAP_SYS_MODULE", "CAP_SYS_RAWIO",   "CAP_SYS_PTRACE",	  "CAP_SYS_BOOT",
	"CAP_SYS_TIME",	  "CAP_NET_ADMIN",  "CAP_MAC_ADMIN",   "CAP_MAC_OVERRIDE",	  "CAP_DAC_READ_SEARCH",
	"CAP_BPF",	  "CAP_PERFMON",    "CAP_SYSLOG",      "CAP_CHECKPOINT_RESTORE", "CAP_AUDIT_CONTROL",
	"CAP_LINUX_IMMUTABLE", "CAP_SYS_RESOURCE", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
};

static bool strv_has(const struct hrun_strv *set, const char *name)
{
	for (size_t i = 0; set->set && i < set->n; i++)
		if (strcmp(set->v[i], name) == 0)
			return true;
	return false;
}

static bool rule_dangerous_caps(const struct hrun_spec *spec, char *found, size_t len)
{
	const struct hrun_capabilities *c;

	if (!spec->process)
		return false;
	c = &spec->process->capabilities;
	if (!c->set) {
		snprintf(found, len, "process.capabilities is unset (the process keeps all of root's)");
		return true;
	}
	for (size_t i = 0; i < sizeof(dangerous_caps) / sizeof(dangerous_caps[0]); i++) {
		const char *cap = dangerous_caps[i];
		if (strv_has(&c->bounding, cap) || strv_has(&c->effective, cap) || strv_has(&c->permitted, cap) ||
		    strv_has(&c->ambient, cap) || strv_has(&c->inheritable, cap)) {
			snprintf(found, len, "process.capabilities grants %s", cap);
			return true;
		}
	}
	return false;
}

static bool rule_host_namespaces(const struct hrun_spec *spec, char *found, size_t len)
{
	static const enum hrun_ns_type needed[] = { HRUN_NS_PID, HRUN_NS_NETWORK, HRUN_NS_IPC, HRUN_NS_UTS,
						    HRUN_NS_MOUNT };

	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		const struct hrun_namespace *ns = hrun_spec_find_ns(spec, needed[i]);
		if (!ns) {
			snprintf(found, len, "no %s namespace: the container shares the host's",
				 hrun_ns_type_name(needed[i]));
			return true;
		}
	}
	return false;
}

static const char *const sensitive_sources[] = {
	"/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr", "/var/run/docker.sock",
	"/run/containerd", "/var/lib/kubelet", "/run/hrun", HRUN_SECCOMP_CACHE_DIR, HRUN_USERNS_POOL_DIR,
};

/* Whether PATH is the directory OUTER or inside it: by device and inode
 * from PATH up to the root, so symlinks, "..", relative paths and bind
 * mounts that show the same directory elsewhere all count. A path that
 * cannot be opened is inside nothing. */
static bool path_within(const char *path, const char *outer)
{
	_cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
	struct stat o, st;

	if (fd < 0 || stat(outer, &o) < 0)
		return false;
	for (int depth = 0; depth < 4096 && fstat(fd, &st) == 0; depth++) {
		int up;
		struct stat ust;

		if (st.st_dev == o.st_dev && st.st_ino == o.st_ino)
			return true;
		up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (up < 0)
			return false;
		if (fstat(up, &ust) < 0 || (ust.st_dev == st.st_dev && ust.st_ino == st.st_ino)) {
			close(up); /* the root: its parent is itself */
			return false;
		}
		close(fd);
		fd = up;
	}
	return false;
}

/* A bind of a sensitive directory, of something inside one (but "/"), or
 * of a directory that holds one. */
static bool rule_sensitive_mounts(const struct hrun_spec *spec, char *found, size_t len)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct hrun_mount *m = &spec->mounts[i];
		if (!m->source || !hrun_mount_is_bind(m))
			continue;
		for (size_t j = 0; j < sizeof(sensitive_sources) / sizeof(sensitive_sources[0]); j++) {
			const char *s = sensitive_sources[j];
			if (path_within(s, m->source) || (strcmp(s, "/") != 0 && path_within(m->source, s))) {
				snprintf(found, len, "mounts[%zu] binds the host's \"%s\" (holding or inside %s)", i,
					 m->source, s);
				return true;
			}
		}
	}
	return false;
}

int hrun_policy_check_binds(const struct hrun_spec *spec, const char *const *own, size_t n_own,
			    struct hrun_error *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct hrun_mount *m = &spec->mounts[i];
		if (!m->source || !hrun_mount_is_bind(m))
			continue;
		for (size_t j = 0; j < n_own; j++)
			if (own[j] && *own[j] && path_within(m->source, own[j]))
				return hrun_error_plain(err, EPERM,
							"config.json: mounts[%zu].source \"%s\" is inside hrun's own \"%s\": refused at every hardening level",
							i, m->source, own[j]);
	}
	return 0;
}

static bool is_shared(const char *word)
{
	return word && (strcmp(word, "shared") == 0 || strcmp(word, "rshared") == 0);
}

static bool rule_shared_propagation(const struct hrun_spec *spec, char *found, size_t len)
{
	if (is_shared(spec->linux_.rootfs_propagation)) {
		snprintf(found, len, "linux.rootfsPropagation is %s", spec->linux_.rootfs_propagation);
		return true;
	}
	for (size_t i = 0; i < spec->n_mounts; i++)
		for (size_t j = 0; spec->mounts[i].options.set && j < spec->mounts[i].options.n; j++)
			if (is_shared(spec->mounts[i].options.v[j])) {
				snprintf(found, len, "mounts[%zu] (%s) has %s propagation", i,
					 spec->mounts[i].destination, spec->mounts[i].options.v[j]);
				return true;
			}
	return false;
}

static bool rule_masked_paths(const struct hrun_spec *spec, char *found, size_t len)
{
	const struct hrun_strv *m = &spec->linux_.masked_paths;

	for (size_t i = 0; i < hrun_default_masked_n; i++)
		if (!strv_has(m, hrun_default_masked[i])) {
			snprintf(found, len, "linux.maskedPaths lacks %s", hrun_default_masked[i]);
			return true;
		}
	return false;
}

static bool rule_lsm_unconfined(const struct hrun_spec *spec, char *found, size_t len)
{
	const struct hrun_process *p = spec->process;

	if (!p || !p->apparmor_profile || strcmp(p->apparmor_profile, "unconfined") != 0)
		return false;
	snprintf(found, len, "process.apparmorProfile is \"unconfined\"");
	return true;
}

/* A profile that allows what it does not list only keeps out the calls its
 * author knew of: every new kernel syscall gets through. */
static bool rule_seccomp(const struct hrun_spec *spec, char *found, size_t len)
{
	const char *def = spec->linux_.seccomp.default_action;

	if (!spec->linux_.seccomp.set) {
		snprintf(found, len, "no linux.seccomp");
		return true;
	}
	/* TRACE lets through whatever an attached tracer allows. */
	if (def && (strcmp(def, "SCMP_ACT_ALLOW") == 0 || strcmp(def, "SCMP_ACT_LOG") == 0 ||
		    strcmp(def, "SCMP_ACT_TRACE") == 0)) {
		snprintf(found, len, "linux.seccomp.defaultAction is %s", def);
		return true;
	}
	return false;
}

static const struct hrun_policy_rule rules[] = {
	{ "HR-NNP", "high", "5.25", "processes cannot gain privileges (noNewPrivileges)",
	  "set process.noNewPrivileges to true", rule_no_new_privs },
	{ "HR-ROROOT", "medium", "5.12", "the root filesystem is read-only",
	  "set root.readonly to true and mount a tmpfs where the workload writes", rule_readonly_root },
	{ "HR-CAPS", "high", "5.3", "no dangerous capabilities",
	  "remove the capability from every set of process.capabilities", rule_dangerous_caps },
	{ "HR-HOSTNS", "high", "5.9, 5.15, 5.16, 5.20", "no host namespaces",
	  "add the namespace to linux.namespaces without a path", rule_host_namespaces },
	{ "HR-HOSTMOUNT", "high", "5.5", "no sensitive host directories mounted",
	  "remove the bind mount or bind a narrower, dedicated directory", rule_sensitive_mounts },
	{ "HR-PROPAGATION", "medium", "5.19", "no shared mount propagation",
	  "use private, slave or their r- forms", rule_shared_propagation },
	{ "HR-MASKED", "medium", NULL, "sensitive /proc and /sys paths are masked",
	  "keep hrun's default linux.maskedPaths (or leave the field unset)", rule_masked_paths },
	{ "HR-SECCOMP", "high", "5.21", "a seccomp profile that denies what it does not list",
	  "leave linux.seccomp unset (hrun's default profile applies) or use a profile whose defaultAction denies",
	  rule_seccomp },
	{ "HR-LSM", "high", "5.1", "the process is not explicitly unconfined by its LSM",
	  "remove process.apparmorProfile \"unconfined\" (hrun-default applies when loaded) or name a profile",
	  rule_lsm_unconfined },
};

int hrun_policy_apply(struct hrun_spec *spec, enum hrun_hardening level, struct hrun_error *err)
{
	char found[512];

	if (level != HRUN_HARDENING_COMPAT && fill_defaults(spec, err) < 0)
		return -1;
	if (level == HRUN_HARDENING_STRICT) {
		spec->root.readonly = true;
		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
			if (rules[i].broken(spec, found, sizeof(found)))
				return hrun_error_plain(err, EPERM,
							"hardening level strict refuses this config: rule %s (%s): %s; fix: %s",
							rules[i].id, rules[i].title, found, rules[i].fix);
		}
	}
	/* At every level: a profile this host cannot apply fails here, before
	 * anything of the container exists. */
	return hrun_lsm_check_host(spec, err);
}
