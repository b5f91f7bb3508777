/* JSON for hrun: a read-only tree with typed getters whose errors name the
 * JSON path, and a generator. This is the only module that talks to yajl,
 * so the rest of hrun never sees a yajl type.
 *
 * Reading rejects hostile input before yajl sees it: documents larger than
 * HRUN_JSON_MAX_SIZE, nesting deeper than HRUN_JSON_MAX_DEPTH (the tree is
 * freed recursively), more than HRUN_JSON_MAX_VALUES values, NUL bytes,
 * invalid UTF-8, "\u0000" and unpaired surrogate escapes (yajl would
 * silently truncate or mangle the string), comments, and duplicate object
 * keys (parsers disagree on which one wins). */
#ifndef HRUN_JSON_H
#define HRUN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define HRUN_JSON_MAX_SIZE (16u * 1024 * 1024)
#define HRUN_JSON_MAX_DEPTH 128
#define HRUN_JSON_MAX_VALUES (1u << 20)

enum hrun_json_type {
	HRUN_JSON_NULL,
	HRUN_JSON_BOOL,
	HRUN_JSON_NUMBER,
	HRUN_JSON_STRING,
	HRUN_JSON_ARRAY,
	HRUN_JSON_OBJECT,
};

/* A parsed document; it owns every node reachable from its root. */
struct hrun_json_doc;
/* A node, borrowed from its document. */
struct hrun_json;

/* Where a value sits in its document, for error messages. Built on the
 * stack as a chain from the value up to the root, which carries the file
 * name: `struct hrun_jpath l = HRUN_JPATH_KEY(&root, "linux");`. */
struct hrun_jpath {
	const struct hrun_jpath *up; /* NULL at the root */
	const char *key; /* member name; NULL for an array item */
	size_t index; /* array index when key is NULL */
	const char *file; /* root only: the document's name */
};

#define HRUN_JPATH_ROOT(f) ((struct hrun_jpath){ .file = (f) })
#define HRUN_JPATH_KEY(p, k) ((struct hrun_jpath){ .up = (p), .key = (k) })
#define HRUN_JPATH_INDEX(p, i) ((struct hrun_jpath){ .up = (p), .index = (i) })

/* A string member of a string map; both strings are malloc'd. */
struct hrun_json_kv {
	char *key;
	char *value;
};

/* --- Reading ------------------------------------------------------------ */

/* Parse LEN bytes of DATA (need not be NUL-terminated); FILE names it in messages. */
struct hrun_json_doc *hrun_json_parse(const char *data, size_t len, const char *file,
				      struct hrun_error *err);
/* Free DOC and every node in it; NULL-safe. */
void hrun_json_doc_free(struct hrun_json_doc *doc);
/* The top-level value of DOC. */
const struct hrun_json *hrun_json_root(const struct hrun_json_doc *doc);
/* The name DOC was parsed under. */
const char *hrun_json_file(const struct hrun_json_doc *doc);

/* The type of V. */
enum hrun_json_type hrun_json_type(const struct hrun_json *v);
/* A word for V's type in messages: "string", "integer", "number", "boolean", "null", ... */
const char *hrun_json_type_name(const struct hrun_json *v);
/* Items of an array or members of an object; 0 for anything else. */
size_t hrun_json_len(const struct hrun_json *v);
/* Item I of array ARR (NULL when out of bounds or not an array). */
const struct hrun_json *hrun_json_at(const struct hrun_json *arr, size_t i);
/* Key of member I of object OBJ (NULL when out of bounds or not an object). */
const char *hrun_json_key_at(const struct hrun_json *obj, size_t i);
/* Value of member I of object OBJ (NULL when out of bounds or not an object). */
const struct hrun_json *hrun_json_value_at(const struct hrun_json *obj, size_t i);
/* Member KEY of OBJ, or NULL when absent; a JSON null is returned as a node. */
const struct hrun_json *hrun_json_member(const struct hrun_json *obj, const char *key);
/* The string value of V, or NULL when V is not a string. */
const char *hrun_json_string(const struct hrun_json *v);

