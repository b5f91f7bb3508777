#define _GNU_SOURCE
#include "json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include "cleanup.h"

/* hrun builds its own tree from yajl's callbacks rather than using
 * yajl_tree: yajl_tree grows arrays one element per realloc (quadratic
 * under sanitizers and some allocators), turns comments on, and reports no
 * error position. */
struct hrun_json {
	enum hrun_json_type type;
	bool b;
	char *text; /* a string, or a number's literal text */
	size_t n, cap; /* items of an array or members of an object */
	struct hrun_json **items;
	char **keys; /* objects: member names, parallel to items */
};

struct hrun_json_doc {
	struct hrun_json *root;
	char *file;
};

/* Keep CODE for callers without hrun_error_set's ": strerror" suffix,
 * which would only repeat the message. */
static int with_code(struct hrun_error *err, int code)
{
	if (err)
		err->code = code;
	return -1;
}

static int oom(struct hrun_error *err)
{
	hrun_error_set(err, 0, "out of memory");
	return with_code(err, ENOMEM);
}

/* --- UTF-8 and the pre-scan --------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at S (N bytes available), or 0.
 * Strict RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF;
 * yajl's own check lets all three through. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < need + 1 || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

static bool utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);

	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of a "\uXXXX" escape starting at S, or -1 when malformed. */
