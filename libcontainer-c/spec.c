/* config.json: parse, serialise and free the model.
 *
 * One table per struct says, for every field, its JSON key, its kind, its
 * integer width and where it lives. Parse, serialise and free all walk the
 * same tables, so a field cannot be read without being written back or
 * freed. The parser checks JSON types and integer ranges, and presence only
 * where the model cannot represent absence (a uint32 id, a required bool);
 * every other rule is in hrun_spec_validate (spec-validate.c). */
#define _GNU_SOURCE
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"

enum kind {
	K_STR, /* char *, NULL when absent */
	K_BOOL, /* bool, false when absent */
	K_OBOOL, /* struct hrun_opt_bool */
	K_U32, /* uint32_t */
	K_U64, /* uint64_t */
	K_I64, /* int64_t, range BITS */
	K_OU64, /* struct hrun_opt_u64, range BITS */
	K_OI64, /* struct hrun_opt_i64, range BITS */
	K_STRV, /* struct hrun_strv */
	K_U32V, /* struct hrun_u32v */
	K_MAP, /* struct hrun_map of strings */
	K_OBJ, /* embedded struct SUB */
	K_PTR, /* pointer to struct SUB, NULL when absent */
	K_LIST, /* array of SUB: pointer at OFF, count at N_OFF, flag at SET_OFF */
	K_KEYED, /* object of SUB, each member's name kept in SUB's key field */
	K_NSTYPE, /* enum hrun_ns_type, by name */
};

struct desc;

struct field {
	const char *key;
	enum kind kind;
	unsigned bits;
	bool required;
	size_t off;
	size_t n_off;
	bool has_set;
	size_t set_off;
	const struct desc *sub;
};

