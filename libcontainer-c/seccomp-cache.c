#define _GNU_SOURCE
#include "seccomp-cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"

/* --- builtin profiles ----------------------------------------------------------- */

static const struct hrun_seccomp_builtin *builtin_named(const char *name)
{
	for (size_t i = 0; i < hrun_seccomp_builtins_n; i++)
		if (strcmp(hrun_seccomp_builtins[i].name, name) == 0)
			return &hrun_seccomp_builtins[i];
	return NULL;
}

int hrun_seccomp_builtin_profile(const char *name, struct hrun_seccomp *out, struct hrun_error *err)
{
	const struct hrun_seccomp_builtin *b = builtin_named(name);

	if (!b)
		return hrun_error_plain(err, ENOENT, "seccomp: this hrun was built without the profile \"%s\"", name);
	return hrun_seccomp_parse(b->json, strlen(b->json), name, out, err);
}

static int copy_prog(const struct sock_filter *insns, unsigned short len, unsigned int flags,
		     struct hrun_seccomp_prog *out, struct hrun_error *err)
{
	out->insns = malloc(len * sizeof(*insns));
	if (!out->insns)
		return hrun_error_errno(err, "malloc");
	memcpy(out->insns, insns, len * sizeof(*insns));
	out->len = len;
	out->flags = flags;
	return 0;
}

int hrun_seccomp_builtin_lookup(const char *json, struct hrun_seccomp_prog *out, struct hrun_error *err)
{
	for (size_t i = 0; i < hrun_seccomp_builtins_n; i++) {
		const struct hrun_seccomp_builtin *b = &hrun_seccomp_builtins[i];

		if (strcmp(b->json, json) != 0)
			continue;
		if (copy_prog(b->insns, b->len, b->flags, out, err) < 0)
			return -1;
		hrun_debug("seccomp: the precompiled profile \"%s\" (%u instructions)", b->name, b->len);
		return 1;
	}
	return 0;
}

/* --- the host cache ------------------------------------------------------------- */

/* An entry: this header, the profile's canonical text, the instructions.
 * The header names what made the filter: the format and hrun version, the
 * libseccomp version (which syscall names it knows decides what a profile
 * compiles to) and the kernel (whose flags were probed). An entry made by
 * anything else is not used. */
#define CACHE_FORMAT "hrun-seccomp-2 " PACKAGE_VERSION
/* A bound on what a stream of distinct profiles can leave in /run (RAM):
 * 128 entries of at most 256 KiB of text (Docker's profile is ~20 KiB). */
#define CACHE_MAX_ENTRIES 128
#define CACHE_MAX_JSON (256u << 10)

struct cache_header {
	char maker[128];
	uint32_t json_len;
	uint32_t n_insns;
	uint32_t flags;
	uint32_t reserved;
};

static void cache_maker(char *buf, size_t len)
{
	struct utsname u;
	const struct scmp_version *v = seccomp_version();

	if (uname(&u) < 0)
		snprintf(u.release, sizeof(u.release), "?");
	memset(buf, 0, len);
	snprintf(buf, len, "%s libseccomp %u.%u.%u kernel %s", CACHE_FORMAT, v->major, v->minor, v->micro,
		 u.release);
}

/* FNV-1a: only names the file; the entry's full text is compared. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static void entry_name(const char *json, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64 ".bpf", name_hash(json));
}

/* The cache directory, made if missing; only one that is ours and that
 * nobody else can write is used. */
static int open_cache_dir(const char *dir, bool create)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	if (st.st_uid != geteuid() || (st.st_mode & 022)) {
		hrun_debug("seccomp cache %s: not owned by us or writable by others; not used", dir);
		errno = EPERM;
		return -1;
	}
	int ret = fd;
	fd = -1;
	return ret;
}

static bool read_full(int fd, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

int hrun_seccomp_cache_load(const char *dir, const char *json, struct hrun_seccomp_prog *out)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ struct sock_filter *insns = NULL;
	struct cache_header h;
	char name[32], maker[sizeof(h.maker)];
	size_t json_len = strlen(json);
	struct stat st;

	if (!dir || !*dir)
		return 0;
	dfd = open_cache_dir(dir, false);
	if (dfd < 0)
		return 0;
	entry_name(json, name, sizeof(name));
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
		return 0;
	cache_maker(maker, sizeof(maker));
	if (!read_full(fd, &h, sizeof(h)) || memcmp(h.maker, maker, sizeof(maker)) != 0 ||
	    h.json_len != json_len || h.n_insns == 0 || h.n_insns > BPF_MAXINSNS)
		return 0;
	text = malloc(json_len);
	insns = malloc(h.n_insns * sizeof(*insns));
	if (!text || !insns || !read_full(fd, text, json_len) || memcmp(text, json, json_len) != 0 ||
	    !read_full(fd, insns, h.n_insns * sizeof(*insns)))
		return 0;
	out->insns = insns;
	insns = NULL;
	out->len = (unsigned short)h.n_insns;
	out->flags = h.flags;
	hrun_debug("seccomp: the cached filter %s/%s (%u instructions)", dir, name, h.n_insns);
	return 1;
}

static size_t count_entries(int dfd)
{
	int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	size_t n = 0;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return SIZE_MAX;
	}
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

void hrun_seccomp_cache_store(const char *dir, const char *json, const struct hrun_seccomp_prog *prog)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	struct cache_header h = { .json_len = (uint32_t)strlen(json), .n_insns = prog->len, .flags = prog->flags };
	char name[32], fdpath[64];

	if (!dir || !*dir || !prog->insns || h.json_len > CACHE_MAX_JSON)
		return;
	dfd = open_cache_dir(dir, true);
	if (dfd < 0) {
		hrun_debug("seccomp cache %s: %s; not stored", dir, strerror(errno));
		return;
	}
	if (count_entries(dfd) >= CACHE_MAX_ENTRIES + 2) {
		hrun_debug("seccomp cache %s: full; not stored", dir);
		return;
	}
	cache_maker(h.maker, sizeof(h.maker));
	entry_name(json, name, sizeof(name));
	/* Written unnamed and linked in whole: a reader sees a complete entry
	 * or none, and a crash leaves no partial file behind. An entry of that
	 * name that exists already stays. */
	fd = openat(dfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (!write_full(fd, &h, sizeof(h)) || !write_full(fd, json, h.json_len) ||
	    !write_full(fd, prog->insns, prog->len * sizeof(*prog->insns)) ||
	    (linkat(AT_FDCWD, fdpath, dfd, name, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST))
		hrun_debug("seccomp cache %s: write %s: %s", dir, name, strerror(errno));
}
