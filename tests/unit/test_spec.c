/* Tests for the config model: every field parsed, absent kept apart from
 * zero, the round trip through hrun_spec_to_json, the `hrun spec` template,
 * and malformed or hostile configs each failing with its exact message. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capnames.h"
#include "json.h"
#include "spec-template.h"
#include "spec.h"

/* Test documents are written with single quotes to stay readable; this
 * turns them into JSON. */
static char *jq(const char *s)
{
	char *d = strdup(s);

	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static struct hrun_spec *parse_q(const char *s, struct hrun_error *err)
{
	char *j = jq(s);
	struct hrun_spec *spec = hrun_spec_parse(j, strlen(j), "config.json", err);

	free(j);
	return spec;
}

/* Parse and validate; returns the first error message, or "" on success. */
static const char *outcome(const char *data, size_t len, struct hrun_error *err)
{
	struct hrun_spec *spec;

	hrun_error_clear(err);
	spec = hrun_spec_parse(data, len, "config.json", err);
	if (!spec)
		return err->msg;
	if (hrun_spec_validate(spec, "config.json", err) < 0) {
		hrun_spec_free(spec);
		return err->msg;
	}
	hrun_spec_free(spec);
	return "";
}

/* --- A config that sets every field ----------------------------------------- */

static const char full_config[] =
	"{"
	"'ociVersion':'1.3.0',"
	"'root':{'path':'/bundle/rootfs','readonly':true},"
	"'mounts':["
	"{'destination':'/proc','type':'proc','source':'proc','options':['nosuid','noexec']},"
	"{'destination':'/data','type':'bind','source':'/srv/data','options':['rbind','ro'],"
	"'uidMappings':[{'containerID':0,'hostID':200000,'size':1000}],"
	"'gidMappings':[{'containerID':0,'hostID':300000,'size':2000}]}],"
	"'process':{"
	"'terminal':true,"
	"'consoleSize':{'height':25,'width':80},"
	"'user':{'uid':1000,'gid':1001,'umask':18,'additionalGids':[5,4294967295],"
	"'username':'alice'},"
	"'args':['/bin/app','--flag'],"
	"'commandLine':'ignored on linux',"
	"'env':['PATH=/bin','HOME=/home/alice'],"
	"'cwd':'/work',"
	"'capabilities':{'bounding':['CAP_CHOWN','CAP_KILL'],'effective':['CAP_KILL'],"
	"'inheritable':[],'permitted':['CAP_CHOWN','CAP_KILL'],"
	"'ambient':['CAP_CHECKPOINT_RESTORE']},"
	"'rlimits':[{'type':'RLIMIT_NOFILE','hard':4096,'soft':1024},"
	"{'type':'RLIMIT_CORE','hard':18446744073709551615,'soft':0}],"
	"'noNewPrivileges':true,"
	"'apparmorProfile':'hrun-default',"
	"'selinuxLabel':'system_u:system_r:container_t:s0',"
	"'oomScoreAdj':-500,"
	"'scheduler':{'policy':'SCHED_DEADLINE','nice':-5,'priority':0,"
	"'flags':['SCHED_FLAG_RESET_ON_FORK'],'runtime':1000000,'deadline':2000000,"
	"'period':3000000},"
	"'ioPriority':{'class':'IOPRIO_CLASS_BE','priority':4},"
	"'execCPUAffinity':{'initial':'0-3','final':'2,3'}},"
	"'hostname':'box',"
	"'domainname':'example.org',"
	"'hooks':{"
	"'prestart':[{'path':'/usr/bin/pre','args':['pre','x'],'env':['A=1'],'timeout':5}],"
	"'createRuntime':[{'path':'/usr/bin/cr'}],"
	"'createContainer':[{'path':'/usr/bin/cc'}],"
	"'startContainer':[{'path':'/usr/bin/sc'}],"
	"'poststart':[{'path':'/usr/bin/ps'}],"
	"'poststop':[{'path':'/usr/bin/pst','timeout':30}]},"
	"'annotations':{'io.hrun.hardening':'strict','org.example':''},"
	"'linux':{"
	"'namespaces':[{'type':'pid'},{'type':'network','path':'/var/run/netns/x'},"
	"{'type':'mount'},{'type':'ipc'},{'type':'uts'},{'type':'user'},{'type':'cgroup'},"
	"{'type':'time'}],"
	"'uidMappings':[{'containerID':0,'hostID':100000,'size':65536}],"
	"'gidMappings':[{'containerID':0,'hostID':100000,'size':65536},"
	"{'containerID':65536,'hostID':500000,'size':10}],"
	"'timeOffsets':{'monotonic':{'secs':-10,'nanosecs':5},'boottime':{'secs':86400}},"
	"'devices':[{'path':'/dev/fuse','type':'c','major':10,'minor':229,'fileMode':438,"
	"'uid':0,'gid':0},{'path':'/dev/pipe','type':'p'}],"
	"'cgroupsPath':'/hrun/box',"
	"'resources':{"
	"'devices':[{'allow':false,'access':'rwm'},"
	"{'allow':true,'type':'c','major':10,'minor':229,'access':'rw'}],"
	"'memory':{'limit':536870912,'reservation':0,'swap':-1,'kernel':-1,'kernelTCP':1024,"
	"'swappiness':60,'disableOOMKiller':false,'useHierarchy':true,"
	"'checkBeforeUpdate':true},"
	"'cpu':{'shares':1024,'quota':-1,'burst':1000,'period':100000,"
	"'realtimeRuntime':950000,'realtimePeriod':1000000,'cpus':'0-3','mems':'0','idle':1},"
	"'blockIO':{'weight':500,'leafWeight':300,"
	"'weightDevice':[{'major':8,'minor':0,'weight':400,'leafWeight':200},"
	"{'major':8,'minor':16,'weight':100}],"
	"'throttleReadBpsDevice':[{'major':8,'minor':0,'rate':1048576}],"
	"'throttleWriteBpsDevice':[{'major':8,'minor':1,'rate':2097152}],"
	"'throttleReadIOPSDevice':[{'major':8,'minor':2,'rate':100}],"
	"'throttleWriteIOPSDevice':[{'major':8,'minor':3,'rate':200}]},"
	"'hugepageLimits':[{'pageSize':'2MB','limit':209715200},{'pageSize':'1GB','limit':0}],"
	"'network':{'classID':1048577,'priorities':[{'name':'eth0','priority':500},"
	"{'name':'lo','priority':0}]},"
	"'pids':{'limit':512},"
	"'rdma':{'mlx5_1':{'hcaHandles':3,'hcaObjects':10000},'mlx4_0':{}},"
	"'unified':{'memory.high':'1G','io.weight':'default 100'}},"
	"'intelRdt':{'closID':'guaranteed','schemata':['L3:0=7f0;1=1f','MB:0=20'],"
	"'l3CacheSchema':'L3:0=ffff','memBwSchema':'MB:0=70','enableMonitoring':true},"
	"'sysctl':{'net.ipv4.ip_forward':'1','kernel.shm_rmid_forced':'1'},"
	"'seccomp':{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38,"
	"'architectures':['SCMP_ARCH_X86_64','SCMP_ARCH_X86'],"
	"'flags':['SECCOMP_FILTER_FLAG_LOG'],'listenerPath':'/run/agent.sock',"
	"'listenerMetadata':'meta',"
	"'syscalls':[{'names':['read','write'],'action':'SCMP_ACT_ALLOW'},"
	"{'names':['personality'],'action':'SCMP_ACT_ALLOW','args':["
	"{'index':0,'value':18446744073709551615,'valueTwo':0,'op':'SCMP_CMP_EQ'},"
	"{'index':5,'value':8,'op':'SCMP_CMP_MASKED_EQ'}]},"
	"{'names':['mkdir'],'action':'SCMP_ACT_ERRNO','errnoRet':1},"
	"{'names':['ioctl'],'action':'SCMP_ACT_NOTIFY'}]},"
	"'rootfsPropagation':'rslave',"
	"'maskedPaths':['/proc/kcore','/proc/keys'],"
	"'readonlyPaths':['/proc/sys'],"
	"'mountLabel':'system_u:object_r:container_file_t:s0',"
	"'personality':{'domain':'LINUX32','flags':[]},"
	"'memoryPolicy':{'mode':'MPOL_BIND','nodes':'0-1','flags':['MPOL_F_STATIC_NODES']},"
	"'netDevices':{'eth1':{'name':'ctr0'},'eth2':{}}},"
	"'unknownTopLevel':{'x':[1,2,3]}"
	"}";

static void check_strv(const struct hrun_strv *v, size_t n, ...)
{
	va_list ap;

	assert_true(v->set);
	assert_int_equal(v->n, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v->v[i], va_arg(ap, const char *));
	va_end(ap);
}

static void check_idmap(const struct hrun_idmap *m, uint32_t c, uint32_t h, uint32_t s)
{
	assert_int_equal(m->container_id, c);
	assert_int_equal(m->host_id, h);
	assert_int_equal(m->size, s);
}

#define OPT_EQ(o, val)                     \
	do {                               \
		assert_true((o).set);      \
		assert_true((o).v == (val)); \
	} while (0)

static void check_full_top(const struct hrun_spec *s)
{
	assert_string_equal(s->oci_version, "1.3.0");
	assert_true(s->root.set);
	assert_string_equal(s->root.path, "/bundle/rootfs");
	assert_true(s->root.readonly);
	assert_int_equal(s->n_mounts, 2);
	assert_string_equal(s->mounts[0].destination, "/proc");
	assert_string_equal(s->mounts[0].type, "proc");
	assert_string_equal(s->mounts[0].source, "proc");
	check_strv(&s->mounts[0].options, 2, "nosuid", "noexec");
	assert_false(s->mounts[0].uid_mappings.set);
	assert_string_equal(s->mounts[1].destination, "/data");
	check_strv(&s->mounts[1].options, 2, "rbind", "ro");
	assert_true(s->mounts[1].uid_mappings.set);
	assert_int_equal(s->mounts[1].uid_mappings.n, 1);
	check_idmap(&s->mounts[1].uid_mappings.v[0], 0, 200000, 1000);
	check_idmap(&s->mounts[1].gid_mappings.v[0], 0, 300000, 2000);
	assert_string_equal(s->hostname, "box");
	assert_string_equal(s->domainname, "example.org");
	assert_true(s->annotations.set);
	assert_int_equal(s->annotations.n, 2);
	assert_string_equal(s->annotations.v[0].key, "io.hrun.hardening");
	assert_string_equal(s->annotations.v[0].value, "strict");
	assert_string_equal(s->annotations.v[1].key, "org.example");
	assert_string_equal(s->annotations.v[1].value, "");
}

static void check_full_hooks(const struct hrun_hooks *h)
{
	assert_true(h->set);
	assert_int_equal(h->prestart.n, 1);
	assert_string_equal(h->prestart.v[0].path, "/usr/bin/pre");
	check_strv(&h->prestart.v[0].args, 2, "pre", "x");
	check_strv(&h->prestart.v[0].env, 1, "A=1");
	OPT_EQ(h->prestart.v[0].timeout, 5);
	assert_string_equal(h->create_runtime.v[0].path, "/usr/bin/cr");
	assert_false(h->create_runtime.v[0].timeout.set);
	assert_false(h->create_runtime.v[0].args.set);
	assert_string_equal(h->create_container.v[0].path, "/usr/bin/cc");
	assert_string_equal(h->start_container.v[0].path, "/usr/bin/sc");
	assert_string_equal(h->poststart.v[0].path, "/usr/bin/ps");
	assert_string_equal(h->poststop.v[0].path, "/usr/bin/pst");
	OPT_EQ(h->poststop.v[0].timeout, 30);
}

static void check_full_process(const struct hrun_process *p)
{
	assert_non_null(p);
	OPT_EQ(p->terminal, true);
	assert_true(p->console_size.set);
	assert_int_equal(p->console_size.height, 25);
	assert_int_equal(p->console_size.width, 80);
	assert_int_equal(p->user.uid, 1000);
	assert_int_equal(p->user.gid, 1001);
	OPT_EQ(p->user.umask, 18);
	assert_true(p->user.additional_gids.set);
	assert_int_equal(p->user.additional_gids.n, 2);
	assert_int_equal(p->user.additional_gids.v[0], 5);
	assert_int_equal(p->user.additional_gids.v[1], UINT32_MAX);
	assert_string_equal(p->user.username, "alice");
	check_strv(&p->args, 2, "/bin/app", "--flag");
	check_strv(&p->env, 2, "PATH=/bin", "HOME=/home/alice");
	assert_string_equal(p->cwd, "/work");
	assert_true(p->capabilities.set);
	check_strv(&p->capabilities.bounding, 2, "CAP_CHOWN", "CAP_KILL");
	check_strv(&p->capabilities.effective, 1, "CAP_KILL");
	check_strv(&p->capabilities.inheritable, 0);
	check_strv(&p->capabilities.permitted, 2, "CAP_CHOWN", "CAP_KILL");
	check_strv(&p->capabilities.ambient, 1, "CAP_CHECKPOINT_RESTORE");
	assert_int_equal(p->n_rlimits, 2);
	assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
	assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
	assert_true(p->rlimits[0].hard == 4096 && p->rlimits[0].soft == 1024);
	assert_int_equal(p->rlimits[1].resource, RLIMIT_CORE);
	assert_true(p->rlimits[1].hard == UINT64_MAX && p->rlimits[1].soft == 0);
	OPT_EQ(p->no_new_privileges, true);
	assert_string_equal(p->apparmor_profile, "hrun-default");
	assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
	OPT_EQ(p->oom_score_adj, -500);
	assert_true(p->scheduler.set);
	assert_string_equal(p->scheduler.policy, "SCHED_DEADLINE");
	OPT_EQ(p->scheduler.nice, -5);
	OPT_EQ(p->scheduler.priority, 0);
	check_strv(&p->scheduler.flags, 1, "SCHED_FLAG_RESET_ON_FORK");
	OPT_EQ(p->scheduler.runtime, 1000000);
	OPT_EQ(p->scheduler.deadline, 2000000);
	OPT_EQ(p->scheduler.period, 3000000);
	assert_true(p->io_priority.set);
	assert_string_equal(p->io_priority.class, "IOPRIO_CLASS_BE");
	assert_int_equal(p->io_priority.priority, 4);
	assert_true(p->exec_cpu_affinity.set);
	assert_string_equal(p->exec_cpu_affinity.initial, "0-3");
	assert_string_equal(p->exec_cpu_affinity.final, "2,3");
}

static void check_full_linux_ids(const struct hrun_linux *l)
{
	static const enum hrun_ns_type types[] = { HRUN_NS_PID,	   HRUN_NS_NETWORK, HRUN_NS_MOUNT,
						   HRUN_NS_IPC,	   HRUN_NS_UTS,	    HRUN_NS_USER,
						   HRUN_NS_CGROUP, HRUN_NS_TIME };

	assert_true(l->set);
	assert_int_equal(l->n_namespaces, 8);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(l->namespaces[i].type, types[i]);
		if (i != 1)
			assert_null(l->namespaces[i].path);
	}
	assert_string_equal(l->namespaces[1].path, "/var/run/netns/x");
	assert_int_equal(l->uid_mappings.n, 1);
	check_idmap(&l->uid_mappings.v[0], 0, 100000, 65536);
	assert_int_equal(l->gid_mappings.n, 2);
	check_idmap(&l->gid_mappings.v[1], 65536, 500000, 10);
	assert_true(l->time_offsets.set);
	assert_true(l->time_offsets.monotonic.set);
	assert_int_equal(l->time_offsets.monotonic.secs, -10);
	assert_int_equal(l->time_offsets.monotonic.nanosecs, 5);
	assert_true(l->time_offsets.boottime.set);
	assert_int_equal(l->time_offsets.boottime.secs, 86400);
	assert_int_equal(l->time_offsets.boottime.nanosecs, 0);
	assert_int_equal(l->n_devices, 2);
	assert_string_equal(l->devices[0].path, "/dev/fuse");
	assert_string_equal(l->devices[0].type, "c");
	assert_int_equal(l->devices[0].major, 10);
	assert_int_equal(l->devices[0].minor, 229);
	OPT_EQ(l->devices[0].file_mode, 438);
	OPT_EQ(l->devices[0].uid, 0);
	OPT_EQ(l->devices[0].gid, 0);
	assert_string_equal(l->devices[1].type, "p");
	assert_false(l->devices[1].file_mode.set);
	assert_string_equal(l->cgroups_path, "/hrun/box");
}

