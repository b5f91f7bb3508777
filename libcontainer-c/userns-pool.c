#define _GNU_SOURCE
#include "userns-pool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* In the owner's state directory: "POOL_DIR\nFIRST\n". */
#define SLICE_RECORD "userns-slice"

int hrun_userns_pool_parse(const char *text, struct hrun_userns_pool *pool)
{
	char *end;
	unsigned long long first, count;

	if (*text < '0' || *text > '9')
		return -1;
	first = strtoull(text, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return -1;
	count = strtoull(end + 1, &end, 10);
	if (*end || first == 0 || count == 0 || count % HRUN_USERNS_SLICE || first + count > UINT32_MAX)
		return -1;
	pool->first = (uint32_t)first;
	pool->count = (uint32_t)count;
	return 0;
}

/* The owner a slice link names still exists. */
static bool owner_alive(int pooldir, const char *name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(pooldir, name, target, sizeof(target) - 1);
	struct stat st;

	if (n < 0)
		return errno != EINVAL; /* not a link: leave it alone */
	target[n] = '\0';
	return stat(target, &st) == 0;
}

static int open_pool(const char *dir, struct hrun_error *err)
{
	int fd;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hrun_error_errno(err, "create user namespace pool \"%s\"", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return hrun_error_errno(err, "open user namespace pool \"%s\"", dir);
	return fd;
}

static int take(int pooldir, const char *name, const char *state_dir)
{
	if (symlinkat(state_dir, pooldir, name) == 0)
		return 0;
	if (errno != EEXIST || owner_alive(pooldir, name))
		return -1;
	/* Its owner is gone without releasing it: ours now. */
	if (unlinkat(pooldir, name, 0) < 0)
		return -1;
	return symlinkat(state_dir, pooldir, name);
}

static int record(int state_fd, const char *dir, uint32_t first, struct hrun_error *err)
{
	_cleanup_close_ int fd = openat(state_fd, SLICE_RECORD, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0 || dprintf(fd, "%s\n%" PRIu32 "\n", dir, first) < 0)
		return hrun_error_errno(err, "record the user namespace slice");
	return 0;
}

int hrun_userns_pool_reserve(const struct hrun_userns_pool *pool, const char *state_dir, int state_fd,
			     uint32_t *host_first, struct hrun_error *err)
{
	_cleanup_close_ int pooldir = open_pool(pool->dir, err);
	uint32_t slices = pool->count / HRUN_USERNS_SLICE;

	if (pooldir < 0)
		return -1;
	if (flock(pooldir, LOCK_EX) < 0)
		return hrun_error_errno(err, "lock user namespace pool \"%s\"", pool->dir);
	for (uint32_t i = 0; i < slices; i++) {
		uint32_t first = pool->first + i * HRUN_USERNS_SLICE;
		char name[16];

		snprintf(name, sizeof(name), "%" PRIu32, first);
		if (take(pooldir, name, state_dir) < 0)
			continue;
		if (record(state_fd, pool->dir, first, err) < 0) {
			unlinkat(pooldir, name, 0);
			return -1;
		}
		*host_first = first;
		return 0;
	}
	return hrun_error_plain(err, EBUSY, "user namespace pool %" PRIu32 ":%" PRIu32 " (\"%s\"): all %" PRIu32 " slices in use",
				pool->first, pool->count, pool->dir, slices);
}

void hrun_userns_pool_release(int state_fd)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int pooldir = -1;
	int fd = openat(state_fd, SLICE_RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char dir[PATH_MAX], name[32], target[PATH_MAX], self[PATH_MAX], proc[64];
	ssize_t n;

	if (fd < 0)
		return;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	if (!fgets(dir, sizeof(dir), f) || !fgets(name, sizeof(name), f))
		return;
	dir[strcspn(dir, "\n")] = '\0';
	name[strcspn(name, "\n")] = '\0';
	pooldir = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pooldir < 0 || flock(pooldir, LOCK_EX) < 0)
		return;
	/* Only while the link still names this state directory. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", state_fd);
	n = readlink(proc, self, sizeof(self) - 1);
	if (n < 0)
		return;
	self[n] = '\0';
	n = readlinkat(pooldir, name, target, sizeof(target) - 1);
	if (n < 0)
		return;
	target[n] = '\0';
	if (strcmp(target, self) == 0)
		unlinkat(pooldir, name, 0);
}
