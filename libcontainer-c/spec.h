/* The OCI runtime-spec 1.3.0 config model (Linux subset), its parser, its
 * semantic validation and the `hrun spec` template.
 *
 * The model is plain data. Absent and zero stay distinct: every optional
 * scalar is an hrun_opt_*, every optional string is NULL when absent, every
 * list and map carries `set`, and every optional object carries `set`. */
#ifndef HRUN_SPEC_H
#define HRUN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct hrun_opt_u64 {
	bool set;
	uint64_t v;
};

struct hrun_opt_i64 {
	bool set;
	int64_t v;
};

struct hrun_opt_bool {
	bool set;
	bool v;
};

struct hrun_strv {
	bool set;
	size_t n;
	char **v;
};

struct hrun_u32v {
	bool set;
	size_t n;
	uint32_t *v;
};

struct hrun_kv {
	char *key;
	char *value;
};

struct hrun_map {
	bool set;
	size_t n;
	struct hrun_kv *v;
};

struct hrun_idmap {
	uint32_t container_id;
	uint32_t host_id;
	uint32_t size;
};

struct hrun_idmaps {
	bool set;
	size_t n;
	struct hrun_idmap *v;
};

struct hrun_mount {
	char *destination;
	char *source;
	char *type;
	struct hrun_strv options;
	struct hrun_idmaps uid_mappings;
	struct hrun_idmaps gid_mappings;
};

struct hrun_root {
	bool set;
	char *path;
	bool readonly;
};

struct hrun_user {
	uint32_t uid;
	uint32_t gid;
	struct hrun_opt_u64 umask;
	struct hrun_u32v additional_gids;
	char *username;
};

struct hrun_capabilities {
	bool set;
	struct hrun_strv bounding;
	struct hrun_strv effective;
	struct hrun_strv inheritable;
	struct hrun_strv permitted;
	struct hrun_strv ambient;
};

struct hrun_rlimit {
	char *type; /* "RLIMIT_NOFILE" ... */
	int resource; /* resolved RLIMIT_* value */
	uint64_t hard;
	uint64_t soft;
};

struct hrun_scheduler {
	bool set;
	char *policy; /* SCHED_OTHER ... */
	struct hrun_opt_i64 nice;
	struct hrun_opt_i64 priority;
	struct hrun_strv flags;
	struct hrun_opt_u64 runtime;
	struct hrun_opt_u64 deadline;
	struct hrun_opt_u64 period;
};

struct hrun_io_priority {
	bool set;
	char *class; /* IOPRIO_CLASS_RT, _BE, _IDLE */
	int64_t priority;
};

struct hrun_cpu_affinity {
	bool set;
	char *initial;
	char *final;
};

struct hrun_console_size {
	bool set;
	uint32_t height;
	uint32_t width;
};

struct hrun_process {
	struct hrun_opt_bool terminal;
	struct hrun_console_size console_size;
	struct hrun_user user;
	struct hrun_strv args;
	struct hrun_strv env;
	char *cwd;
	struct hrun_capabilities capabilities;
	size_t n_rlimits;
	struct hrun_rlimit *rlimits;
	struct hrun_opt_bool no_new_privileges;
	char *apparmor_profile;
	char *selinux_label;
	struct hrun_opt_i64 oom_score_adj;
	struct hrun_scheduler scheduler;
	struct hrun_io_priority io_priority;
	struct hrun_cpu_affinity exec_cpu_affinity;
};

struct hrun_hook {
	char *path;
	struct hrun_strv args;
	struct hrun_strv env;
	struct hrun_opt_i64 timeout; /* seconds, > 0 */
};

struct hrun_hooklist {
	size_t n;
	struct hrun_hook *v;
};

struct hrun_hooks {
	bool set;
	struct hrun_hooklist prestart;
	struct hrun_hooklist create_runtime;
	struct hrun_hooklist create_container;
	struct hrun_hooklist start_container;
	struct hrun_hooklist poststart;
	struct hrun_hooklist poststop;
};

enum hrun_ns_type {
	HRUN_NS_PID,
	HRUN_NS_NETWORK,
	HRUN_NS_MOUNT,
	HRUN_NS_IPC,
	HRUN_NS_UTS,
	HRUN_NS_USER,
	HRUN_NS_CGROUP,
	HRUN_NS_TIME,
	HRUN_NS_COUNT
};

struct hrun_namespace {
	enum hrun_ns_type type;
	char *path; /* join this one instead of creating; NULL: create */
};

