/* `hrun update`: change a live container's cgroup limits, with runc's
 * flags or a linux.resources object (--resources FILE, "-" for stdin). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-resources.h"
#include "cleanup.h"
#include "cli.h"
#include "commands.h"

/* A resources document is small; anything bigger is a mistake. */
#define RESOURCES_MAX (1024 * 1024)

enum {
	OPT_HELP,
	OPT_RESOURCES,
	OPT_MEMORY,
	OPT_MEMORY_SWAP,
	OPT_MEMORY_RESERVATION,
	OPT_KERNEL_MEMORY,
	OPT_KERNEL_MEMORY_TCP,
	OPT_PIDS_LIMIT,
	OPT_CPU_SHARES,
	OPT_CPU_QUOTA,
	OPT_CPU_PERIOD,
	OPT_CPU_RT_PERIOD,
	OPT_CPU_RT_RUNTIME,
	OPT_CPUSET_CPUS,
	OPT_CPUSET_MEMS,
	OPT_BLKIO_WEIGHT,
};

static const struct cli_option update_options[] = {
	{ "resources", 'r', true, OPT_RESOURCES, "value", "a linux.resources JSON file to apply (\"-\" reads stdin)" },
	{ "memory", 0, true, OPT_MEMORY, "value", "memory limit (in bytes; k, m, g suffixes)" },
	{ "memory-swap", 0, true, OPT_MEMORY_SWAP, "value", "memory + swap limit (-1: unlimited)" },
	{ "memory-reservation", 0, true, OPT_MEMORY_RESERVATION, "value", "memory soft limit" },
	{ "kernel-memory", 0, true, OPT_KERNEL_MEMORY, "value", "accepted and ignored (deprecated)" },
	{ "kernel-memory-tcp", 0, true, OPT_KERNEL_MEMORY_TCP, "value", "accepted and ignored (deprecated)" },
	{ "pids-limit", 0, true, OPT_PIDS_LIMIT, "value", "maximum number of pids (0 or -1: unlimited)" },
	{ "cpu-shares", 0, true, OPT_CPU_SHARES, "value", "CPU shares (relative weight)" },
	{ "cpu-quota", 0, true, OPT_CPU_QUOTA, "value", "CPU CFS quota in microseconds per period (-1: none)" },
	{ "cpu-period", 0, true, OPT_CPU_PERIOD, "value", "CPU CFS period in microseconds" },
	{ "cpu-rt-period", 0, true, OPT_CPU_RT_PERIOD, "value", "CPU realtime period (cgroup v1)" },
	{ "cpu-rt-runtime", 0, true, OPT_CPU_RT_RUNTIME, "value", "CPU realtime runtime (cgroup v1)" },
	{ "cpuset-cpus", 0, true, OPT_CPUSET_CPUS, "value", "CPUs to use (0-3, 0,1)" },
	{ "cpuset-mems", 0, true, OPT_CPUSET_MEMS, "value", "memory nodes to use (0-3, 0,1)" },
	{ "blkio-weight", 0, true, OPT_BLKIO_WEIGHT, "value", "block IO weight, 10 to 1000" },
	{ "help", 'h', false, OPT_HELP, NULL, "show help" },
	{ 0 },
};

struct flags {
	bool help;
	const char *resources;
	struct hrun_resources r;
};

static int bad(const char *name, const char *value, const char *what)
{
	hrun_log(HRUN_LOG_ERROR, "invalid value \"%s\" for flag --%s: %s", value, name, what);
	return -1;
}

static int parse_i64(const char *name, const char *value, int64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoll(value, &end, 10);
	return errno || end == value || *end ? bad(name, value, "expected an integer") : 0;
}

static int parse_u64(const char *name, const char *value, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(value, &end, 10);
	return errno || end == value || *end || value[0] == '-'
		       ? bad(name, value, "expected an unsigned integer")
		       : 0;
}

static int size_flag(const char *name, const char *value, struct hrun_opt_i64 *dst)
{
	if (hrun_parse_size(value, &dst->v) < 0)
		return bad(name, value, "expected a size such as 512, 64m or 1g, or -1");
	dst->set = true;
	return 0;
}

static int i64_flag(const char *name, const char *value, struct hrun_opt_i64 *dst)
{
	dst->set = parse_i64(name, value, &dst->v) == 0;
	return dst->set ? 0 : -1;
}

