#define _GNU_SOURCE
#include "landlock-policy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "json.h"
#include "landlock.h"

static const char *const known_keys[] = { "read", "write", "tcpBind", "tcpConnect", "bestEffort", NULL };

static bool known_key(const char *key)
{
	for (size_t i = 0; known_keys[i]; i++)
		if (strcmp(known_keys[i], key) == 0)
			return true;
	return false;
}

/* Absolute, without "." or ".." components: the rule names exactly the
 * tree the author meant (it is resolved inside the container's root, so
 * ".." could not leave it, but it would hide what is granted). */
static bool clean_absolute(const char *p)
{
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n;

		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
	}
	return true;
}

static int parse_paths(const struct hrun_json *root, const struct hrun_jpath *at, const char *key,
		       struct hrun_strv *out, struct hrun_error *err)
{
	struct hrun_jpath kp = HRUN_JPATH_KEY(at, key);
	int r = hrun_json_get_strv(root, at, key, &out->v, &out->n, err);

	if (r <= 0)
		return r;
	out->set = true;
	for (size_t i = 0; i < out->n; i++) {
		struct hrun_jpath ip = HRUN_JPATH_INDEX(&kp, i);
		char q[128];

		if (!clean_absolute(out->v[i]))
			return hrun_json_error(err, &ip, "expected an absolute path without \".\" or \"..\", got %s",
					       hrun_json_quote(out->v[i], q, sizeof(q)));
	}
	return 1;
}

static int parse_ports(const struct hrun_json *root, const struct hrun_jpath *at, const char *key,
		       struct hrun_landlock_ports *out, struct hrun_error *err)
{
	struct hrun_jpath kp = HRUN_JPATH_KEY(at, key);
	const struct hrun_json *arr = NULL;
	int r = hrun_json_get_array(root, at, key, &arr, err);

	if (r <= 0)
		return r;
	out->n = hrun_json_len(arr);
	out->v = calloc(out->n ? out->n : 1, sizeof(*out->v));
	if (!out->v)
		return hrun_error_errno(err, "allocate %s", key);
	out->set = true;
	for (size_t i = 0; i < out->n; i++) {
		struct hrun_jpath ip = HRUN_JPATH_INDEX(&kp, i);
		uint64_t port;

		if (hrun_json_as_uint(hrun_json_at(arr, i), &ip, 16, &port, err) < 0)
			return -1;
		out->v[i] = (uint16_t)port;
	}
	return 1;
}

int hrun_landlock_policy_parse(const char *text, size_t len, const char *origin,
			       struct hrun_landlock_policy *out, struct hrun_error *err)
{
	_cleanup_json_doc_ struct hrun_json_doc *doc = NULL;
	struct hrun_jpath root = HRUN_JPATH_ROOT(origin);
	const struct hrun_json *obj;
	size_t rules;

	memset(out, 0, sizeof(*out));
	out->origin = strdup(origin);
	if (!out->origin)
		return hrun_error_errno(err, "strdup");
	doc = hrun_json_parse(text, len, origin, err);
	if (!doc)
		return -1;
	obj = hrun_json_root(doc);
	if (hrun_json_as_object(obj, &root, err) < 0)
		return -1;
	for (size_t i = 0; i < hrun_json_len(obj); i++) {
		char q[64];

		if (!known_key(hrun_json_key_at(obj, i)))
			return hrun_error_plain(err, EINVAL,
						"%s: unknown key %s (known: read, write, tcpBind, tcpConnect, bestEffort)",
						origin, hrun_json_quote(hrun_json_key_at(obj, i), q, sizeof(q)));
	}
	if (parse_paths(obj, &root, "read", &out->read, err) < 0 ||
	    parse_paths(obj, &root, "write", &out->write, err) < 0 ||
	    parse_ports(obj, &root, "tcpBind", &out->tcp_bind, err) < 0 ||
	    parse_ports(obj, &root, "tcpConnect", &out->tcp_connect, err) < 0 ||
	    hrun_json_get_bool(obj, &root, "bestEffort", &out->best_effort, err) < 0)
		return -1;
	out->fs = out->read.set || out->write.set;
	if (!out->fs && !out->tcp_bind.set && !out->tcp_connect.set)
		return hrun_error_plain(err, EINVAL,
					"%s: restricts nothing: give at least one of read, write, tcpBind, tcpConnect",
					origin);
	rules = out->read.n + out->write.n + out->tcp_bind.n + out->tcp_connect.n;
	if (rules > HRUN_LANDLOCK_MAX_RULES)
		return hrun_error_plain(err, E2BIG, "%s: %zu rules, at most %d", origin, rules,
					HRUN_LANDLOCK_MAX_RULES);
	return 0;
}

void hrun_landlock_policy_free(struct hrun_landlock_policy *p)
{
	free(p->origin);
	hrun_json_strv_free(p->read.v);
	hrun_json_strv_free(p->write.v);
	free(p->tcp_bind.v);
	free(p->tcp_connect.v);
	memset(p, 0, sizeof(*p));
}