static long uescape(const unsigned char *s, size_t n)
{
	long v = 0;

	if (n < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	for (size_t i = 2; i < 6; i++) {
		int h = hexval(s[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Report MSG at byte POS of S as FILE:LINE:COLUMN. */
static int error_at(const unsigned char *s, size_t pos, const char *file, struct hrun_error *err,
		    const char *msg)
{
	size_t line = 1, col = 1;

	for (size_t i = 0; i < pos; i++) {
		if (s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	return hrun_error_set(err, 0, "%s:%zu:%zu: %s", file, line, col, msg);
}

/* Inside a string at the backslash S[*I]: reject the escapes yajl would turn
 * into a truncated or mangled C string. Leaves malformed escapes to yajl. */
static int scan_escape(const unsigned char *s, size_t len, size_t *i, const char *file,
		       struct hrun_error *err)
{
	long cp = uescape(s + *i, len - *i), lo;

	if (*i + 1 >= len)
		return 0;
	if (cp < 0) {
		switch (s[*i + 1]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			*i += 1;
		}
		return 0;
	}
	if (cp == 0)
		return error_at(s, *i, file, err, "string contains \\u0000");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return error_at(s, *i, file, err, "unpaired UTF-16 surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		lo = uescape(s + *i + 6, len - *i - 6);
		if (lo < 0xdc00 || lo > 0xdfff)
			return error_at(s, *i, file, err, "unpaired UTF-16 surrogate in \\u escape");
		*i += 6;
	}
	*i += 5;
	return 0;
}

/* One pass over the raw bytes, before yajl sees them: what yajl would
 * accept wrongly, and the bounds that keep the tree small and shallow
 * (it is freed recursively), each reported with its position. */
static int prescan(const unsigned char *s, size_t len, const char *file, struct hrun_error *err)
{
	bool in_string = false;
	size_t depth = 0, values = 0;
	char msg[64];

	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == 0)
			return error_at(s, i, file, err, "embedded NUL byte");
		if (c >= 0x80) {
			size_t l = utf8_len(s + i, len - i);
			if (!l)
				return error_at(s, i, file, err, "invalid UTF-8");
			i += l - 1;
			continue;
		}
		if (in_string) {
			if (c == '\\') {
				if (scan_escape(s, len, &i, file, err) < 0)
					return -1;
			} else if (c == '"') {
				in_string = false;
			}
			continue;
		}
		switch (c) {
		case '"':
			in_string = true;
			values++;
			break;
		case '[':
		case '{':
			if (++depth > HRUN_JSON_MAX_DEPTH) {
				snprintf(msg, sizeof(msg), "nesting deeper than %d levels",
					 HRUN_JSON_MAX_DEPTH);
				return error_at(s, i, file, err, msg);
			}
			values++;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		case ',':
			values++;
			break;
		case '/':
			/* JSON (and runc) has none; yajl's own message is obscure. */
			return error_at(s, i, file, err, "comments are not allowed");
		}
		if (values > HRUN_JSON_MAX_VALUES) {
			snprintf(msg, sizeof(msg), "more than %u values", HRUN_JSON_MAX_VALUES);
			return error_at(s, i, file, err, msg);
		}
	}
	return 0;
}

/* --- Building the tree ------------------------------------------------------ */

/* Depth is bounded by the pre-scan and again by the builder, so recursion
 * here is bounded too. */
static void node_free(struct hrun_json *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys)
			free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->text);
	free(n);
}

struct builder {
	struct hrun_json *root;
	struct hrun_json *stack[HRUN_JSON_MAX_DEPTH];
	size_t depth;
	char *key; /* the member name waiting for its value */
	const char *why; /* why a callback stopped the parse */
	int code;
};

static int stop(struct builder *b, int code, const char *why)
{
	b->code = code;
	b->why = why;
	return 0; /* yajl: cancel */
}

static bool grow(struct hrun_json *c)
{
	size_t cap = c->cap ? c->cap * 2 : 4;
	struct hrun_json **items;

	items = realloc(c->items, cap * sizeof(*items));
	if (!items)
		return false;
	c->items = items;
	if (c->type == HRUN_JSON_OBJECT) {
		char **keys = realloc(c->keys, cap * sizeof(*keys));
		if (!keys)
			return false;
		c->keys = keys;
	}
	c->cap = cap;
	return true;
}

/* Attach N to the open container (or make it the root); takes N. */
static int attach(struct builder *b, struct hrun_json *n)
{
	struct hrun_json *c;

	if (!n)
		return stop(b, ENOMEM, "out of memory");
	if (b->depth == 0) {
		b->root = n;
		return 1;
	}
	c = b->stack[b->depth - 1];
	if (c->n == c->cap && !grow(c)) {
		node_free(n);
		return stop(b, ENOMEM, "out of memory");
	}
	if (c->type == HRUN_JSON_OBJECT) {
		c->keys[c->n] = b->key;
		b->key = NULL;
	}
	c->items[c->n++] = n;
	return 1;
}

static struct hrun_json *node_new(enum hrun_json_type type)
{
	struct hrun_json *n = calloc(1, sizeof(*n));

	if (n)
		n->type = type;
	return n;
}

/* A copy of S[LEN]; NULL (with B stopped) on ENOMEM or an embedded NUL,
 * which the pre-scan already refuses but a C string could not carry. */
static char *copy_text(struct builder *b, const char *s, size_t len)
{
	char *t;

	if (memchr(s, '\0', len)) {
		stop(b, 0, "string contains \\u0000");
		return NULL;
	}
	t = strndup(s, len);
	if (!t)
		stop(b, ENOMEM, "out of memory");
	return t;
}

static int on_null(void *ctx)
{
	return attach(ctx, node_new(HRUN_JSON_NULL));
}

static int on_bool(void *ctx, int v)
{
	struct hrun_json *n = node_new(HRUN_JSON_BOOL);

	if (n)
		n->b = v != 0;
	return attach(ctx, n);
}

static int on_text(void *ctx, enum hrun_json_type type, const char *s, size_t len)
{
	struct hrun_json *n = node_new(type);

	if (!n)
		return attach(ctx, NULL);
	n->text = copy_text(ctx, s, len);
	if (!n->text) {
		free(n);
		return 0;
	}
	return attach(ctx, n);
}

static int on_number(void *ctx, const char *s, size_t len)
{
	return on_text(ctx, HRUN_JSON_NUMBER, s, len);
}

static int on_string(void *ctx, const unsigned char *s, size_t len)
{
	return on_text(ctx, HRUN_JSON_STRING, (const char *)s, len);
}

static int on_key(void *ctx, const unsigned char *s, size_t len)
{
	struct builder *b = ctx;

	free(b->key);
	b->key = copy_text(b, (const char *)s, len);
	return b->key != NULL;
}

static int on_open(struct builder *b, enum hrun_json_type type)
{
	struct hrun_json *n = node_new(type);

	if (b->depth >= HRUN_JSON_MAX_DEPTH) {
		free(n);
		return stop(b, 0, "nesting too deep");
	}
	if (!attach(b, n))
		return 0;
	b->stack[b->depth++] = n;
	return 1;
}

static int on_start_map(void *ctx)
{
	return on_open(ctx, HRUN_JSON_OBJECT);
}

static int on_start_array(void *ctx)
{
	return on_open(ctx, HRUN_JSON_ARRAY);
}

static int on_close(void *ctx)
{
	struct builder *b = ctx;

	if (b->depth > 0)
		b->depth--;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_bool,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_close,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_close,
};

/* Parse TEXT into a tree; on failure ERR says where and why. */
static struct hrun_json *build(const char *text, size_t len, const char *file,
			       struct hrun_error *err)
{
	const unsigned char *u = (const unsigned char *)text;
	struct builder b = { 0 };
	yajl_handle h = yajl_alloc(&callbacks, NULL, &b);
	yajl_status st;
	size_t pos;

	if (!h) {
		oom(err);
		return NULL;
	}
	st = yajl_parse(h, u, len);
	if (st == yajl_status_ok) {
		pos = len;
		st = yajl_complete_parse(h);
	} else {
		pos = yajl_get_bytes_consumed(h);
		pos = pos ? pos - 1 : 0;
	}
	if (st == yajl_status_client_canceled) {
		error_at(u, pos, file, err, b.why ? b.why : "parse cancelled");
		with_code(err, b.code);
	} else if (st != yajl_status_ok) {
		unsigned char *msg = yajl_get_error(h, 0, u, len);
		size_t n = msg ? strlen((char *)msg) : 0;

		while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ' || msg[n - 1] == '.'))
			msg[--n] = '\0';
		error_at(u, pos, file, err, msg ? (char *)msg : "parse error");
		if (msg)
			yajl_free_error(h, msg);
	}
	yajl_free(h);
	free(b.key);
	if (st != yajl_status_ok) {
		node_free(b.root);
		return NULL;
	}
	return b.root;
}

/* --- Paths and messages ------------------------------------------------- */

static bool is_ident(const char *k)
{
	if (!*k || !((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || *k == '_'))
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
		      (*k >= '0' && *k <= '9') || *k == '_'))
			return false;
	return true;
}

struct sbuf {
	char *p;
	size_t len, used;
};

static void sb_puts(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->len == 0)
		return;
	if (b->used + n >= b->len)
		n = b->len - 1 - b->used;
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = '\0';
}

const char *hrun_json_quote(const char *s, char *buf, size_t len)
{
	struct sbuf b = { buf, len, 0 };
	const size_t room = len > 8 ? len - 5 : 0; /* keep space for `..."` */

	if (len == 0)
		return buf;
	buf[0] = '\0';
	sb_puts(&b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; s && *p; p++) {
		char tmp[8];

		if (b.used + 4 >= room) {
			sb_puts(&b, "...");
			break;
		}
		if (*p == '"' || *p == '\\')
			snprintf(tmp, sizeof(tmp), "\\%c", *p);
		else if (*p == '\n')
			snprintf(tmp, sizeof(tmp), "\\n");
		else if (*p == '\t')
			snprintf(tmp, sizeof(tmp), "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		else
			snprintf(tmp, sizeof(tmp), "%c", *p);
		sb_puts(&b, tmp);
	}
	sb_puts(&b, "\"");
	return buf;
}

size_t hrun_jpath_format(const struct hrun_jpath *at, char *buf, size_t len)
{
	const struct hrun_jpath *chain[HRUN_JSON_MAX_DEPTH + 8];
	const size_t cap = sizeof(chain) / sizeof(chain[0]);
	struct sbuf b = { buf, len, 0 };
	size_t n = 0;
	bool cut = false;

	if (len)
		buf[0] = '\0';
	for (const struct hrun_jpath *p = at; p && p->up; p = p->up) {
		if (n == cap) {
			cut = true;
			break;
		}
		chain[n++] = p;
	}
	if (cut)
		sb_puts(&b, "...");
	while (n-- > 0) {
		const struct hrun_jpath *p = chain[n];
		char tmp[160];

		if (p->key && is_ident(p->key)) {
			if (b.used > 0)
				sb_puts(&b, ".");
			sb_puts(&b, p->key);
		} else if (p->key) {
			char q[140];
			snprintf(tmp, sizeof(tmp), "[%s]", hrun_json_quote(p->key, q, sizeof(q)));
			sb_puts(&b, tmp);
		} else {
			snprintf(tmp, sizeof(tmp), "[%zu]", p->index);
			sb_puts(&b, tmp);
		}
	}
	return b.used;
}

static const char *root_file(const struct hrun_jpath *at)
{
	while (at && at->up)
		at = at->up;
	return at && at->file ? at->file : "<json>";
}

int hrun_json_error(struct hrun_error *err, const struct hrun_jpath *at, const char *fmt, ...)
{
	char path[512], msg[HRUN_ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (hrun_jpath_format(at, path, sizeof(path)) > 0)
		return hrun_error_set(err, 0, "%s: %s: %s", root_file(at), path, msg);
	return hrun_error_set(err, 0, "%s: %s", root_file(at), msg);
}

/* --- The tree ------------------------------------------------------------ */

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The duplicated key of OBJ, or NULL. Sorting keeps large maps linear-ish. */
static const char *duplicate_key(const struct hrun_json *obj, struct hrun_error *err,
				 bool *failed)
{
	char **keys = obj->keys;
	size_t n = obj->n;
	_cleanup_free_ char **sorted = NULL;

	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (strcmp(keys[i], keys[j]) == 0)
					return keys[i];
		return NULL;
	}
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted) {
		*failed = true;
		oom(err);
		return NULL;
	}
	memcpy(sorted, keys, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_keys);
	for (size_t i = 1; i < n; i++)
		if (strcmp(sorted[i], sorted[i - 1]) == 0)
			return sorted[i];
	return NULL;
}

/* Depth is bounded by the builder, so recursion is too. */
static int check_duplicates(const struct hrun_json *v, const struct hrun_jpath *at,
			    struct hrun_error *err)
{
	if (v->type == HRUN_JSON_OBJECT) {
		bool failed = false;
		const char *dup = duplicate_key(v, err, &failed);
		char q[128];

		if (failed)
			return -1;
		if (dup)
			return hrun_json_error(err, at, "duplicate key %s",
					       hrun_json_quote(dup, q, sizeof(q)));
	}
	for (size_t i = 0; i < v->n; i++) {
		struct hrun_jpath p = v->type == HRUN_JSON_OBJECT ? HRUN_JPATH_KEY(at, v->keys[i])
								  : HRUN_JPATH_INDEX(at, i);
		if (check_duplicates(v->items[i], &p, err) < 0)
			return -1;
	}
	return 0;
}

static bool all_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

struct hrun_json_doc *hrun_json_parse(const char *data, size_t len, const char *file,
				      struct hrun_error *err)
{
	struct hrun_json_doc *doc;
	struct hrun_json *root;

	if (!file)
		file = "<json>";
	if (len > HRUN_JSON_MAX_SIZE) {
		hrun_error_set(err, 0, "%s: document too large (%zu bytes, limit %u)", file, len,
			       HRUN_JSON_MAX_SIZE);
		with_code(err, EFBIG);
		return NULL;
	}
	if (!data || all_space(data, len)) {
		hrun_error_set(err, 0, "%s: empty document", file);
		return NULL;
	}
	if (prescan((const unsigned char *)data, len, file, err) < 0)
		return NULL;
	root = build(data, len, file, err);
	if (!root)
		return NULL;
	doc = calloc(1, sizeof(*doc));
	if (doc)
		doc->file = strdup(file);
	if (!doc || !doc->file) {
		free(doc);
		node_free(root);
		oom(err);
		return NULL;
	}
	doc->root = root;
	struct hrun_jpath top = HRUN_JPATH_ROOT(doc->file);
	if (check_duplicates(root, &top, err) < 0) {
		hrun_json_doc_free(doc);
		return NULL;
	}
	return doc;
}

void hrun_json_doc_free(struct hrun_json_doc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->file);
	free(doc);
}