static void check_full_resources(const struct hrun_resources *r)
{
	assert_true(r->set);
	assert_int_equal(r->n_devices, 2);
	assert_false(r->devices[0].allow);
	assert_null(r->devices[0].type);
	assert_false(r->devices[0].major.set);
	assert_string_equal(r->devices[0].access, "rwm");
	assert_true(r->devices[1].allow);
	assert_string_equal(r->devices[1].type, "c");
	OPT_EQ(r->devices[1].major, 10);
	OPT_EQ(r->devices[1].minor, 229);
	assert_true(r->memory.set);
	OPT_EQ(r->memory.limit, 536870912);
	OPT_EQ(r->memory.reservation, 0);
	OPT_EQ(r->memory.swap, -1);
	OPT_EQ(r->memory.kernel, -1);
	OPT_EQ(r->memory.kernel_tcp, 1024);
	OPT_EQ(r->memory.swappiness, 60);
	OPT_EQ(r->memory.disable_oom_killer, false);
	OPT_EQ(r->memory.use_hierarchy, true);
	OPT_EQ(r->memory.check_before_update, true);
	assert_true(r->cpu.set);
	OPT_EQ(r->cpu.shares, 1024);
	OPT_EQ(r->cpu.quota, -1);
	OPT_EQ(r->cpu.burst, 1000);
	OPT_EQ(r->cpu.period, 100000);
	OPT_EQ(r->cpu.realtime_runtime, 950000);
	OPT_EQ(r->cpu.realtime_period, 1000000);
	assert_string_equal(r->cpu.cpus, "0-3");
	assert_string_equal(r->cpu.mems, "0");
	OPT_EQ(r->cpu.idle, 1);
	assert_true(r->block_io.set);
	OPT_EQ(r->block_io.weight, 500);
	OPT_EQ(r->block_io.leaf_weight, 300);
	assert_int_equal(r->block_io.n_weight_devices, 2);
	assert_int_equal(r->block_io.weight_devices[0].major, 8);
	OPT_EQ(r->block_io.weight_devices[0].leaf_weight, 200);
	assert_int_equal(r->block_io.weight_devices[1].minor, 16);
	assert_false(r->block_io.weight_devices[1].leaf_weight.set);
	assert_int_equal(r->block_io.throttle_read_bps.n, 1);
	assert_int_equal(r->block_io.throttle_read_bps.v[0].rate, 1048576);
	assert_int_equal(r->block_io.throttle_write_bps.v[0].minor, 1);
	assert_int_equal(r->block_io.throttle_write_bps.v[0].rate, 2097152);
	assert_int_equal(r->block_io.throttle_read_iops.v[0].minor, 2);
	assert_int_equal(r->block_io.throttle_write_iops.v[0].rate, 200);
	assert_int_equal(r->n_hugepage_limits, 2);
	assert_string_equal(r->hugepage_limits[0].page_size, "2MB");
	assert_int_equal(r->hugepage_limits[0].limit, 209715200);
	assert_string_equal(r->hugepage_limits[1].page_size, "1GB");
	assert_true(r->network.set);
	OPT_EQ(r->network.class_id, 1048577);
	assert_int_equal(r->network.n_priorities, 2);
	assert_string_equal(r->network.priorities[0].name, "eth0");
	assert_int_equal(r->network.priorities[0].priority, 500);
	assert_true(r->pids.set);
	assert_int_equal(r->pids.limit, 512);
	assert_int_equal(r->n_rdma, 2);
	assert_string_equal(r->rdma[0].device, "mlx5_1");
	OPT_EQ(r->rdma[0].hca_handles, 3);
	OPT_EQ(r->rdma[0].hca_objects, 10000);
	assert_string_equal(r->rdma[1].device, "mlx4_0");
	assert_false(r->rdma[1].hca_handles.set);
	assert_true(r->unified.set);
	assert_int_equal(r->unified.n, 2);
	assert_string_equal(r->unified.v[1].key, "io.weight");
	assert_string_equal(r->unified.v[1].value, "default 100");
}

