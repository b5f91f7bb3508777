#define _GNU_SOURCE
#include "cgroup-stats.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

static uint64_t read_u64(const struct hrun_cgroup *cg, const char *controller, const char *file)
{
	_cleanup_free_ char *v = hrun_cgroup_read(cg, controller, file);

	return v ? strtoull(v, NULL, 10) : 0;
}

/* "max" on v2 and the huge v1 sentinel both mean no limit: 0 as runc. */
static uint64_t read_limit(const struct hrun_cgroup *cg, const char *controller, const char *file)
{
	_cleanup_free_ char *v = hrun_cgroup_read(cg, controller, file);
	uint64_t n;

	if (!v || strcmp(v, "max") == 0)
		return 0;
	n = strtoull(v, NULL, 10);
	return n >= (UINT64_C(1) << 62) ? 0 : n;
}

/* A key of a "key value" file such as cpu.stat. */
static uint64_t read_key(const struct hrun_cgroup *cg, const char *controller, const char *file,
			 const char *key)
{
	_cleanup_free_ char *v = hrun_cgroup_read(cg, controller, file);
	size_t len = strlen(key);

	for (char *line = v; line && *line;) {
		char *next = strchr(line, '\n');
		if (strncmp(line, key, len) == 0 && line[len] == ' ')
			return strtoull(line + len + 1, NULL, 10);
		line = next ? next + 1 : NULL;
	}
	return 0;
}

static void key_u64(struct hrun_jgen *g, const char *key, uint64_t v)
{
	hrun_jgen_key(g, key);
	hrun_jgen_uint64(g, v);
}

static void cpu_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	bool v2 = hrun_cgroup_v2_serves(cg, "cpu");
	/* cpu.stat counts microseconds on v2; runc reports nanoseconds. The
	 * usage lines are in v2's cpu.stat even without the cpu controller. */
	uint64_t total = read_key(cg, NULL, "cpu.stat", "usage_usec") * 1000;
	uint64_t user = read_key(cg, NULL, "cpu.stat", "user_usec") * 1000;
	uint64_t kernel = read_key(cg, NULL, "cpu.stat", "system_usec") * 1000;

	if (!total)
		total = read_u64(cg, "cpu,cpuacct", "cpuacct.usage");
	hrun_jgen_key(g, "cpu");
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "usage");
	hrun_jgen_map_open(g);
	key_u64(g, "total", total);
	key_u64(g, "user", user);
	key_u64(g, "kernel", kernel);
	hrun_jgen_map_close(g);
	hrun_jgen_key(g, "throttling");
	hrun_jgen_map_open(g);
	key_u64(g, "periods", read_key(cg, "cpu", "cpu.stat", "nr_periods"));
	key_u64(g, "throttledPeriods", read_key(cg, "cpu", "cpu.stat", "nr_throttled"));
	key_u64(g, "throttledTime", v2 ? read_key(cg, "cpu", "cpu.stat", "throttled_usec") * 1000
				       : read_key(cg, "cpu", "cpu.stat", "throttled_time"));
	hrun_jgen_map_close(g);
	hrun_jgen_map_close(g);
}

static void entry(struct hrun_jgen *g, const char *name, uint64_t usage, uint64_t max, uint64_t limit,
		  uint64_t failcnt)
{
	hrun_jgen_key(g, name);
	hrun_jgen_map_open(g);
	key_u64(g, "usage", usage);
	key_u64(g, "max", max);
	key_u64(g, "limit", limit);
	key_u64(g, "failcnt", failcnt);
	hrun_jgen_map_close(g);
}

/* Every "key value" line of memory.stat, as runc's "raw". */
static void memory_raw(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	_cleanup_free_ char *v = hrun_cgroup_read(cg, "memory", "memory.stat");

	hrun_jgen_key(g, "raw");
	hrun_jgen_map_open(g);
	for (char *save = NULL, *line = v ? strtok_r(v, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		*sp = '\0';
		key_u64(g, line, strtoull(sp + 1, NULL, 10));
	}
	hrun_jgen_map_close(g);
}

static void memory_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	hrun_jgen_key(g, "memory");
	hrun_jgen_map_open(g);
	if (hrun_cgroup_v2_serves(cg, "memory")) {
		key_u64(g, "cache", read_key(cg, "memory", "memory.stat", "file"));
		entry(g, "usage", read_u64(cg, "memory", "memory.current"), read_u64(cg, "memory", "memory.peak"),
		      read_limit(cg, "memory", "memory.max"), read_key(cg, "memory", "memory.events", "max"));
		/* runc's v2 swap entry counts memory + swap, as v1's memsw. */
		uint64_t mem_limit = read_limit(cg, "memory", "memory.max");
		uint64_t swap_limit = read_limit(cg, "memory", "memory.swap.max");
		entry(g, "swap", read_u64(cg, "memory", "memory.swap.current") + read_u64(cg, "memory", "memory.current"),
		      0, swap_limit && mem_limit ? swap_limit + mem_limit : 0,
		      read_key(cg, "memory", "memory.swap.events", "max"));
	} else {
		key_u64(g, "cache", read_key(cg, "memory", "memory.stat", "cache"));
		entry(g, "usage", read_u64(cg, "memory", "memory.usage_in_bytes"),
		      read_u64(cg, "memory", "memory.max_usage_in_bytes"),
		      read_limit(cg, "memory", "memory.limit_in_bytes"), read_u64(cg, "memory", "memory.failcnt"));
		entry(g, "swap", read_u64(cg, "memory", "memory.memsw.usage_in_bytes"),
		      read_u64(cg, "memory", "memory.memsw.max_usage_in_bytes"),
		      read_limit(cg, "memory", "memory.memsw.limit_in_bytes"),
		      read_u64(cg, "memory", "memory.memsw.failcnt"));
	}
	memory_raw(g, cg);
	hrun_jgen_map_close(g);
}

