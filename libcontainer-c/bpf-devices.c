#define _GNU_SOURCE
#include "bpf-devices.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Registers: r1 the context on entry; r2 the access asked for, r3 the
 * device type, r4 major, r5 minor, r6 scratch; r0 the verdict. */
enum { R0, R1, R2, R3, R4, R5, R6 };

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
}

/* dst = *(u32 *)(r1 + off): the context's fields are 32 bits wide. */
static struct bpf_insn load_ctx(uint8_t dst, int16_t off)
{
	return insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, off, 0);
}

/* 32-bit operations throughout: the fields are u32, and a 64-bit compare
 * would sign-extend an immediate above 2^31. */
static struct bpf_insn alu32_k(uint8_t op, uint8_t dst, int32_t imm)
{
	return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}

static struct bpf_insn jmp32_k(uint8_t op, uint8_t dst, int32_t imm, int16_t off)
{
	return insn(BPF_JMP32 | op | BPF_K, dst, 0, off, imm);
}

static int devcg_type(char type)
{
	return type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
}

/* The access bits of cgroup-devices.h are the kernel's BPF_DEVCG_ACC_*. */
_Static_assert(HRUN_DEV_MKNOD == BPF_DEVCG_ACC_MKNOD && HRUN_DEV_READ == BPF_DEVCG_ACC_READ &&
		       HRUN_DEV_WRITE == BPF_DEVCG_ACC_WRITE,
	       "access bits");

/* One exception: skip to the next unless it covers the device; then, under
 * a default deny, allow when it grants every bit asked for; under a
 * default allow, deny when it names any of them. */
static size_t exception(const struct hrun_dev_state *st, const struct hrun_dev_exception *e,
			struct bpf_insn *out)
{
	size_t len = 6 + (e->major != HRUN_DEV_ANY) + (e->minor != HRUN_DEV_ANY), k = 0;

#define NEXT ((int16_t)(len - k - 1))
	out[k] = jmp32_k(BPF_JNE, R3, devcg_type(e->type), NEXT);
	k++;
	if (e->major != HRUN_DEV_ANY) {
		out[k] = jmp32_k(BPF_JNE, R4, (int32_t)(uint32_t)e->major, NEXT);
		k++;
	}
	if (e->minor != HRUN_DEV_ANY) {
		out[k] = jmp32_k(BPF_JNE, R5, (int32_t)(uint32_t)e->minor, NEXT);
		k++;
	}
	out[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, R6, R2, 0, 0);
	if (st->default_allow) {
		out[k++] = alu32_k(BPF_AND, R6, (int32_t)e->access);
		out[k] = jmp32_k(BPF_JEQ, R6, 0, NEXT);
		k++;
	} else {
		out[k++] = alu32_k(BPF_AND, R6, (int32_t)~e->access);
		out[k] = jmp32_k(BPF_JNE, R6, 0, NEXT);
		k++;
	}
#undef NEXT
	out[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, st->default_allow ? 0 : 1);
	out[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return k;
}

int hrun_bpf_devices_program(const struct hrun_dev_state *st, struct bpf_insn **insns, size_t *n,
			     struct hrun_error *err)
{
	size_t max = 8 + st->n * 8, k = 0;
	struct bpf_insn *p = calloc(max, sizeof(*p));