const struct hrun_json *hrun_json_root(const struct hrun_json_doc *doc)
{
	return doc ? doc->root : NULL;
}

const char *hrun_json_file(const struct hrun_json_doc *doc)
{
	return doc ? doc->file : NULL;
}

enum hrun_json_type hrun_json_type(const struct hrun_json *v)
{
	return v ? v->type : HRUN_JSON_NULL;
}

const char *hrun_json_type_name(const struct hrun_json *j)
{
	switch (hrun_json_type(j)) {
	case HRUN_JSON_STRING:
		return "string";
	case HRUN_JSON_NUMBER:
		return "number";
	case HRUN_JSON_OBJECT:
		return "object";
	case HRUN_JSON_ARRAY:
		return "array";
	case HRUN_JSON_BOOL:
		return "boolean";
	case HRUN_JSON_NULL:
		break;
	}
	return "null";
}

static bool is_container(const struct hrun_json *v)
{
	return v && (v->type == HRUN_JSON_ARRAY || v->type == HRUN_JSON_OBJECT);
}

size_t hrun_json_len(const struct hrun_json *v)
{
	return is_container(v) ? v->n : 0;
}

const struct hrun_json *hrun_json_at(const struct hrun_json *arr, size_t i)
{
	return arr && arr->type == HRUN_JSON_ARRAY && i < arr->n ? arr->items[i] : NULL;
}

