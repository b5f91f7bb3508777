/* Capabilities (libcap): the five sets exactly as configured. */
#ifndef HRUN_CAPS_H
#define HRUN_CAPS_H

#include <stdint.h>

#include "error.h"
#include "spec.h"

/* Drop from the bounding set every capability the config's bounding set
 * lacks. Needs CAP_SETPCAP, so it runs before the uid change. */
int hrun_caps_drop_bounding(const struct hrun_capabilities *caps, struct hrun_error *err);

/* Set effective, permitted and inheritable, then raise the ambient ones.
 * Runs after the uid change (done with PR_SET_KEEPCAPS). */
int hrun_caps_set(const struct hrun_capabilities *caps, struct hrun_error *err);

#endif
