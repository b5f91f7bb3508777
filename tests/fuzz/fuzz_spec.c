/* libFuzzer target for the config parser: parse, validate, serialise, and
 * check that the serialised form parses back to the same text.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -iquote libcontainer-c \
 *     libcontainer-c/{json,spec,spec-validate,capnames,error}.c \
 *     tests/fuzz/fuzz_spec.c -lyajl -o fuzz_spec
 *   ./fuzz_spec -dict=tests/fuzz/fuzz_spec.dict tests/fuzz/corpus/spec */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrun_error err;
	struct hrun_spec *spec, *again;
	char *json, *json2;

	spec = hrun_spec_parse((const char *)data, size, "config.json", &err);
	if (!spec)
		return 0;
	(void)hrun_spec_validate(spec, "config.json", &err);
	json = hrun_spec_to_json(spec, &err);
	/* Whatever parsed must serialise, and parse back to the same model. */
	if (!json)
		abort();
	again = hrun_spec_parse(json, strlen(json), "state.json", &err);
	if (!again)
		abort();
	json2 = hrun_spec_to_json(again, &err);
	if (!json2 || strcmp(json, json2) != 0)
		abort();
	free(json2);
	free(json);
	hrun_spec_free(again);
	hrun_spec_free(spec);
	return 0;
}
