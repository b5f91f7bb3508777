#define _GNU_SOURCE
#include "rootless.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy.h"

extern char **environ;

/* Decided once, by the first call, in hrun's own process: a child in a
 * new user namespace sees its euid change to 0 the moment the parent
 * writes its uid map, and would then take hrun for privileged (it made
 * init undumpable too early, failing the gid map write, under load). */
bool hrun_rootless_caller(void)
{
	static int rootless = -1;

	if (rootless < 0)
		rootless = geteuid() != 0;
	return rootless;
}

int hrun_rootless_parse(const char *value, bool *rootless)
{
	if (strcmp(value, "true") == 0)
		*rootless = true;
	else if (strcmp(value, "false") == 0)
		*rootless = false;
	else if (strcmp(value, "auto") == 0)
		*rootless = hrun_rootless_caller();
	else
		return -1;
	return 0;
}

char *hrun_rootless_default_root(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *root = NULL;

	/* A relative one would follow the bundle's chdir. */
	if (!xdg || xdg[0] != '/')
		return NULL;
	if (asprintf(&root, "%s/" HRUN_ROOTLESS_ROOT_NAME, xdg) < 0)
		return NULL;
	return root;
}

void hrun_rootless_seccomp_cache(char *dir, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (!hrun_rootless_caller())
		return;
	if (!xdg || xdg[0] != '/' || (size_t)snprintf(dir, len, "%s/hrun-seccomp", xdg) >= len)
		dir[0] = '\0';
}

static int single_map(struct hrun_idmaps *maps, uint32_t host, struct hrun_error *err)
{
	maps->v = calloc(1, sizeof(*maps->v));
	if (!maps->v)
		return hrun_error_errno(err, "allocate the user namespace's maps");
	maps->set = true;
	maps->n = 1;
	maps->v[0] = (struct hrun_idmap){ .container_id = 0, .host_id = host, .size = 1 };
	return 0;
}

int hrun_rootless_add_userns(struct hrun_spec *spec, struct hrun_error *err)
{
	struct hrun_linux *lx = &spec->linux_;
	struct hrun_namespace *ns;

	if (hrun_spec_find_ns(spec, HRUN_NS_USER))
		return 0;
	/* Validation refused mappings without a user namespace. */
	if (lx->uid_mappings.n || lx->gid_mappings.n)
		return hrun_error_plain(err, EINVAL, "config.json: linux.uidMappings given without a user namespace");
	ns = realloc(lx->namespaces, (lx->n_namespaces + 1) * sizeof(*ns));
	if (!ns)
		return hrun_error_errno(err, "allocate the user namespace");
	lx->namespaces = ns;
	ns[lx->n_namespaces++] = (struct hrun_namespace){ .type = HRUN_NS_USER };
	free(lx->uid_mappings.v);
	free(lx->gid_mappings.v);
	lx->uid_mappings = (struct hrun_idmaps){ 0 };
	lx->gid_mappings = (struct hrun_idmaps){ 0 };
	if (single_map(&lx->uid_mappings, (uint32_t)geteuid(), err) < 0 ||
	    single_map(&lx->gid_mappings, (uint32_t)getegid(), err) < 0)
		return -1;
	return 1;
}

int hrun_rootless_check(const struct hrun_spec *spec, struct hrun_error *err)
{
	for (size_t i = 0; i < spec->n_mounts; i++) {
		const struct hrun_mount *m = &spec->mounts[i];
		bool recursive;

		/* The kernel idmaps a mount only for whoever is privileged
		 * over its filesystem's owner: the host's root. */
		if (hrun_mount_is_idmapped(m, &recursive))
			return hrun_error_plain(err, EPERM,
						"config.json: mounts[%zu] (\"%s\"): idmapped mounts need a privileged hrun; this one runs rootless",
						i, m->destination);
	}
	return 0;
}

const char *hrun_rootless_limit_asked(const struct hrun_resources *res)
{
	const struct hrun_blockio *b = &res->block_io;

	if (res->memory.set)
		return "linux.resources.memory";
	if (res->cpu.set)
		return "linux.resources.cpu";
	if (b->set && (b->weight.set || b->leaf_weight.set || b->n_weight_devices || b->throttle_read_bps.n ||
		       b->throttle_write_bps.n || b->throttle_read_iops.n || b->throttle_write_iops.n))
		return "linux.resources.blockIO";
	if (res->n_hugepage_limits)
		return "linux.resources.hugepageLimits";
	if (res->network.set)
		return "linux.resources.network";
	if (res->pids.set && res->pids.limit != HRUN_DEFAULT_PIDS_LIMIT)
		return "linux.resources.pids";
	if (res->n_rdma)
		return "linux.resources.rdma";
	if (res->unified.n)
		return "linux.resources.unified";
	return NULL;
}

/* "PID c h s c h s ..." as the tool's argument vector. */
static char **tool_argv(const char *tool, pid_t pid, const struct hrun_idmaps *maps)
{
	size_t n = 2 + maps->n * 3 + 1;
	char **argv = calloc(n, sizeof(*argv));
	size_t k = 0;

	if (!argv)
		return NULL;
	argv[k++] = strdup(tool);
	if (asprintf(&argv[k++], "%d", pid) < 0)
		argv[k - 1] = NULL;
	for (size_t i = 0; i < maps->n; i++) {
		const uint32_t v[3] = { maps->v[i].container_id, maps->v[i].host_id, maps->v[i].size };
		for (size_t j = 0; j < 3; j++)
			if (asprintf(&argv[k++], "%" PRIu32, v[j]) < 0)
				argv[k - 1] = NULL;
	}
	for (size_t i = 0; i < k; i++) {
		if (argv[i])
			continue;
		for (size_t j = 0; j < k; j++)
			free(argv[j]);
		free(argv);
		return NULL;
	}
	return argv;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* The tool's complaint, trimmed to one line, for our message. */
static void read_complaint(int fd, char *buf, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len - 1 && (n = read(fd, buf + off, len - 1 - off)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	while (off > 0 && (buf[off - 1] == '\n' || buf[off - 1] == ' '))
		buf[--off] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int hrun_rootless_run_idmap_tool(const char *tool, pid_t pid, const struct hrun_idmaps *maps,
				 struct hrun_error *err)
{
	char **argv = tool_argv(tool, pid, maps);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none;
	int pipefd[2];
	char complaint[512];
	pid_t child;
	int status, r;

	if (!argv)
		return hrun_error_errno(err, "%s: build its arguments", tool);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		free_argv(argv);
		return hrun_error_errno(err, "%s: pipe", tool);
	}
	/* Its stdout and stderr come to us; our blocked signals (held for
	 * forwarding) are not its business. */
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	r = posix_spawnp(&child, tool, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	free_argv(argv);
	close(pipefd[1]);
	if (r != 0) {
		close(pipefd[0]);
		return hrun_error_plain(err, r,
					"write the user namespace's %s maps: run %s: %s (rootless maps of more than the caller's own id need the package uidmap and ranges in /etc/sub%cid)",
					tool[3] == 'u' ? "uid" : "gid", tool, strerror(r), tool[3]);
	}
	read_complaint(pipefd[0], complaint, sizeof(complaint));
	close(pipefd[0]);
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return hrun_error_errno(err, "wait for %s", tool);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return hrun_error_plain(err, EPERM, "write the user namespace's %s maps with %s: %s",
				tool[3] == 'u' ? "uid" : "gid", tool, *complaint ? complaint : "failed");
}