const char *hrun_json_key_at(const struct hrun_json *obj, size_t i)
{
	return obj && obj->type == HRUN_JSON_OBJECT && i < obj->n ? obj->keys[i] : NULL;
}

const struct hrun_json *hrun_json_value_at(const struct hrun_json *obj, size_t i)
{
	return obj && obj->type == HRUN_JSON_OBJECT && i < obj->n ? obj->items[i] : NULL;
}

const struct hrun_json *hrun_json_member(const struct hrun_json *obj, const char *key)
{
	if (!obj || obj->type != HRUN_JSON_OBJECT || !key)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (strcmp(obj->keys[i], key) == 0)
			return obj->items[i];
	return NULL;
}

const char *hrun_json_string(const struct hrun_json *v)
{
	return v && v->type == HRUN_JSON_STRING ? v->text : NULL;
}

/* --- Typed access ---------------------------------------------------------- */

static int expected(const struct hrun_json *v, const struct hrun_jpath *at, const char *what,
		    struct hrun_error *err)
{
	return hrun_json_error(err, at, "expected %s, got %s", what, hrun_json_type_name(v));
}

int hrun_json_as_string(const struct hrun_json *v, const struct hrun_jpath *at, const char **out,
			struct hrun_error *err)
{
	if (hrun_json_type(v) != HRUN_JSON_STRING)
		return expected(v, at, "string", err);
	*out = v->text;
	return 0;
}

