/* Tests for the JSON module: typed getters and their messages, integer
 * ranges, the hostile-input pre-scan, paths, and the generator. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

static struct hrun_json_doc *parse(const char *s, struct hrun_error *err)
{
	return hrun_json_parse(s, strlen(s), "x.json", err);
}

static void test_tree_access(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_json_doc *doc = parse("{\"s\":\"v\",\"n\":null,\"a\":[1,\"two\",true],"
					  "\"o\":{\"k\":\"w\"},\"f\":1.5,\"b\":false}",
					  &err);
	const struct hrun_json *root, *a = NULL, *o = NULL;
	struct hrun_jpath top = HRUN_JPATH_ROOT("x.json");
	char *s = NULL;
	bool b = true;

	(void)state;
	assert_non_null(doc);
	assert_string_equal(hrun_json_file(doc), "x.json");
	root = hrun_json_root(doc);
	assert_int_equal(hrun_json_type(root), HRUN_JSON_OBJECT);
	assert_int_equal(hrun_json_len(root), 6);
	assert_string_equal(hrun_json_key_at(root, 0), "s");
	assert_string_equal(hrun_json_string(hrun_json_value_at(root, 0)), "v");
	assert_null(hrun_json_key_at(root, 6));
	assert_null(hrun_json_value_at(root, 6));
	assert_null(hrun_json_member(root, "missing"));
	assert_int_equal(hrun_json_type(hrun_json_member(root, "n")), HRUN_JSON_NULL);
	assert_string_equal(hrun_json_type_name(hrun_json_member(root, "f")), "number");
	assert_string_equal(hrun_json_type_name(hrun_json_member(root, "b")), "boolean");
	assert_string_equal(hrun_json_type_name(NULL), "null");

	assert_int_equal(hrun_json_get_string(root, &top, "s", &s, &err), 1);
	assert_string_equal(s, "v");
	free(s);
	s = NULL;
	/* Absent and null both leave the output alone. */
	assert_int_equal(hrun_json_get_string(root, &top, "missing", &s, &err), 0);
	assert_int_equal(hrun_json_get_string(root, &top, "n", &s, &err), 0);
	assert_null(s);
	assert_int_equal(hrun_json_get_bool(root, &top, "b", &b, &err), 1);
	assert_false(b);
	assert_int_equal(hrun_json_get_bool(root, &top, "s", &b, &err), -1);
	assert_string_equal(err.msg, "x.json: s: expected boolean, got string");

	assert_int_equal(hrun_json_get_array(root, &top, "a", &a, &err), 1);
	assert_int_equal(hrun_json_len(a), 3);
	assert_string_equal(hrun_json_string(hrun_json_at(a, 1)), "two");
	assert_null(hrun_json_at(a, 3));
	assert_null(hrun_json_at(root, 0));
	assert_int_equal(hrun_json_get_object(root, &top, "a", &o, &err), -1);
	assert_string_equal(err.msg, "x.json: a: expected object, got array");
	assert_int_equal(hrun_json_get_object(root, &top, "o", &o, &err), 1);
	assert_int_equal(hrun_json_get_array(root, &top, "o", &a, &err), -1);
	assert_string_equal(err.msg, "x.json: o: expected array, got object");
	hrun_json_doc_free(doc);
	hrun_json_doc_free(NULL);
}

