/* libFuzzer target for seccomp profiles (a linux.seccomp object): parse,
 * serialise to the canonical text that keys the filter cache (it must
 * parse back to the same text), and compile with hrun's compiler, whose
 * output, ENOSYS stub included, must be a program the kernel would take:
 * every jump lands inside it and it ends in a return.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -iquote libcontainer-c \
 *     libcontainer-c/{json,spec,capnames,error,seccomp,seccomp-cache}.c \
 *     tests/fuzz/fuzz_seccomp.c -lyajl -lseccomp -o fuzz_seccomp
 *   ./fuzz_seccomp tests/fuzz/corpus/seccomp */
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seccomp-cache.h"
#include "seccomp.h"
#include "spec.h"

/* The library refers to the build's precompiled profiles; none here. */
const struct hrun_seccomp_builtin hrun_seccomp_builtins[1];
const size_t hrun_seccomp_builtins_n = 0;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_program(const struct hrun_seccomp_prog *p)
{
	if (!p->insns || p->len == 0 || p->len > BPF_MAXINSNS)
		abort();
	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *f = &p->insns[pc];

		if (BPF_CLASS(f->code) != BPF_JMP)
			continue;
		if (BPF_OP(f->code) == BPF_JA) {
			if (pc + 1 + f->k >= p->len)
				abort();
		} else if (pc + 1 + f->jt >= p->len || pc + 1 + f->jf >= p->len) {
			abort();
		}
	}
	if (BPF_CLASS(p->insns[p->len - 1].code) != BPF_RET)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrun_error err;
	struct hrun_seccomp sc, again;
	struct hrun_seccomp_prog prog;
	char *json, *json2;

	if (hrun_seccomp_parse((const char *)data, size, "profile.json", &sc, &err) < 0)
		return 0;
	json = hrun_seccomp_to_json(&sc, &err);
	if (!json || hrun_seccomp_parse(json, strlen(json), "canonical", &again, &err) < 0)
		abort();
	json2 = hrun_seccomp_to_json(&again, &err);
	if (!json2 || strcmp(json, json2) != 0)
		abort();
	if (hrun_seccomp_compile_profile(&sc, &prog, &err) == 0) {
		check_program(&prog);
		hrun_seccomp_prog_free(&prog);
	}
	free(json2);
	free(json);
	hrun_seccomp_clear(&again);
	hrun_seccomp_clear(&sc);
	return 0;
}
