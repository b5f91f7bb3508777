/* The container's terminal: a pty allocated inside the container from its
 * own devpts, its master handed over a unix socket (runc's console-socket
 * contract: one SCM_RIGHTS fd, the pty name as data), and the helpers of
 * the foreground proxy between the runtime's own terminal and the master.
 *
 * In the container, in this order: mount devpts (newinstance,
 * ptmxmode=0666) at dev/pts, hrun_console_open_pty, hrun_console_bind_dev_console,
 * hrun_console_send and close the master, setsid, hrun_console_set_stdio,
 * close the peer. */
#ifndef HRUN_CONSOLE_H
#define HRUN_CONSOLE_H

#include <stdbool.h>
#include <sys/types.h>
#include <termios.h>

#include "error.h"

/* Allocate a pty from the devpts at ROOTFD-relative dev/pts (or, when there
 * is none, from what dev/ptmx resolves to inside the root), checking the
 * ptmx really is devpts's char device 5:2 before it is opened for real.
 * The peer is taken from the master (TIOCGPTPEER), never by path. ROWS and
 * COLS set the window size when non-zero. Returns the master; *PEER gets
 * the peer and *NAME (malloc'd, may be NULL to skip) its name "/dev/pts/N".
 * Both fds are O_CLOEXEC and O_NOCTTY. */
int hrun_console_open_pty(int rootfd, unsigned rows, unsigned cols, int *peer, char **name,
			  struct hrun_error *err);

/* Make PEER the controlling terminal of the calling process, which must be
 * a session leader without one (setsid first), and dup it onto 0, 1 and 2
 * (without O_CLOEXEC). PEER itself is left open: close it when > 2. */
int hrun_console_set_stdio(int peer, struct hrun_error *err);

/* Bind PEER over ROOTFD-relative dev/console, creating an empty regular
 * file there when nothing is. A symlink at dev/console is refused, and
 * every other component resolves inside the root. */
int hrun_console_bind_dev_console(int rootfd, int peer, struct hrun_error *err);

/* Send MASTER over the connected unix socket SOCK: exactly one SCM_RIGHTS
 * fd, with NAME (non-empty) as the data. */
int hrun_console_send(int sock, int master, const char *name, struct hrun_error *err);

/* Connect a SOCK_STREAM unix socket to PATH, which may be longer than
 * sun_path (its directory is then opened and reached as /proc/self/fd/N;
 * the cwd is never changed). Returns the connected fd, O_CLOEXEC. */
int hrun_console_connect(const char *path, struct hrun_error *err);


/* Receive the fd sent by hrun_console_send, O_CLOEXEC. A message with no
 * fd or with more than one is refused and every fd it carried is closed.
 * *NAME (may be NULL to skip) gets the data as a malloc'd string. */
int hrun_console_recv(int sock, char **name, struct hrun_error *err);

/* Put FD in raw mode when it is a terminal, saving its settings in SAVED;
 * *CHANGED says whether anything was changed (false, and 0 returned, when
 * FD is not a terminal). The caller should not be in a background process
 * group of that terminal (SIGTTOU). */
int hrun_console_raw(int fd, struct termios *saved, bool *changed, struct hrun_error *err);

/* Put back what hrun_console_raw saved; nothing when !CHANGED. */
void hrun_console_restore(int fd, const struct termios *saved, bool changed);

/* Give MASTER the window size of FROM; nothing when FROM is not a tty.
 * Call it once at start and on every SIGWINCH. */
void hrun_console_copy_winsize(int from, int master);

/* One read from FROM, written whole to TO (waiting for TO when it is
 * non-blocking and full). Returns the bytes moved; 0 at end of file,
 * including EIO from a pty whose other side is closed; -1 with errno set on
 * error, EAGAIN meaning nothing is readable yet. A write to a closed pipe
 * raises SIGPIPE: the proxy should ignore it. */
ssize_t hrun_console_pump(int from, int to);

#endif