static void test_strv_and_map(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_json_doc *doc = parse("{\"v\":[\"a\",\"b\"],\"e\":[],\"bad\":[\"a\",null],"
					  "\"m\":{\"k1\":\"v1\",\"k.2\":\"v2\"},\"mbad\":{\"k\":[]}}",
					  &err);
	const struct hrun_json *root = hrun_json_root(doc);
	struct hrun_jpath top = HRUN_JPATH_ROOT("x.json");
	struct hrun_json_kv *kv = NULL;
	char **v = NULL;
	size_t n = 99;

	(void)state;
	assert_non_null(doc);
	assert_int_equal(hrun_json_get_strv(root, &top, "v", &v, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_string_equal(v[1], "b");
	assert_null(v[2]);
	hrun_json_strv_free(v);
	assert_int_equal(hrun_json_get_strv(root, &top, "e", &v, &n, &err), 1);
	assert_int_equal(n, 0);
	assert_null(v[0]);
	hrun_json_strv_free(v);
	assert_int_equal(hrun_json_get_strv(root, &top, "bad", &v, &n, &err), -1);
	assert_string_equal(err.msg, "x.json: bad[1]: expected string, got null");
	assert_int_equal(hrun_json_get_strmap(root, &top, "m", &kv, &n, &err), 1);
	assert_int_equal(n, 2);
	assert_string_equal(kv[1].key, "k.2");
	assert_string_equal(kv[1].value, "v2");
	hrun_json_kv_free(kv, n);
	assert_int_equal(hrun_json_get_strmap(root, &top, "mbad", &kv, &n, &err), -1);
	assert_string_equal(err.msg, "x.json: mbad.k: expected string, got array");
	hrun_json_strv_free(NULL);
	hrun_json_kv_free(NULL, 0);
	hrun_json_doc_free(doc);
}

struct intcase {
	const char *text;
	unsigned bits;
	bool is_signed;
	const char *msg; /* NULL: accepted */
	uint64_t value; /* as bits, for signed ones too */
};

static const struct intcase intcases[] = {
	{ "255", 8, false, NULL, 255 },
	{ "256", 8, false, "x.json: v: value 256 out of range for uint8", 0 },
	{ "65535", 16, false, NULL, 65535 },
	{ "65536", 16, false, "x.json: v: value 65536 out of range for uint16", 0 },
	{ "4294967295", 32, false, NULL, 4294967295u },
	{ "4294967296", 32, false, "x.json: v: value 4294967296 out of range for uint32", 0 },
	{ "18446744073709551615", 64, false, NULL, UINT64_MAX },
	{ "18446744073709551616", 64, false,
	  "x.json: v: value 18446744073709551616 out of range for uint64", 0 },
	{ "0", 64, false, NULL, 0 },
	{ "-1", 64, false, "x.json: v: value -1 out of range for uint64", 0 },
	{ "-0", 32, true, NULL, 0 },
	{ "127", 8, true, NULL, 127 },
	{ "-128", 8, true, NULL, (uint64_t)-128 },
	{ "-129", 8, true, "x.json: v: value -129 out of range for int8", 0 },
	{ "2147483647", 32, true, NULL, 2147483647 },
	{ "-2147483648", 32, true, NULL, (uint64_t)(int64_t)INT32_MIN },
	{ "2147483648", 32, true, "x.json: v: value 2147483648 out of range for int32", 0 },
	{ "9223372036854775807", 64, true, NULL, INT64_MAX },
	{ "-9223372036854775808", 64, true, NULL, (uint64_t)INT64_MIN },
	{ "9223372036854775808", 64, true,
	  "x.json: v: value 9223372036854775808 out of range for int64", 0 },
	{ "-18446744073709551616", 64, true,
	  "x.json: v: value -18446744073709551616 out of range for int64", 0 },
	{ "1.0", 64, true, "x.json: v: expected integer, got number 1.0", 0 },
	{ "1E2", 64, false, "x.json: v: expected integer, got number 1E2", 0 },
	{ "-1e-2", 64, true, "x.json: v: expected integer, got number -1e-2", 0 },
	{ "\"1\"", 64, true, "x.json: v: expected integer, got string", 0 },
	{ "true", 64, false, "x.json: v: expected integer, got boolean", 0 },
	{ "[1]", 64, false, "x.json: v: expected integer, got array", 0 },
};

static void test_integers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(intcases) / sizeof(intcases[0]); i++) {
		const struct intcase *c = &intcases[i];
		struct hrun_error err = { 0 };
		struct hrun_jpath top = HRUN_JPATH_ROOT("x.json");
		char text[128];
		struct hrun_json_doc *doc;
		uint64_t u = 0;
		int64_t s = 0;
		int r;

		snprintf(text, sizeof(text), "{\"v\":%s}", c->text);
		doc = parse(text, &err);
		assert_non_null(doc);
		if (c->is_signed)
			r = hrun_json_get_int(hrun_json_root(doc), &top, "v", c->bits, &s, &err);
		else
			r = hrun_json_get_uint(hrun_json_root(doc), &top, "v", c->bits, &u, &err);
		if (c->msg) {
			if (r != -1 || strcmp(err.msg, c->msg) != 0)
				fail_msg("%s: want %s, got %d %s", c->text, c->msg, r, err.msg);
		} else {
			if (r != 1)
				fail_msg("%s: %s", c->text, err.msg);
			assert_true((c->is_signed ? (uint64_t)s : u) == c->value);
		}
		hrun_json_doc_free(doc);
	}
}

