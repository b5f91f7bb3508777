#define _GNU_SOURCE
#include "caps.h"

#include <errno.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "capnames.h"

/* The kernel's last capability: newer names in a config are skipped, so
 * one config serves old and new kernels alike. */
static int last_cap(void)
{
	static int last = -1;

	if (last < 0) {
		last = HRUN_CAP_LAST;
		while (last > 0 && prctl(PR_CAPBSET_READ, last) < 0)
			last--;
	}
	return last;
}

static uint64_t mask_of(const struct hrun_strv *set)
{
	uint64_t mask = 0;

	for (size_t i = 0; set->set && i < set->n; i++) {
		int cap = hrun_cap_from_name(set->v[i]);
		if (cap < 0)
			continue; /* validation already refused unknown names */
		if (cap > last_cap()) {
			hrun_debug("capability %s is not known to this kernel: skipped", set->v[i]);
			continue;
		}
		mask |= 1ULL << cap;
	}
	return mask;
}

int hrun_caps_drop_bounding(const struct hrun_capabilities *caps, struct hrun_error *err)
{
	uint64_t keep;

	if (!caps->set)
		return 0;
	keep = mask_of(&caps->bounding);
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return hrun_error_errno(err, "drop %s from the bounding set", hrun_cap_name(cap));
	}
	return 0;
}

static int set_flag(cap_t c, cap_flag_t flag, uint64_t mask, struct hrun_error *err)
{
	cap_value_t list[64];
	int n = 0;

	for (int cap = 0; cap <= last_cap(); cap++)
		if (mask & (1ULL << cap))
			list[n++] = cap;
	if (n && cap_set_flag(c, flag, n, list, CAP_SET) < 0)
		return hrun_error_errno(err, "cap_set_flag");
	return 0;
}

int hrun_caps_set(const struct hrun_capabilities *caps, struct hrun_error *err)
{
	uint64_t ambient;
	cap_t c;
	int r = 0;

	if (!caps->set)
		return 0;
	c = cap_init();
	if (!c)
		return hrun_error_errno(err, "cap_init");
	if (set_flag(c, CAP_EFFECTIVE, mask_of(&caps->effective), err) < 0 ||
	    set_flag(c, CAP_PERMITTED, mask_of(&caps->permitted), err) < 0 ||
	    set_flag(c, CAP_INHERITABLE, mask_of(&caps->inheritable), err) < 0)
		r = -1;
	else if (cap_set_proc(c) < 0)
		r = hrun_error_errno(err, "set capabilities");
	cap_free(c);
	if (r < 0)
		return r;

	/* Ambient is always cleared first: only what the config names stays. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return hrun_error_errno(err, "clear ambient capabilities");
	ambient = mask_of(&caps->ambient);
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (!(ambient & (1ULL << cap)))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return hrun_error_errno(err, "raise ambient %s", hrun_cap_name(cap));
	}
	return 0;
}
