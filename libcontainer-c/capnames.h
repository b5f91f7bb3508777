/* Capability names as the OCI config spells them ("CAP_SYS_ADMIN"). The
 * table is hrun's own so that parsing does not depend on the libcap the
 * binary was built against knowing the newest capabilities. */
#ifndef HRUN_CAPNAMES_H
#define HRUN_CAPNAMES_H

/* The highest capability hrun knows: CAP_CHECKPOINT_RESTORE. */
#define HRUN_CAP_LAST 40

/* The number of "CAP_NAME" (case-sensitive, as in the spec), or -1. */
int hrun_cap_from_name(const char *name);

/* "CAP_NAME" for CAP, or NULL when CAP is outside 0..HRUN_CAP_LAST. */
const char *hrun_cap_name(int cap);

#endif