static void check_full_linux_rest(const struct hrun_linux *l)
{
	const struct hrun_seccomp *sc = &l->seccomp;

	assert_true(l->intel_rdt.set);
	assert_string_equal(l->intel_rdt.clos_id, "guaranteed");
	check_strv(&l->intel_rdt.schemata, 2, "L3:0=7f0;1=1f", "MB:0=20");
	assert_string_equal(l->intel_rdt.l3_cache_schema, "L3:0=ffff");
	assert_string_equal(l->intel_rdt.mem_bw_schema, "MB:0=70");
	OPT_EQ(l->intel_rdt.enable_monitoring, true);
	assert_int_equal(l->sysctl.n, 2);
	assert_string_equal(l->sysctl.v[0].key, "net.ipv4.ip_forward");
	assert_string_equal(l->sysctl.v[0].value, "1");
	assert_true(sc->set);
	assert_string_equal(sc->default_action, "SCMP_ACT_ERRNO");
	OPT_EQ(sc->default_errno_ret, 38);
	check_strv(&sc->architectures, 2, "SCMP_ARCH_X86_64", "SCMP_ARCH_X86");
	check_strv(&sc->flags, 1, "SECCOMP_FILTER_FLAG_LOG");
	assert_string_equal(sc->listener_path, "/run/agent.sock");
	assert_string_equal(sc->listener_metadata, "meta");
	assert_int_equal(sc->n_syscalls, 4);
	check_strv(&sc->syscalls[0].names, 2, "read", "write");
	assert_string_equal(sc->syscalls[0].action, "SCMP_ACT_ALLOW");
	assert_false(sc->syscalls[0].errno_ret.set);
	assert_int_equal(sc->syscalls[1].n_args, 2);
	assert_int_equal(sc->syscalls[1].args[0].index, 0);
	assert_true(sc->syscalls[1].args[0].value == UINT64_MAX);
	OPT_EQ(sc->syscalls[1].args[0].value_two, 0);
	assert_string_equal(sc->syscalls[1].args[0].op, "SCMP_CMP_EQ");
	assert_int_equal(sc->syscalls[1].args[1].index, 5);
	assert_false(sc->syscalls[1].args[1].value_two.set);
	OPT_EQ(sc->syscalls[2].errno_ret, 1);
	assert_string_equal(sc->syscalls[3].action, "SCMP_ACT_NOTIFY");
	assert_string_equal(l->rootfs_propagation, "rslave");
	check_strv(&l->masked_paths, 2, "/proc/kcore", "/proc/keys");
	check_strv(&l->readonly_paths, 1, "/proc/sys");
	assert_string_equal(l->mount_label, "system_u:object_r:container_file_t:s0");
	assert_true(l->personality.set);
	assert_string_equal(l->personality.domain, "LINUX32");
	check_strv(&l->personality.flags, 0);
	assert_true(l->memory_policy.set);
	assert_string_equal(l->memory_policy.mode, "MPOL_BIND");
	assert_string_equal(l->memory_policy.nodes, "0-1");
	check_strv(&l->memory_policy.flags, 1, "MPOL_F_STATIC_NODES");
	assert_int_equal(l->n_net_devices, 2);
	assert_string_equal(l->net_devices[0].host_name, "eth1");
	assert_string_equal(l->net_devices[0].name, "ctr0");
	assert_string_equal(l->net_devices[1].host_name, "eth2");
	assert_null(l->net_devices[1].name);
}