static void test_paths_and_quotes(void **state)
{
	struct hrun_jpath root = HRUN_JPATH_ROOT("f.json");
	struct hrun_jpath l = HRUN_JPATH_KEY(&root, "linux");
	struct hrun_jpath s = HRUN_JPATH_KEY(&l, "sysctl");
	struct hrun_jpath k = HRUN_JPATH_KEY(&s, "net.ipv4.ip_forward");
	struct hrun_jpath a = HRUN_JPATH_INDEX(&root, 3);
	struct hrun_jpath b = HRUN_JPATH_KEY(&a, "type");
	struct hrun_error err;
	char buf[128], small[12];

	(void)state;
	hrun_jpath_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "linux.sysctl[\"net.ipv4.ip_forward\"]");
	hrun_jpath_format(&b, buf, sizeof(buf));
	assert_string_equal(buf, "[3].type");
	assert_int_equal(hrun_jpath_format(&root, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	hrun_jpath_format(&k, small, sizeof(small));
	assert_string_equal(small, "linux.sysct");
	hrun_json_error(&err, &root, "expected %s", "object");
	assert_string_equal(err.msg, "f.json: expected object");
	hrun_json_error(&err, &b, "bad");
	assert_string_equal(err.msg, "f.json: [3].type: bad");

	assert_string_equal(hrun_json_quote("a\"b\\c\n\t\x01\x7f", buf, sizeof(buf)),
			    "\"a\\\"b\\\\c\\n\\t\\x01\\x7f\"");
	assert_string_equal(hrun_json_quote("h\xc3\xa9", buf, sizeof(buf)), "\"h\xc3\xa9\"");
	assert_string_equal(hrun_json_quote("0123456789abcdef", small, sizeof(small)),
			    "\"01...\"");
	assert_true(strlen(small) < sizeof(small));
	assert_string_equal(hrun_json_quote(NULL, buf, sizeof(buf)), "\"\"");
}

static void test_strings_and_escapes(void **state)
{
	struct hrun_error err = { 0 };
	struct hrun_json_doc *doc =
		parse("{\"e\":\"\\ud83d\\ude00 \\u00e9 \\/ \\\"\",\"u\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
		      &err);

	(void)state;
	assert_non_null(doc);
	assert_string_equal(hrun_json_string(hrun_json_member(hrun_json_root(doc), "e")),
			    "\xf0\x9f\x98\x80 \xc3\xa9 / \"");
	assert_string_equal(hrun_json_string(hrun_json_member(hrun_json_root(doc), "u")),
			    "\xe2\x82\xac\xf0\x9f\x98\x80");
	hrun_json_doc_free(doc);
}

static void test_hostile(void **state)
{
	struct hrun_error err = { 0 };
	size_t n = 1048577, len = 2 * n + 1;
	char *many = malloc(len + 1);
	struct hrun_json_doc *doc;
	char keys[2048];
	size_t o = 0;

	(void)state;
	/* Parsers disagree on which duplicate wins; hrun refuses both. */
	o += (size_t)sprintf(keys + o, "[{},{");
	for (int i = 0; i < 40; i++)
		o += (size_t)sprintf(keys + o, "\"k%d\":%d,", i, i);
	sprintf(keys + o, "\"k17\":0}]");
	assert_null(parse(keys, &err));
	assert_string_equal(err.msg, "x.json: [1]: duplicate key \"k17\"");

	assert_non_null(many);
	many[0] = '[';
	for (size_t i = 0; i < n; i++) {
		many[1 + 2 * i] = '0';
		many[2 + 2 * i] = i + 1 < n ? ',' : ']';
	}
	many[len] = '\0';
	assert_null(hrun_json_parse(many, len, "x.json", &err));
	assert_string_equal(err.msg, "x.json:1:2097153: more than 1048576 values");
	/* One fewer is fine. */
	many[len - 3] = ']';
	doc = hrun_json_parse(many, len - 2, "x.json", &err);
	if (!doc)
		fail_msg("%s", err.msg);
	assert_int_equal(hrun_json_len(hrun_json_root(doc)), n - 1);
	hrun_json_doc_free(doc);
	free(many);

	assert_null(parse("[01]", &err));
	assert_string_equal(err.msg, "x.json:1:3: parse error: after array element, I expect ',' or ']'");
	assert_null(parse("{\"a\":\"\\u12\"}", &err));
	assert_non_null(strstr(err.msg, "x.json:1:"));
	assert_null(hrun_json_parse(NULL, 0, NULL, &err));
	assert_string_equal(err.msg, "<json>: empty document");
}

/* --- Generator ------------------------------------------------------------------ */

static char *gen_sample(bool pretty, struct hrun_error *err)
{
	struct hrun_jgen *g = hrun_jgen_new(pretty);
	static char *const v[] = { "a", "b" };
	char *out;

	assert_non_null(g);
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "s");
	hrun_jgen_string(g, "q\"\\/\n\x01\xc3\xa9");
	hrun_jgen_key(g, "u");
	hrun_jgen_uint64(g, UINT64_MAX);
	hrun_jgen_key(g, "i");
	hrun_jgen_int64(g, INT64_MIN);
	hrun_jgen_key(g, "e");
	hrun_jgen_array_open(g);
	hrun_jgen_array_close(g);
	hrun_jgen_key(g, "m");
	hrun_jgen_map_open(g);
	hrun_jgen_map_close(g);
	hrun_jgen_key(g, "l");
	hrun_jgen_strv(g, v, 2);
	hrun_jgen_key(g, "t");
	hrun_jgen_bool(g, true);
	hrun_jgen_key(g, "z");
	hrun_jgen_null(g);
	hrun_jgen_map_close(g);
	out = hrun_jgen_finish(g, err);
	hrun_jgen_free(g);
	return out;
}

