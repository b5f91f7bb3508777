/* Hardening levels, the host's hrun.conf, secure defaults and the rule
 * table shared by `strict` enforcement and (later) `hrun audit`.
 *
 * This is the single place where hrun fills what a config leaves open. */
#ifndef HRUN_POLICY_H
#define HRUN_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "spec.h"
#include "userns-pool.h"

#define HRUN_HOST_CONFIG "/etc/hrun/hrun.conf"
#define HRUN_HARDENING_ANNOTATION "io.hrun.hardening"

enum hrun_hardening {
	HRUN_HARDENING_COMPAT,
	HRUN_HARDENING_DEFAULT,
	HRUN_HARDENING_STRICT,
};

struct hrun_host_config {
	enum hrun_hardening hardening;
	/* Whether a config's annotation may lower the host's level. */
	bool allow_annotation_lowering;
	/* userns_pool = FIRST:COUNT: containers without a user namespace of
	 * their own get a slice of it (count 0: off). */
	struct hrun_userns_pool userns_pool;
	char userns_pool_dir[256];
	/* Compiled seccomp profiles of configs (empty: no cache). */
	char seccomp_cache_dir[256];
	/* landlock_policy = PATH: a Landlock policy file every container's
	 * processes are confined by, as a layer of its own ("": none). */
	char landlock_policy[256];
};

int hrun_hardening_from_name(const char *name); /* -1 when unknown */
const char *hrun_hardening_name(enum hrun_hardening level);

/* Read PATH; a missing file means the built-in defaults (level default). */
int hrun_host_config_load(const char *path, struct hrun_host_config *conf, struct hrun_error *err);

/* The level for SPEC: the host's, overridden by the --hardening flag
 * (FLAG < 0: none), then raised (or, when the host allows it, lowered) by
 * the io.hrun.hardening annotation. */
int hrun_policy_level(const struct hrun_host_config *conf, int flag, const struct hrun_spec *spec,
		      enum hrun_hardening *out, struct hrun_error *err);

/* Fill the level's defaults into SPEC, then at `strict` refuse a config
 * that breaks the baseline, naming the rule. */
int hrun_policy_apply(struct hrun_spec *spec, enum hrun_hardening level, struct hrun_error *err);

/* At every level: refuse a bind mount whose source is inside one of OWN
 * (hrun's state root, seccomp cache, user namespace pool records; empty
 * entries skipped), compared by device and inode: a container given those
 * could rewrite other containers' state or filters. */
int hrun_policy_check_binds(const struct hrun_spec *spec, const char *const *own, size_t n_own,
			    struct hrun_error *err);

struct hrun_policy_rule {
	const char *id;
	const char *severity; /* high, medium, low */
	const char *cis;      /* CIS Docker Benchmark section, or NULL */
	const char *title;
	const char *fix;
	/* Returns true when SPEC breaks the rule, describing it in FOUND. */
	bool (*broken)(const struct hrun_spec *spec, char *found, size_t len);
};

/* hrun's masked and read-only paths, filled in where the config is
 * silent and written by `hrun spec`. */
extern const char *const hrun_default_masked[];
extern const size_t hrun_default_masked_n;
extern const char *const hrun_default_readonly[];
extern const size_t hrun_default_readonly_n;

/* The minimal capability set of the default level. */
extern const char *const hrun_default_caps[];
extern const size_t hrun_default_caps_n;

/* linux.resources.pids.limit of the default level when the config sets
 * none: room for a busy service, not for a fork bomb. */
#define HRUN_DEFAULT_PIDS_LIMIT 4096

#endif