static void check_full(const struct hrun_spec *s)
{
	check_full_top(s);
	check_full_hooks(&s->hooks);
	check_full_process(s->process);
	check_full_linux_ids(&s->linux_);
	check_full_resources(&s->linux_.resources);
	check_full_linux_rest(&s->linux_);
}

static void test_full_config(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = parse_q(full_config, &err);

	(void)state;
	if (!s)
		fail_msg("%s", err.msg);
	check_full(s);
	if (hrun_spec_validate(s, "config.json", &err) < 0)
		fail_msg("%s", err.msg);
	hrun_spec_free(s);
}

/* parse(to_json(parse(x))) must equal parse(x): checked field by field on
 * the second parse, and as identical canonical text. */
static void test_round_trip(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *a = parse_q(full_config, &err), *b;
	char *ja, *jb;

	(void)state;
	assert_non_null(a);
	ja = hrun_spec_to_json(a, &err);
	if (!ja)
		fail_msg("%s", err.msg);
	b = hrun_spec_parse(ja, strlen(ja), "state.json", &err);
	if (!b)
		fail_msg("%s", err.msg);
	check_full(b);
	jb = hrun_spec_to_json(b, &err);
	assert_non_null(jb);
	assert_string_equal(ja, jb);
	/* The ignored key and the Windows-only field are gone. */
	assert_null(strstr(ja, "unknownTopLevel"));
	assert_null(strstr(ja, "commandLine"));
	free(ja);
	free(jb);
	hrun_spec_free(a);
	hrun_spec_free(b);
}

static void test_round_trip_minimal(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *a = parse_q("{'ociVersion':'1.0.2','process':{'env':[],"
				      "'terminal':false},'linux':{}}",
				      &err);
	struct hrun_spec *b;
	char *j;

	(void)state;
	assert_non_null(a);
	j = hrun_spec_to_json(a, &err);
	assert_non_null(j);
	b = hrun_spec_parse(j, strlen(j), "x", &err);
	assert_non_null(b);
	/* Present-but-empty and present-but-false survive the trip. */
	assert_true(b->process->env.set);
	assert_int_equal(b->process->env.n, 0);
	OPT_EQ(b->process->terminal, false);
	assert_false(b->process->args.set);
	assert_true(b->linux_.set);
	assert_false(b->root.set);
	assert_false(b->hooks.set);
	free(j);
	hrun_spec_free(a);
	hrun_spec_free(b);
}

static void test_absent_vs_zero(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = parse_q(
		"{'ociVersion':'1.3.0','root':{'path':'r'},"
		"'process':{'args':['sh'],'cwd':'/','terminal':false,'env':[],'oomScoreAdj':0,"
		"'user':{'uid':0,'umask':0}},"
		"'linux':{'resources':{'memory':{'limit':0,'swappiness':0}},'maskedPaths':[]}}",
		&err);

	(void)state;
	assert_non_null(s);
	OPT_EQ(s->process->terminal, false);
	assert_false(s->process->no_new_privileges.set);
	assert_true(s->process->env.set);
	assert_int_equal(s->process->env.n, 0);
	assert_false(s->process->capabilities.set);
	assert_false(s->process->capabilities.bounding.set);
	OPT_EQ(s->process->oom_score_adj, 0);
	OPT_EQ(s->process->user.umask, 0);
	assert_false(s->process->user.additional_gids.set);
	assert_false(s->process->scheduler.set);
	assert_false(s->process->console_size.set);
	assert_null(s->process->apparmor_profile);
	assert_true(s->linux_.resources.memory.set);
	OPT_EQ(s->linux_.resources.memory.limit, 0);
	OPT_EQ(s->linux_.resources.memory.swappiness, 0);
	assert_false(s->linux_.resources.memory.reservation.set);
	assert_false(s->linux_.resources.memory.disable_oom_killer.set);
	assert_false(s->linux_.resources.cpu.set);
	assert_false(s->linux_.resources.pids.set);
	assert_true(s->linux_.masked_paths.set);
	assert_int_equal(s->linux_.masked_paths.n, 0);
	assert_false(s->linux_.readonly_paths.set);
	assert_false(s->linux_.seccomp.set);
	assert_false(s->linux_.sysctl.set);
	assert_false(s->linux_.uid_mappings.set);
	assert_false(s->annotations.set);
	assert_null(s->hostname);
	assert_false(s->root.readonly);
	hrun_spec_free(s);
}

/* Go's encoding/json writes null for nil slices and pointers; it means absent. */
static void test_null_is_absent(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = parse_q("{'ociVersion':'1.3.0','hostname':null,'process':null,"
				      "'mounts':null,'linux':{'seccomp':null,'sysctl':null,"
				      "'namespaces':[{'type':'pid','path':null}]}}",
				      &err);

	(void)state;
	assert_non_null(s);
	assert_null(s->hostname);
	assert_null(s->process);
	assert_int_equal(s->n_mounts, 0);
	assert_false(s->linux_.seccomp.set);
	assert_false(s->linux_.sysctl.set);
	assert_null(s->linux_.namespaces[0].path);
	hrun_spec_free(s);
}

static void test_uint64_limits(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_spec *s = parse_q(
		"{'ociVersion':'1.3.0','process':{'rlimits':[{'type':'RLIMIT_AS',"
		"'hard':18446744073709551615,'soft':18446744073709551614}]},"
		"'linux':{'resources':{'memory':{'limit':9223372036854775807,"
		"'swap':-9223372036854775808}}}}",
		&err);

	(void)state;
	assert_non_null(s);
	assert_true(s->process->rlimits[0].hard == UINT64_MAX);
	assert_true(s->process->rlimits[0].soft == UINT64_MAX - 1);
	assert_true(s->linux_.resources.memory.limit.v == INT64_MAX);
	assert_true(s->linux_.resources.memory.swap.v == INT64_MIN);
	hrun_spec_free(s);
}

/* --- The template ----------------------------------------------------------- */

