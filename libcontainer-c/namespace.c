#define _GNU_SOURCE
#include "namespace.h"

#include <errno.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "cleanup.h"
#include "rootless.h"
#include "safepath.h"

int hrun_ns_clone_flag(enum hrun_ns_type type)
{
	switch (type) {
	case HRUN_NS_PID:
		return CLONE_NEWPID;
	case HRUN_NS_NETWORK:
		return CLONE_NEWNET;
	case HRUN_NS_MOUNT:
		return CLONE_NEWNS;
	case HRUN_NS_IPC:
		return CLONE_NEWIPC;
	case HRUN_NS_UTS:
		return CLONE_NEWUTS;
	case HRUN_NS_USER:
		return CLONE_NEWUSER;
	case HRUN_NS_CGROUP:
		return CLONE_NEWCGROUP;
	case HRUN_NS_TIME:
		return CLONE_NEWTIME;
	case HRUN_NS_COUNT:
		break;
	}
	return 0;
}

uint64_t hrun_ns_new_flags(const struct hrun_spec *spec)
{
	uint64_t flags = 0;

	for (size_t i = 0; i < spec->linux_.n_namespaces; i++) {
		const struct hrun_namespace *ns = &spec->linux_.namespaces[i];
		if (!ns->path || !*ns->path)
			flags |= (uint64_t)hrun_ns_clone_flag(ns->type);
	}
	return flags;
}

bool hrun_ns_joins_any(const struct hrun_spec *spec)
{
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].path && *spec->linux_.namespaces[i].path)
			return true;
	return false;
}

static int open_join(const struct hrun_namespace *ns, struct hrun_ns_join *joins,
		     struct hrun_error *err)
{
	/* Non-blocking: a FIFO named in the config must not hang us. */
	int fd = open(ns->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct statfs sfs;

	if (fd < 0)
		return hrun_error_errno(err, "open %s namespace \"%s\"", hrun_ns_type_name(ns->type),
					ns->path);
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != NSFS_MAGIC) {
		close(fd);
		return hrun_error_plain(err, EINVAL, "%s namespace \"%s\" is not a namespace file",
					hrun_ns_type_name(ns->type), ns->path);
	}
	joins->fds[joins->n] = fd;
	joins->types[joins->n] = ns->type;
	joins->n++;
	return 0;
}

int hrun_ns_open_joins(const struct hrun_spec *spec, struct hrun_ns_join *joins,
		       struct hrun_error *err)
{
	const struct hrun_namespace *user = NULL;

	joins->n = 0;
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++) {
		const struct hrun_namespace *ns = &spec->linux_.namespaces[i];
		if (ns->type == HRUN_NS_USER && ns->path && *ns->path)
			user = ns;
	}
	if (user && open_join(user, joins, err) < 0)
		return -1;
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++) {
		const struct hrun_namespace *ns = &spec->linux_.namespaces[i];
		if (ns == user || !ns->path || !*ns->path)
			continue;
		if (open_join(ns, joins, err) < 0) {
			hrun_ns_close_joins(joins);
			return -1;
		}
	}
	return 0;
}

int hrun_ns_setns_all(struct hrun_ns_join *joins, struct hrun_error *err)
{
	for (size_t i = 0; i < joins->n; i++) {
		if (setns(joins->fds[i], hrun_ns_clone_flag(joins->types[i])) < 0)
			return hrun_error_errno(err, "join %s namespace",
						hrun_ns_type_name(joins->types[i]));
	}
	return 0;
}

void hrun_ns_close_joins(struct hrun_ns_join *joins)
{
	for (size_t i = 0; i < joins->n; i++)
		close(joins->fds[i]);
	joins->n = 0;
}

static int format_map(const struct hrun_idmaps *maps, char **out, size_t *len,
		      struct hrun_error *err)
{
	/* 340 lines of three 10-digit numbers fit the kernel's page limit. */
	size_t cap = maps->n * 36 + 1;
	char *buf = malloc(cap);
	size_t off = 0;

	if (!buf)
		return hrun_error_errno(err, "allocate id map");
	for (size_t i = 0; i < maps->n; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%u %u %u\n", maps->v[i].container_id,
					maps->v[i].host_id, maps->v[i].size);
	*out = buf;
	*len = off;
	return 0;
}

static int write_map(int procfd, pid_t pid, const char *file, const struct hrun_idmaps *maps,
		     struct hrun_error *err)
{
	_cleanup_free_ char *text = NULL;
	char rel[64];
	size_t len = 0;

	if (!maps->set || maps->n == 0)
		return 0;
	if (format_map(maps, &text, &len, err) < 0)
		return -1;
	snprintf(rel, sizeof(rel), "%d/%s", pid, file);
	return hrun_proc_write(procfd, rel, text, len, err);
}

/* The one map the kernel lets an unprivileged writer write itself: one
 * id, the writer's own. */
static bool own_id_only(const struct hrun_idmaps *maps, uint32_t own)
{
	return maps->n == 1 && maps->v[0].size == 1 && maps->v[0].host_id == own;
}

int hrun_ns_write_id_maps(pid_t pid, const struct hrun_idmaps *uids,
			  const struct hrun_idmaps *gids, struct hrun_error *err)
{
	_cleanup_close_ int procfd = hrun_procfs_open("/proc", err);
	bool privileged = geteuid() == 0;
	char rel[64];

	if (procfd < 0)
		return -1;
	if (uids->set && uids->n > 0 && !privileged && !own_id_only(uids, (uint32_t)geteuid())) {
		if (hrun_rootless_run_idmap_tool("newuidmap", pid, uids, err) < 0)
			return -1;
	} else if (write_map(procfd, pid, "uid_map", uids, err) < 0) {
		return -1;
	}
	if (!gids->set || gids->n == 0)
		return 0;
	/* As root we keep setgroups allowed: the container may set its
	 * additionalGids; so does newgidmap for ranges /etc/subgid grants.
	 * Writing our own gid alone, the kernel wants setgroups denied
	 * first (or a user could shed a group that denies it access). */
	if (!privileged && !own_id_only(gids, (uint32_t)getegid()))
		return hrun_rootless_run_idmap_tool("newgidmap", pid, gids, err);
	if (!privileged) {
		snprintf(rel, sizeof(rel), "%d/setgroups", pid);
		if (hrun_proc_write(procfd, rel, "deny", 4, err) < 0)
			return -1;
	}
	return write_map(procfd, pid, "gid_map", gids, err);
}

int hrun_ns_set_uts(const struct hrun_spec *spec, struct hrun_error *err)
{
	if (spec->hostname && sethostname(spec->hostname, strlen(spec->hostname)) < 0)
		return hrun_error_errno(err, "sethostname \"%s\"", spec->hostname);
	if (spec->domainname && setdomainname(spec->domainname, strlen(spec->domainname)) < 0)
		return hrun_error_errno(err, "setdomainname \"%s\"", spec->domainname);
	return 0;
}

int hrun_ns_loopback_up(const struct hrun_spec *spec, struct hrun_error *err)
{
	const struct hrun_namespace *net = hrun_spec_find_ns(spec, HRUN_NS_NETWORK);
	_cleanup_close_ int fd = -1;
	struct ifreq ifr = { .ifr_name = "lo" };

	/* A joined namespace is someone else's to configure. */
	if (!net || (net->path && *net->path))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return hrun_error_errno(err, "bring up lo: socket");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return hrun_error_errno(err, "bring up lo: get its flags");
	if (ifr.ifr_flags & IFF_UP)
		return 0;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return hrun_error_errno(err, "bring up lo");
	return 0;
}