static void test_generator(void **state)
{
	struct hrun_error err = { 0 };
	char *compact = gen_sample(false, &err), *pretty = gen_sample(true, &err);
	struct hrun_json_doc *doc;
	struct hrun_jpath top = HRUN_JPATH_ROOT("g");
	uint64_t u;
	int64_t i;

	(void)state;
	assert_non_null(compact);
	assert_string_equal(compact, "{\"s\":\"q\\\"\\\\/\\n\\u0001\xc3\xa9\",\"u\":18446744073709551615,"
				     "\"i\":-9223372036854775808,\"e\":[],\"m\":{},\"l\":[\"a\",\"b\"],"
				     "\"t\":true,\"z\":null}");
	assert_non_null(pretty);
	assert_string_equal(pretty, "{\n\t\"s\": \"q\\\"\\\\/\\n\\u0001\xc3\xa9\",\n"
				    "\t\"u\": 18446744073709551615,\n"
				    "\t\"i\": -9223372036854775808,\n\t\"e\": [],\n\t\"m\": {},\n"
				    "\t\"l\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"t\": true,\n"
				    "\t\"z\": null\n}\n");
	doc = parse(pretty, &err);
	assert_non_null(doc);
	assert_int_equal(hrun_json_get_uint(hrun_json_root(doc), &top, "u", 64, &u, &err), 1);
	assert_true(u == UINT64_MAX);
	assert_int_equal(hrun_json_get_int(hrun_json_root(doc), &top, "i", 64, &i, &err), 1);
	assert_true(i == INT64_MIN);
	assert_string_equal(hrun_json_string(hrun_json_member(hrun_json_root(doc), "s")),
			    "q\"\\/\n\x01\xc3\xa9");
	hrun_json_doc_free(doc);
	free(compact);
	free(pretty);
}