int hrun_json_as_bool(const struct hrun_json *v, const struct hrun_jpath *at, bool *out,
		      struct hrun_error *err)
{
	if (hrun_json_type(v) != HRUN_JSON_BOOL)
		return expected(v, at, "boolean", err);
	*out = v->b;
	return 0;
}

int hrun_json_as_object(const struct hrun_json *v, const struct hrun_jpath *at,
			struct hrun_error *err)
{
	return hrun_json_type(v) == HRUN_JSON_OBJECT ? 0 : expected(v, at, "object", err);
}

int hrun_json_as_array(const struct hrun_json *v, const struct hrun_jpath *at,
		       struct hrun_error *err)
{
	return hrun_json_type(v) == HRUN_JSON_ARRAY ? 0 : expected(v, at, "array", err);
}

/* The number's text for a message, cut short: it may be megabytes long. */
static const char *short_number(const char *r, char *buf, size_t len)
{
	if (strlen(r) < len) {
		snprintf(buf, len, "%s", r);
	} else {
		snprintf(buf, len, "%.*s...", (int)(len - 4), r);
	}
	return buf;
}

/* The literal text of integer V (a long long cannot hold the uint64
 * range, so numbers are kept as text), or NULL with ERR filled. */
static const char *integer_text(const struct hrun_json *v, const struct hrun_jpath *at,
				struct hrun_error *err)
{
	char buf[48];
	const char *r;

	if (hrun_json_type(v) != HRUN_JSON_NUMBER) {
		expected(v, at, "integer", err);
		return NULL;
	}
	r = v->text;
	if (!r || strpbrk(r, ".eE")) {
		hrun_json_error(err, at, "expected integer, got number %s",
				short_number(r ? r : "?", buf, sizeof(buf)));
		return NULL;
	}
	return r;
}

/* Decimal digits D as a uint64; false on overflow. */
static bool digits_u64(const char *d, uint64_t *out)
{
	uint64_t n = 0;

	if (!*d)
		return false;
	for (; *d; d++) {
		unsigned c = (unsigned)(*d - '0');
		if (c > 9 || n > (UINT64_MAX - c) / 10)
			return false;
		n = n * 10 + c;
	}
	*out = n;
	return true;
}

int hrun_json_as_uint(const struct hrun_json *v, const struct hrun_jpath *at, unsigned bits,
		      uint64_t *out, struct hrun_error *err)
{
	uint64_t max = bits >= 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1, n;
	const char *r = integer_text(v, at, err);
	char buf[48];

	if (!r)
		return -1;
	if (r[0] == '-' || !digits_u64(r, &n) || n > max)
		return hrun_json_error(err, at, "value %s out of range for uint%u",
				       short_number(r, buf, sizeof(buf)), bits);
	*out = n;
	return 0;
}

int hrun_json_as_int(const struct hrun_json *v, const struct hrun_jpath *at, unsigned bits,
		     int64_t *out, struct hrun_error *err)
{
	uint64_t max = bits >= 64 ? (uint64_t)INT64_MAX : (UINT64_C(1) << (bits - 1)) - 1, n;
	const char *r = integer_text(v, at, err);
	bool neg;
	char buf[48];

	if (!r)
		return -1;
	neg = r[0] == '-';
	/* The negative side reaches one further: -2^(bits-1). */
	if (!digits_u64(r + neg, &n) || n > max + neg)
		return hrun_json_error(err, at, "value %s out of range for int%u",
				       short_number(r, buf, sizeof(buf)), bits);
	if (!neg)
		*out = (int64_t)n;
	else if (n == (uint64_t)INT64_MAX + 1)
		*out = INT64_MIN;
	else
		*out = -(int64_t)n;
	return 0;
}