struct desc {
	size_t size;
	bool has_set; /* optional object: a bool `set` at SET_OFF */
	size_t set_off;
	size_t key_off; /* K_KEYED elements: char * holding the member name */
	/* Cross-field rules that need the JSON (what was present) to decide. */
	int (*check)(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
		     struct hrun_error *err);
	const struct field *fields;
	size_t n_fields;
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define SCALAR(T, k, kd, m, b, req) \
	{ .key = (k), .kind = (kd), .off = offsetof(T, m), .bits = (b), .required = (req) }
#define STR(T, k, m) SCALAR(T, k, K_STR, m, 0, false)
#define BOOL(T, k, m, req) SCALAR(T, k, K_BOOL, m, 0, req)
#define OBOOL(T, k, m) SCALAR(T, k, K_OBOOL, m, 0, false)
#define U32(T, k, m, req) SCALAR(T, k, K_U32, m, 32, req)
#define U64(T, k, m, req) SCALAR(T, k, K_U64, m, 64, req)
#define I64(T, k, m, b, req) SCALAR(T, k, K_I64, m, b, req)
#define OU64(T, k, m, b) SCALAR(T, k, K_OU64, m, b, false)
#define OI64(T, k, m, b) SCALAR(T, k, K_OI64, m, b, false)
#define STRV(T, k, m) SCALAR(T, k, K_STRV, m, 0, false)
#define U32V(T, k, m) SCALAR(T, k, K_U32V, m, 32, false)
#define MAP(T, k, m) SCALAR(T, k, K_MAP, m, 0, false)
#define OBJ(T, k, m, d) { .key = (k), .kind = K_OBJ, .off = offsetof(T, m), .sub = &(d) }
#define PTR(T, k, m, d) { .key = (k), .kind = K_PTR, .off = offsetof(T, m), .sub = &(d) }
/* An array counted by a separate member (no presence flag). */
#define LIST(T, k, v, n, d) \
	{ .key = (k), .kind = K_LIST, .off = offsetof(T, v), .n_off = offsetof(T, n), .sub = &(d) }
/* An array held in a {set, n, v} struct. */
#define LISTS(T, k, m, d)                                                                       \
	{ .key = (k), .kind = K_LIST, .off = offsetof(T, m.v), .n_off = offsetof(T, m.n),       \
	  .has_set = true, .set_off = offsetof(T, m.set), .sub = &(d) }
#define KEYED(T, k, v, n, d) \
	{ .key = (k), .kind = K_KEYED, .off = offsetof(T, v), .n_off = offsetof(T, n), .sub = &(d) }

#define DESC(T, f) { .size = sizeof(T), .fields = (f), .n_fields = N(f) }
#define DESC_SET(T, f) \
	{ .size = sizeof(T), .has_set = true, .set_off = offsetof(T, set), .fields = (f), .n_fields = N(f) }

static int check_rlimit(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			struct hrun_error *err);
static int check_device(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			struct hrun_error *err);
static int check_time_offsets(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			      struct hrun_error *err);

/* --- The tables, innermost first --------------------------------------- */

static const struct field idmap_f[] = {
	U32(struct hrun_idmap, "containerID", container_id, true),
	U32(struct hrun_idmap, "hostID", host_id, true),
	U32(struct hrun_idmap, "size", size, true),
};
static const struct desc idmap_d = DESC(struct hrun_idmap, idmap_f);

static const struct field mount_f[] = {
	STR(struct hrun_mount, "destination", destination),
	STR(struct hrun_mount, "type", type),
	STR(struct hrun_mount, "source", source),
	STRV(struct hrun_mount, "options", options),
	LISTS(struct hrun_mount, "uidMappings", uid_mappings, idmap_d),
	LISTS(struct hrun_mount, "gidMappings", gid_mappings, idmap_d),
};
static const struct desc mount_d = DESC(struct hrun_mount, mount_f);

static const struct field root_f[] = {
	STR(struct hrun_root, "path", path),
	BOOL(struct hrun_root, "readonly", readonly, false),
};
static const struct desc root_d = DESC_SET(struct hrun_root, root_f);

static const struct field console_f[] = {
	U32(struct hrun_console_size, "height", height, true),
	U32(struct hrun_console_size, "width", width, true),
};
static const struct desc console_d = DESC_SET(struct hrun_console_size, console_f);

static const struct field user_f[] = {
	U32(struct hrun_user, "uid", uid, false),
	U32(struct hrun_user, "gid", gid, false),
	OU64(struct hrun_user, "umask", umask, 32),
	U32V(struct hrun_user, "additionalGids", additional_gids),
	STR(struct hrun_user, "username", username),
};
static const struct desc user_d = DESC(struct hrun_user, user_f);

static const struct field caps_f[] = {
	STRV(struct hrun_capabilities, "bounding", bounding),
	STRV(struct hrun_capabilities, "effective", effective),
	STRV(struct hrun_capabilities, "inheritable", inheritable),
	STRV(struct hrun_capabilities, "permitted", permitted),
	STRV(struct hrun_capabilities, "ambient", ambient),
};
static const struct desc caps_d = DESC_SET(struct hrun_capabilities, caps_f);

static const struct field rlimit_f[] = {
	STR(struct hrun_rlimit, "type", type),
	U64(struct hrun_rlimit, "hard", hard, true),
	U64(struct hrun_rlimit, "soft", soft, true),
};
static const struct desc rlimit_d = { .size = sizeof(struct hrun_rlimit),
				      .check = check_rlimit,
				      .fields = rlimit_f,
				      .n_fields = N(rlimit_f) };

static const struct field sched_f[] = {
	STR(struct hrun_scheduler, "policy", policy),
	OI64(struct hrun_scheduler, "nice", nice, 32),
	OI64(struct hrun_scheduler, "priority", priority, 32),
	STRV(struct hrun_scheduler, "flags", flags),
	OU64(struct hrun_scheduler, "runtime", runtime, 64),
	OU64(struct hrun_scheduler, "deadline", deadline, 64),
	OU64(struct hrun_scheduler, "period", period, 64),
};
static const struct desc sched_d = DESC_SET(struct hrun_scheduler, sched_f);

static const struct field ioprio_f[] = {
	STR(struct hrun_io_priority, "class", class),
	I64(struct hrun_io_priority, "priority", priority, 32, true),
};
static const struct desc ioprio_d = DESC_SET(struct hrun_io_priority, ioprio_f);

static const struct field affinity_f[] = {
	STR(struct hrun_cpu_affinity, "initial", initial),
	STR(struct hrun_cpu_affinity, "final", final),
};
static const struct desc affinity_d = DESC_SET(struct hrun_cpu_affinity, affinity_f);

static const struct field process_f[] = {
	OBOOL(struct hrun_process, "terminal", terminal),
	OBJ(struct hrun_process, "consoleSize", console_size, console_d),
	OBJ(struct hrun_process, "user", user, user_d),
	STRV(struct hrun_process, "args", args),
	STRV(struct hrun_process, "env", env),
	STR(struct hrun_process, "cwd", cwd),
	OBJ(struct hrun_process, "capabilities", capabilities, caps_d),
	LIST(struct hrun_process, "rlimits", rlimits, n_rlimits, rlimit_d),
	OBOOL(struct hrun_process, "noNewPrivileges", no_new_privileges),
	STR(struct hrun_process, "apparmorProfile", apparmor_profile),
	STR(struct hrun_process, "selinuxLabel", selinux_label),
	OI64(struct hrun_process, "oomScoreAdj", oom_score_adj, 32),
	OBJ(struct hrun_process, "scheduler", scheduler, sched_d),
	OBJ(struct hrun_process, "ioPriority", io_priority, ioprio_d),
	OBJ(struct hrun_process, "execCPUAffinity", exec_cpu_affinity, affinity_d),
};
static const struct desc process_d = DESC(struct hrun_process, process_f);

static const struct field hook_f[] = {
	STR(struct hrun_hook, "path", path),
	STRV(struct hrun_hook, "args", args),
	STRV(struct hrun_hook, "env", env),
	OI64(struct hrun_hook, "timeout", timeout, 32),
};
static const struct desc hook_d = DESC(struct hrun_hook, hook_f);

static const struct field hooks_f[] = {
	LIST(struct hrun_hooks, "prestart", prestart.v, prestart.n, hook_d),
	LIST(struct hrun_hooks, "createRuntime", create_runtime.v, create_runtime.n, hook_d),
	LIST(struct hrun_hooks, "createContainer", create_container.v, create_container.n, hook_d),
	LIST(struct hrun_hooks, "startContainer", start_container.v, start_container.n, hook_d),
	LIST(struct hrun_hooks, "poststart", poststart.v, poststart.n, hook_d),
	LIST(struct hrun_hooks, "poststop", poststop.v, poststop.n, hook_d),
};
static const struct desc hooks_d = DESC_SET(struct hrun_hooks, hooks_f);

static const struct field ns_f[] = {
	SCALAR(struct hrun_namespace, "type", K_NSTYPE, type, 0, true),
	STR(struct hrun_namespace, "path", path),
};
static const struct desc ns_d = DESC(struct hrun_namespace, ns_f);

static const struct field toff_f[] = {
	I64(struct hrun_time_offset, "secs", secs, 64, false),
	U32(struct hrun_time_offset, "nanosecs", nanosecs, false),
};
static const struct desc toff_d = DESC_SET(struct hrun_time_offset, toff_f);

static const struct field toffs_f[] = {
	OBJ(struct hrun_time_offsets, "monotonic", monotonic, toff_d),
	OBJ(struct hrun_time_offsets, "boottime", boottime, toff_d),
};
static const struct desc toffs_d = { .size = sizeof(struct hrun_time_offsets),
				     .has_set = true,
				     .set_off = offsetof(struct hrun_time_offsets, set),
				     .check = check_time_offsets,
				     .fields = toffs_f,
				     .n_fields = N(toffs_f) };

static const struct field device_f[] = {
	STR(struct hrun_device, "path", path),
	STR(struct hrun_device, "type", type),
	I64(struct hrun_device, "major", major, 64, false),
	I64(struct hrun_device, "minor", minor, 64, false),
	OU64(struct hrun_device, "fileMode", file_mode, 32),
	OU64(struct hrun_device, "uid", uid, 32),
	OU64(struct hrun_device, "gid", gid, 32),
};
static const struct desc device_d = { .size = sizeof(struct hrun_device),
				      .check = check_device,
				      .fields = device_f,
				      .n_fields = N(device_f) };

static const struct field devrule_f[] = {
	BOOL(struct hrun_device_rule, "allow", allow, true),
	STR(struct hrun_device_rule, "type", type),
	OI64(struct hrun_device_rule, "major", major, 64),
	OI64(struct hrun_device_rule, "minor", minor, 64),
	STR(struct hrun_device_rule, "access", access),
};
static const struct desc devrule_d = DESC(struct hrun_device_rule, devrule_f);

static const struct field memory_f[] = {
	OI64(struct hrun_memory, "limit", limit, 64),
	OI64(struct hrun_memory, "reservation", reservation, 64),
	OI64(struct hrun_memory, "swap", swap, 64),
	OI64(struct hrun_memory, "kernel", kernel, 64),
	OI64(struct hrun_memory, "kernelTCP", kernel_tcp, 64),
	OU64(struct hrun_memory, "swappiness", swappiness, 64),
	OBOOL(struct hrun_memory, "disableOOMKiller", disable_oom_killer),
	OBOOL(struct hrun_memory, "useHierarchy", use_hierarchy),
	OBOOL(struct hrun_memory, "checkBeforeUpdate", check_before_update),
};
static const struct desc memory_d = DESC_SET(struct hrun_memory, memory_f);

static const struct field cpu_f[] = {
	OU64(struct hrun_cpu, "shares", shares, 64),
	OI64(struct hrun_cpu, "quota", quota, 64),
	OU64(struct hrun_cpu, "burst", burst, 64),
	OU64(struct hrun_cpu, "period", period, 64),
	OI64(struct hrun_cpu, "realtimeRuntime", realtime_runtime, 64),
	OU64(struct hrun_cpu, "realtimePeriod", realtime_period, 64),
	STR(struct hrun_cpu, "cpus", cpus),
	STR(struct hrun_cpu, "mems", mems),
	OI64(struct hrun_cpu, "idle", idle, 64),
};
static const struct desc cpu_d = DESC_SET(struct hrun_cpu, cpu_f);

static const struct field wdev_f[] = {
	I64(struct hrun_weight_device, "major", major, 64, true),
	I64(struct hrun_weight_device, "minor", minor, 64, true),
	OU64(struct hrun_weight_device, "weight", weight, 16),
	OU64(struct hrun_weight_device, "leafWeight", leaf_weight, 16),
};
static const struct desc wdev_d = DESC(struct hrun_weight_device, wdev_f);

static const struct field tdev_f[] = {
	I64(struct hrun_throttle_device, "major", major, 64, true),
	I64(struct hrun_throttle_device, "minor", minor, 64, true),
	U64(struct hrun_throttle_device, "rate", rate, true),
};
static const struct desc tdev_d = DESC(struct hrun_throttle_device, tdev_f);

static const struct field blkio_f[] = {
	OU64(struct hrun_blockio, "weight", weight, 16),
	OU64(struct hrun_blockio, "leafWeight", leaf_weight, 16),
	LIST(struct hrun_blockio, "weightDevice", weight_devices, n_weight_devices, wdev_d),
	LIST(struct hrun_blockio, "throttleReadBpsDevice", throttle_read_bps.v, throttle_read_bps.n,
	     tdev_d),
	LIST(struct hrun_blockio, "throttleWriteBpsDevice", throttle_write_bps.v,
	     throttle_write_bps.n, tdev_d),
	LIST(struct hrun_blockio, "throttleReadIOPSDevice", throttle_read_iops.v,
	     throttle_read_iops.n, tdev_d),
	LIST(struct hrun_blockio, "throttleWriteIOPSDevice", throttle_write_iops.v,
	     throttle_write_iops.n, tdev_d),
};
static const struct desc blkio_d = DESC_SET(struct hrun_blockio, blkio_f);

static const struct field hugepage_f[] = {
	STR(struct hrun_hugepage_limit, "pageSize", page_size),
	U64(struct hrun_hugepage_limit, "limit", limit, true),
};
static const struct desc hugepage_d = DESC(struct hrun_hugepage_limit, hugepage_f);

static const struct field netprio_f[] = {
	STR(struct hrun_net_priority, "name", name),
	U32(struct hrun_net_priority, "priority", priority, true),
};
static const struct desc netprio_d = DESC(struct hrun_net_priority, netprio_f);

static const struct field network_f[] = {
	OU64(struct hrun_network, "classID", class_id, 32),
	LIST(struct hrun_network, "priorities", priorities, n_priorities, netprio_d),
};
static const struct desc network_d = DESC_SET(struct hrun_network, network_f);

static const struct field pids_f[] = {
	I64(struct hrun_pids, "limit", limit, 64, true),
};
static const struct desc pids_d = DESC_SET(struct hrun_pids, pids_f);

static const struct field rdma_f[] = {
	OU64(struct hrun_rdma, "hcaHandles", hca_handles, 32),
	OU64(struct hrun_rdma, "hcaObjects", hca_objects, 32),
};
static const struct desc rdma_d = { .size = sizeof(struct hrun_rdma),
				    .key_off = offsetof(struct hrun_rdma, device),
				    .fields = rdma_f,
				    .n_fields = N(rdma_f) };

static const struct field resources_f[] = {
	LIST(struct hrun_resources, "devices", devices, n_devices, devrule_d),
	OBJ(struct hrun_resources, "memory", memory, memory_d),
	OBJ(struct hrun_resources, "cpu", cpu, cpu_d),
	OBJ(struct hrun_resources, "pids", pids, pids_d),
	OBJ(struct hrun_resources, "blockIO", block_io, blkio_d),
	LIST(struct hrun_resources, "hugepageLimits", hugepage_limits, n_hugepage_limits,
	     hugepage_d),
	OBJ(struct hrun_resources, "network", network, network_d),
	KEYED(struct hrun_resources, "rdma", rdma, n_rdma, rdma_d),
	MAP(struct hrun_resources, "unified", unified),
};
static const struct desc resources_d = DESC_SET(struct hrun_resources, resources_f);

static const struct field rdt_f[] = {
	STR(struct hrun_intel_rdt, "closID", clos_id),
	STRV(struct hrun_intel_rdt, "schemata", schemata),
	STR(struct hrun_intel_rdt, "l3CacheSchema", l3_cache_schema),
	STR(struct hrun_intel_rdt, "memBwSchema", mem_bw_schema),
	OBOOL(struct hrun_intel_rdt, "enableMonitoring", enable_monitoring),
};
static const struct desc rdt_d = DESC_SET(struct hrun_intel_rdt, rdt_f);

static const struct field scarg_f[] = {
	U32(struct hrun_seccomp_arg, "index", index, true),
	U64(struct hrun_seccomp_arg, "value", value, true),
	OU64(struct hrun_seccomp_arg, "valueTwo", value_two, 64),
	STR(struct hrun_seccomp_arg, "op", op),
};
static const struct desc scarg_d = DESC(struct hrun_seccomp_arg, scarg_f);

static const struct field syscall_f[] = {
	STRV(struct hrun_seccomp_syscall, "names", names),
	STR(struct hrun_seccomp_syscall, "action", action),
	OU64(struct hrun_seccomp_syscall, "errnoRet", errno_ret, 32),
	LIST(struct hrun_seccomp_syscall, "args", args, n_args, scarg_d),
};
static const struct desc syscall_d = DESC(struct hrun_seccomp_syscall, syscall_f);

static const struct field seccomp_f[] = {
	STR(struct hrun_seccomp, "defaultAction", default_action),
	OU64(struct hrun_seccomp, "defaultErrnoRet", default_errno_ret, 32),
	STRV(struct hrun_seccomp, "architectures", architectures),
	STRV(struct hrun_seccomp, "flags", flags),
	STR(struct hrun_seccomp, "listenerPath", listener_path),
	STR(struct hrun_seccomp, "listenerMetadata", listener_metadata),
	LIST(struct hrun_seccomp, "syscalls", syscalls, n_syscalls, syscall_d),
};
static const struct desc seccomp_d = DESC_SET(struct hrun_seccomp, seccomp_f);

static const struct field personality_f[] = {
	STR(struct hrun_personality, "domain", domain),
	STRV(struct hrun_personality, "flags", flags),
};
static const struct desc personality_d = DESC_SET(struct hrun_personality, personality_f);

static const struct field mempolicy_f[] = {
	STR(struct hrun_memory_policy, "mode", mode),
	STR(struct hrun_memory_policy, "nodes", nodes),
	STRV(struct hrun_memory_policy, "flags", flags),
};
static const struct desc mempolicy_d = DESC_SET(struct hrun_memory_policy, mempolicy_f);

static const struct field netdev_f[] = {
	STR(struct hrun_net_device, "name", name),
};
static const struct desc netdev_d = { .size = sizeof(struct hrun_net_device),
				      .key_off = offsetof(struct hrun_net_device, host_name),
				      .fields = netdev_f,
				      .n_fields = N(netdev_f) };

static const struct field linux_f[] = {
	LISTS(struct hrun_linux, "uidMappings", uid_mappings, idmap_d),
	LISTS(struct hrun_linux, "gidMappings", gid_mappings, idmap_d),
	MAP(struct hrun_linux, "sysctl", sysctl),
	OBJ(struct hrun_linux, "resources", resources, resources_d),
	STR(struct hrun_linux, "cgroupsPath", cgroups_path),
	LIST(struct hrun_linux, "namespaces", namespaces, n_namespaces, ns_d),
	LIST(struct hrun_linux, "devices", devices, n_devices, device_d),
	KEYED(struct hrun_linux, "netDevices", net_devices, n_net_devices, netdev_d),
	OBJ(struct hrun_linux, "seccomp", seccomp, seccomp_d),
	STR(struct hrun_linux, "rootfsPropagation", rootfs_propagation),
	STRV(struct hrun_linux, "maskedPaths", masked_paths),
	STRV(struct hrun_linux, "readonlyPaths", readonly_paths),
	STR(struct hrun_linux, "mountLabel", mount_label),
	OBJ(struct hrun_linux, "intelRdt", intel_rdt, rdt_d),
	OBJ(struct hrun_linux, "personality", personality, personality_d),
	OBJ(struct hrun_linux, "memoryPolicy", memory_policy, mempolicy_d),
	OBJ(struct hrun_linux, "timeOffsets", time_offsets, toffs_d),
};
static const struct desc linux_d = DESC_SET(struct hrun_linux, linux_f);

static const struct field spec_f[] = {
	STR(struct hrun_spec, "ociVersion", oci_version),
	PTR(struct hrun_spec, "process", process, process_d),
	OBJ(struct hrun_spec, "root", root, root_d),
	STR(struct hrun_spec, "hostname", hostname),
	STR(struct hrun_spec, "domainname", domainname),
	LIST(struct hrun_spec, "mounts", mounts, n_mounts, mount_d),
	OBJ(struct hrun_spec, "hooks", hooks, hooks_d),
	MAP(struct hrun_spec, "annotations", annotations),
	OBJ(struct hrun_spec, "linux", linux_, linux_d),
};
static const struct desc spec_d = DESC(struct hrun_spec, spec_f);

/* --- Names ----------------------------------------------------------------- */

static const char *const ns_names[HRUN_NS_COUNT] = {
	[HRUN_NS_PID] = "pid",	   [HRUN_NS_NETWORK] = "network", [HRUN_NS_MOUNT] = "mount",
	[HRUN_NS_IPC] = "ipc",	   [HRUN_NS_UTS] = "uts",	  [HRUN_NS_USER] = "user",
	[HRUN_NS_CGROUP] = "cgroup", [HRUN_NS_TIME] = "time",
};

const char *hrun_ns_type_name(enum hrun_ns_type type)
{
	return (unsigned)type < HRUN_NS_COUNT ? ns_names[type] : NULL;
}

int hrun_ns_type_from_name(const char *name)
{
	for (int i = 0; name && i < HRUN_NS_COUNT; i++)
		if (strcmp(ns_names[i], name) == 0)
			return i;
	return -1;
}

const struct hrun_namespace *hrun_spec_find_ns(const struct hrun_spec *spec,
					       enum hrun_ns_type type)
{
	if (!spec)
		return NULL;
	for (size_t i = 0; i < spec->linux_.n_namespaces; i++)
		if (spec->linux_.namespaces[i].type == type)
			return &spec->linux_.namespaces[i];
	return NULL;
}

static const struct {
	const char *name;
	int resource;
} rlimits[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },	     { "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },	     { "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },	     { "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },   { "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	     { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },     { "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

int hrun_rlimit_from_name(const char *name)
{
	for (size_t i = 0; name && i < N(rlimits); i++)
		if (strcmp(rlimits[i].name, name) == 0)
			return rlimits[i].resource;
	return -1;
}

/* Keep CODE for callers without the ": strerror" suffix, which would only
 * repeat the message. */
static int fail_code(struct hrun_error *err, int code)
{
	if (err)
		err->code = code;
	return -1;
}

static int oom(struct hrun_error *err)
{
	hrun_error_set(err, 0, "out of memory");
	return fail_code(err, ENOMEM);
}

/* --- Checks that need the JSON ------------------------------------------ */

static int check_rlimit(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			struct hrun_error *err)
{
	struct hrun_rlimit *r = obj;

	(void)j;
	(void)at;
	(void)err;
	/* Unknown names stay -1 here; validation names them. */
	r->resource = hrun_rlimit_from_name(r->type);
	return 0;
}

/* major and minor are plain int64 in the model, so their absence has to
 * be caught while the JSON is still at hand. */
static int check_device(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			struct hrun_error *err)
{
	struct hrun_device *d = obj;
	static const char *const keys[] = { "major", "minor" };
	char q[64];

	if (!d->type || strcmp(d->type, "p") == 0)
		return 0;
	for (size_t i = 0; i < N(keys); i++) {
		const struct hrun_json *v = hrun_json_member(j, keys[i]);
		struct hrun_jpath p = HRUN_JPATH_KEY(at, keys[i]);

		if (hrun_json_type(v) == HRUN_JSON_NULL)
			return hrun_json_error(err, &p, "required for device type %s",
					       hrun_json_quote(d->type, q, sizeof(q)));
	}
	return 0;
}

/* The keys are clock names; a clock hrun cannot offset must not vanish
 * silently. */
static int check_time_offsets(void *obj, const struct hrun_json *j, const struct hrun_jpath *at,
			      struct hrun_error *err)
{
	char q[128];

	(void)obj;
	for (size_t i = 0; i < hrun_json_len(j); i++) {
		const char *k = hrun_json_key_at(j, i);

		if (strcmp(k, "monotonic") != 0 && strcmp(k, "boottime") != 0)
			return hrun_json_error(err, at,
					       "unknown clock %s (expected monotonic or boottime)",
					       hrun_json_quote(k, q, sizeof(q)));
	}
	return 0;
}

/* --- Parse ------------------------------------------------------------------ */

static int parse_struct(const struct desc *d, void *obj, const struct hrun_json *j,
			const struct hrun_jpath *at, struct hrun_error *err);

static void *get_ptr(const void *where)
{
	void *p;

	memcpy(&p, where, sizeof(p));
	return p;
}

static void set_ptr(void *where, void *p)
{
	memcpy(where, &p, sizeof(p));
}

static int parse_u32v(const struct hrun_json *arr, const struct hrun_jpath *at,
		      struct hrun_u32v *out, struct hrun_error *err)
{
	size_t n = hrun_json_len(arr);

	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v)
		return oom(err);
	for (size_t i = 0; i < n; i++) {
		struct hrun_jpath p = HRUN_JPATH_INDEX(at, i);
		uint64_t u;

		if (hrun_json_as_uint(hrun_json_at(arr, i), &p, 32, &u, err) < 0)
			return -1;
		out->v[i] = (uint32_t)u;
		out->n = i + 1;
	}
	out->set = true;
	return 0;
}

static int parse_map(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		     struct hrun_map *out, struct hrun_error *err)
{
	struct hrun_json_kv *kv = NULL;
	size_t n = 0;
	int r = hrun_json_get_strmap(obj, at, key, &kv, &n, err);

	if (r <= 0)
		return r;
	/* Same layout, different types: move the strings over. */
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v) {
		hrun_json_kv_free(kv, n);
		return oom(err);
	}
	for (size_t i = 0; i < n; i++) {
		out->v[i].key = kv[i].key;
		out->v[i].value = kv[i].value;
	}
	free(kv);
	out->n = n;
	out->set = true;
	return 0;
}

/* Elements are allocated zeroed and counted before they are filled, so a
 * failure part-way leaves a spec that hrun_spec_free releases fully. */
static int parse_list(const struct field *f, char *base, const struct hrun_json *v,
		      const struct hrun_jpath *at, struct hrun_error *err)
{
	const struct desc *d = f->sub;
	size_t n = hrun_json_len(v);
	char *arr;

	if ((f->kind == K_LIST ? hrun_json_as_array(v, at, err) : hrun_json_as_object(v, at, err)) < 0)
		return -1;
	arr = n ? calloc(n, d->size) : NULL;
	if (n && !arr)
		return oom(err);
	set_ptr(base + f->off, arr);
	*(size_t *)(base + f->n_off) = n;
	if (f->has_set)
		*(bool *)(base + f->set_off) = true;
	for (size_t i = 0; i < n; i++) {
		char *elem = arr + i * d->size;

		if (f->kind == K_LIST) {
			struct hrun_jpath p = HRUN_JPATH_INDEX(at, i);
			if (parse_struct(d, elem, hrun_json_at(v, i), &p, err) < 0)
				return -1;
		} else {
			const char *k = hrun_json_key_at(v, i);
			struct hrun_jpath p = HRUN_JPATH_KEY(at, k);
			char *copy = strdup(k);

			if (!copy)
				return oom(err);
			set_ptr(elem + d->key_off, copy);
			if (parse_struct(d, elem, hrun_json_value_at(v, i), &p, err) < 0)
				return -1;
		}
	}
	return 0;
}

static int parse_nstype(const struct hrun_json *v, const struct hrun_jpath *at,
			enum hrun_ns_type *out, struct hrun_error *err)
{
	const char *s = NULL;
	char q[64];
	int t;

