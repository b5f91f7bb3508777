#define _GNU_SOURCE
#include "seccomp.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "seccomp-cache.h"

struct named {
	const char *name;
	uint32_t value;
};

/* --- names ---------------------------------------------------------------- */

/* Every architecture the runtime-spec names that this libseccomp knows;
 * the newer ones only exist in newer libseccomp releases. */
#ifdef SCMP_ARCH_LOONGARCH64
#define ARCH_LOONGARCH64(X) X(LOONGARCH64)
#else
#define ARCH_LOONGARCH64(X)
#endif
#ifdef SCMP_ARCH_M68K
#define ARCH_M68K(X) X(M68K)
#else
#define ARCH_M68K(X)
#endif
#ifdef SCMP_ARCH_SH
#define ARCH_SH(X) X(SH) X(SHEB)
#else
#define ARCH_SH(X)
#endif
#define ARCHES(X)                                                                               \
	X(X86) X(X86_64) X(X32) X(ARM) X(AARCH64) ARCH_LOONGARCH64(X) ARCH_M68K(X) X(MIPS)      \
	X(MIPS64) X(MIPS64N32) X(MIPSEL) X(MIPSEL64) X(MIPSEL64N32) X(PPC) X(PPC64) X(PPC64LE) \
	X(RISCV64) X(S390) X(S390X) ARCH_SH(X) X(PARISC) X(PARISC64)
#define ARCH_ENTRY(n) { "SCMP_ARCH_" #n, SCMP_ARCH_##n },
#define ARCH_NAME(n) "SCMP_ARCH_" #n,

static const struct named arch_table[] = { ARCHES(ARCH_ENTRY) };
const char *const hrun_seccomp_archs[] = { ARCHES(ARCH_NAME) NULL };

/* SCMP_ACT_KILL is the historical name of KILL_THREAD. ERRNO and TRACE
 * carry errnoRet (default EPERM, as runc has it) in their low 16 bits.
 * NOTIFY hands the call to the agent at listenerPath (seccomp-notify.h). */
#define ACTIONS(X)                                                                   \
	X(KILL, SCMP_ACT_KILL_THREAD) X(KILL_PROCESS, SCMP_ACT_KILL_PROCESS)          \
	X(KILL_THREAD, SCMP_ACT_KILL_THREAD) X(TRAP, SCMP_ACT_TRAP)                   \
	X(ERRNO, SCMP_ACT_ERRNO(0)) X(TRACE, SCMP_ACT_TRACE(0)) X(ALLOW, SCMP_ACT_ALLOW) \
	X(LOG, SCMP_ACT_LOG) X(NOTIFY, SCMP_ACT_NOTIFY)
#define ACTION_ENTRY(n, v) { "SCMP_ACT_" #n, v },
#define ACTION_NAME(n, v) "SCMP_ACT_" #n,

static const struct named action_table[] = { ACTIONS(ACTION_ENTRY) };
const char *const hrun_seccomp_actions[] = { ACTIONS(ACTION_NAME) NULL };