/* Member KEY unless absent or null. */
static const struct hrun_json *present(const struct hrun_json *obj, const char *key)
{
	const struct hrun_json *v = hrun_json_member(obj, key);

	return hrun_json_type(v) == HRUN_JSON_NULL ? NULL : v;
}

int hrun_json_get_string(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, char **out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);
	const char *s = NULL;
	char *copy;

	if (!v)
		return 0;
	if (hrun_json_as_string(v, &p, &s, err) < 0)
		return -1;
	copy = strdup(s);
	if (!copy)
		return oom(err);
	*out = copy;
	return 1;
}

int hrun_json_get_bool(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       bool *out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);

	if (!v)
		return 0;
	return hrun_json_as_bool(v, &p, out, err) < 0 ? -1 : 1;
}

int hrun_json_get_int(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		      unsigned bits, int64_t *out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);

	if (!v)
		return 0;
	return hrun_json_as_int(v, &p, bits, out, err) < 0 ? -1 : 1;
}

int hrun_json_get_uint(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       unsigned bits, uint64_t *out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);

	if (!v)
		return 0;
	return hrun_json_as_uint(v, &p, bits, out, err) < 0 ? -1 : 1;
}

int hrun_json_get_object(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, const struct hrun_json **out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);

	if (!v)
		return 0;
	if (hrun_json_as_object(v, &p, err) < 0)
		return -1;
	*out = v;
	return 1;
}

int hrun_json_get_array(const struct hrun_json *obj, const struct hrun_jpath *at,
			const char *key, const struct hrun_json **out, struct hrun_error *err)
{
	const struct hrun_json *v = present(obj, key);
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);

	if (!v)
		return 0;
	if (hrun_json_as_array(v, &p, err) < 0)
		return -1;
	*out = v;
	return 1;
}

void hrun_json_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void hrun_json_kv_free(struct hrun_json_kv *kv, size_t n)
{
	if (!kv)
		return;
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

int hrun_json_get_strv(const struct hrun_json *obj, const struct hrun_jpath *at, const char *key,
		       char ***out, size_t *n, struct hrun_error *err)
{
	const struct hrun_json *arr = NULL;
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);
	char **v;
	size_t len;
	int r = hrun_json_get_array(obj, at, key, &arr, err);

	if (r <= 0)
		return r;
	len = hrun_json_len(arr);
	v = calloc(len + 1, sizeof(*v));
	if (!v)
		return oom(err);
	for (size_t i = 0; i < len; i++) {
		struct hrun_jpath ip = HRUN_JPATH_INDEX(&p, i);
		const char *s = NULL;

		if (hrun_json_as_string(hrun_json_at(arr, i), &ip, &s, err) < 0) {
			hrun_json_strv_free(v);
			return -1;
		}
		v[i] = strdup(s);
		if (!v[i]) {
			hrun_json_strv_free(v);
			return oom(err);
		}
	}
	*out = v;
	*n = len;
	return 1;
}

int hrun_json_get_strmap(const struct hrun_json *obj, const struct hrun_jpath *at,
			 const char *key, struct hrun_json_kv **out, size_t *n,
			 struct hrun_error *err)
{
	const struct hrun_json *map = NULL;
	struct hrun_jpath p = HRUN_JPATH_KEY(at, key);
	struct hrun_json_kv *kv;
	size_t len;
	int r = hrun_json_get_object(obj, at, key, &map, err);

	if (r <= 0)
		return r;
	len = hrun_json_len(map);
	kv = calloc(len ? len : 1, sizeof(*kv));
	if (!kv)
		return oom(err);
	for (size_t i = 0; i < len; i++) {
		struct hrun_jpath kp = HRUN_JPATH_KEY(&p, hrun_json_key_at(map, i));
		const char *s = NULL;

		if (hrun_json_as_string(hrun_json_value_at(map, i), &kp, &s, err) < 0) {
			hrun_json_kv_free(kv, i);
			return -1;
		}
		kv[i].key = strdup(hrun_json_key_at(map, i));
		kv[i].value = strdup(s);
		if (!kv[i].key || !kv[i].value) {
			hrun_json_kv_free(kv, i + 1);
			return oom(err);
		}
	}
	*out = kv;
	*n = len;
	return 1;
}