static int u64_flag(const char *name, const char *value, struct hrun_opt_u64 *dst)
{
	dst->set = parse_u64(name, value, &dst->v) == 0;
	return dst->set ? 0 : -1;
}

static int on_memory_flag(struct hrun_memory *m, int id, const char *value)
{
	m->set = true;
	switch (id) {
	case OPT_MEMORY:
		return size_flag("memory", value, &m->limit);
	case OPT_MEMORY_SWAP:
		return size_flag("memory-swap", value, &m->swap);
	case OPT_MEMORY_RESERVATION:
		return size_flag("memory-reservation", value, &m->reservation);
	case OPT_KERNEL_MEMORY:
		return size_flag("kernel-memory", value, &m->kernel);
	default:
		return size_flag("kernel-memory-tcp", value, &m->kernel_tcp);
	}
}

static int on_cpu_flag(struct hrun_cpu *c, int id, const char *value)
{
	c->set = true;
	switch (id) {
	case OPT_CPU_SHARES:
		return u64_flag("cpu-shares", value, &c->shares);
	case OPT_CPU_QUOTA:
		return i64_flag("cpu-quota", value, &c->quota);
	case OPT_CPU_PERIOD:
		return u64_flag("cpu-period", value, &c->period);
	case OPT_CPU_RT_PERIOD:
		return u64_flag("cpu-rt-period", value, &c->realtime_period);
	case OPT_CPU_RT_RUNTIME:
		return i64_flag("cpu-rt-runtime", value, &c->realtime_runtime);
	case OPT_CPUSET_CPUS:
		c->cpus = (char *)value;
		return 0;
	default:
		c->mems = (char *)value;
		return 0;
	}
}

static int on_flag(void *data, int id, const char *value)
{
	struct flags *f = data;
	struct hrun_resources *r = &f->r;

	switch (id) {
	case OPT_HELP:
		f->help = true;
		return 0;
	case OPT_RESOURCES:
		f->resources = value;
		return 0;
	case OPT_MEMORY:
	case OPT_MEMORY_SWAP:
	case OPT_MEMORY_RESERVATION:
	case OPT_KERNEL_MEMORY:
	case OPT_KERNEL_MEMORY_TCP:
		r->set = true;
		return on_memory_flag(&r->memory, id, value);
	case OPT_PIDS_LIMIT:
		r->set = r->pids.set = true;
		return parse_i64("pids-limit", value, &r->pids.limit);
	case OPT_BLKIO_WEIGHT:
		r->set = r->block_io.set = true;
		return u64_flag("blkio-weight", value, &r->block_io.weight);
	default:
		r->set = true;
		return on_cpu_flag(&r->cpu, id, value);
	}
}

/* The whole of FILE ("-": stdin), bounded. */
static char *read_input(const char *file, size_t *len, struct hrun_error *err)
{
	_cleanup_close_ int fd = strcmp(file, "-") == 0 ? dup(0) : open(file, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *buf = malloc(RESOURCES_MAX + 1);
	size_t n = 0;

	if (fd < 0) {
		hrun_error_errno(err, "open resources \"%s\"", file);
		return NULL;
	}
	if (!buf) {
		hrun_error_errno(err, "malloc");
		return NULL;
	}
	while (n <= RESOURCES_MAX) {
		ssize_t r = read(fd, buf + n, RESOURCES_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			hrun_error_errno(err, "read resources \"%s\"", file);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > RESOURCES_MAX) {
		hrun_error_plain(err, EFBIG, "resources \"%s\": larger than %d bytes", file, RESOURCES_MAX);
		return NULL;
	}
	*len = n;
	char *out = buf;
	buf = NULL;
	return out;
}

int cmd_update(const struct hrun_context *ctx, int argc, char **argv)
{
	struct flags f = {0};
	struct hrun_error err = {0};
	_cleanup_free_ char *json = NULL;
	size_t len = 0;
	int i = cmd_args("update", "[command options] <container-id>", update_options, argc, argv, on_flag,
			 &f, &f.help, 1, 1);

	if (i <= 0)
		return i < 0;
	if (f.resources && !(json = read_input(f.resources, &len, &err)))
		return cmd_fail(&err);
	/* Flags after the file: the command line says the last word. */
	if (hrun_container_update(ctx, argv[i], json, len, &f.r, &err) < 0)
		return cmd_fail(&err);
	return 0;
}