struct hrun_time_offset {
	bool set;
	int64_t secs;
	uint32_t nanosecs;
};

struct hrun_time_offsets {
	bool set;
	struct hrun_time_offset monotonic;
	struct hrun_time_offset boottime;
};

struct hrun_device {
	char *path;
	char *type; /* c, b, u, p */
	int64_t major;
	int64_t minor;
	struct hrun_opt_u64 file_mode;
	struct hrun_opt_u64 uid;
	struct hrun_opt_u64 gid;
};

struct hrun_device_rule {
	bool allow;
	char *type; /* a, c, b; NULL means a */
	struct hrun_opt_i64 major; /* unset means all */
	struct hrun_opt_i64 minor;
	char *access; /* rwm */
};

struct hrun_memory {
	bool set;
	struct hrun_opt_i64 limit;
	struct hrun_opt_i64 reservation;
	struct hrun_opt_i64 swap;
	struct hrun_opt_i64 kernel;
	struct hrun_opt_i64 kernel_tcp;
	struct hrun_opt_u64 swappiness;
	struct hrun_opt_bool disable_oom_killer;
	struct hrun_opt_bool use_hierarchy;
	struct hrun_opt_bool check_before_update;
};

struct hrun_cpu {
	bool set;
	struct hrun_opt_u64 shares;
	struct hrun_opt_i64 quota;
	struct hrun_opt_u64 burst;
	struct hrun_opt_u64 period;
	struct hrun_opt_i64 realtime_runtime;
	struct hrun_opt_u64 realtime_period;
	char *cpus;
	char *mems;
	struct hrun_opt_i64 idle;
};

struct hrun_weight_device {
	int64_t major;
	int64_t minor;
	struct hrun_opt_u64 weight;
	struct hrun_opt_u64 leaf_weight;
};

struct hrun_throttle_device {
	int64_t major;
	int64_t minor;
	uint64_t rate;
};

struct hrun_throttle_list {
	size_t n;
	struct hrun_throttle_device *v;
};

struct hrun_blockio {
	bool set;
	struct hrun_opt_u64 weight;
	struct hrun_opt_u64 leaf_weight;
	size_t n_weight_devices;
	struct hrun_weight_device *weight_devices;
	struct hrun_throttle_list throttle_read_bps;
	struct hrun_throttle_list throttle_write_bps;
	struct hrun_throttle_list throttle_read_iops;
	struct hrun_throttle_list throttle_write_iops;
};

struct hrun_hugepage_limit {
	char *page_size;
	uint64_t limit;
};

struct hrun_net_priority {
	char *name;
	uint32_t priority;
};

struct hrun_network {
	bool set;
	struct hrun_opt_u64 class_id;
	size_t n_priorities;
	struct hrun_net_priority *priorities;
};

struct hrun_pids {
	bool set;
	int64_t limit;
};

struct hrun_rdma {
	char *device; /* the map key */
	struct hrun_opt_u64 hca_handles;
	struct hrun_opt_u64 hca_objects;
};

struct hrun_resources {
	bool set;
	size_t n_devices;
	struct hrun_device_rule *devices;
	struct hrun_memory memory;
	struct hrun_cpu cpu;
	struct hrun_blockio block_io;
	size_t n_hugepage_limits;
	struct hrun_hugepage_limit *hugepage_limits;
	struct hrun_network network;
	struct hrun_pids pids;
	size_t n_rdma;
	struct hrun_rdma *rdma;
	struct hrun_map unified;
};

struct hrun_intel_rdt {
	bool set;
	char *clos_id;
	struct hrun_strv schemata;
	char *l3_cache_schema;
	char *mem_bw_schema;
	struct hrun_opt_bool enable_monitoring;
};

struct hrun_seccomp_arg {
	uint32_t index;
	uint64_t value;
	struct hrun_opt_u64 value_two;
	char *op; /* SCMP_CMP_* */
};

struct hrun_seccomp_syscall {
	struct hrun_strv names;
	char *action; /* SCMP_ACT_* */
	struct hrun_opt_u64 errno_ret;
	size_t n_args;
	struct hrun_seccomp_arg *args;
};

struct hrun_seccomp {
	bool set;
	char *default_action;
	struct hrun_opt_u64 default_errno_ret;
	struct hrun_strv architectures;
	struct hrun_strv flags;
	char *listener_path;
	char *listener_metadata;
	size_t n_syscalls;
	struct hrun_seccomp_syscall *syscalls;
};