static void check_template(bool rootless)
{
	struct hrun_error err = { 0 };
	char *text = hrun_spec_template(rootless, &err), *again;
	struct hrun_spec *s;

	if (!text)
		fail_msg("%s", err.msg);
	s = hrun_spec_parse(text, strlen(text), "config.json", &err);
	if (!s)
		fail_msg("%s", err.msg);
	if (hrun_spec_validate(s, "config.json", &err) < 0)
		fail_msg("%s", err.msg);
	assert_string_equal(s->oci_version, "1.3.0");
	assert_string_equal(s->root.path, "rootfs");
	assert_true(s->root.readonly);
	assert_string_equal(s->hostname, "hrun");
	check_strv(&s->process->args, 1, "sh");
	assert_string_equal(s->process->cwd, "/");
	OPT_EQ(s->process->terminal, false);
	OPT_EQ(s->process->no_new_privileges, true);
	check_strv(&s->process->env, 2,
		   "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm");
	assert_int_equal(s->process->capabilities.bounding.n, 11);
	assert_false(s->process->capabilities.inheritable.set);
	assert_false(s->process->capabilities.ambient.set);
	for (size_t i = 0; i < s->process->capabilities.bounding.n; i++) {
		const char *c = s->process->capabilities.bounding.v[i];
		assert_true(hrun_cap_from_name(c) >= 0);
		assert_true(strcmp(c, "CAP_SYS_ADMIN") != 0 && strcmp(c, "CAP_NET_RAW") != 0);
	}
	assert_int_equal(s->process->rlimits[0].resource, RLIMIT_NOFILE);
	assert_non_null(hrun_spec_find_ns(s, HRUN_NS_USER));
	assert_non_null(hrun_spec_find_ns(s, HRUN_NS_PID));
	assert_non_null(hrun_spec_find_ns(s, HRUN_NS_MOUNT));
	assert_int_equal(s->linux_.uid_mappings.n, 1);
	if (rootless) {
		check_idmap(&s->linux_.uid_mappings.v[0], 0, getuid(), 1);
		check_idmap(&s->linux_.gid_mappings.v[0], 0, getgid(), 1);
		assert_null(hrun_spec_find_ns(s, HRUN_NS_NETWORK));
		assert_null(hrun_spec_find_ns(s, HRUN_NS_CGROUP));
		assert_null(strstr(text, "gid=5"));
	} else {
		check_idmap(&s->linux_.uid_mappings.v[0], 0, 100000, 65536);
		assert_non_null(hrun_spec_find_ns(s, HRUN_NS_NETWORK));
		assert_non_null(hrun_spec_find_ns(s, HRUN_NS_CGROUP));
		assert_non_null(strstr(text, "gid=5"));
	}
	assert_int_equal(s->n_mounts, 7);
	assert_string_equal(s->mounts[6].destination, "/tmp");
	assert_true(s->linux_.masked_paths.n >= 10);
	check_strv(&s->linux_.readonly_paths, 5, "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
		   "/proc/sysrq-trigger");
	again = hrun_spec_to_json(s, &err);
	assert_non_null(again);
	assert_string_equal(again, text);
	free(again);
	free(text);
	hrun_spec_free(s);
}

static void test_template_root(void **state)
{
	(void)state;
	check_template(false);
}

static void test_template_rootless(void **state)
{
	(void)state;
	check_template(true);
}

/* --- Bad input ----------------------------------------------------------------- */

#define BASE "'ociVersion':'1.3.0','root':{'path':'rootfs'}"
#define PROC "'process':{'args':['sh'],'cwd':'/'}"
#define USERNS                                                                  \
	"'namespaces':[{'type':'user'}],"                                       \
	"'uidMappings':[{'containerID':0,'hostID':1000,'size':10}],"           \
	"'gidMappings':[{'containerID':0,'hostID':1000,'size':10}]"

struct bad {
	const char *json; /* single-quoted */
	const char *msg;
};

