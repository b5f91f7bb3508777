#define _GNU_SOURCE
#include "dbus.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* Header field codes (D-Bus specification, "Message Format"). */
enum {
	FIELD_PATH = 1,
	FIELD_INTERFACE = 2,
	FIELD_MEMBER = 3,
	FIELD_ERROR_NAME = 4,
	FIELD_REPLY_SERIAL = 5,
	FIELD_DESTINATION = 6,
	FIELD_SENDER = 7,
	FIELD_SIGNATURE = 8,
	FIELD_UNIX_FDS = 9,
};

#define MAX_DEPTH 32 /* containers nested in a signature, as the spec allows */

/* --- writing -------------------------------------------------------------- */

static void grow(struct hrun_dbus_buf *b, size_t more)
{
	size_t cap;
	uint8_t *p;

	if (b->failed || b->len + more <= b->cap)
		return;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	if (cap > HRUN_DBUS_MAX_MESSAGE || !(p = realloc(b->data, cap))) {
		b->failed = true;
		return;
	}
	b->data = p;
	b->cap = cap;
}

static void put(struct hrun_dbus_buf *b, const void *p, size_t n)
{
	grow(b, n);
	if (b->failed)
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void hrun_dbus_buf_free(struct hrun_dbus_buf *b)
{
	free(b->data);
	*b = (struct hrun_dbus_buf){ 0 };
}

void hrun_dbus_align(struct hrun_dbus_buf *b, size_t n)
{
	static const uint8_t zeros[8];

	put(b, zeros, (n - b->len % n) % n);
}

void hrun_dbus_put_byte(struct hrun_dbus_buf *b, uint8_t v)
{
	put(b, &v, 1);
}

/* The wire is little-endian ('l' in the header); so is every host hrun
 * builds for, which the static assertion below keeps true. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "hrun's D-Bus client speaks little-endian");

void hrun_dbus_put_u32(struct hrun_dbus_buf *b, uint32_t v)
{
	hrun_dbus_align(b, 4);
	put(b, &v, 4);
}

void hrun_dbus_put_u64(struct hrun_dbus_buf *b, uint64_t v)
{
	hrun_dbus_align(b, 8);
	put(b, &v, 8);
}

void hrun_dbus_put_bool(struct hrun_dbus_buf *b, bool v)
{
	hrun_dbus_put_u32(b, v ? 1 : 0);
}

void hrun_dbus_put_string(struct hrun_dbus_buf *b, const char *s)
{
	size_t n = strlen(s);

	if (n > UINT32_MAX) {
		b->failed = true;
		return;
	}
	hrun_dbus_put_u32(b, (uint32_t)n);
	put(b, s, n + 1);
}

void hrun_dbus_put_signature(struct hrun_dbus_buf *b, const char *sig)
{
	size_t n = strlen(sig);

	if (n > 255) {
		b->failed = true;
		return;
	}
	hrun_dbus_put_byte(b, (uint8_t)n);
	put(b, sig, n + 1);
}

struct hrun_dbus_array hrun_dbus_array_begin(struct hrun_dbus_buf *b, size_t elem_align)
{
	struct hrun_dbus_array a;

	hrun_dbus_put_u32(b, 0);
	a.len_at = b->len - 4;
	/* The padding before the first element is not part of the length,
	 * and is there even when the array is empty. */
	hrun_dbus_align(b, elem_align);
	a.start = b->len;
	return a;
}

void hrun_dbus_array_end(struct hrun_dbus_buf *b, struct hrun_dbus_array a)
{
	uint32_t n;

	if (b->failed)
		return;
	n = (uint32_t)(b->len - a.start);
	memcpy(b->data + a.len_at, &n, 4);
}

/* --- reading -------------------------------------------------------------- */

static bool need(struct hrun_dbus_reader *r, size_t n)
{
	if (r->failed || r->pos > r->len || r->len - r->pos < n)
		r->failed = true;
	return !r->failed;
}

