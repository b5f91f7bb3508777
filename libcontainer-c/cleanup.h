/* Scope-bound release of memory and fds, so every early return is correct. */
#ifndef HRUN_CLEANUP_H
#define HRUN_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void hrun_freep(void *p)
{
	free(*(void **)p);
}

static inline void hrun_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

static inline void hrun_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(hrun_freep)))
#define _cleanup_close_ __attribute__((cleanup(hrun_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(hrun_fclosep)))

/* Hand an fd out of a _cleanup_close_ variable. */
static inline int hrun_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

static inline void *hrun_steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;
	*p = NULL;
	return r;
}

#endif