static const struct bad bad_cases[] = {
	/* syntax */
	{ "", "config.json: empty document" },
	{ " \n\t ", "config.json: empty document" },
	{ "{'ociVersion': '1.3.0'", "config.json:1:23: parse error: premature EOF" },
	{ "{'ociVersion': '1.3", "config.json:1:20: parse error: premature EOF" },
	{ "{} {}", "config.json:1:4: parse error: trailing garbage" },
	{ "{'a':1,}", "config.json:1:8: parse error: invalid object key (must be a string)" },
	{ "{\n'a': [1,\n2 3]}",
	  "config.json:3:3: parse error: after array element, I expect ',' or ']'" },
	{ "{'a': tru}", "config.json:1:9: lexical error: invalid string in json text" },
	{ "{/* c */}", "config.json:1:2: comments are not allowed" },
	{ "{'a':'\\u0000'}", "config.json:1:7: string contains \\u0000" },
	{ "{'a':'x\\ud800y'}", "config.json:1:8: unpaired UTF-16 surrogate in \\u escape" },
	{ "{'a':'\\udc00'}", "config.json:1:7: unpaired UTF-16 surrogate in \\u escape" },
	{ "{'a':{'b':1,'b':2}}", "config.json: a: duplicate key \"b\"" },
	{ "{'ociVersion':'1','ociVersion':'2'}", "config.json: duplicate key \"ociVersion\"" },
	/* top level */
	{ "[]", "config.json: expected object, got array" },
	{ "'config'", "config.json: expected object, got string" },
	{ "42", "config.json: expected object, got number" },
	{ "null", "config.json: expected object, got null" },
	/* wrong types */
	{ "{'ociVersion':1.3}", "config.json: ociVersion: expected string, got number" },
	{ "{" BASE ",'mounts':[{'destination':'/a'},{'destination':'/b'},{'destination':5}]}",
	  "config.json: mounts[2].destination: expected string, got number" },
	{ "{" BASE ",'linux':{'resources':{'memory':{'limit':'1G'}}}}",
	  "config.json: linux.resources.memory.limit: expected integer, got string" },
	{ "{" BASE ",'process':{'terminal':'yes'}}",
	  "config.json: process.terminal: expected boolean, got string" },
	{ "{" BASE ",'process':{'args':'sh'}}",
	  "config.json: process.args: expected array, got string" },
	{ "{" BASE ",'process':{'args':['sh',1]}}",
	  "config.json: process.args[1]: expected string, got number" },
	{ "{" BASE ",'process':{'env':{'A':'1'}}}",
	  "config.json: process.env: expected array, got object" },
	{ "{" BASE ",'linux':[]}", "config.json: linux: expected object, got array" },
	{ "{" BASE ",'process':{'user':{'additionalGids':[1,'2']}}}",
	  "config.json: process.user.additionalGids[1]: expected integer, got string" },
	{ "{" BASE ",'annotations':{'io.x':1}}",
	  "config.json: annotations[\"io.x\"]: expected string, got number" },
	{ "{" BASE ",'linux':{'sysctl':{'net.ipv4.ip_forward':true}}}",
	  "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: expected string, got boolean" },
	{ "{" BASE ",'linux':{'rdma':{'mlx':{'hcaHandles':-1}}}}", "" },
	{ "{" BASE ",'linux':{'resources':{'rdma':{'mlx':{'hcaHandles':-1}}}}}",
	  "config.json: linux.resources.rdma.mlx.hcaHandles: value -1 out of range for uint32" },
	/* numbers */
	{ "{" BASE ",'process':{'user':{'uid':-1}}}",
	  "config.json: process.user.uid: value -1 out of range for uint32" },
	{ "{" BASE ",'process':{'user':{'uid':4294967296}}}",
	  "config.json: process.user.uid: value 4294967296 out of range for uint32" },
	{ "{" BASE ",'process':{'user':{'gid':1.5}}}",
	  "config.json: process.user.gid: expected integer, got number 1.5" },
	{ "{" BASE ",'process':{'user':{'gid':1e3}}}",
	  "config.json: process.user.gid: expected integer, got number 1e3" },
	{ "{" BASE ",'process':{'user':{'gid':-0}}}",
	  "config.json: process.user.gid: value -0 out of range for uint32" },
	{ "{" BASE ",'linux':{'resources':{'memory':{'limit':99999999999999999999999}}}}",
	  "config.json: linux.resources.memory.limit: value 99999999999999999999999 out of range for int64" },
	{ "{" BASE ",'linux':{'resources':{'memory':{'swap':-9223372036854775809}}}}",
	  "config.json: linux.resources.memory.swap: value -9223372036854775809 out of range for int64" },
	{ "{" BASE ",'process':{'rlimits':[{'type':'RLIMIT_AS','soft':0,"
	  "'hard':18446744073709551616}]}}",
	  "config.json: process.rlimits[0].hard: value 18446744073709551616 out of range for uint64" },
	{ "{" BASE ",'linux':{'resources':{'blockIO':{'weight':65536}}}}",
	  "config.json: linux.resources.blockIO.weight: value 65536 out of range for uint16" },
	{ "{" BASE ",'process':{'oomScoreAdj':2147483648}}",
	  "config.json: process.oomScoreAdj: value 2147483648 out of range for int32" },
	{ "{" BASE ",'process':{'oomScoreAdj':-2147483649}}",
	  "config.json: process.oomScoreAdj: value -2147483649 out of range for int32" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['x'],"
	  "'action':'SCMP_ACT_ALLOW','args':[{'index':0,'value':-1,'op':'SCMP_CMP_EQ'}]}]}}}",
	  "config.json: linux.seccomp.syscalls[0].args[0].value: value -1 out of range for uint64" },
	{ "{" BASE ",'process':{'consoleSize':{'height':25,'width':1e100}}}",
	  "config.json: process.consoleSize.width: expected integer, got number 1e100" },
	/* required fields the model cannot leave empty */
	{ "{" BASE ",'linux':{'uidMappings':[{'containerID':0,'size':1}]}}",
	  "config.json: linux.uidMappings[0].hostID: required field is missing" },
	{ "{" BASE ",'linux':{'uidMappings':[{'containerID':0,'hostID':null,'size':1}]}}",
	  "config.json: linux.uidMappings[0].hostID: required field is missing" },
	{ "{" BASE ",'process':{'rlimits':[{'type':'RLIMIT_AS','hard':1}]}}",
	  "config.json: process.rlimits[0].soft: required field is missing" },
	{ "{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'c','minor':1}]}}",
	  "config.json: linux.devices[0].major: required for device type \"c\"" },
	{ "{" BASE ",'linux':{'resources':{'pids':{}}}}",
	  "config.json: linux.resources.pids.limit: required field is missing" },
	{ "{" BASE ",'linux':{'resources':{'devices':[{'access':'rwm'}]}}}",
	  "config.json: linux.resources.devices[0].allow: required field is missing" },
	{ "{" BASE ",'linux':{'namespaces':[{'path':'/proc/1/ns/pid'}]}}",
	  "config.json: linux.namespaces[0].type: required field is missing" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'pid'},{'type':'foo'}]}}",
	  "config.json: linux.namespaces[1].type: unknown namespace type \"foo\"" },
	{ "{" BASE ",'linux':{'timeOffsets':{'realtime':{'secs':1}}}}",
	  "config.json: linux.timeOffsets: unknown clock \"realtime\" (expected monotonic or boottime)" },
	/* semantics */
	{ "{'root':{'path':'rootfs'}}", "config.json: ociVersion: required" },
	{ "{'ociVersion':'2.0.0','root':{'path':'rootfs'}}",
	  "config.json: ociVersion: unsupported version \"2.0.0\" (hrun supports 1.x)" },
	{ "{'ociVersion':'1.3.0'}", "config.json: root: required" },
	{ "{'ociVersion':'1.3.0','root':{'readonly':true}}", "config.json: root.path: required" },
	{ "{" BASE ",'mounts':[{'destination':'proc','type':'proc'}]}",
	  "config.json: mounts[0].destination: \"proc\" is not an absolute path" },
	{ "{" BASE ",'mounts':[{'type':'tmpfs'}]}", "config.json: mounts[0].destination: required" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'pid'},{'type':'ipc'},{'type':'mount'},"
	  "{'type':'pid'}]}}",
	  "config.json: linux.namespaces[3].type: duplicate namespace \"pid\"" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'network','path':'netns/x'}]}}",
	  "config.json: linux.namespaces[0].path: \"netns/x\" is not an absolute path" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':{'bounding':['CAP_KILL',"
	  "'CAP_FOO']}}}",
	  "config.json: process.capabilities.bounding[1]: unknown capability \"CAP_FOO\"" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':{'ambient':['cap_kill']}}}",
	  "config.json: process.capabilities.ambient[0]: unknown capability \"cap_kill\"" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_FOO','hard':1,"
	  "'soft':1}]}}",
	  "config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE',"
	  "'hard':1024,'soft':2048}]}}",
	  "config.json: process.rlimits[0]: soft limit 2048 exceeds hard limit 1024" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','rlimits':[{'type':'RLIMIT_NOFILE',"
	  "'hard':1,'soft':1},{'type':'RLIMIT_NOFILE','hard':2,'soft':2}]}}",
	  "config.json: process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\" (also at [0])" },
	{ "{" BASE ",'process':{'cwd':'/'}}",
	  "config.json: process.args: at least one argument is required" },
	{ "{" BASE ",'process':{'args':[],'cwd':'/'}}",
	  "config.json: process.args: at least one argument is required" },
	{ "{" BASE ",'process':{'args':['sh']}}", "config.json: process.cwd: required" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'tmp'}}",
	  "config.json: process.cwd: \"tmp\" is not an absolute path" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','env':['PATH=/bin','HOME']}}",
	  "config.json: process.env[1]: \"HOME\" is not of the form NAME=VALUE" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','oomScoreAdj':1001}}",
	  "config.json: process.oomScoreAdj: value 1001 out of range -1000..1000" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','scheduler':{'policy':'SCHED_FAST'}}}",
	  "config.json: process.scheduler.policy: unknown policy \"SCHED_FAST\"" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','ioPriority':{'class':'IOPRIO_CLASS_BE',"
	  "'priority':8}}}",
	  "config.json: process.ioPriority.priority: value 8 out of range 0..7" },
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','execCPUAffinity':{'initial':'3-1'}}}",
	  "config.json: process.execCPUAffinity.initial: invalid CPU list \"3-1\"" },
	{ "{" BASE ",'linux':{'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.uidMappings: mappings given but no user namespace is configured" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}]}}",
	  "config.json: linux.namespaces: a new user namespace needs linux.uidMappings and "
	  "linux.gidMappings" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.gidMappings: required with a new user namespace" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':0,'hostID':1000,'size':10},"
	  "{'containerID':5,'hostID':5000,'size':10}],"
	  "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.uidMappings[1]: container range overlaps linux.uidMappings[0]" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':0,'hostID':1000,'size':1}],"
	  "'gidMappings':[{'containerID':0,'hostID':1000,'size':10},"
	  "{'containerID':100,'hostID':1005,'size':1}]}}",
	  "config.json: linux.gidMappings[1]: host range overlaps linux.gidMappings[0]" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':4294967295,'hostID':1000,'size':1}],"
	  "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.uidMappings[0]: containerID 4294967295 + size 1 overflows the 32-bit "
	  "id range" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':0,'hostID':4294967000,'size':65536}],"
	  "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.uidMappings[0]: hostID 4294967000 + size 65536 overflows the 32-bit "
	  "id range" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'user'}],"
	  "'uidMappings':[{'containerID':0,'hostID':1000,'size':0}],"
	  "'gidMappings':[{'containerID':0,'hostID':1000,'size':1}]}}",
	  "config.json: linux.uidMappings[0].size: must be greater than zero" },
	{ "{" BASE ",'mounts':[{'destination':'/x','uidMappings':[{'containerID':0,'hostID':1,"
	  "'size':1}]}]}",
	  "config.json: mounts[0]: an idmapped mount needs both uidMappings and gidMappings" },
	{ "{" BASE ",'hostname':'box'}", "config.json: hostname: setting it requires a uts namespace" },
	{ "{" BASE ",'hooks':{'poststop':[{'path':'cleanup.sh'}]}}",
	  "config.json: hooks.poststop[0].path: \"cleanup.sh\" is not an absolute path" },
	{ "{" BASE ",'hooks':{'createRuntime':[{'path':'/bin/hook','timeout':0}]}}",
	  "config.json: hooks.createRuntime[0].timeout: must be greater than zero" },
	{ "{" BASE ",'annotations':{'':'x'}}", "config.json: annotations: empty key" },
	{ "{" BASE ",'linux':{'devices':[{'path':'/dev/x','type':'x','major':1,'minor':1}]}}",
	  "config.json: linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)" },
	{ "{" BASE ",'linux':{'devices':[{'path':'dev/null','type':'c','major':1,'minor':3}]}}",
	  "config.json: linux.devices[0].path: \"dev/null\" is not an absolute path" },
	{ "{" BASE ",'linux':{'resources':{'devices':[{'allow':true,'access':'rwx'}]}}}",
	  "config.json: linux.resources.devices[0].access: invalid access \"rwx\" (a combination of "
	  "r, w and m)" },
	{ "{" BASE ",'linux':{'resources':{'memory':{'limit':-2}}}}",
	  "config.json: linux.resources.memory.limit: value -2 is invalid (-1 means unlimited)" },
	{ "{" BASE ",'linux':{'resources':{'hugepageLimits':[{'pageSize':'2M','limit':1}]}}}",
	  "config.json: linux.resources.hugepageLimits[0].pageSize: invalid page size \"2M\" "
	  "(expected e.g. \"2MB\")" },
	{ "{" BASE ",'linux':{'resources':{'network':{'priorities':[{'name':'eth0\\nlo',"
	  "'priority':1}]}}}}",
	  "config.json: linux.resources.network.priorities[0].name: \"eth0\\nlo\" is not a valid "
	  "interface name" },
	{ "{" BASE ",'linux':{'resources':{'rdma':{'mlx5 hca_handle=9':{}}}}}",
	  "config.json: linux.resources.rdma[\"mlx5 hca_handle=9\"]: not a valid device name" },
	{ "{" BASE ",'linux':{'resources':{'unified':{'../cgroup.procs':'0'}}}}",
	  "config.json: linux.resources.unified[\"../cgroup.procs\"]: not a cgroup file name" },
	{ "{" BASE ",'linux':{'cgroupsPath':'/a/../../b'}}",
	  "config.json: linux.cgroupsPath: must not contain \"..\"" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'network'}],'sysctl':{'vm.swappiness':'0'}}}",
	  "config.json: linux.sysctl[\"vm.swappiness\"]: not namespaced; setting it would change "
	  "the host" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'network'}],"
	  "'sysctl':{'net/../../../proc/sysrq-trigger':'c'}}}",
	  "config.json: linux.sysctl[\"net/../../../proc/sysrq-trigger\"]: invalid sysctl name" },
	{ "{" BASE ",'linux':{'sysctl':{'net.ipv4.ip_forward':'1'}}}",
	  "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: requires a network namespace" },
	{ "{" BASE ",'linux':{'timeOffsets':{'monotonic':{'secs':1}}}}",
	  "config.json: linux.timeOffsets: requires a new time namespace" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_KILL_ALL'}}}",
	  "config.json: linux.seccomp.defaultAction: unknown action \"SCMP_ACT_KILL_ALL\"" },
	{ "{" BASE ",'linux':{'seccomp':{'architectures':['SCMP_ARCH_X86_64']}}}",
	  "config.json: linux.seccomp.defaultAction: required" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
	  "['kexec_load'],'action':'SCMP_ACT_DENY'}]}}}",
	  "config.json: linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_DENY\"" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
	  "[],'action':'SCMP_ACT_ERRNO'}]}}}",
	  "config.json: linux.seccomp.syscalls[0].names: at least one name is required" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
	  "['ioctl'],'action':'SCMP_ACT_NOTIFY'}]}}}",
	  "config.json: linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires "
	  "linux.seccomp.listenerPath" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','defaultErrnoRet':1}}}",
	  "config.json: linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or "
	  "SCMP_ACT_TRACE" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
	  "['x'],'action':'SCMP_ACT_ERRNO','args':[{'index':6,'value':0,'op':'SCMP_CMP_EQ'}]}]}}}",
	  "config.json: linux.seccomp.syscalls[0].args[0].index: value 6 out of range 0..5" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':"
	  "['x'],'action':'SCMP_ACT_ERRNO','args':[{'index':0,'value':0,'op':'SCMP_CMP_XOR'}]}]}}}",
	  "config.json: linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_XOR\"" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
	  "'architectures':['SCMP_ARCH_Z80']}}}",
	  "config.json: linux.seccomp.architectures[0]: unknown architecture \"SCMP_ARCH_Z80\"" },
	{ "{" BASE ",'linux':{'seccomp':{'defaultAction':'SCMP_ACT_ALLOW',"
	  "'flags':['SECCOMP_FILTER_FLAG_NEW_LISTENER']}}}",
	  "config.json: linux.seccomp.flags[0]: unknown flag \"SECCOMP_FILTER_FLAG_NEW_LISTENER\"" },
	{ "{" BASE ",'linux':{'rootfsPropagation':'recursive'}}",
	  "config.json: linux.rootfsPropagation: unknown propagation \"recursive\"" },
	{ "{" BASE ",'linux':{'maskedPaths':['/proc/kcore','proc/keys']}}",
	  "config.json: linux.maskedPaths[1]: \"proc/keys\" is not an absolute path" },
	{ "{" BASE ",'linux':{'personality':{'domain':'LINUX64'}}}",
	  "config.json: linux.personality.domain: unknown domain \"LINUX64\" (expected LINUX or "
	  "LINUX32)" },
	{ "{" BASE ",'linux':{'memoryPolicy':{'mode':'MPOL_BIND'}}}",
	  "config.json: linux.memoryPolicy.nodes: required with MPOL_BIND" },
	{ "{" BASE ",'linux':{'intelRdt':{'closID':'../../tasks'}}}",
	  "config.json: linux.intelRdt.closID: \"../../tasks\" is not a valid group name" },
	{ "{" BASE ",'linux':{'netDevices':{'eth0':{}}}}",
	  "config.json: linux.netDevices: requires a network namespace" },
	{ "{" BASE ",'linux':{'namespaces':[{'type':'network'}],'netDevices':{'eth0':"
	  "{'name':'../x'}}}}",
	  "config.json: linux.netDevices[\"eth0\"].name: not a valid interface name" },
	/* control characters in names are escaped in messages */
	{ "{" BASE ",'process':{'args':['sh'],'cwd':'/','capabilities':{'bounding':"
	  "['CAP_\\u001b[31mX']}}}",
	  "config.json: process.capabilities.bounding[0]: unknown capability \"CAP_\\x1b[31mX\"" },
};