void hrun_landlock_free(struct hrun_landlock *ll)
{
	for (size_t i = 0; i < ll->n; i++)
		hrun_landlock_policy_free(&ll->layers[i]);
	ll->n = 0;
}

int hrun_landlock_policy_min_abi(const struct hrun_landlock_policy *p)
{
	if (p->tcp_bind.set || p->tcp_connect.set)
		return 4;
	return p->fs ? 3 : 1;
}

int hrun_landlock_policy_check_abi(const struct hrun_landlock_policy *p, int abi,
				   struct hrun_error *err)
{
	const bool tcp = p->tcp_bind.set || p->tcp_connect.set;
	const char *lost;

	/* bestEffort never means "no Landlock at all": that is a different
	 * kernel from the one the policy was written for. */
	if (abi <= 0)
		return hrun_error_plain(err, EOPNOTSUPP,
					"%s: this kernel has no Landlock (needs Linux 5.13 or later with \"landlock\" in the lsm= boot parameter)",
					p->origin);
	if (abi >= hrun_landlock_policy_min_abi(p))
		return 0;
	if (tcp && abi < 4)
		lost = p->fs && abi < 3 ? "tcpBind/tcpConnect (needs ABI 4) and truncate in read-only trees (ABI 3)"
					: "tcpBind/tcpConnect (needs ABI 4)";
	else
		lost = "truncate in read-only trees (needs ABI 3)";
	if (!p->best_effort)
		return hrun_error_plain(err, EOPNOTSUPP,
					"%s: the kernel's Landlock ABI %d cannot restrict %s; set \"bestEffort\": true to run without that restriction",
					p->origin, abi, lost);
	hrun_warn("%s: Landlock ABI %d: %s not restricted (bestEffort)", p->origin, abi, lost);
	return 0;
}

/* A policy is a few lines; anything near this is not one. */
#define MAX_POLICY_FILE (1u << 20)

int hrun_landlock_read_host_policy(const char *path, char **text, struct hrun_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;

	*text = NULL;
	if (!path || !*path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return hrun_error_errno(err, "landlock_policy: open \"%s\"", path);
	buf = malloc(MAX_POLICY_FILE + 1);
	if (!buf)
		return hrun_error_errno(err, "malloc");
	for (;;) {
		ssize_t n = read(fd, buf + len, MAX_POLICY_FILE + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return hrun_error_errno(err, "landlock_policy: read \"%s\"", path);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > MAX_POLICY_FILE)
			return hrun_error_plain(err, EFBIG, "landlock_policy: \"%s\" is larger than %u bytes", path,
						MAX_POLICY_FILE);
	}
	buf[len] = '\0';
	if (strlen(buf) != len)
		return hrun_error_plain(err, EINVAL, "landlock_policy: \"%s\" holds a NUL byte", path);
	*text = buf;
	buf = NULL;
	return 0;
}

/* The kernel confines a process without CAP_SYS_ADMIN only once it has
 * no_new_privs, and the restriction comes after the privileges are
 * dropped: a policy makes it part of the process. */
static int require_no_new_privs(struct hrun_process *proc, const char *origin, struct hrun_error *err)
{
	if (!proc)
		return 0;
	if (proc->no_new_privileges.set && !proc->no_new_privileges.v)
		return hrun_error_plain(err, EINVAL,
					"%s: process.noNewPrivileges is false, but Landlock confines a process only with no_new_privs",
					origin);
	proc->no_new_privileges = (struct hrun_opt_bool){ .set = true, .v = true };
	return 0;
}

int hrun_landlock_load(struct hrun_spec *spec, const char *host_text, const char *host_origin,
		       struct hrun_landlock *out, struct hrun_error *err)
{
	const char *asked = hrun_spec_annotation(spec, HRUN_LANDLOCK_ANNOTATION);

	memset(out, 0, sizeof(*out));
	if (host_text && *host_text) {
		if (hrun_landlock_policy_parse(host_text, strlen(host_text), host_origin, &out->layers[0], err) < 0) {
			hrun_landlock_policy_free(&out->layers[0]);
			return -1;
		}
		/* Written once for every image: a tree one image lacks grants
		 * nothing there, and so is no reason to refuse it. */
		out->layers[0].skip_missing = true;
		out->n = 1;
	}
	if (asked) {
		struct hrun_landlock_policy *p = &out->layers[out->n];

		if (hrun_landlock_policy_parse(asked, strlen(asked), "annotation " HRUN_LANDLOCK_ANNOTATION, p,
					       err) < 0) {
			hrun_landlock_policy_free(p);
			hrun_landlock_free(out);
			return -1;
		}
		out->n++;
	}
	if (!out->n)
		return 0;
	out->abi = hrun_landlock_abi();
	for (size_t i = 0; i < out->n; i++)
		if (hrun_landlock_policy_check_abi(&out->layers[i], out->abi, err) < 0 ||
		    require_no_new_privs(spec->process, out->layers[i].origin, err) < 0) {
			hrun_landlock_free(out);
			return -1;
		}
	return 0;
}
