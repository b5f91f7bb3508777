/* A minimal D-Bus client: a unix socket, SASL EXTERNAL, little-endian
 * marshalling of method calls, and parsing of replies and signals. Only
 * what the systemd cgroup driver needs (no fd passing, no big-endian
 * peers, no introspection); hrun links no D-Bus library. */
#ifndef HRUN_DBUS_H
#define HRUN_DBUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum hrun_dbus_type {
	HRUN_DBUS_METHOD_CALL = 1,
	HRUN_DBUS_METHOD_RETURN = 2,
	HRUN_DBUS_ERROR = 3,
	HRUN_DBUS_SIGNAL = 4,
};

/* Messages larger than this are refused: systemd's answers to our calls
 * are a few hundred bytes. */
#define HRUN_DBUS_MAX_MESSAGE (4u << 20)

/* A body (or a whole message) under construction. Alignment is counted
 * from the start of the buffer, which is where the body starts: the
 * header is padded to 8 bytes. An allocation failure sticks in FAILED
 * and is reported once, when the message is sent. */
struct hrun_dbus_buf {
	uint8_t *data;
	size_t len, cap;
	bool failed;
};

void hrun_dbus_buf_free(struct hrun_dbus_buf *b);
void hrun_dbus_put_byte(struct hrun_dbus_buf *b, uint8_t v);
void hrun_dbus_put_bool(struct hrun_dbus_buf *b, bool v);
void hrun_dbus_put_u32(struct hrun_dbus_buf *b, uint32_t v);
void hrun_dbus_put_u64(struct hrun_dbus_buf *b, uint64_t v);
void hrun_dbus_put_string(struct hrun_dbus_buf *b, const char *s); /* s and o */
void hrun_dbus_put_signature(struct hrun_dbus_buf *b, const char *sig);
void hrun_dbus_align(struct hrun_dbus_buf *b, size_t n);
/* An array: begin writes a placeholder length, end fills it in.
 * ELEM_ALIGN is the alignment of its element type (8 for structs). */
struct hrun_dbus_array {
	size_t len_at, start;
};
struct hrun_dbus_array hrun_dbus_array_begin(struct hrun_dbus_buf *b, size_t elem_align);
void hrun_dbus_array_end(struct hrun_dbus_buf *b, struct hrun_dbus_array a);

/* Reading a message's body or header, every read bounds-checked. */
struct hrun_dbus_reader {
	const uint8_t *data;
	size_t len, pos;
	bool failed;
};

uint8_t hrun_dbus_get_byte(struct hrun_dbus_reader *r);
uint32_t hrun_dbus_get_u32(struct hrun_dbus_reader *r);
/* A string, object path or signature, pointing into the message (its
 * NUL is checked to be there), or NULL once the reader failed. */
const char *hrun_dbus_get_string(struct hrun_dbus_reader *r);
const char *hrun_dbus_get_signature(struct hrun_dbus_reader *r);
/* Skip one complete value of the type that starts at *SIG, moving *SIG
 * past it. */
void hrun_dbus_skip(struct hrun_dbus_reader *r, const char **sig);

/* A decoded message; the strings point into RAW, which it owns. */
struct hrun_dbus_message {
	uint8_t type;
	uint8_t flags;
	uint32_t serial;
	uint32_t reply_serial;
	const char *path, *interface, *member, *error_name, *destination, *sender;
	const char *signature; /* "" when the message has no body */
	const uint8_t *body;
	size_t body_len;
	uint8_t *raw;
};

/* The length of the whole message at the start of DATA once 16 bytes are
 * there; 0 when fewer are; -1 with ERR when it is malformed or too big. */
long hrun_dbus_message_size(const uint8_t *data, size_t len, struct hrun_error *err);

/* Decode the LEN bytes at DATA (a copy is kept in MSG->raw). */
int hrun_dbus_decode(const uint8_t *data, size_t len, struct hrun_dbus_message *msg,
		     struct hrun_error *err);

/* A whole message: header fields as given (NULL ones left out), then
 * BODY, whose SIGNATURE may be NULL or "" for none. */
struct hrun_dbus_header {
	uint8_t type;
	uint8_t flags;
	uint32_t serial;
	uint32_t reply_serial;
	const char *path, *interface, *member, *error_name, *destination, *sender;
	const char *signature;
};
int hrun_dbus_encode(const struct hrun_dbus_header *h, const struct hrun_dbus_buf *body,
		     struct hrun_dbus_buf *out, struct hrun_error *err);

void hrun_dbus_message_free(struct hrun_dbus_message *msg);

/* How long a connect, call or wait may take unless BUS->timeout_ms was
 * set before hrun_dbus_open. */
#define HRUN_DBUS_TIMEOUT_MS 30000

struct hrun_dbus;
/* Called for each signal read while waiting for something else. */
typedef void (*hrun_dbus_signal_fn)(struct hrun_dbus *bus, const struct hrun_dbus_message *msg,
				    void *data);

struct hrun_dbus {
	int fd;
	uint32_t serial;
	bool via_bus;	   /* a bus daemon is in between (else peer-to-peer) */
	int timeout_ms;	   /* for the connect, each call and wait */
	uint8_t *in;	   /* bytes read, not yet a whole message */
	size_t in_len, in_cap;
	hrun_dbus_signal_fn on_signal;
	void *signal_data;
	char last_error[256]; /* the D-Bus error name of the last failed call */
};

/* Connect to ADDRESS (D-Bus address syntax; "unix:path=" and
 * "unix:abstract=" entries, the first that connects wins), authenticate
 * with EXTERNAL and, with HELLO (a bus daemon, not a peer), say Hello. */
int hrun_dbus_open(struct hrun_dbus *bus, const char *address, bool hello, struct hrun_error *err);

/* The same over a connected socket FD, which BUS takes over. */
int hrun_dbus_open_fd(struct hrun_dbus *bus, int fd, bool hello, struct hrun_error *err);

void hrun_dbus_close(struct hrun_dbus *bus);

/* Call a method and wait for its reply (REPLY may be NULL). An error
 * reply fails with "MEMBER: ERROR.NAME: text" and leaves the name in
 * BUS->last_error. Signals read meanwhile go to BUS->on_signal. */
int hrun_dbus_call(struct hrun_dbus *bus, const char *destination, const char *path,
		   const char *interface, const char *member, const char *signature,
		   const struct hrun_dbus_buf *body, struct hrun_dbus_message *reply,
		   struct hrun_error *err);

/* Read and dispatch messages until *DONE is true, or time out. */
int hrun_dbus_wait(struct hrun_dbus *bus, const bool *done, struct hrun_error *err);

#endif