static void skip_padding(struct hrun_dbus_reader *r, size_t n)
{
	size_t pad = (n - r->pos % n) % n;

	if (!need(r, pad))
		return;
	for (size_t i = 0; i < pad; i++)
		if (r->data[r->pos + i] != 0)
			r->failed = true; /* the spec makes padding zero */
	r->pos += pad;
}

uint8_t hrun_dbus_get_byte(struct hrun_dbus_reader *r)
{
	if (!need(r, 1))
		return 0;
	return r->data[r->pos++];
}

uint32_t hrun_dbus_get_u32(struct hrun_dbus_reader *r)
{
	uint32_t v;

	skip_padding(r, 4);
	if (!need(r, 4))
		return 0;
	memcpy(&v, r->data + r->pos, 4);
	r->pos += 4;
	return v;
}

static const char *get_chars(struct hrun_dbus_reader *r, size_t n)
{
	const char *s;

	if (n == SIZE_MAX || !need(r, n + 1))
		return NULL;
	s = (const char *)r->data + r->pos;
	if (s[n] != '\0' || memchr(s, '\0', n)) {
		r->failed = true;
		return NULL;
	}
	r->pos += n + 1;
	return s;
}

const char *hrun_dbus_get_string(struct hrun_dbus_reader *r)
{
	uint32_t n = hrun_dbus_get_u32(r);

	return r->failed ? NULL : get_chars(r, n);
}

const char *hrun_dbus_get_signature(struct hrun_dbus_reader *r)
{
	uint8_t n = hrun_dbus_get_byte(r);

	return r->failed ? NULL : get_chars(r, n);
}

static size_t type_align(char t)
{
	switch (t) {
	case 'y': case 'g': case 'v':
		return 1;
	case 'n': case 'q':
		return 2;
	case 'b': case 'i': case 'u': case 's': case 'o': case 'a': case 'h':
		return 4;
	default: /* x t d ( { */
		return 8;
	}
}

/* The end of the single complete type starting at SIG, or NULL. */
static const char *type_end(const char *sig, int depth)
{
	if (depth > MAX_DEPTH)
		return NULL;
	switch (*sig) {
	case 'y': case 'b': case 'n': case 'q': case 'i': case 'u': case 'x':
	case 't': case 'd': case 's': case 'o': case 'g': case 'v': case 'h':
		return sig + 1;
	case 'a':
		return type_end(sig + 1, depth + 1);
	case '(':
	case '{': {
		char close = *sig == '(' ? ')' : '}';
		const char *p = sig + 1;
		while (p && *p && *p != close)
			p = type_end(p, depth + 1);
		return p && *p == close && p != sig + 1 ? p + 1 : NULL;
	}
	default:
		return NULL;
	}
}

static void skip_value(struct hrun_dbus_reader *r, const char **sig, int depth)
{
	const char *t = *sig;
	const char *end = type_end(t, 0);

	if (!end || depth > MAX_DEPTH) {
		r->failed = true;
		return;
	}
	*sig = end;
	switch (*t) {
	case 'y':
		hrun_dbus_get_byte(r);
		return;
	case 'n': case 'q':
		skip_padding(r, 2);
		if (need(r, 2))
			r->pos += 2;
		return;
	case 'b': case 'i': case 'u': case 'h':
		hrun_dbus_get_u32(r);
		return;
	case 'x': case 't': case 'd':
		skip_padding(r, 8);
		if (need(r, 8))
			r->pos += 8;
		return;
	case 's': case 'o':
		hrun_dbus_get_string(r);
		return;
	case 'g':
		hrun_dbus_get_signature(r);
		return;
	case 'v': {
		const char *inner = hrun_dbus_get_signature(r);
		if (inner && type_end(inner, 0) && *type_end(inner, 0) == '\0')
			skip_value(r, &inner, depth + 1);
		else
			r->failed = true;
		return;
	}
	case 'a': {
		uint32_t n = hrun_dbus_get_u32(r);
		size_t stop;
		skip_padding(r, type_align(t[1]));
		if (!need(r, n))
			return;
		stop = r->pos + n;
		while (!r->failed && r->pos < stop) {
			const char *elem = t + 1;
			skip_value(r, &elem, depth + 1);
		}
		if (r->pos != stop)
			r->failed = true;
		return;
	}
	default: { /* ( or { */
		const char *p = t + 1;
		skip_padding(r, 8);
		while (!r->failed && p < end - 1)
			skip_value(r, &p, depth + 1);
		return;
	}
	}
}