static const struct named op_table[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
	{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
	{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};
const char *const hrun_seccomp_operators[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",
					       "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
					       "SCMP_CMP_MASKED_EQ", NULL };

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

/* The kernel flag each runtime-spec flag stands for, and the libseccomp
 * attribute that checks the kernel has it (_SCMP_FLTATR_MIN: none in the
 * libseccomp releases we build with; the kernel is asked directly). */
static const struct flag {
	const char *name;
	unsigned int kernel;
	enum scmp_filter_attr attr;
} flag_table[] = {
	{ "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC, SCMP_FLTATR_CTL_TSYNC },
	{ "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG, SCMP_FLTATR_CTL_LOG },
	{ "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW, SCMP_FLTATR_CTL_SSB },
	/* Only means something with a notify listener (see listener_flags). */
	{ "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, _SCMP_FLTATR_MIN },
};
const char *const hrun_seccomp_known_flags[] = { "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
						 "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
						 "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", NULL };

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct named *lookup(const struct named *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

static const struct flag *lookup_flag(const char *name)
{
	for (size_t i = 0; i < N(flag_table); i++)
		if (strcmp(flag_table[i].name, name) == 0)
			return &flag_table[i];
	return NULL;
}

const char *hrun_seccomp_libseccomp_version(void)
{
	static char v[32];
	const struct scmp_version *sv = seccomp_version();

	if (!v[0])
		snprintf(v, sizeof(v), "%u.%u.%u", sv->major, sv->minor, sv->micro);
	return v;
}

/* --- compiling -------------------------------------------------------------- */

static void ctx_release(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

/* The libseccomp action for ACTION with its optional errnoRet. PATH names
 * the JSON object in messages. */
static int resolve_action(const char *action, const struct hrun_opt_u64 *errno_ret, const char *path,
			  uint32_t *out, struct hrun_error *err)
{
	const struct named *a = lookup(action_table, N(action_table), action);
	uint64_t data = EPERM;

	if (!a)
		return hrun_error_plain(err, EINVAL, "%s: unknown action \"%s\"", path, action);
	*out = a->value;
	if (a->value != SCMP_ACT_ERRNO(0) && a->value != SCMP_ACT_TRACE(0))
		return 0;
	if (errno_ret->set)
		data = errno_ret->v;
	/* SECCOMP_RET_DATA is 16 bits wide. */
	if (data > 0xffff)
		return hrun_error_plain(err, ERANGE, "%s: errnoRet %llu out of range 0..65535", path,
					(unsigned long long)data);
	*out |= (uint32_t)data;
	return 0;
}

/* Native first (libseccomp always has it: runc keeps it too), then those
 * listed; a syscall from an architecture not in the filter meets
 * libseccomp's bad-architecture action, which kills. */
static int add_arches(scmp_filter_ctx ctx, const struct hrun_seccomp *sc, struct hrun_error *err)
{
	for (size_t i = 0; i < sc->architectures.n; i++) {
		const char *name = sc->architectures.v[i];
		const struct named *a = lookup(arch_table, N(arch_table), name);
		int rc;

		if (!a)
			return hrun_error_plain(err, EINVAL,
						"linux.seccomp.architectures[%zu]: unknown architecture \"%s\" (libseccomp %s)",
						i, name, hrun_seccomp_libseccomp_version());
		rc = seccomp_arch_add(ctx, a->value);
		if (rc < 0 && rc != -EEXIST)
			return hrun_error_set(err, -rc, "linux.seccomp.architectures[%zu]: add %s", i, name);
	}
	return 0;
}

/* Whether the kernel takes FLAGS: with no filter given, a kernel that
 * knows every flag (and their combination) fails on the missing program
 * with EFAULT, one that does not with EINVAL. Nothing is loaded. */
static bool kernel_takes(unsigned int flags)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, NULL) < 0 && errno == EFAULT;
}

/* Flags are passed to seccomp(2) by the load; setting the matching
 * libseccomp attribute (or asking the kernel) here checks, before any
 * clone, that the kernel supports them. */
static int add_flags(scmp_filter_ctx ctx, const struct hrun_seccomp *sc, unsigned int *kflags,
		     struct hrun_error *err)
{
	for (size_t i = 0; i < sc->flags.n; i++) {
		const char *name = sc->flags.v[i];
		const struct flag *f = lookup_flag(name);
		int rc;

		if (!f)
			return hrun_error_plain(err, EINVAL, "linux.seccomp.flags[%zu]: unknown flag \"%s\"", i,
						name);
		if (f->attr == _SCMP_FLTATR_MIN)
			rc = kernel_takes(f->kernel | SECCOMP_FILTER_FLAG_NEW_LISTENER) ? 0 : -ENOTSUP;
		else
			rc = seccomp_attr_set(ctx, f->attr, 1);
		if (rc < 0)
			return hrun_error_set(err, -rc, "linux.seccomp.flags[%zu]: %s not supported by this kernel or libseccomp %s",
					      i, name, hrun_seccomp_libseccomp_version());
		*kflags |= f->kernel;
	}
	return 0;
}

/* How a rule's args combine, as runc and crun do it (the runtime-spec does
 * not say; profiles written for them rely on it): when every arg has its
 * own index they are ANDed in one rule; as soon as one index appears
 * twice, every arg becomes a rule of its own, so they are all ORed (e.g.
 * personality with args[0] == 0 or == 8 or ...; this also ORs args of other
 * indices in that rule, exactly as runc does). */
static int add_rule(scmp_filter_ctx ctx, uint32_t act, int nr, const struct hrun_seccomp_syscall *sys,
		    struct scmp_arg_cmp *cmp)
{
	unsigned int seen = 0;
	bool repeated = false;
	int rc;

	for (size_t j = 0; j < sys->n_args; j++) {
		const struct hrun_seccomp_arg *a = &sys->args[j];

		cmp[j] = (struct scmp_arg_cmp){
			.arg = a->index,
			.op = (enum scmp_compare)lookup(op_table, N(op_table), a->op)->value,
			/* MASKED_EQ: value is the mask, valueTwo the result. */
			.datum_a = a->value,
			.datum_b = a->value_two.set ? a->value_two.v : 0,
		};
		repeated |= (seen & (1u << a->index)) != 0;
		seen |= 1u << a->index;
	}
	if (!repeated)
		return seccomp_rule_add_array(ctx, act, nr, (unsigned int)sys->n_args, cmp);
	for (size_t j = 0; j < sys->n_args; j++) {
		rc = seccomp_rule_add_array(ctx, act, nr, 1, &cmp[j]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int check_args(const struct hrun_seccomp_syscall *sys, size_t i, struct hrun_error *err)
{
	for (size_t j = 0; j < sys->n_args; j++) {
		const struct hrun_seccomp_arg *a = &sys->args[j];

		if (a->index > 5)
			return hrun_error_plain(err, EINVAL,
						"linux.seccomp.syscalls[%zu].args[%zu].index: value %u out of range 0..5",
						i, j, a->index);
		if (!a->op || !lookup(op_table, N(op_table), a->op))
			return hrun_error_plain(err, EINVAL,
						"linux.seccomp.syscalls[%zu].args[%zu].op: unknown operator \"%s\"", i,
						j, a->op ? a->op : "");
	}
	return 0;
}

static int add_syscall(scmp_filter_ctx ctx, uint32_t def, const struct hrun_seccomp_syscall *sys, size_t i,
		       struct hrun_error *err)
{
	_cleanup_free_ struct scmp_arg_cmp *cmp = NULL;
	char path[64];
	uint32_t act;

	snprintf(path, sizeof(path), "linux.seccomp.syscalls[%zu]", i);
	if (!sys->action)
		return hrun_error_plain(err, EINVAL, "%s.action: required", path);
	if (resolve_action(sys->action, &sys->errno_ret, path, &act, err) < 0)
		return -1;
	if (check_args(sys, i, err) < 0)
		return -1;
	/* libseccomp refuses a rule that repeats the default action. */
	if (act == def)
		return 0;
	cmp = calloc(sys->n_args ? sys->n_args : 1, sizeof(*cmp));
	if (!cmp)
		return hrun_error_errno(err, "calloc");
	for (size_t j = 0; j < sys->names.n; j++) {
		const char *name = sys->names.v[j];
		int nr = seccomp_syscall_resolve_name(name);
		int rc;

		/* A syscall this libseccomp does not know cannot be filtered;
		 * like runc, go on without it. */
		if (nr == __NR_SCMP_ERROR) {
			hrun_debug("seccomp: unknown syscall \"%s\" skipped", name);
			continue;
		}
		rc = add_rule(ctx, act, nr, sys, cmp);
		if (rc < 0)
			return hrun_error_set(err, -rc, "%s: add the rule for \"%s\"", path, name);
	}
	return 0;
}

/* The kernel takes at most BPF_MAXINSNS instructions. */
static int check_len(size_t bytes, struct hrun_error *err)
{
	if (bytes == 0 || bytes % sizeof(struct sock_filter) != 0)
		return hrun_error_plain(err, EINVAL, "seccomp: libseccomp exported a malformed program (%zu bytes)",
					bytes);
	if (bytes / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return hrun_error_plain(err, E2BIG,
					"linux.seccomp: the filter has %zu instructions, the kernel takes at most %d",
					bytes / sizeof(struct sock_filter), BPF_MAXINSNS);
	return 0;
}

#if SCMP_VER_MAJOR > 2 || (SCMP_VER_MAJOR == 2 && SCMP_VER_MINOR >= 6)
static int export_bpf(scmp_filter_ctx ctx, struct hrun_seccomp_prog *out, struct hrun_error *err)
{
	size_t len = 0;
	int rc = seccomp_export_bpf_mem(ctx, NULL, &len);

	if (rc < 0)
		return hrun_error_set(err, -rc, "seccomp: export the filter");
	if (check_len(len, err) < 0)
		return -1;
	out->insns = malloc(len);
	if (!out->insns)
		return hrun_error_errno(err, "malloc");
	rc = seccomp_export_bpf_mem(ctx, out->insns, &len);
	if (rc < 0)
		return hrun_error_set(err, -rc, "seccomp: export the filter");
	out->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}
#else
/* libseccomp < 2.6 only exports to an fd: a memfd, read back. */
static int export_bpf(scmp_filter_ctx ctx, struct hrun_seccomp_prog *out, struct hrun_error *err)
{
	_cleanup_close_ int fd = memfd_create("hrun-seccomp", MFD_CLOEXEC);
	struct stat st;
	size_t len, done = 0;
	int rc;

	if (fd < 0)
		return hrun_error_errno(err, "seccomp: memfd_create");
	rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		return hrun_error_set(err, -rc, "seccomp: export the filter");
	if (fstat(fd, &st) < 0)
		return hrun_error_errno(err, "seccomp: fstat the exported filter");
	len = (size_t)st.st_size;
	if (check_len(len, err) < 0)
		return -1;
	out->insns = malloc(len);
	if (!out->insns)
		return hrun_error_errno(err, "malloc");
	while (done < len) {
		ssize_t n = pread(fd, (char *)out->insns + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return hrun_error_set(err, n < 0 ? errno : EIO, "seccomp: read the exported filter");
		done += (size_t)n;
	}
	out->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}
#endif

static size_t count_names(const struct hrun_seccomp *sc)
{
	size_t n = 0;

	for (size_t i = 0; i < sc->n_syscalls; i++)
		n += sc->syscalls[i].names.n;
	return n;
}

/* --- the ENOSYS stub ------------------------------------------------------------ */

/* A syscall newer than every syscall the profile names is one its author
 * could not know about. It gets ENOSYS, whatever the default action says,
 * so that libc falls back to the older call (clone3 -> clone, openat2 ->
 * openat, ...) instead of failing with EPERM or being killed. This is a
 * short program run before libseccomp's: per architecture of the filter,
 * "nr > highest named nr" returns ENOSYS; anything else goes on to the
 * filter proper. Only for defaults that deny: an ALLOW, LOG, TRACE or
 * NOTIFY default already lets the new call reach someone who decides. */
struct arch_max {
	uint32_t arch;
	int max_nr;
};

static bool default_denies(uint32_t def)
{
	if (def == SCMP_ACT_ERRNO(ENOSYS))
		return false; /* the stub would change nothing */
	return def == SCMP_ACT_KILL_PROCESS || def == SCMP_ACT_KILL_THREAD || def == SCMP_ACT_TRAP ||
	       (def & SECCOMP_RET_ACTION_FULL) == SCMP_ACT_ERRNO(0);
}

static int highest_named(const struct hrun_seccomp *sc, uint32_t arch)
{
	int max = -1;

	for (size_t i = 0; i < sc->n_syscalls; i++)
		for (size_t j = 0; j < sc->syscalls[i].names.n; j++) {
			int nr = seccomp_syscall_resolve_name_arch(arch, sc->syscalls[i].names.v[j]);

			if (nr > max) /* pseudo-syscalls are negative */
				max = nr;
		}
	return max;
}

/* The architectures whose syscalls the stub checks: the native one and
 * those listed. x32 shares x86-64's audit value (its numbers carry bit 30),
 * so it has no block of its own; x86-64's block passes such numbers on. */
static size_t stub_arches(const struct hrun_seccomp *sc, struct arch_max *out, size_t cap)
{
	size_t n = 0;
	uint32_t native = seccomp_arch_native();

	for (size_t i = 0; i <= sc->architectures.n && n < cap; i++) {
		uint32_t arch = native;
		bool dup = false;

		if (i > 0) {
			const struct named *a = lookup(arch_table, N(arch_table), sc->architectures.v[i - 1]);
			if (!a)
				continue;
			arch = a->value;
		}
		if (arch == SCMP_ARCH_X32)
			continue;
		for (size_t k = 0; k < n; k++)
			dup |= out[k].arch == arch;
		if (dup)
			continue;
		out[n] = (struct arch_max){ .arch = arch, .max_nr = highest_named(sc, arch) };
		if (out[n].max_nr >= 0)
			n++;
	}
	return n;
}

#define X32_SYSCALL_BIT 0x40000000u

/* Prepend the stub to OUT's program. */
static int add_enosys_stub(const struct hrun_seccomp *sc, uint32_t def, struct hrun_seccomp_prog *out,
			   struct hrun_error *err)
{
	struct arch_max arches[N(arch_table) + 1];
	struct sock_filter stub[5 * (N(arch_table) + 1) + 1];
	size_t n_arches, len = 0, ret_at, total;
	struct sock_filter *prog;

	if (!default_denies(def))
		return 0;
	n_arches = stub_arches(sc, arches, N(arches));
	if (n_arches == 0)
		return 0;
	/* Each block is 4 instructions (5 on x86-64); one RET ENOSYS follows
	 * the blocks and the filter proper follows it. */
	ret_at = 0;
	for (size_t i = 0; i < n_arches; i++)
		ret_at += arches[i].arch == SCMP_ARCH_X86_64 ? 5 : 4;
	for (size_t i = 0; i < n_arches; i++) {
		bool x86_64 = arches[i].arch == SCMP_ARCH_X86_64;
		size_t block = x86_64 ? 5 : 4, next = len + block;

		stub[len] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
		len++;
		/* Another architecture: on to the next block (or past the RET). */
		stub[len] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arches[i].arch, 0,
							 (uint8_t)((next == ret_at ? ret_at + 1 : next) - len - 1));
		len++;
		stub[len] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
		len++;
		if (x86_64) {
			stub[len] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT,
								 (uint8_t)(ret_at + 1 - len - 1), 0);
			len++;
		}
		stub[len] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)arches[i].max_nr,
							 (uint8_t)(ret_at - len - 1), (uint8_t)(ret_at + 1 - len - 1));
		len++;
	}
	stub[len++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
	total = len + out->len;
	if (total > BPF_MAXINSNS)
		return hrun_error_plain(err, E2BIG,
					"linux.seccomp: the filter has %zu instructions, the kernel takes at most %d",
					total, BPF_MAXINSNS);
	prog = malloc(total * sizeof(*prog));
	if (!prog)
		return hrun_error_errno(err, "malloc");
	memcpy(prog, stub, len * sizeof(*prog));
	memcpy(prog + len, out->insns, out->len * sizeof(*prog));
	free(out->insns);
	out->insns = prog;
	out->len = (unsigned short)total;
	return 0;
}

static bool uses_notify(const struct hrun_seccomp *sc)
{
	for (size_t i = 0; i < sc->n_syscalls; i++)
		if (sc->syscalls[i].action && strcmp(sc->syscalls[i].action, "SCMP_ACT_NOTIFY") == 0)
			return true;
	return false;
}

/* A profile with a NOTIFY rule is loaded with NEW_LISTENER: the load
 * returns the listener fd, which goes to the agent at listenerPath. Its
 * return value being the fd, TSYNC can only report a failure with
 * TSYNC_ESRCH. Without a NOTIFY rule WAIT_KILLABLE_RECV has nothing to
 * apply to and the kernel would refuse it: dropped, as libseccomp does. */
static int listener_flags(const struct hrun_seccomp *sc, unsigned int *kflags, struct hrun_error *err)
{
	if (!uses_notify(sc)) {
		if (*kflags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
			hrun_debug("seccomp: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ignored: no SCMP_ACT_NOTIFY rule");
		*kflags &= ~(unsigned int)SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		return 0;
	}
	/* Validation says so too; the listener fd must have somewhere to go. */
	if (!sc->listener_path || !*sc->listener_path)
		return hrun_error_plain(err, EINVAL, "linux.seccomp: SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
	*kflags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	if (*kflags & SECCOMP_FILTER_FLAG_TSYNC)
		*kflags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
	if (!kernel_takes(*kflags))
		return hrun_error_plain(err, ENOTSUP, "linux.seccomp: this kernel cannot load a notifying filter with these flags");
	return 0;
}

static int compile(const struct hrun_seccomp *sc, struct hrun_seccomp_prog *out, struct hrun_error *err)
{
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = NULL;
	uint32_t def;

	if (!sc->default_action)
		return hrun_error_plain(err, EINVAL, "linux.seccomp.defaultAction: required");
	if (resolve_action(sc->default_action, &sc->default_errno_ret, "linux.seccomp.defaultAction", &def,
			   err) < 0)
		return -1;
	ctx = seccomp_init(def);
	if (!ctx)
		return hrun_error_plain(err, EINVAL, "linux.seccomp.defaultAction: libseccomp refused %s",
					sc->default_action);
	/* A syscall of an architecture not in the filter kills the whole
	 * process, not only the thread (libseccomp's default), which could
	 * leave a process hung on a dead thread. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		return hrun_error_plain(err, ENOTSUP, "seccomp: libseccomp %s cannot kill the process on a foreign architecture",
					hrun_seccomp_libseccomp_version());
	if (add_arches(ctx, sc, err) < 0 || add_flags(ctx, sc, &out->flags, err) < 0 ||
	    listener_flags(sc, &out->flags, err) < 0)
		return -1;
	/* A binary tree beats a linear scan for long profiles. runc's
	 * threshold, counted in names as runc counts them: libseccomp <= 2.5.4
	 * misbehaves with it on empty ones. */
	if (count_names(sc) > 32 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0)
		hrun_debug("seccomp: binary tree optimisation not available");
	for (size_t i = 0; i < sc->n_syscalls; i++)
		if (add_syscall(ctx, def, &sc->syscalls[i], i, err) < 0)
			return -1;
	if (export_bpf(ctx, out, err) < 0)
		return -1;
	return add_enosys_stub(sc, def, out, err);
}

int hrun_seccomp_compile(const struct hrun_spec *spec, const char *cache_dir, struct hrun_seccomp_prog *out,
			 struct hrun_error *err)
{
	_cleanup_free_ char *json = NULL;
	int rc;

	*out = (struct hrun_seccomp_prog){ 0 };
	if (!spec->linux_.seccomp.set)
		return 0;
	json = hrun_seccomp_to_json(&spec->linux_.seccomp, err);
	if (!json)
		return -1;
	rc = hrun_seccomp_builtin_lookup(json, out, err);
	if (rc == 0)
		rc = hrun_seccomp_cache_load(cache_dir, json, out);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (hrun_seccomp_compile_profile(&spec->linux_.seccomp, out, err) < 0)
		return -1;
	hrun_seccomp_cache_store(cache_dir, json, out);
	return 0;
}

int hrun_seccomp_compile_profile(const struct hrun_seccomp *sc, struct hrun_seccomp_prog *out,
				 struct hrun_error *err)
{
	*out = (struct hrun_seccomp_prog){ 0 };
	if (compile(sc, out, err) < 0) {
		hrun_seccomp_prog_free(out);
		return -1;
	}
	return 0;
}

void hrun_seccomp_prog_free(struct hrun_seccomp_prog *prog)
{
	free(prog->insns);
	*prog = (struct hrun_seccomp_prog){ 0 };
}

/* --- loading ------------------------------------------------------------------ */

int hrun_seccomp_load(const struct hrun_spec *spec, const struct hrun_seccomp_prog *prog, int *listener,
		      struct hrun_error *err)
{
	struct sock_fprog fprog;
	long rc;

	*listener = -1;
	if (!spec->linux_.seccomp.set)
		return 0;
	if (!prog || !prog->insns)
		return hrun_error_plain(err, EINVAL, "linux.seccomp: no compiled filter reached the container's process");
	fprog = (struct sock_fprog){ .len = prog->len, .filter = prog->insns };
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, prog->flags, &fprog);
	if (rc < 0)
		return hrun_error_errno(err, "load the seccomp filter");
	/* The kernel makes the listener O_CLOEXEC. */
	if (hrun_seccomp_has_listener(prog)) {
		*listener = (int)rc;
		return 0;
	}
	/* With TSYNC, a positive value is a thread that could not follow. */
	if (rc > 0)
		return hrun_error_plain(err, EBUSY, "load the seccomp filter: thread %ld could not be synchronised", rc);
	return 0;
}

bool hrun_seccomp_has_listener(const struct hrun_seccomp_prog *prog)
{
	return prog && prog->insns && (prog->flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

bool hrun_seccomp_flag_supported(const char *name)
{
	__attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = NULL;
	const struct flag *f = lookup_flag(name);

	if (!f)
		return false;
	if (f->attr == _SCMP_FLTATR_MIN)
		return kernel_takes(f->kernel | SECCOMP_FILTER_FLAG_NEW_LISTENER);
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	return ctx && seccomp_attr_set(ctx, f->attr, 1) == 0;
}
