#define _GNU_SOURCE
#include "process.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int hrun_process_set_rlimits(const struct hrun_process *proc, struct hrun_error *err)
{
	for (size_t i = 0; i < proc->n_rlimits; i++) {
		const struct hrun_rlimit *r = &proc->rlimits[i];
		struct rlimit lim = { .rlim_cur = r->soft, .rlim_max = r->hard };

		if (setrlimit(r->resource, &lim) < 0) {
			struct rlimit cur;
			if (errno == EPERM && getrlimit(r->resource, &cur) == 0 && r->hard > cur.rlim_max)
				return hrun_error_errno(err,
							"set %s to %llu/%llu: raising the hard limit above %llu needs CAP_SYS_RESOURCE",
							r->type, (unsigned long long)r->soft,
							(unsigned long long)r->hard,
							(unsigned long long)cur.rlim_max);
			return hrun_error_errno(err, "set %s", r->type);
		}
	}
	return 0;
}

int hrun_process_set_user(const struct hrun_process *proc, struct hrun_error *err)
{
	const struct hrun_user *u = &proc->user;
	gid_t gids[NGROUPS_MAX];
	size_t n = u->additional_gids.set ? u->additional_gids.n : 0;

	if (n > NGROUPS_MAX)
		return hrun_error_plain(err, EINVAL, "too many additionalGids (%zu)", n);
	for (size_t i = 0; i < n; i++)
		gids[i] = u->additional_gids.v[i];
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return hrun_error_errno(err, "prctl PR_SET_KEEPCAPS");
	/* An unprivileged user namespace denies setgroups; with no groups to
	 * set that is fine. */
	if (setgroups(n, gids) < 0 && !(errno == EPERM && n == 0))
		return hrun_error_errno(err, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return hrun_error_errno(err, "setgid %u", u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return hrun_error_errno(err, "setuid %u", u->uid);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return hrun_error_errno(err, "prctl PR_SET_KEEPCAPS");
	return 0;
}

void hrun_process_set_umask(const struct hrun_process *proc)
{
	/* runc's default when the config is silent. */
	umask(proc->user.umask.set ? (mode_t)(proc->user.umask.v & 0777) : 0022);
}

int hrun_process_set_no_new_privs(const struct hrun_process *proc, struct hrun_error *err)
{
	if (!proc->no_new_privileges.set || !proc->no_new_privileges.v)
		return 0;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return hrun_error_errno(err, "prctl PR_SET_NO_NEW_PRIVS");
	return 0;
}

static int by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

int hrun_process_close_fds(const int *keep, size_t n_keep, unsigned int preserve,
			   struct hrun_error *err)
{
	unsigned int next = 3 + preserve;
	int kept[8];
	size_t n = 0;

	for (size_t i = 0; i < n_keep && n < sizeof(kept) / sizeof(kept[0]); i++)
		if (keep[i] >= (int)next)
			kept[n++] = keep[i];
	qsort(kept, n, sizeof(kept[0]), by_value);
	/* Close the gaps between the kept fds, then everything above. */
	for (size_t i = 0; i < n; i++) {
		if ((unsigned int)kept[i] > next && close_range(next, (unsigned int)kept[i] - 1, 0) < 0)
			return hrun_error_errno(err, "close_range");
		if ((unsigned int)kept[i] + 1 > next)
			next = (unsigned int)kept[i] + 1;
	}
	if (close_range(next, ~0U, 0) < 0)
		return hrun_error_errno(err, "close_range");
	return 0;
}

int hrun_process_chdir(const struct hrun_process *proc, struct hrun_error *err)
{
	char cwd[PATH_MAX];

	if (chdir(proc->cwd ? proc->cwd : "/") < 0)
		return hrun_error_errno(err, "chdir to cwd \"%s\"", proc->cwd ? proc->cwd : "/");
	/* The kernel marks a cwd outside our root "(unreachable)". */
	if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
		return hrun_error_plain(err, EPERM, "cwd \"%s\" is outside the container",
				      proc->cwd ? proc->cwd : "/");
	return 0;
}

static const char *env_path(const struct hrun_process *proc)
{
	for (size_t i = 0; proc->env.set && i < proc->env.n; i++)
		if (strncmp(proc->env.v[i], "PATH=", 5) == 0)
			return proc->env.v[i] + 5;
	return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static bool is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *hrun_process_find_exec(const struct hrun_process *proc, struct hrun_error *err)
{
	const char *name = proc->args.v[0];
	const char *path;

	if (strchr(name, '/')) {
		char *copy = strdup(name);
		if (!copy)
			hrun_error_errno(err, "strdup");
		return copy;
	}
	path = env_path(proc);
	while (*path) {
		const char *end = strchrnul(path, ':');
		int len = (int)(end - path);
		char *candidate = NULL;

		if (asprintf(&candidate, "%.*s/%s", len ? len : 1, len ? path : ".", name) < 0) {
			hrun_error_errno(err, "asprintf");
			return NULL;
		}
		if (is_executable(candidate))
			return candidate;
		free(candidate);
		path = *end ? end + 1 : end;
	}
	hrun_error_plain(err, ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
	return NULL;
}

int hrun_process_exec(const struct hrun_process *proc, const char *path, struct hrun_error *err)
{
	static char *const empty[] = { NULL };

	execve(path, proc->args.v, proc->env.set ? proc->env.v : empty);
	return hrun_error_errno(err, "exec \"%s\"", path);
}