	if (hrun_json_as_string(v, at, &s, err) < 0)
		return -1;
	t = hrun_ns_type_from_name(s);
	if (t < 0)
		return hrun_json_error(err, at, "unknown namespace type %s",
				       hrun_json_quote(s, q, sizeof(q)));
	*out = (enum hrun_ns_type)t;
	return 0;
}

static int parse_field(const struct field *f, char *base, const struct hrun_json *obj,
		       const struct hrun_jpath *at, struct hrun_error *err)
{
	const struct hrun_json *v = hrun_json_member(obj, f->key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, f->key);
	void *dst = base + f->off;
	uint64_t u = 0;
	int64_t i = 0;

	/* null is absent, as in Go's encoding/json that writes most configs. */
	if (hrun_json_type(v) == HRUN_JSON_NULL)
		return f->required ? hrun_json_error(err, &p, "required field is missing") : 0;

	switch (f->kind) {
	case K_STR:
		return hrun_json_get_string(obj, at, f->key, (char **)dst, err) < 0 ? -1 : 0;
	case K_BOOL:
		return hrun_json_as_bool(v, &p, (bool *)dst, err);
	case K_OBOOL:
		if (hrun_json_as_bool(v, &p, &((struct hrun_opt_bool *)dst)->v, err) < 0)
			return -1;
		((struct hrun_opt_bool *)dst)->set = true;
		return 0;
	case K_U32:
	case K_U64:
	case K_OU64:
		if (hrun_json_as_uint(v, &p, f->bits, &u, err) < 0)
			return -1;
		if (f->kind == K_U32)
			*(uint32_t *)dst = (uint32_t)u;
		else if (f->kind == K_U64)
			*(uint64_t *)dst = u;
		else
			*(struct hrun_opt_u64 *)dst = (struct hrun_opt_u64){ true, u };
		return 0;
	case K_I64:
	case K_OI64:
		if (hrun_json_as_int(v, &p, f->bits, &i, err) < 0)
			return -1;
		if (f->kind == K_I64)
			*(int64_t *)dst = i;
		else
			*(struct hrun_opt_i64 *)dst = (struct hrun_opt_i64){ true, i };
		return 0;
	case K_STRV: {
		struct hrun_strv *s = dst;
		if (hrun_json_get_strv(obj, at, f->key, &s->v, &s->n, err) < 0)
			return -1;
		s->set = true;
		return 0;
	}
	case K_U32V:
		if (hrun_json_as_array(v, &p, err) < 0)
			return -1;
		return parse_u32v(v, &p, dst, err);
	case K_MAP:
		return parse_map(obj, at, f->key, dst, err);
	case K_OBJ:
		return parse_struct(f->sub, dst, v, &p, err);
	case K_PTR: {
		void *sub = calloc(1, f->sub->size);
		if (!sub)
			return oom(err);
		set_ptr(dst, sub);
		return parse_struct(f->sub, sub, v, &p, err);
	}
	case K_LIST:
	case K_KEYED:
		return parse_list(f, base, v, &p, err);
	case K_NSTYPE:
		return parse_nstype(v, &p, dst, err);
	}
	return 0;
}

static int parse_struct(const struct desc *d, void *obj, const struct hrun_json *j,
			const struct hrun_jpath *at, struct hrun_error *err)
{
	if (hrun_json_as_object(j, at, err) < 0)
		return -1;
	for (size_t i = 0; i < d->n_fields; i++)
		if (parse_field(&d->fields[i], obj, j, at, err) < 0)
			return -1;
	if (d->has_set)
		*(bool *)((char *)obj + d->set_off) = true;
	return d->check ? d->check(obj, j, at, err) : 0;
}

struct hrun_spec *hrun_spec_parse(const char *data, size_t len, const char *file,
				  struct hrun_error *err)
{
	_cleanup_json_doc_ struct hrun_json_doc *doc = NULL;
	struct hrun_spec *spec;

