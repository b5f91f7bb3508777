/* Running from a sealed copy of the hrun binary. A container whose root is
 * the host's root (no user namespace) could otherwise reach hrun's binary
 * through /proc/PID/exe while hrun works inside its namespaces, and
 * rewrite it for the host's next run (CVE-2019-5736). */
#ifndef HRUN_SEALED_EXE_H
#define HRUN_SEALED_EXE_H

#include <stdbool.h>

#include "error.h"
#include "spec.h"

/* With a user namespace the container's root cannot write hrun's binary
 * (the host's root owns it); without one, hrun must run sealed. */
bool hrun_exe_needs_sealing(const struct hrun_spec *spec);

/* This process runs from a sealed memfd (hrun_exe_reexec_sealed made it). */
bool hrun_exe_is_sealed(void);

/* Unless already sealed: copy /proc/self/exe into a memfd, seal it against
 * every change, return to the directory CWDFD (or stay, when -1) and
 * re-execute it with ARGV and the current environment. Returns only on
 * failure, or 0 at once when already sealed. */
int hrun_exe_reexec_sealed(int cwdfd, char *const *argv, struct hrun_error *err);

#endif