static void expect_gen_error(struct hrun_jgen *g, const char *msg)
{
	struct hrun_error err = { 0 };

	assert_null(hrun_jgen_finish(g, &err));
	assert_string_equal(err.msg, msg);
	hrun_jgen_free(g);
}

static void test_generator_misuse(void **state)
{
	struct hrun_jgen *g;

	(void)state;
	g = hrun_jgen_new(false);
	hrun_jgen_map_open(g);
	assert_int_equal(hrun_jgen_string(g, "no key"), -1);
	/* Sticky: later calls fail too, and the first error is kept. */
	assert_int_equal(hrun_jgen_key(g, "k"), -1);
	expect_gen_error(g, "generate JSON: value where an object key is expected");

	g = hrun_jgen_new(false);
	hrun_jgen_array_open(g);
	assert_int_equal(hrun_jgen_key(g, "k"), -1);
	expect_gen_error(g, "generate JSON: object key outside an object or after another key");

	g = hrun_jgen_new(false);
	hrun_jgen_array_open(g);
	assert_int_equal(hrun_jgen_map_close(g), -1);
	expect_gen_error(g, "generate JSON: close without a matching open");

	g = hrun_jgen_new(false);
	hrun_jgen_map_open(g);
	hrun_jgen_key(g, "k");
	assert_int_equal(hrun_jgen_map_close(g), -1);
	expect_gen_error(g, "generate JSON: object key without a value");

	g = hrun_jgen_new(false);
	hrun_jgen_map_open(g);
	expect_gen_error(g, "generate JSON: document is incomplete");

	g = hrun_jgen_new(true);
	expect_gen_error(g, "generate JSON: document is incomplete");

	g = hrun_jgen_new(false);
	hrun_jgen_null(g);
	assert_int_equal(hrun_jgen_null(g), -1);
	expect_gen_error(g, "generate JSON: more than one top-level value");

	g = hrun_jgen_new(false);
	assert_int_equal(hrun_jgen_string(g, "bad \xc0\xaf"), -1);
	expect_gen_error(g, "generate JSON: invalid UTF-8 in string");

	g = hrun_jgen_new(false);
	assert_int_equal(hrun_jgen_string(g, NULL), -1);
	expect_gen_error(g, "generate JSON: NULL string");

	g = hrun_jgen_new(false);
	for (int i = 0; i < HRUN_JSON_MAX_DEPTH - 1; i++)
		assert_int_equal(hrun_jgen_array_open(g), 0);
	assert_int_equal(hrun_jgen_array_open(g), -1);
	expect_gen_error(g, "generate JSON: nesting too deep");

	assert_int_equal(hrun_jgen_map_open(NULL), -1);
	hrun_jgen_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree_access),	 cmocka_unit_test(test_strv_and_map),
		cmocka_unit_test(test_integers),	 cmocka_unit_test(test_paths_and_quotes),
		cmocka_unit_test(test_strings_and_escapes), cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_generator),	 cmocka_unit_test(test_generator_misuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