static void test_bad_inputs(void **state)
{
	struct hrun_error err;

	(void)state;
	assert_true(sizeof(bad_cases) / sizeof(bad_cases[0]) >= 45);
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char *j = jq(bad_cases[i].json);
		const char *got = outcome(j, strlen(j), &err);

		if (strcmp(got, bad_cases[i].msg) != 0)
			fail_msg("case %zu %s\n  want: %s\n  got:  %s", i, bad_cases[i].json,
				 bad_cases[i].msg, got);
		free(j);
	}
}

/* Inputs that cannot be written as C string literals in the table. */
static void expect_bytes(const char *data, size_t len, const char *msg)
{
	struct hrun_error err;
	const char *got = outcome(data, len, &err);

	if (strcmp(got, msg) != 0)
		fail_msg("want: %s\n  got:  %s", msg, got);
}

static void test_hostile_bytes(void **state)
{
	static const char nul[] = "{\"ociVersion\":\"1.3.0\0\"}";
	static const char ff[] = "{\"ociVersion\":\"1.3\xff\"}";
	static const char overlong[] = "{\"a\":\"\xc0\xaf\"}";
	static const char surrogate[] = "{\"a\":\"\xed\xa0\x80\"}";
	static const char toobig[] = "{\"a\":\"\xf4\x90\x80\x80\"}";
	static const char cut[] = "{\"a\":\"\xe2\x82\"}";

	(void)state;
	expect_bytes(nul, sizeof(nul) - 1, "config.json:1:21: embedded NUL byte");
	expect_bytes(ff, sizeof(ff) - 1, "config.json:1:19: invalid UTF-8");
	expect_bytes(overlong, sizeof(overlong) - 1, "config.json:1:7: invalid UTF-8");
	expect_bytes(surrogate, sizeof(surrogate) - 1, "config.json:1:7: invalid UTF-8");
	expect_bytes(toobig, sizeof(toobig) - 1, "config.json:1:7: invalid UTF-8");
	expect_bytes(cut, sizeof(cut) - 1, "config.json:1:7: invalid UTF-8");
}