/* --- Writing ------------------------------------------------------------- */

struct hrun_jgen {
	yajl_gen y;
	bool pretty;
	bool done; /* the top-level value is complete */
	bool failed;
	int code;
	char msg[128];
	unsigned depth;
	char kind[HRUN_JSON_MAX_DEPTH]; /* 'm' object, 'a' array */
	bool want_key[HRUN_JSON_MAX_DEPTH];
};

struct hrun_jgen *hrun_jgen_new(bool pretty)
{
	struct hrun_jgen *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	/* yajl writes compact text; pretty printing is done at the end so
	 * that empty containers come out as [] and {}, not split over lines. */
	g->y = yajl_gen_alloc(NULL);
	if (!g->y) {
		free(g);
		return NULL;
	}
	g->pretty = pretty;
	return g;
}

void hrun_jgen_free(struct hrun_jgen *g)
{
	if (!g)
		return;
	yajl_gen_free(g->y);
	free(g);
}

static int gen_fail(struct hrun_jgen *g, int code, const char *msg)
{
	if (!g->failed) {
		g->failed = true;
		g->code = code;
		snprintf(g->msg, sizeof(g->msg), "%s", msg);
	}
	return -1;
}

static int gen_check(struct hrun_jgen *g, yajl_gen_status st)
{
	switch (st) {
	case yajl_gen_status_ok:
		return 0;
	case yajl_gen_keys_must_be_strings:
		return gen_fail(g, 0, "object keys must be strings");
	case yajl_max_depth_exceeded:
		return gen_fail(g, 0, "nesting too deep");
	case yajl_gen_invalid_string:
		return gen_fail(g, 0, "invalid UTF-8 in string");
	default:
		return gen_fail(g, 0, "yajl generator error");
	}
}

/* Check that a value may come next. */
static int before_value(struct hrun_jgen *g)
{
	if (!g || g->failed)
		return -1;
	if (g->depth == 0 && g->done)
		return gen_fail(g, 0, "more than one top-level value");
	if (g->depth > 0 && g->kind[g->depth - 1] == 'm' && g->want_key[g->depth - 1])
		return gen_fail(g, 0, "value where an object key is expected");
	return 0;
}

static void after_value(struct hrun_jgen *g)
{
	if (g->depth == 0)
		g->done = true;
	else if (g->kind[g->depth - 1] == 'm')
		g->want_key[g->depth - 1] = true;
}

static int gen_open(struct hrun_jgen *g, char kind)
{
	if (before_value(g) < 0)
		return -1;
	/* yajl_gen stops one level short of the parser's limit. */
	if (g->depth + 1 >= HRUN_JSON_MAX_DEPTH)
		return gen_fail(g, 0, "nesting too deep");
	if (gen_check(g, kind == 'm' ? yajl_gen_map_open(g->y) : yajl_gen_array_open(g->y)) < 0)
		return -1;
	g->kind[g->depth] = kind;
	g->want_key[g->depth] = true;
	g->depth++;
	return 0;
}

static int gen_close(struct hrun_jgen *g, char kind)
{
	if (!g || g->failed)
		return -1;
	if (g->depth == 0 || g->kind[g->depth - 1] != kind)
		return gen_fail(g, 0, "close without a matching open");
	if (kind == 'm' && !g->want_key[g->depth - 1])
		return gen_fail(g, 0, "object key without a value");
	if (gen_check(g, kind == 'm' ? yajl_gen_map_close(g->y) : yajl_gen_array_close(g->y)) < 0)
		return -1;
	g->depth--;
	after_value(g);
	return 0;
}

int hrun_jgen_map_open(struct hrun_jgen *g)
{
	return gen_open(g, 'm');
}

int hrun_jgen_map_close(struct hrun_jgen *g)
{
	return gen_close(g, 'm');
}

int hrun_jgen_array_open(struct hrun_jgen *g)
{
	return gen_open(g, 'a');
}

int hrun_jgen_array_close(struct hrun_jgen *g)
{
	return gen_close(g, 'a');
}

static int gen_text(struct hrun_jgen *g, const char *s)
{
	if (!s)
		return gen_fail(g, EINVAL, "NULL string");
	if (!utf8_valid(s))
		return gen_fail(g, EILSEQ, "invalid UTF-8 in string");
	return gen_check(g, yajl_gen_string(g->y, (const unsigned char *)s, strlen(s)));
}