	if (!p)
		return hrun_error_errno(err, "device program");
	/* struct bpf_cgroup_dev_ctx: access_type is (access << 16) | type. */
	p[k++] = load_ctx(R2, offsetof(struct bpf_cgroup_dev_ctx, access_type));
	p[k++] = insn(BPF_ALU | BPF_MOV | BPF_X, R3, R2, 0, 0);
	p[k++] = alu32_k(BPF_AND, R3, 0xffff);
	p[k++] = alu32_k(BPF_RSH, R2, 16);
	p[k++] = load_ctx(R4, offsetof(struct bpf_cgroup_dev_ctx, major));
	p[k++] = load_ctx(R5, offsetof(struct bpf_cgroup_dev_ctx, minor));
	for (size_t i = 0; i < st->n; i++)
		k += exception(st, &st->v[i], p + k);
	p[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, st->default_allow ? 1 : 0);
	p[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	*insns = p;
	*n = k;
	return 0;
}

/* --- the kernel side ----------------------------------------------------- */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* The verifier's last word, for the error message. */
static void last_line(char *log, char *out, size_t len)
{
	size_t n = strlen(log);
	char *line;

	while (n && log[n - 1] == '\n')
		log[--n] = '\0';
	line = strrchr(log, '\n');
	snprintf(out, len, "%s", line ? line + 1 : log);
}

static int load(const struct bpf_insn *insns, size_t n, struct hrun_error *err)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)n;
	/* The kernel looks at the license only for helpers restricted to
	 * GPL programs; this one calls no helper at all. */
	attr.license = (uint64_t)(uintptr_t)"GPL";
	snprintf(attr.prog_name, sizeof(attr.prog_name), "%s", HRUN_BPF_DEVICES_NAME);
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0)
		return fd;
	if (errno == EINVAL || errno == EACCES) {
		/* Again with the verifier's log, to say why. */
		_cleanup_free_ char *log = calloc(1, 65536);
		char why[256] = "";
		int saved = errno;
		if (log) {
			attr.log_level = 1;
			attr.log_buf = (uint64_t)(uintptr_t)log;
			attr.log_size = 65536;
			fd = sys_bpf(BPF_PROG_LOAD, &attr);
			if (fd >= 0)
				return fd;
			last_line(log, why, sizeof(why));
		}
		errno = saved;
		if (why[0])
			return hrun_error_errno(err, "load the device program (%s)", why);
	}
	return hrun_error_errno(err, "load the device program");
}

/* hrun's programs attached to the cgroup itself (not its ancestors'), as
 * fds; the count in *N. */
static int ours(int cgroup_fd, int *fds, size_t max, size_t *n, struct hrun_error *err)
{
	uint32_t ids[64];
	union bpf_attr attr;

	*n = 0;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgroup_fd;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = sizeof(ids) / sizeof(ids[0]);
	if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
		return hrun_error_errno(err, "query the cgroup's device programs");
	for (uint32_t i = 0; i < attr.query.prog_cnt && *n < max; i++) {
		struct bpf_prog_info info;
		union bpf_attr get;
		int fd;

		memset(&get, 0, sizeof(get));
		get.prog_id = ids[i];
		fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
		if (fd < 0) {
			if (errno == ENOENT) /* detached and freed meanwhile */
				continue;
			return hrun_error_errno(err, "open device program %u", ids[i]);
		}
		memset(&info, 0, sizeof(info));
		memset(&get, 0, sizeof(get));
		get.info.bpf_fd = (uint32_t)fd;
		get.info.info_len = sizeof(info);
		get.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &get) == 0 &&
		    strncmp(info.name, HRUN_BPF_DEVICES_NAME, sizeof(info.name)) == 0)
			fds[(*n)++] = fd;
		else
			close(fd);
	}
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

int hrun_bpf_devices_install(int cgroup_fd, const struct hrun_dev_state *st, struct hrun_error *err)
{
	_cleanup_free_ struct bpf_insn *insns = NULL;
	_cleanup_close_ int prog = -1;
	union bpf_attr attr;
	int old[64];
	size_t n, n_old;
	int r = 0;

	if (hrun_bpf_devices_program(st, &insns, &n, err) < 0)
		return -1;
	prog = load(insns, n, err);
	if (prog < 0)
		return -1;
	/* Found before the new one is attached, which has the same name. */
	if (ours(cgroup_fd, old, sizeof(old) / sizeof(old[0]), &n_old, err) < 0)
		return -1;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
		r = hrun_error_errno(err, "attach the device program");
		goto out;
	}
	for (size_t i = 0; i < n_old; i++) {
		memset(&attr, 0, sizeof(attr));
		attr.target_fd = (uint32_t)cgroup_fd;
		attr.attach_bpf_fd = (uint32_t)old[i];
		attr.attach_type = BPF_CGROUP_DEVICE;
		if (sys_bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT && r == 0)
			r = hrun_error_errno(err, "detach the previous device program (both now apply)");
	}
	hrun_debug("device program attached: %zu instructions, %zu replaced", n, n_old);
out:
	close_all(old, n_old);
	return r;
}