void hrun_dbus_skip(struct hrun_dbus_reader *r, const char **sig)
{
	skip_value(r, sig, 0);
}

/* --- messages ------------------------------------------------------------- */

long hrun_dbus_message_size(const uint8_t *data, size_t len, struct hrun_error *err)
{
	uint32_t body, fields;
	uint64_t total;

	if (len < 16)
		return 0;
	if (data[0] != 'l')
		return hrun_error_plain(err, EPROTO, "D-Bus: unsupported byte order '%c'", data[0]);
	memcpy(&body, data + 4, 4);
	memcpy(&fields, data + 12, 4);
	total = 16 + (uint64_t)fields;
	total = (total + 7) / 8 * 8 + body;
	if (total > HRUN_DBUS_MAX_MESSAGE)
		return hrun_error_plain(err, EMSGSIZE, "D-Bus: message of %llu bytes is too large",
					(unsigned long long)total);
	return (long)total;
}

static int read_field(struct hrun_dbus_reader *r, struct hrun_dbus_message *m, const char **sig_out)
{
	uint8_t code;
	const char *sig;
	const char **str = NULL;
	char want = 's';

	skip_padding(r, 8);
	code = hrun_dbus_get_byte(r);
	sig = hrun_dbus_get_signature(r);
	if (!sig)
		return -1;
	switch (code) {
	case FIELD_PATH: str = &m->path; want = 'o'; break;
	case FIELD_INTERFACE: str = &m->interface; break;
	case FIELD_MEMBER: str = &m->member; break;
	case FIELD_ERROR_NAME: str = &m->error_name; break;
	case FIELD_DESTINATION: str = &m->destination; break;
	case FIELD_SENDER: str = &m->sender; break;
	case FIELD_SIGNATURE: str = sig_out; want = 'g'; break;
	case FIELD_REPLY_SERIAL: want = 'u'; break;
	case FIELD_UNIX_FDS: want = 'u'; break;
	default: {
		/* Unknown fields are to be ignored; skip their value. */
		const char *p = sig;
		if (!type_end(sig, 0) || *type_end(sig, 0))
			return -1;
		hrun_dbus_skip(r, &p);
		return r->failed ? -1 : 0;
	}
	}
	if (sig[0] != want || sig[1] != '\0')
		return -1;
	if (want == 'u') {
		uint32_t v = hrun_dbus_get_u32(r);
		if (code == FIELD_REPLY_SERIAL)
			m->reply_serial = v;
		else if (v != 0)
			return -1; /* we never negotiated fd passing */
	} else if (want == 'g') {
		*str = hrun_dbus_get_signature(r);
	} else {
		*str = hrun_dbus_get_string(r);
	}
	return r->failed ? -1 : 0;
}

int hrun_dbus_decode(const uint8_t *data, size_t len, struct hrun_dbus_message *msg,
		     struct hrun_error *err)
{
	struct hrun_dbus_reader r;
	uint32_t body_len, fields_len;
	size_t fields_end;
	long size = hrun_dbus_message_size(data, len, err);