/* LEVELS objects nested as {"K":{"K":...1...}} */
static char *nested(const char *key, size_t levels, size_t *len)
{
	size_t kl = strlen(key) + 4, n = levels * (kl + 1) + 1;
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < levels; i++)
		sprintf(s + i * kl, "{\"%s\":", key);
	s[levels * kl] = '1';
	memset(s + levels * kl + 1, '}', levels);
	s[n] = '\0';
	*len = n;
	return s;
}

static void test_deep_nesting(void **state)
{
	const size_t n = 100000;
	char *deep = malloc(2 * n);
	struct hrun_error err;
	size_t len;

	(void)state;
	assert_non_null(deep);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	expect_bytes(deep, 2 * n, "config.json:1:129: nesting deeper than 128 levels");
	free(deep);

	/* Objects count too; 128 levels are still accepted (and ignored). */
	deep = nested("a", 128, &len);
	expect_bytes(deep, len, "config.json: ociVersion: required");
	free(deep);
	deep = nested("a", 129, &len);
	expect_bytes(deep, len, "config.json:1:641: nesting deeper than 128 levels");
	free(deep);
	deep = nested("ociVersion", 100, &len);
	assert_null(hrun_spec_parse(deep, len, "config.json", &err));
	assert_string_equal(err.msg, "config.json: ociVersion: expected string, got object");
	free(deep);
}

static void test_huge_inputs(void **state)
{
	size_t big = HRUN_JSON_MAX_SIZE + 1;
	char *data = malloc(big);
	struct hrun_error err;
	char *digits;

	(void)state;
	assert_non_null(data);
	memset(data, ' ', big);
	expect_bytes(data, big, "config.json: document too large (16777217 bytes, limit 16777216)");
	free(data);

	/* A 100,000-digit number is reported, cut short. */
	digits = malloc(100100);
	assert_non_null(digits);
	strcpy(digits, "{\"process\":{\"oomScoreAdj\":");
	memset(digits + strlen(digits), '9', 100000);
	strcpy(digits + 26 + 100000, "}}");
	hrun_error_clear(&err);
	assert_null(hrun_spec_parse(digits, strlen(digits), "config.json", &err));
	assert_string_equal(err.msg, "config.json: process.oomScoreAdj: value "
				     "99999999999999999999999999999999999999999999... out of range "
				     "for int32");
	free(digits);
}

/* --- Loading from disk ------------------------------------------------------- */

static void test_load(void **state)
{
	char dir[] = "/tmp/hrun-test-XXXXXX", path[128], fifo[128];
	struct hrun_error err;
	struct hrun_spec *s;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/config.json", dir);

	assert_null(hrun_spec_load(path, &err));
	assert_int_equal(err.code, ENOENT);
	assert_non_null(strstr(err.msg, "open \""));
	assert_non_null(strstr(err.msg, "/config.json\": No such file or directory"));

	assert_null(hrun_spec_load(dir, &err));
	assert_non_null(strstr(err.msg, "not a regular file"));

	/* A FIFO must be refused at once, not waited on. */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_null(hrun_spec_load(fifo, &err));
	assert_non_null(strstr(err.msg, "not a regular file"));
	unlink(fifo);

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"},\"hostname\":7}", f);
	fclose(f);
	assert_null(hrun_spec_load(path, &err));
	assert_true(strncmp(err.msg, path, strlen(path)) == 0);
	assert_string_equal(err.msg + strlen(path), ": hostname: expected string, got number");

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"}}", f);
	fclose(f);
	s = hrun_spec_load(path, &err);
	assert_non_null(s);
	assert_int_equal(hrun_spec_validate(s, path, &err), 0);
	hrun_spec_free(s);

	/* Sparse, so the test stays cheap. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, HRUN_JSON_MAX_SIZE + 1), 0);
	close(fd);
	assert_null(hrun_spec_load(path, &err));
	assert_int_equal(err.code, EFBIG);
	assert_non_null(strstr(err.msg, "file too large (16777217 bytes, limit 16777216)"));

	unlink(path);
	rmdir(dir);
}

/* --- Name tables ----------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	assert_int_equal(hrun_cap_from_name("CAP_CHOWN"), 0);
	assert_int_equal(hrun_cap_from_name("CAP_SYS_ADMIN"), 21);
	assert_int_equal(hrun_cap_from_name("CAP_CHECKPOINT_RESTORE"), HRUN_CAP_LAST);
	assert_int_equal(hrun_cap_from_name("CAP_NOPE"), -1);
	assert_int_equal(hrun_cap_from_name(NULL), -1);
	for (int i = 0; i <= HRUN_CAP_LAST; i++)
		assert_int_equal(hrun_cap_from_name(hrun_cap_name(i)), i);
	assert_null(hrun_cap_name(HRUN_CAP_LAST + 1));
	assert_null(hrun_cap_name(-1));
	assert_int_equal(hrun_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
	assert_int_equal(hrun_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
	assert_int_equal(hrun_rlimit_from_name("RLIMIT_nofile"), -1);
	for (int t = 0; t < HRUN_NS_COUNT; t++)
		assert_int_equal(hrun_ns_type_from_name(hrun_ns_type_name(t)), t);
	assert_string_equal(hrun_ns_type_name(HRUN_NS_NETWORK), "network");
	assert_int_equal(hrun_ns_type_from_name("net"), -1);
	assert_null(hrun_ns_type_name(HRUN_NS_COUNT));
	assert_null(hrun_spec_find_ns(NULL, HRUN_NS_PID));
	hrun_spec_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),   cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_minimal), cmocka_unit_test(test_absent_vs_zero),
		cmocka_unit_test(test_null_is_absent), cmocka_unit_test(test_uint64_limits),
		cmocka_unit_test(test_template_root), cmocka_unit_test(test_template_rootless),
		cmocka_unit_test(test_bad_inputs),    cmocka_unit_test(test_hostile_bytes),
		cmocka_unit_test(test_deep_nesting),  cmocka_unit_test(test_huge_inputs),
		cmocka_unit_test(test_load),	      cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
