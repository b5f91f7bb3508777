/* Namespaces: clone flags, joining by path, and uid/gid maps. */
#ifndef HRUN_NAMESPACE_H
#define HRUN_NAMESPACE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "spec.h"

int hrun_ns_clone_flag(enum hrun_ns_type type);

/* The namespaces the config asks hrun to create, as clone flags. */
uint64_t hrun_ns_new_flags(const struct hrun_spec *spec);

/* True when the config joins at least one existing namespace by path. */
bool hrun_ns_joins_any(const struct hrun_spec *spec);

/* The namespaces to join, opened as fds in join order (user first, so
 * that the others are joined with the privileges it grants). */
struct hrun_ns_join {
	size_t n;
	int fds[HRUN_NS_COUNT];
	int types[HRUN_NS_COUNT];
};

int hrun_ns_open_joins(const struct hrun_spec *spec, struct hrun_ns_join *joins,
		       struct hrun_error *err);
int hrun_ns_setns_all(struct hrun_ns_join *joins, struct hrun_error *err);
void hrun_ns_close_joins(struct hrun_ns_join *joins);

/* Write PID's uid_map and gid_map through a verified procfs handle. */
int hrun_ns_write_id_maps(pid_t pid, const struct hrun_idmaps *uids,
			  const struct hrun_idmaps *gids, struct hrun_error *err);

/* Set the UTS names (in the container's own UTS namespace). */
int hrun_ns_set_uts(const struct hrun_spec *spec, struct hrun_error *err);

/* In a network namespace of the container's own, bring the loopback
 * interface up, as runc does: localhost works without CAP_NET_ADMIN. */
int hrun_ns_loopback_up(const struct hrun_spec *spec, struct hrun_error *err);

#endif