int hrun_jgen_key(struct hrun_jgen *g, const char *key)
{
	if (!g || g->failed)
		return -1;
	if (g->depth == 0 || g->kind[g->depth - 1] != 'm' || !g->want_key[g->depth - 1])
		return gen_fail(g, 0, "object key outside an object or after another key");
	if (gen_text(g, key) < 0)
		return -1;
	g->want_key[g->depth - 1] = false;
	return 0;
}

int hrun_jgen_string(struct hrun_jgen *g, const char *s)
{
	if (before_value(g) < 0 || gen_text(g, s) < 0)
		return -1;
	after_value(g);
	return 0;
}

int hrun_jgen_int64(struct hrun_jgen *g, int64_t v)
{
	if (before_value(g) < 0 || gen_check(g, yajl_gen_integer(g->y, (long long)v)) < 0)
		return -1;
	after_value(g);
	return 0;
}

int hrun_jgen_uint64(struct hrun_jgen *g, uint64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	if (before_value(g) < 0 || gen_check(g, yajl_gen_number(g->y, buf, (size_t)n)) < 0)
		return -1;
	after_value(g);
	return 0;
}

int hrun_jgen_bool(struct hrun_jgen *g, bool v)
{
	if (before_value(g) < 0 || gen_check(g, yajl_gen_bool(g->y, v)) < 0)
		return -1;
	after_value(g);
	return 0;
}

int hrun_jgen_null(struct hrun_jgen *g)
{
	if (before_value(g) < 0 || gen_check(g, yajl_gen_null(g->y)) < 0)
		return -1;
	after_value(g);
	return 0;
}

int hrun_jgen_strv(struct hrun_jgen *g, char *const *v, size_t n)
{
	if (hrun_jgen_array_open(g) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (hrun_jgen_string(g, v[i]) < 0)
			return -1;
	return hrun_jgen_array_close(g);
}

struct obuf {
	char *p;
	size_t used, cap;
};

static int ob_put(struct obuf *b, const char *s, size_t n)
{
	if (b->used + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (b->used + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->used, s, n);
	b->used += n;
	b->p[b->used] = '\0';
	return 0;
}

static int ob_newline(struct obuf *b, unsigned depth)
{
	if (ob_put(b, "\n", 1) < 0)
		return -1;
	for (unsigned i = 0; i < depth; i++)
		if (ob_put(b, "\t", 1) < 0)
			return -1;
	return 0;
}

/* Indent compact JSON (as yajl wrote it: no whitespace outside strings). */
static char *reindent(const char *in, size_t len)
{
	struct obuf b = { 0 };
	bool in_str = false, esc = false;
	unsigned depth = 0;
	int r = 0;

	for (size_t i = 0; i < len && r == 0; i++) {
		char c = in[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			r = ob_put(&b, &c, 1);
			continue;
		}
		switch (c) {
		case '{':
		case '[':
			r = ob_put(&b, &c, 1);
			if (i + 1 < len && (in[i + 1] == '}' || in[i + 1] == ']')) {
				if (r == 0)
					r = ob_put(&b, &in[++i], 1);
			} else if (r == 0) {
				r = ob_newline(&b, ++depth);
			}
			break;
		case '}':
		case ']':
			r = ob_newline(&b, depth ? --depth : 0);
			if (r == 0)
				r = ob_put(&b, &c, 1);
			break;
		case ',':
			r = ob_put(&b, ",", 1);
			if (r == 0)
				r = ob_newline(&b, depth);
			break;
		case ':':
			r = ob_put(&b, ": ", 2);
			break;
		case '"':
			in_str = true;
			r = ob_put(&b, &c, 1);
			break;
		default:
			r = ob_put(&b, &c, 1);
		}
	}
	if (r == 0)
		r = ob_put(&b, "\n", 1);
	if (r < 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *hrun_jgen_finish(struct hrun_jgen *g, struct hrun_error *err)
{
	const unsigned char *buf;
	size_t len;
	char *out;

	if (!g) {
		oom(err);
		return NULL;
	}
	if (g->failed) {
		hrun_error_set(err, 0, "generate JSON: %s", g->msg);
		with_code(err, g->code);
		return NULL;
	}
	if (g->depth != 0 || !g->done) {
		hrun_error_set(err, 0, "generate JSON: document is incomplete");
		return NULL;
	}
	if (yajl_gen_get_buf(g->y, &buf, &len) != yajl_gen_status_ok) {
		hrun_error_set(err, 0, "generate JSON: no output");
		return NULL;
	}
	out = g->pretty ? reindent((const char *)buf, len) : strndup((const char *)buf, len);
	if (!out)
		oom(err);
	return out;
}
