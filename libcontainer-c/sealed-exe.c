#define _GNU_SOURCE
#include "sealed-exe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Every seal that stops a change of content or of the exec bit. */
#define HRUN_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

bool hrun_exe_needs_sealing(const struct hrun_spec *spec)
{
	return hrun_spec_find_ns(spec, HRUN_NS_USER) == NULL;
}

bool hrun_exe_is_sealed(void)
{
	_cleanup_close_ int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int seals;

	if (fd < 0)
		return false;
	seals = fcntl(fd, F_GET_SEALS);
	return seals >= 0 && (seals & HRUN_SEALS) == HRUN_SEALS;
}

/* Kernels with vm.memfd_noexec want MFD_EXEC said; older ones refuse the
 * unknown flag. */
static int exec_memfd(void)
{
	int fd = memfd_create("hrun", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL)
		fd = memfd_create("hrun", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

static int copy_all(int from, int to, off_t size)
{
	off_t done = 0;

	while (done < size) {
		ssize_t n = sendfile(to, from, NULL, (size_t)(size - done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

int hrun_exe_reexec_sealed(int cwdfd, char *const *argv, struct hrun_error *err)
{
	_cleanup_close_ int exe = -1;
	_cleanup_close_ int mfd = -1;
	struct stat st;

	if (hrun_exe_is_sealed())
		return 0;
	if (!argv || !argv[0])
		return hrun_error_plain(err, EINVAL, "re-execute hrun sealed: its arguments are unknown");
	exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0 || fstat(exe, &st) < 0)
		return hrun_error_errno(err, "open hrun's own binary");
	mfd = exec_memfd();
	if (mfd < 0)
		return hrun_error_errno(err, "memfd_create for a sealed copy of hrun");
	if (copy_all(exe, mfd, st.st_size) < 0)
		return hrun_error_errno(err, "copy hrun into a sealed memfd");
	/* Kernels without F_SEAL_EXEC refuse it: the write seal alone keeps
	 * the content, which is what matters. Before F_SEAL_SEAL, which
	 * ends all sealing. */
	fcntl(mfd, F_ADD_SEALS, F_SEAL_EXEC);
	if (fcntl(mfd, F_ADD_SEALS, HRUN_SEALS) < 0)
		return hrun_error_errno(err, "seal hrun's copy");
	if (cwdfd >= 0 && fchdir(cwdfd) < 0)
		return hrun_error_errno(err, "return to the starting directory");
	execveat(mfd, "", argv, environ, AT_EMPTY_PATH);
	return hrun_error_errno(err, "execute hrun's sealed copy");
}