	*msg = (struct hrun_dbus_message){ .signature = "" };
	if (size < 0)
		return -1;
	if (size == 0 || (size_t)size != len)
		return hrun_error_plain(err, EPROTO, "D-Bus: truncated message");
	msg->raw = malloc(len);
	if (!msg->raw)
		return hrun_error_errno(err, "D-Bus: malloc");
	memcpy(msg->raw, data, len);
	r = (struct hrun_dbus_reader){ .data = msg->raw, .len = len, .pos = 1 };
	msg->type = hrun_dbus_get_byte(&r);
	msg->flags = hrun_dbus_get_byte(&r);
	if (hrun_dbus_get_byte(&r) != 1)
		goto bad;
	body_len = hrun_dbus_get_u32(&r);
	msg->serial = hrun_dbus_get_u32(&r);
	fields_len = hrun_dbus_get_u32(&r);
	fields_end = 16 + (size_t)fields_len;
	if (msg->serial == 0 || msg->type < 1 || msg->type > 4)
		goto bad;
	/* Fields are read within their array only. */
	r.len = fields_end;
	while (!r.failed && r.pos < fields_end)
		if (read_field(&r, msg, &msg->signature) < 0)
			goto bad;
	if (!msg->signature)
		msg->signature = "";
	r.len = len;
	r.pos = fields_end;
	skip_padding(&r, 8);
	if (r.failed || r.len - r.pos != body_len)
		goto bad;
	msg->body = msg->raw + r.pos;
	msg->body_len = body_len;
	/* The whole body must be what its signature says, no more: readers
	 * then only meet well-formed values. */
	{
		struct hrun_dbus_reader b = { .data = msg->body, .len = body_len };
		const char *sig = msg->signature;
		while (!b.failed && *sig)
			hrun_dbus_skip(&b, &sig);
		if (b.failed || b.pos != body_len)
			goto bad;
	}
	/* The fields each type must carry. */
	if ((msg->type == HRUN_DBUS_METHOD_CALL && (!msg->path || !msg->member)) ||
	    (msg->type == HRUN_DBUS_SIGNAL && (!msg->path || !msg->interface || !msg->member)) ||
	    (msg->type == HRUN_DBUS_ERROR && (!msg->error_name || !msg->reply_serial)) ||
	    (msg->type == HRUN_DBUS_METHOD_RETURN && !msg->reply_serial))
		goto bad;
	return 0;
bad:
	hrun_dbus_message_free(msg);
	return hrun_error_plain(err, EPROTO, "D-Bus: malformed message");
}

void hrun_dbus_message_free(struct hrun_dbus_message *msg)
{
	free(msg->raw);
	*msg = (struct hrun_dbus_message){ .signature = "" };
}

static void put_field(struct hrun_dbus_buf *b, uint8_t code, const char *type, const char *value)
{
	if (!value)
		return;
	hrun_dbus_align(b, 8);
	hrun_dbus_put_byte(b, code);
	hrun_dbus_put_signature(b, type);
	if (type[0] == 'g')
		hrun_dbus_put_signature(b, value);
	else
		hrun_dbus_put_string(b, value);
}

int hrun_dbus_encode(const struct hrun_dbus_header *h, const struct hrun_dbus_buf *body,
		     struct hrun_dbus_buf *out, struct hrun_error *err)
{
	struct hrun_dbus_array fields;
	size_t body_len = body ? body->len : 0;

	if (body && body->failed)
		return hrun_error_plain(err, ENOMEM, "D-Bus: cannot build the message body");
	*out = (struct hrun_dbus_buf){ 0 };
	hrun_dbus_put_byte(out, 'l');
	hrun_dbus_put_byte(out, h->type);
	hrun_dbus_put_byte(out, h->flags);
	hrun_dbus_put_byte(out, 1);
	hrun_dbus_put_u32(out, (uint32_t)body_len);
	hrun_dbus_put_u32(out, h->serial);
	fields = hrun_dbus_array_begin(out, 8);
	put_field(out, FIELD_PATH, "o", h->path);
	put_field(out, FIELD_INTERFACE, "s", h->interface);
	put_field(out, FIELD_MEMBER, "s", h->member);
	put_field(out, FIELD_ERROR_NAME, "s", h->error_name);
	if (h->reply_serial) {
		hrun_dbus_align(out, 8);
		hrun_dbus_put_byte(out, FIELD_REPLY_SERIAL);
		hrun_dbus_put_signature(out, "u");
		hrun_dbus_put_u32(out, h->reply_serial);
	}
	put_field(out, FIELD_DESTINATION, "s", h->destination);
	put_field(out, FIELD_SENDER, "s", h->sender);
	if (h->signature && *h->signature)
		put_field(out, FIELD_SIGNATURE, "g", h->signature);
	hrun_dbus_array_end(out, fields);
	hrun_dbus_align(out, 8);
	if (body_len)
		put(out, body->data, body_len);
	if (out->failed) {
		hrun_dbus_buf_free(out);
		return hrun_error_plain(err, EMSGSIZE, "D-Bus: message too large");
	}
	return 0;
}

