/* `hrun features`: the runtime-spec features document, listing only what
 * this build really implements. */
#ifndef HRUN_FEATURES_H
#define HRUN_FEATURES_H

#include "error.h"

char *hrun_features_json(struct hrun_error *err);

#endif