struct hrun_personality {
	bool set;
	char *domain; /* LINUX, LINUX32 */
	struct hrun_strv flags;
};

struct hrun_memory_policy {
	bool set;
	char *mode; /* MPOL_* */
	char *nodes;
	struct hrun_strv flags;
};

struct hrun_net_device {
	char *host_name; /* the map key */
	char *name; /* name in the container; NULL: same as host_name */
};

struct hrun_linux {
	bool set;
	size_t n_namespaces;
	struct hrun_namespace *namespaces;
	struct hrun_idmaps uid_mappings;
	struct hrun_idmaps gid_mappings;
	struct hrun_time_offsets time_offsets;
	size_t n_devices;
	struct hrun_device *devices;
	char *cgroups_path;
	struct hrun_resources resources;
	struct hrun_intel_rdt intel_rdt;
	struct hrun_map sysctl;
	struct hrun_seccomp seccomp;
	char *rootfs_propagation;
	struct hrun_strv masked_paths;
	struct hrun_strv readonly_paths;
	char *mount_label;
	struct hrun_personality personality;
	struct hrun_memory_policy memory_policy;
	size_t n_net_devices;
	struct hrun_net_device *net_devices;
};

struct hrun_spec {
	char *oci_version;
	struct hrun_root root;
	size_t n_mounts;
	struct hrun_mount *mounts;
	struct hrun_process *process; /* NULL when absent */
	char *hostname;
	char *domainname;
	struct hrun_hooks hooks;
	struct hrun_map annotations;
	struct hrun_linux linux_;
};

/* Parse a config document. FILE names it in error messages
 * ("config.json: linux.resources.memory.limit: expected integer, got
 * string"). Returns a new spec, or NULL with ERR filled. The parser checks
 * types and ranges only; call hrun_spec_validate for the semantics. */
struct hrun_spec *hrun_spec_parse(const char *data, size_t len, const char *file,
				  struct hrun_error *err);

/* Read and parse PATH (size-bounded). */
struct hrun_spec *hrun_spec_load(const char *path, struct hrun_error *err);

/* A process object on its own (exec --process FILE), same rules. */
struct hrun_process *hrun_process_load(const char *path, struct hrun_error *err);
void hrun_process_free(struct hrun_process *proc);

/* Semantic checks: absolute destinations, known namespace types without
 * duplicates, valid id mappings, known capability and rlimit names, ...
 * Messages name the file and the JSON path. */
int hrun_spec_validate(const struct hrun_spec *spec, const char *file,
		       struct hrun_error *err);

void hrun_spec_free(struct hrun_spec *spec);

/* Serialise SPEC as a config.json document (the effective config saved in
 * the state directory). Returns a malloc'd NUL-terminated string. */
char *hrun_spec_to_json(const struct hrun_spec *spec, struct hrun_error *err);

/* A linux.seccomp object on its own (a profile file), same rules; OUT is
 * marked set and released with hrun_seccomp_clear. */
int hrun_seccomp_parse(const char *data, size_t len, const char *file, struct hrun_seccomp *out,
		       struct hrun_error *err);
void hrun_seccomp_clear(struct hrun_seccomp *sc);

/* SC as compact JSON. Fields in a fixed order: two profiles that parse to
 * the same model give the same text, so it keys the compiled-filter cache. */
char *hrun_seccomp_to_json(const struct hrun_seccomp *sc, struct hrun_error *err);

/* The value of annotation KEY, or NULL. */
const char *hrun_spec_annotation(const struct hrun_spec *spec, const char *key);

/* The RLIMIT_* number for "RLIMIT_NOFILE" and the like; -1 when unknown. */
int hrun_rlimit_from_name(const char *name);

/* Namespace helpers shared by the parser, launch and features. */
const char *hrun_ns_type_name(enum hrun_ns_type type);
int hrun_ns_type_from_name(const char *name); /* -1 when unknown */
const struct hrun_namespace *hrun_spec_find_ns(const struct hrun_spec *spec,
					       enum hrun_ns_type type);

/* A bind mount: type "bind" or a bind/rbind option. */
bool hrun_mount_is_bind(const struct hrun_mount *m);

/* A mount asks to be idmapped: option "idmap" or "ridmap", or mappings of
 * its own. RECURSIVE (may be NULL) tells whether every submount is too. */
bool hrun_mount_is_idmapped(const struct hrun_mount *m, bool *recursive);

#endif