/* --- the connection --------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until FD is ready for EVENTS, at most until DEADLINE. */
static int wait_fd(int fd, short events, long long deadline, struct hrun_error *err)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return hrun_error_plain(err, ETIMEDOUT, "D-Bus: no answer within the timeout");
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return hrun_error_errno(err, "D-Bus: poll");
	}
}

static int send_all(struct hrun_dbus *bus, const void *data, size_t len, struct hrun_error *err)
{
	long long deadline = now_ms() + bus->timeout_ms;
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t n = send(bus->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (errno == EAGAIN && wait_fd(bus->fd, POLLOUT, deadline, err) < 0)
				return -1;
			continue;
		}
		if (n < 0)
			return hrun_error_errno(err, "D-Bus: send");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read more bytes into BUS->in. */
static int fill(struct hrun_dbus *bus, long long deadline, struct hrun_error *err)
{
	ssize_t n;

	if (bus->in_cap - bus->in_len < 4096) {
		size_t cap = bus->in_cap ? bus->in_cap * 2 : 8192;
		uint8_t *p;
		if (cap > HRUN_DBUS_MAX_MESSAGE + 8192)
			return hrun_error_plain(err, EMSGSIZE, "D-Bus: input too large");
		p = realloc(bus->in, cap);
		if (!p)
			return hrun_error_errno(err, "D-Bus: malloc");
		bus->in = p;
		bus->in_cap = cap;
	}
	for (;;) {
		if (wait_fd(bus->fd, POLLIN, deadline, err) < 0)
			return -1;
		n = recv(bus->fd, bus->in + bus->in_len, bus->in_cap - bus->in_len, MSG_DONTWAIT);
		if (n > 0) {
			bus->in_len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return hrun_error_plain(err, ECONNRESET, "D-Bus: the peer closed the connection");
		if (errno != EAGAIN && errno != EINTR)
			return hrun_error_errno(err, "D-Bus: recv");
	}
}

static int next_message(struct hrun_dbus *bus, struct hrun_dbus_message *msg, long long deadline,
			struct hrun_error *err)
{
	long size;

	while ((size = hrun_dbus_message_size(bus->in, bus->in_len, err)) == 0 ||
	       (size > 0 && bus->in_len < (size_t)size))
		if (fill(bus, deadline, err) < 0)
			return -1;
	if (size < 0)
		return -1;
	if (hrun_dbus_decode(bus->in, (size_t)size, msg, err) < 0)
		return -1;
	memmove(bus->in, bus->in + size, bus->in_len - (size_t)size);
	bus->in_len -= (size_t)size;
	return 0;
}

static void dispatch_signal(struct hrun_dbus *bus, const struct hrun_dbus_message *msg)
{
	if (msg->type == HRUN_DBUS_SIGNAL && bus->on_signal)
		bus->on_signal(bus, msg, bus->signal_data);
}

static int send_call(struct hrun_dbus *bus, const char *destination, const char *path,
		     const char *interface, const char *member, const char *signature,
		     const struct hrun_dbus_buf *body, uint32_t *serial, struct hrun_error *err)
{
	struct hrun_dbus_header h = {
		.type = HRUN_DBUS_METHOD_CALL,
		.serial = ++bus->serial,
		.path = path,
		.interface = interface,
		.member = member,
		.destination = destination,
		.signature = signature,
	};
	struct hrun_dbus_buf out;
	int r;

	if (hrun_dbus_encode(&h, body, &out, err) < 0)
		return -1;
	r = send_all(bus, out.data, out.len, err);
	hrun_dbus_buf_free(&out);
	*serial = h.serial;
	return r;
}

/* The text of an error reply: its first argument when that is a string. */
static const char *error_text(const struct hrun_dbus_message *msg)
{
	struct hrun_dbus_reader r = { .data = msg->body, .len = msg->body_len };
	const char *s;

	if (msg->signature[0] != 's')
		return "";
	s = hrun_dbus_get_string(&r);
	return s ? s : "";
}

int hrun_dbus_call(struct hrun_dbus *bus, const char *destination, const char *path,
		   const char *interface, const char *member, const char *signature,
		   const struct hrun_dbus_buf *body, struct hrun_dbus_message *reply,
		   struct hrun_error *err)
{
	long long deadline = now_ms() + bus->timeout_ms;
	uint32_t serial;

	bus->last_error[0] = '\0';
	if (send_call(bus, destination, path, interface, member, signature, body, &serial, err) < 0)
		return hrun_error_prefix(err, "%s", member);
	for (;;) {
		struct hrun_dbus_message msg;

		if (next_message(bus, &msg, deadline, err) < 0)
			return hrun_error_prefix(err, "%s", member);
		if ((msg.type == HRUN_DBUS_METHOD_RETURN || msg.type == HRUN_DBUS_ERROR) &&
		    msg.reply_serial == serial) {
			if (msg.type == HRUN_DBUS_ERROR) {
				snprintf(bus->last_error, sizeof(bus->last_error), "%s", msg.error_name);
				hrun_error_plain(err, EIO, "%s: %s: %s", member, msg.error_name, error_text(&msg));
				hrun_dbus_message_free(&msg);
				return -1;
			}
			if (reply)
				*reply = msg;
			else
				hrun_dbus_message_free(&msg);
			return 0;
		}
		dispatch_signal(bus, &msg);
		hrun_dbus_message_free(&msg);
	}
}

int hrun_dbus_wait(struct hrun_dbus *bus, const bool *done, struct hrun_error *err)
{
	long long deadline = now_ms() + bus->timeout_ms;

	while (!*done) {
		struct hrun_dbus_message msg;

		if (next_message(bus, &msg, deadline, err) < 0)
			return -1;
		dispatch_signal(bus, &msg);
		hrun_dbus_message_free(&msg);
	}
	return 0;
}

/* SASL EXTERNAL: the server takes our uid from the socket's credentials;
 * the uid we send, hex-encoded ASCII decimal, must match it. BEGIN goes
 * with AUTH, as sd-bus's own clients send it: systemd's server (252) does
 * not look again at a message that arrived in the same read as a late
 * BEGIN, so our first call must come in a read of its own, after OK. */
static int authenticate(struct hrun_dbus *bus, struct hrun_error *err)
{
	long long deadline = now_ms() + bus->timeout_ms;
	char digits[16], line[512];
	char hello[64 + 2 * sizeof(digits)];
	size_t len = 0;
	int n = snprintf(digits, sizeof(digits), "%u", (unsigned)geteuid());

	strcpy(hello, "AUTH EXTERNAL ");
	for (int i = 0; i < n; i++)
		sprintf(hello + strlen(hello), "%02x", (unsigned char)digits[i]);
	strcat(hello, "\r\nBEGIN\r\n");
	if (send_all(bus, "", 1, err) < 0 || send_all(bus, hello, strlen(hello), err) < 0)
		return -1;
	/* Byte by byte: nothing after the line may be swallowed. */
	while (len < 2 || line[len - 2] != '\r' || line[len - 1] != '\n') {
		ssize_t r;
		if (len == sizeof(line) - 1)
			return hrun_error_plain(err, EPROTO, "D-Bus: authentication reply too long");
		if (wait_fd(bus->fd, POLLIN, deadline, err) < 0)
			return -1;
		r = recv(bus->fd, line + len, 1, MSG_DONTWAIT);
		if (r == 0)
			return hrun_error_plain(err, ECONNRESET, "D-Bus: the peer closed the connection during authentication");
		if (r < 0 && errno != EAGAIN && errno != EINTR)
			return hrun_error_errno(err, "D-Bus: recv");
		if (r == 1)
			len++;
	}
	line[len - 2] = '\0';
	if (strncmp(line, "OK ", 3) != 0)
		return hrun_error_plain(err, EACCES, "D-Bus: authentication refused: %.200s", line);
	return 0;
}

/* On a bus, Hello must come first: the daemon answers with our unique
 * name. A peer (systemd's private socket) does not answer it at all, so
 * the caller says which it is. */
int hrun_dbus_open_fd(struct hrun_dbus *bus, int fd, bool hello, struct hrun_error *err)
{
	int timeout_ms = bus->timeout_ms > 0 ? bus->timeout_ms : HRUN_DBUS_TIMEOUT_MS;

	*bus = (struct hrun_dbus){ .fd = fd, .timeout_ms = timeout_ms };
	if (authenticate(bus, err) < 0 ||
	    (hello && hrun_dbus_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
				     "Hello", NULL, NULL, NULL, err) < 0)) {
		hrun_dbus_close(bus);
		return -1;
	}
	bus->via_bus = hello;
	return 0;
}

/* D-Bus addresses escape bytes as %XX. */
static int unescape(const char *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned int c = (unsigned char)in[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			if (sscanf(in + i + 1, "%2x", &c) != 1)
				return -1;
			i += 2;
		}
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* One "unix:key=value,..." entry into a sockaddr. */
static int parse_unix(const char *entry, size_t elen, struct sockaddr_un *sa, socklen_t *salen)
{
	const char *p = entry + 5, *end = entry + elen;

	if (elen < 5 || strncmp(entry, "unix:", 5))
		return -1;
	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		bool abstract = (size_t)(stop - p) > 9 && strncmp(p, "abstract=", 9) == 0;
		if (abstract || ((size_t)(stop - p) > 5 && strncmp(p, "path=", 5) == 0)) {
			const char *v = p + (abstract ? 9 : 5);
			char *dst = sa->sun_path + (abstract ? 1 : 0);
			int n = unescape(v, (size_t)(stop - v), dst, sizeof(sa->sun_path) - (abstract ? 1 : 0));
			if (n <= 0)
				return -1;
			sa->sun_family = AF_UNIX;
			if (abstract)
				sa->sun_path[0] = '\0';
			/* A path's NUL, or an abstract name's leading one. */
			*salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
			return 0;
		}
		p = stop + 1;
	}
	return -1;
}

int hrun_dbus_open(struct hrun_dbus *bus, const char *address, bool hello, struct hrun_error *err)
{
	const char *p = address;
	int timeout_ms = bus->timeout_ms > 0 ? bus->timeout_ms : HRUN_DBUS_TIMEOUT_MS;
	/* A listener that never accepts (its backlog full) would block
	 * connect for good: the send timeout bounds that wait. */
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
	const struct timeval none = { 0 };

	hrun_error_plain(err, EINVAL, "D-Bus address \"%s\" has no usable unix: entry", address);
	while (*p) {
		size_t n = strcspn(p, ";");
		struct sockaddr_un sa = { 0 };
		socklen_t salen;

		if (parse_unix(p, n, &sa, &salen) == 0) {
			_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (fd < 0)
				return hrun_error_errno(err, "D-Bus: socket");
			if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
				return hrun_error_errno(err, "D-Bus: SO_SNDTIMEO");
			if (connect(fd, (struct sockaddr *)&sa, salen) == 0) {
				if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof(none)) < 0)
					return hrun_error_errno(err, "D-Bus: SO_SNDTIMEO");
				bus->timeout_ms = timeout_ms;
				return hrun_dbus_open_fd(bus, hrun_steal_fd(&fd), hello, err);
			}
			if (errno == EAGAIN)
				hrun_error_plain(err, ETIMEDOUT, "connect to D-Bus at \"%.*s\": no answer in %d ms",
						 (int)n, p, timeout_ms);
			else
				hrun_error_errno(err, "connect to D-Bus at \"%.*s\"", (int)n, p);
		}
		p += n;
		if (*p == ';')
			p++;
	}
	return -1;
}

void hrun_dbus_close(struct hrun_dbus *bus)
{
	if (bus->fd >= 0)
		close(bus->fd);
	bus->fd = -1;
	free(bus->in);
	bus->in = NULL;
	bus->in_len = bus->in_cap = 0;
}
