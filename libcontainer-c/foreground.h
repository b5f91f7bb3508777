/* The parent of a foreground container process (run, exec): holds every
 * signal from the start, forwards them to the process, proxies its
 * terminal, and turns its end into an exit status. */
#ifndef HRUN_FOREGROUND_H
#define HRUN_FOREGROUND_H

#include <signal.h>
#include <stdbool.h>

#include "error.h"

struct hrun_foreground {
	int sigfd;
	sigset_t old_mask;
};

#define HRUN_FOREGROUND_INIT { .sigfd = -1 }

/* Block every signal but the synchronous faults and read them from a
 * signalfd instead: one arriving mid-setup must not end us before what
 * was made is undone. */
int hrun_foreground_block(struct hrun_foreground *fg, struct hrun_error *err);

/* Undo hrun_foreground_block; a pending SIGTERM may end us now. */
void hrun_foreground_restore(struct hrun_foreground *fg);

/* Forward signals to the process of PIDFD (our child) until it exits.
 * With MASTER >= 0 (a pty master) also copy stdin to it and it to stdout,
 * in raw mode when stdin is a terminal, and follow the window size.
 * Returns the exit status, 128+N when killed by signal N. */
int hrun_foreground_wait(struct hrun_foreground *fg, int pidfd, int master, struct hrun_error *err);

#endif