	if (!file)
		file = "config.json";
	doc = hrun_json_parse(data, len, file, err);
	if (!doc)
		return NULL;
	spec = calloc(1, sizeof(*spec));
	if (!spec) {
		oom(err);
		return NULL;
	}
	struct hrun_jpath root = HRUN_JPATH_ROOT(file);
	if (parse_struct(&spec_d, spec, hrun_json_root(doc), &root, err) < 0) {
		hrun_spec_free(spec);
		return NULL;
	}
	return spec;
}

int hrun_seccomp_parse(const char *data, size_t len, const char *file, struct hrun_seccomp *out,
		       struct hrun_error *err)
{
	_cleanup_json_doc_ struct hrun_json_doc *doc = hrun_json_parse(data, len, file, err);
	struct hrun_jpath root = HRUN_JPATH_ROOT(file);

	*out = (struct hrun_seccomp){ 0 };
	if (!doc)
		return -1;
	if (parse_struct(&seccomp_d, out, hrun_json_root(doc), &root, err) < 0) {
		hrun_seccomp_clear(out);
		return -1;
	}
	out->set = true;
	return 0;
}

const char *hrun_spec_annotation(const struct hrun_spec *spec, const char *key)
{
	for (size_t i = 0; spec->annotations.set && i < spec->annotations.n; i++)
		if (strcmp(spec->annotations.v[i].key, key) == 0)
			return spec->annotations.v[i].value;
	return NULL;
}

/* --- Free ------------------------------------------------------------------- */

static void free_struct(const struct desc *d, void *obj);

static void free_field(const struct field *f, char *base)
{
	void *dst = base + f->off;

	switch (f->kind) {
	case K_STR:
		free(*(char **)dst);
		break;
	case K_STRV: {
		struct hrun_strv *s = dst;
		for (size_t i = 0; s->v && i < s->n; i++)
			free(s->v[i]);
		free(s->v);
		break;
	}
	case K_U32V:
		free(((struct hrun_u32v *)dst)->v);
		break;
	case K_MAP: {
		struct hrun_map *m = dst;
		for (size_t i = 0; m->v && i < m->n; i++) {
			free(m->v[i].key);
			free(m->v[i].value);
		}
		free(m->v);
		break;
	}
	case K_OBJ:
		free_struct(f->sub, dst);
		break;
	case K_PTR: {
		void *sub = get_ptr(dst);
		if (sub) {
			free_struct(f->sub, sub);
			free(sub);
		}
		break;
	}
	case K_LIST:
	case K_KEYED: {
		char *arr = get_ptr(dst);
		size_t n = *(size_t *)(base + f->n_off);

		for (size_t i = 0; arr && i < n; i++) {
			char *elem = arr + i * f->sub->size;
			if (f->kind == K_KEYED)
				free(get_ptr(elem + f->sub->key_off));
			free_struct(f->sub, elem);
		}
		free(arr);
		break;
	}
	default:
		break;
	}
}

static void free_struct(const struct desc *d, void *obj)
{
	for (size_t i = 0; i < d->n_fields; i++)
		free_field(&d->fields[i], obj);
}

void hrun_seccomp_clear(struct hrun_seccomp *sc)
{
	free_struct(&seccomp_d, sc);
	*sc = (struct hrun_seccomp){ 0 };
}

void hrun_spec_free(struct hrun_spec *spec)
{
	if (!spec)
		return;
	free_struct(&spec_d, spec);
	free(spec);
}

/* --- Serialise -------------------------------------------------------------- */

static void write_struct(const struct desc *d, const void *obj, struct hrun_jgen *g);

/* Whether F holds anything to write; absent fields are left out so that
 * parsing the output gives back the same model. */
static bool field_present(const struct field *f, const char *base)
{
	const void *src = base + f->off;

	switch (f->kind) {
	case K_STR:
		return *(char *const *)src != NULL;
	case K_OBOOL:
		return ((const struct hrun_opt_bool *)src)->set;
	case K_OU64:
		return ((const struct hrun_opt_u64 *)src)->set;
	case K_OI64:
		return ((const struct hrun_opt_i64 *)src)->set;
	case K_STRV:
		return ((const struct hrun_strv *)src)->set;
	case K_U32V:
		return ((const struct hrun_u32v *)src)->set;
	case K_MAP:
		return ((const struct hrun_map *)src)->set;
	case K_OBJ:
		return !f->sub->has_set || *(const bool *)((const char *)src + f->sub->set_off);
	case K_PTR:
		return get_ptr(src) != NULL;
	case K_LIST:
	case K_KEYED:
		if (f->has_set)
			return *(const bool *)(base + f->set_off);
		return *(const size_t *)(base + f->n_off) > 0;
	default:
		return true;
	}
}

static void write_field(const struct field *f, const char *base, struct hrun_jgen *g)
{
	const void *src = base + f->off;

	if (!field_present(f, base))
		return;
	hrun_jgen_key(g, f->key);
	switch (f->kind) {
	case K_STR:
		hrun_jgen_string(g, *(char *const *)src);
		break;
	case K_BOOL:
		hrun_jgen_bool(g, *(const bool *)src);
		break;
	case K_OBOOL:
		hrun_jgen_bool(g, ((const struct hrun_opt_bool *)src)->v);
		break;
	case K_U32:
		hrun_jgen_uint64(g, *(const uint32_t *)src);
		break;
	case K_U64:
		hrun_jgen_uint64(g, *(const uint64_t *)src);
		break;
	case K_I64:
		hrun_jgen_int64(g, *(const int64_t *)src);
		break;
	case K_OU64:
		hrun_jgen_uint64(g, ((const struct hrun_opt_u64 *)src)->v);
		break;
	case K_OI64:
		hrun_jgen_int64(g, ((const struct hrun_opt_i64 *)src)->v);
		break;
	case K_STRV:
		hrun_jgen_strv(g, ((const struct hrun_strv *)src)->v, ((const struct hrun_strv *)src)->n);
		break;
	case K_U32V: {
		const struct hrun_u32v *u = src;
		hrun_jgen_array_open(g);
		for (size_t i = 0; i < u->n; i++)
			hrun_jgen_uint64(g, u->v[i]);
		hrun_jgen_array_close(g);
		break;
	}
	case K_MAP: {
		const struct hrun_map *m = src;
		hrun_jgen_map_open(g);
		for (size_t i = 0; i < m->n; i++) {
			hrun_jgen_key(g, m->v[i].key);
			hrun_jgen_string(g, m->v[i].value);
		}
		hrun_jgen_map_close(g);
		break;
	}
	case K_OBJ:
		write_struct(f->sub, src, g);
		break;
	case K_PTR:
		write_struct(f->sub, get_ptr(src), g);
		break;
	case K_LIST:
	case K_KEYED: {
		const char *arr = get_ptr(src);
		size_t n = *(const size_t *)(base + f->n_off);

		if (f->kind == K_LIST)
			hrun_jgen_array_open(g);
		else
			hrun_jgen_map_open(g);
		for (size_t i = 0; i < n; i++) {
			const char *elem = arr + i * f->sub->size;
			if (f->kind == K_KEYED)
				hrun_jgen_key(g, get_ptr(elem + f->sub->key_off));
			write_struct(f->sub, elem, g);
		}
		if (f->kind == K_LIST)
			hrun_jgen_array_close(g);
		else
			hrun_jgen_map_close(g);
		break;
	}
	case K_NSTYPE:
		hrun_jgen_string(g, hrun_ns_type_name(*(const enum hrun_ns_type *)src));
		break;
	}
}

/* Generator errors are sticky and reported once by hrun_jgen_finish. */
static void write_struct(const struct desc *d, const void *obj, struct hrun_jgen *g)
{
	hrun_jgen_map_open(g);
	for (size_t i = 0; i < d->n_fields; i++)
		write_field(&d->fields[i], obj, g);
	hrun_jgen_map_close(g);
}

char *hrun_spec_to_json(const struct hrun_spec *spec, struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(true);

	if (!g) {
		oom(err);
		return NULL;
	}
	if (!spec) {
		hrun_error_set(err, 0, "serialise config: no config");
		fail_code(err, EINVAL);
		return NULL;
	}
	write_struct(&spec_d, spec, g);
	return hrun_jgen_finish(g, err);
}

char *hrun_seccomp_to_json(const struct hrun_seccomp *sc, struct hrun_error *err)
{
	_cleanup_jgen_ struct hrun_jgen *g = hrun_jgen_new(false);

	if (!g) {
		oom(err);
		return NULL;
	}
	write_struct(&seccomp_d, sc, g);
	return hrun_jgen_finish(g, err);
}

/* --- Load ------------------------------------------------------------------- */

/* Read at most MAX + 1 bytes, so an oversized file is detected, not cut. */
static char *read_bounded(int fd, size_t max, size_t *len)
{
	size_t cap = 64 * 1024, used = 0;
	char *buf = malloc(cap);

	while (buf) {
		ssize_t r;

		if (used == cap) {
			char *n;
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if (used == cap)
				break;
			n = realloc(buf, cap);
			if (!n) {
				free(buf);
				return NULL;
			}
			buf = n;
		}
		r = read(fd, buf + used, cap - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int saved = errno;
			free(buf);
			errno = saved;
			return NULL;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	if (!buf)
		errno = ENOMEM;
	*len = used;
	return buf;
}

/* Read PATH whole, refusing what is not a regular file of bounded size. */
static char *load_file(const char *path, size_t *len, struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;
	char *data;
	struct stat st;

	/* O_NONBLOCK: a FIFO planted as config.json must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		hrun_error_errno(err, "open \"%s\"", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		hrun_error_errno(err, "stat \"%s\"", path);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		hrun_error_set(err, 0, "read \"%s\": not a regular file", path);
		fail_code(err, EINVAL);
		return NULL;
	}
	if ((uint64_t)st.st_size > HRUN_JSON_MAX_SIZE) {
		hrun_error_set(err, 0, "%s: file too large (%lld bytes, limit %u)", path,
			       (long long)st.st_size, HRUN_JSON_MAX_SIZE);
		fail_code(err, EFBIG);
		return NULL;
	}
	data = read_bounded(fd, HRUN_JSON_MAX_SIZE, len);
	if (!data)
		hrun_error_errno(err, "read \"%s\"", path);
	return data;
}

struct hrun_spec *hrun_spec_load(const char *path, struct hrun_error *err)
{
	size_t len = 0;
	_cleanup_free_ char *data = load_file(path, &len, err);

	return data ? hrun_spec_parse(data, len, path, err) : NULL;
}

struct hrun_process *hrun_process_load(const char *path, struct hrun_error *err)
{
	_cleanup_json_doc_ struct hrun_json_doc *doc = NULL;
	size_t len = 0;
	_cleanup_free_ char *data = load_file(path, &len, err);
	struct hrun_process *proc;

	if (!data)
		return NULL;
	doc = hrun_json_parse(data, len, path, err);
	if (!doc)
		return NULL;
	proc = calloc(1, sizeof(*proc));
	if (!proc) {
		oom(err);
		return NULL;
	}
	struct hrun_jpath root = HRUN_JPATH_ROOT(path);
	if (parse_struct(&process_d, proc, hrun_json_root(doc), &root, err) < 0) {
		hrun_process_free(proc);
		return NULL;
	}
	return proc;
}

void hrun_process_free(struct hrun_process *proc)
{
	if (!proc)
		return;
	free_struct(&process_d, proc);
	free(proc);
}

bool hrun_mount_is_bind(const struct hrun_mount *m)
{
	if (m->type && strcmp(m->type, "bind") == 0)
		return true;
	for (size_t i = 0; m->options.set && i < m->options.n; i++)
		if (!strcmp(m->options.v[i], "bind") || !strcmp(m->options.v[i], "rbind"))
			return true;
	return false;
}

bool hrun_mount_is_idmapped(const struct hrun_mount *m, bool *recursive)
{
	bool idmap = m->uid_mappings.n > 0 || m->gid_mappings.n > 0;
	bool rec = false;

	for (size_t i = 0; m->options.set && i < m->options.n; i++) {
		if (strcmp(m->options.v[i], "ridmap") == 0)
			idmap = rec = true;
		else if (strcmp(m->options.v[i], "idmap") == 0)
			idmap = true;
	}
	if (recursive)
		*recursive = rec;
	return idmap;
}