/* Write AT as "linux.namespaces[3].type" into BUF; returns the length. */
size_t hrun_jpath_format(const struct hrun_jpath *at, char *buf, size_t len);
/* Fill ERR with "FILE: PATH: MESSAGE" (no PATH at the root); returns -1. */
int hrun_json_error(struct hrun_error *err, const struct hrun_jpath *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Quote S for a message: escapes controls and quotes, truncates long text; returns BUF. */
const char *hrun_json_quote(const char *s, char *buf, size_t len);

/* Typed access to a value V found at AT. Each returns 0, or -1 with
 * "FILE: PATH: expected T, got U" (or a range message) in ERR. */
/* V must be a string; *OUT borrows it from the document. */
int hrun_json_as_string(const struct hrun_json *v, const struct hrun_jpath *at, const char **out,
			struct hrun_error *err);
/* V must be true or false. */
int hrun_json_as_bool(const struct hrun_json *v, const struct hrun_jpath *at, bool *out,
		      struct hrun_error *err);
/* V must be an integer that fits a signed BITS-bit type (8, 16, 32, 64). */
int hrun_json_as_int(const struct hrun_json *v, const struct hrun_jpath *at, unsigned bits,
		     int64_t *out, struct hrun_error *err);
/* V must be a non-negative integer that fits an unsigned BITS-bit type (8, 16, 32, 64). */
int hrun_json_as_uint(const struct hrun_json *v, const struct hrun_jpath *at, unsigned bits,
		      uint64_t *out, struct hrun_error *err);
/* V must be an object. */
int hrun_json_as_object(const struct hrun_json *v, const struct hrun_jpath *at,
			struct hrun_error *err);
/* V must be an array. */
int hrun_json_as_array(const struct hrun_json *v, const struct hrun_jpath *at,
		       struct hrun_error *err);

/* Typed access to member KEY of object OBJ found at AT. Each returns 1 when
 * the member is present, 0 when it is absent or null (OUT untouched), -1
 * with ERR naming AT.KEY on a type or range error or ENOMEM. */
/* A string, copied with malloc. */
int hrun_json_get_string(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, char **out, struct hrun_error *err);
/* A boolean. */
int hrun_json_get_bool(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       bool *out, struct hrun_error *err);
/* A signed integer of BITS bits. */
int hrun_json_get_int(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		      unsigned bits, int64_t *out, struct hrun_error *err);
/* An unsigned integer of BITS bits. */
int hrun_json_get_uint(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       unsigned bits, uint64_t *out, struct hrun_error *err);
/* An object, borrowed. */
int hrun_json_get_object(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, const struct hrun_json **out, struct hrun_error *err);
/* An array, borrowed. */
int hrun_json_get_array(const struct hrun_json *obj, const struct hrun_jpath *at,
			const char *key, const struct hrun_json **out, struct hrun_error *err);
/* An array of strings, copied: *OUT is NULL-terminated, *N counts its items. */
int hrun_json_get_strv(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       char ***out, size_t *n, struct hrun_error *err);
/* An object of strings, copied in document order into *OUT[*N]. */
int hrun_json_get_strmap(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, struct hrun_json_kv **out, size_t *n,
			 struct hrun_error *err);
/* Free a NULL-terminated string array; NULL-safe. */
void hrun_json_strv_free(char **v);
/* Free N string map members and the array; NULL-safe. */
void hrun_json_kv_free(struct hrun_json_kv *kv, size_t n);

/* --- Writing ------------------------------------------------------------ */

/* A generator. Errors are sticky: after the first misuse or failure every
 * call returns -1 and hrun_jgen_finish reports the first error, so callers
 * may emit a whole document and check once. It nests at most
 * HRUN_JSON_MAX_DEPTH - 1 levels (yajl's limit). */
struct hrun_jgen;

/* A new generator; PRETTY indents with tabs and ends with a newline. NULL on ENOMEM. */
struct hrun_jgen *hrun_jgen_new(bool pretty);
/* Free G; NULL-safe. */
void hrun_jgen_free(struct hrun_jgen *g);
/* Open an object. */
int hrun_jgen_map_open(struct hrun_jgen *g);
/* Close the innermost object. */
int hrun_jgen_map_close(struct hrun_jgen *g);
/* Open an array. */
int hrun_jgen_array_open(struct hrun_jgen *g);
/* Close the innermost array. */
int hrun_jgen_array_close(struct hrun_jgen *g);
/* Emit an object key; the next call emits its value. */
int hrun_jgen_key(struct hrun_jgen *g, const char *key);
/* Emit a string (must be valid UTF-8; NULL is an error). */
int hrun_jgen_string(struct hrun_jgen *g, const char *s);
/* Emit a signed integer. */
int hrun_jgen_int64(struct hrun_jgen *g, int64_t v);
/* Emit an unsigned integer, the full uint64 range. */
int hrun_jgen_uint64(struct hrun_jgen *g, uint64_t v);
/* Emit true or false. */
int hrun_jgen_bool(struct hrun_jgen *g, bool v);
/* Emit null. */
int hrun_jgen_null(struct hrun_jgen *g);
/* Emit an array of the N strings in V. */
int hrun_jgen_strv(struct hrun_jgen *g, char *const *v, size_t n);
/* The finished document as a malloc'd NUL-terminated string, or NULL with ERR. */
char *hrun_jgen_finish(struct hrun_jgen *g, struct hrun_error *err);

static inline void hrun_json_doc_freep(struct hrun_json_doc **doc)
{
	hrun_json_doc_free(*doc);
}

static inline void hrun_jgen_freep(struct hrun_jgen **g)
{
	hrun_jgen_free(*g);
}

#define _cleanup_json_doc_ __attribute__((cleanup(hrun_json_doc_freep)))
#define _cleanup_jgen_ __attribute__((cleanup(hrun_jgen_freep)))

#endif