static void pids_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	hrun_jgen_key(g, "pids");
	hrun_jgen_map_open(g);
	key_u64(g, "current", read_u64(cg, "pids", "pids.current"));
	key_u64(g, "limit", read_limit(cg, "pids", "pids.max"));
	hrun_jgen_map_close(g);
}

static void blkio_entry(struct hrun_jgen *g, unsigned maj, unsigned min, const char *op, uint64_t v)
{
	hrun_jgen_map_open(g);
	key_u64(g, "major", maj);
	key_u64(g, "minor", min);
	hrun_jgen_key(g, "op");
	hrun_jgen_string(g, op);
	key_u64(g, "value", v);
	hrun_jgen_map_close(g);
}

/* v2 io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N ..." per device;
 * WHAT is "bytes" or "ios". */
static void io_stat_list(struct hrun_jgen *g, const char *text, const char *what)
{
	char line[1024];

	hrun_jgen_array_open(g);
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		unsigned maj, min;

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), p);
		p = p[n] ? p + n + 1 : NULL;
		if (sscanf(line, "%u:%u", &maj, &min) != 2)
			continue;
		for (char *save = NULL, *w = strtok_r(line, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			const char *op = NULL;
			if (w[0] == 'r' && strncmp(w + 1, what, strlen(what)) == 0 && w[1 + strlen(what)] == '=')
				op = "Read";
			else if (w[0] == 'w' && strncmp(w + 1, what, strlen(what)) == 0 && w[1 + strlen(what)] == '=')
				op = "Write";
			if (op)
				blkio_entry(g, maj, min, op, strtoull(strchr(w, '=') + 1, NULL, 10));
		}
	}
	hrun_jgen_array_close(g);
}

/* v1 blkio.*_recursive: "MAJ:MIN Op N" lines and a "Total N" line. */
static void blkio_v1_list(struct hrun_jgen *g, const char *text)
{
	char line[256], op[32];

	hrun_jgen_array_open(g);
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		unsigned maj, min;
		unsigned long long v;

		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), p);
		p = p[n] ? p + n + 1 : NULL;
		if (sscanf(line, "%u:%u %31s %llu", &maj, &min, op, &v) == 4)
			blkio_entry(g, maj, min, op, v);
	}
	hrun_jgen_array_close(g);
}

static void blkio_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	bool v2 = hrun_cgroup_v2_serves(cg, "io");
	_cleanup_free_ char *bytes = NULL, *ios = NULL;

	hrun_jgen_key(g, "blkio");
	hrun_jgen_map_open(g);
	if (v2) {
		bytes = hrun_cgroup_read(cg, "io", "io.stat");
		hrun_jgen_key(g, "ioServiceBytesRecursive");
		io_stat_list(g, bytes, "bytes");
		hrun_jgen_key(g, "ioServicedRecursive");
		io_stat_list(g, bytes, "ios");
	} else {
		bytes = hrun_cgroup_read(cg, "blkio", "blkio.throttle.io_service_bytes_recursive");
		ios = hrun_cgroup_read(cg, "blkio", "blkio.throttle.io_serviced_recursive");
		hrun_jgen_key(g, "ioServiceBytesRecursive");
		blkio_v1_list(g, bytes);
		hrun_jgen_key(g, "ioServicedRecursive");
		blkio_v1_list(g, ios);
	}
	hrun_jgen_map_close(g);
}

/* The kernel's page sizes (hugepages-2048kB) in the cgroup files' names
 * (2MB, 1GB), as runc keys them. */
static void hugetlb_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	_cleanup_free_ struct dirent **names = NULL;
	int n = scandir("/sys/kernel/mm/hugepages", &names, NULL, alphasort);
	bool v2 = hrun_cgroup_v2_serves(cg, "hugetlb");

	hrun_jgen_key(g, "hugetlb");
	hrun_jgen_map_open(g);
	for (int i = 0; i < n; i++) {
		unsigned long kb;
		char size[32], file[96];

		if (sscanf(names[i]->d_name, "hugepages-%lukB", &kb) == 1) {
			if (kb >= 1024 * 1024)
				snprintf(size, sizeof(size), "%luGB", kb / (1024 * 1024));
			else if (kb >= 1024)
				snprintf(size, sizeof(size), "%luMB", kb / 1024);
			else
				snprintf(size, sizeof(size), "%luKB", kb);
			hrun_jgen_key(g, size);
			hrun_jgen_map_open(g);
			snprintf(file, sizeof(file), v2 ? "hugetlb.%s.current" : "hugetlb.%s.usage_in_bytes", size);
			key_u64(g, "usage", read_u64(cg, "hugetlb", file));
			snprintf(file, sizeof(file), v2 ? "hugetlb.%s.max" : "hugetlb.%s.max_usage_in_bytes", size);
			key_u64(g, "max", v2 ? read_limit(cg, "hugetlb", file) : read_u64(cg, "hugetlb", file));
			snprintf(file, sizeof(file), v2 ? "hugetlb.%s.events" : "hugetlb.%s.failcnt", size);
			key_u64(g, "failcnt", v2 ? read_key(cg, "hugetlb", file, "max") : read_u64(cg, "hugetlb", file));
			hrun_jgen_map_close(g);
		}
		free(names[i]);
	}
	hrun_jgen_map_close(g);
}

void hrun_cgroup_stats_json(struct hrun_jgen *g, const struct hrun_cgroup *cg)
{
	hrun_jgen_map_open(g);
	cpu_json(g, cg);
	memory_json(g, cg);
	pids_json(g, cg);
	blkio_json(g, cg);
	hugetlb_json(g, cg);
	hrun_jgen_map_close(g);
}
