// The monitor's steady state in C: see doc.go for why it exists.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOOP_ARG0 "cocin-monitor-loop"
#define FINISH_ARG0 "cocin-monitor-finish"
#define MAX_CLIENTS 32
#define CHUNK (64 * 1024)
#define PARTIAL_MAX (16 * 1024) // as internal/logs: a longer tail goes out as P
#define OUTBUF (128 * 1024)
#define CLIENT_WAIT_MS 2000 // a client that takes longer to accept a frame is dropped
#define DRAIN_IDLE_MS 200   // after the init exits: stop when the pipes stay quiet this long
#define DRAIN_MAX_MS 2000   // ...or after this long in all

// Frame types of internal/engine/attach.go.
enum { F_STDIN = 0, F_STDOUT = 1, F_STDERR = 2, F_RESIZE = 3, F_EOF = 5 };

struct stream {
	int fd;
	const char *name;
	int type;
	size_t plen; // unterminated tail kept at the front of buf
	char buf[PARTIAL_MAX + CHUNK];
};

struct client {
	int fd;
	unsigned char hdr[8];
	size_t hlen;
	uint32_t left; // payload bytes still to read
	unsigned char small[4];
	size_t slen;
};

static struct stream streams[2];
static int nstreams;
static struct client clients[MAX_CLIENTS];
static int nclients;
static int ln_fd = -1, stdin_fd = -1, pty_fd = -1, log_fd = -1, sig_fd = -1;
static pid_t init_pid;
static const char *log_path, *handover = "";
static long long max_size, log_size;
static int max_files = 1;
static char outbuf[OUTBUF];
static size_t outlen;
static char stdin_buf[CHUNK];
static size_t stdin_off, stdin_len;

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// write_all writes everything unless the descriptor fails.
static int write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

// ---- the log: internal/logs' CRI format and rotation ----

static void open_log(void) {
	log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	log_size = 0;
	if (log_fd >= 0) {
		off_t end = lseek(log_fd, 0, SEEK_END);
		log_size = end > 0 ? end : 0;
	}
}

static void rotate(void) {
	char a[4096], b[4096];
	if (log_fd >= 0)
		close(log_fd);
	if (max_files <= 1) {
		(void)truncate(log_path, 0);
	} else {
		snprintf(a, sizeof a, "%s.%d", log_path, max_files - 1);
		unlink(a);
		for (int i = max_files - 2; i >= 1; i--) {
			snprintf(a, sizeof a, "%s.%d", log_path, i);
			snprintf(b, sizeof b, "%s.%d", log_path, i + 1);
			rename(a, b);
		}
		snprintf(a, sizeof a, "%s.1", log_path);
		rename(log_path, a);
	}
	open_log();
}

// flush_log writes the buffered records, rotating first when they would
// pass the size limit. A failing log loses records, never the container.
static void flush_log(void) {
	if (outlen == 0)
		return;
	if (max_size > 0 && log_size > 0 && log_size + (long long)outlen > max_size)
		rotate();
	if (log_fd >= 0 && write_all(log_fd, outbuf, outlen) == 0)
		log_size += (long long)outlen;
	outlen = 0;
}

// timestamp formats now as Go's time.RFC3339Nano in UTC (trailing zeros
// of the fraction dropped, no fraction at all when it is zero).
static size_t timestamp(char *b) {
	static time_t last = -1;
	static char date[80];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != last) {
		struct tm tm;
		gmtime_r(&ts.tv_sec, &tm);
		snprintf(date, sizeof date, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
		         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		last = ts.tv_sec;
	}
	size_t n = strlen(date);
	memcpy(b, date, n);
	if (ts.tv_nsec != 0) {
		char frac[10];
		long ns = ts.tv_nsec;
		for (int i = 8; i >= 0; i--, ns /= 10)
			frac[i] = (char)('0' + ns % 10);
		int len = 9;
		while (frac[len - 1] == '0')
			len--;
		b[n++] = '.';
		memcpy(b + n, frac, (size_t)len);
		n += (size_t)len;
	}
	b[n++] = 'Z';
	return n;
}

// put_record appends one record; newline says whether line ends with one
// already (F records) or needs it (P records).
static void put_record(const char *ts, size_t tslen, const char *stream, char tag, const char *line,
                       size_t n, int newline) {
	size_t slen = strlen(stream);
	size_t rec = tslen + slen + 4 + n + (newline ? 1 : 0);
	// With a size limit, a flush may not cross it: write what is buffered
	// before the record that would.
	if (max_size > 0 && outlen > 0 && log_size + (long long)(outlen + rec) > max_size)
		flush_log();
	if (outlen + rec > OUTBUF) {
		flush_log();
		if (rec > OUTBUF) { // a very long line: straight out
			char head[144];
			size_t h = 0;
			memcpy(head, ts, tslen);
			h = tslen;
			head[h++] = ' ';
			memcpy(head + h, stream, slen);
			h += slen;
			head[h++] = ' ';
			head[h++] = tag;
			head[h++] = ' ';
			if (max_size > 0 && log_size > 0 && log_size + (long long)rec > max_size)
				rotate();
			struct iovec iov[3] = {{head, h}, {(void *)line, n}, {"\n", newline ? 1 : 0}};
			if (log_fd >= 0) {
				ssize_t w;
				do
					w = writev(log_fd, iov, 3);
				while (w < 0 && errno == EINTR);
				if (w > 0)
					log_size += w;
			}
			return;
		}
	}
	char *o = outbuf + outlen;
	memcpy(o, ts, tslen);
	o += tslen;
	*o++ = ' ';
	memcpy(o, stream, slen);
	o += slen;
	*o++ = ' ';
	*o++ = tag;
	*o++ = ' ';
	memcpy(o, line, n);
	o += n;
	if (newline)
		*o++ = '\n';
	outlen = (size_t)(o - outbuf);
}

// log_data logs the complete lines of s->buf[0:len] and keeps the tail.
static void log_data(struct stream *s, size_t len) {
	char ts[112];
	size_t tslen = timestamp(ts);
	char *p = s->buf, *end = s->buf + len;
	for (;;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		put_record(ts, tslen, s->name, 'F', p, (size_t)(nl + 1 - p), 0);
		p = nl + 1;
	}
	flush_log();
	size_t rest = (size_t)(end - p);
	if (rest > PARTIAL_MAX) {
		tslen = timestamp(ts);
		put_record(ts, tslen, s->name, 'P', p, rest, 1);
		flush_log();
		rest = 0;
	}
	memmove(s->buf, p, rest);
	s->plen = rest;
}

static void log_partial(struct stream *s) {
	if (s->plen == 0)
		return;
	char ts[112];
	size_t tslen = timestamp(ts);
	put_record(ts, tslen, s->name, 'P', s->buf, s->plen, 1);
	flush_log();
	s->plen = 0;
}

// ---- attach clients: internal/engine/attach.go's frames ----

static void drop_client(int i) {
	close(clients[i].fd);
	clients[i] = clients[--nclients];
}

// send_frame sends a frame to client i and reports whether it was
// dropped: one that cannot take it within CLIENT_WAIT_MS stalls no one.
static int send_frame(int i, int type, const char *p, size_t n) {
	unsigned char h[8] = {(unsigned char)type, 0, 0, 0, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
	                      (unsigned char)(n >> 8), (unsigned char)n};
	struct iovec iov[2] = {{h, 8}, {(void *)p, n}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	long long deadline = now_ms() + CLIENT_WAIT_MS;
	while (msg.msg_iovlen > 0) {
		ssize_t w = sendmsg(clients[i].fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			long long left = deadline - now_ms();
			struct pollfd pfd = {clients[i].fd, POLLOUT, 0};
			if (left <= 0 || poll(&pfd, 1, (int)left) <= 0 || (pfd.revents & (POLLERR | POLLHUP)))
				goto drop;
			continue;
		}
		if (w < 0)
			goto drop;
		while (msg.msg_iovlen > 0 && (size_t)w >= msg.msg_iov[0].iov_len) {
			w -= (ssize_t)msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + w;
			msg.msg_iov[0].iov_len -= (size_t)w;
		}
	}
	return 0;
drop:
	drop_client(i);
	return 1;
}

static void broadcast(int type, const char *p, size_t n) {
	for (int i = 0; i < nclients;)
		if (!send_frame(i, type, p, n))
			i++;
}

static void add_client(int fd) {
	if (nclients == MAX_CLIENTS) {
		close(fd);
		return;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	memset(&clients[nclients], 0, sizeof clients[nclients]);
	clients[nclients++].fd = fd;
}

static void accept_clients(void) {
	for (;;) {
		int fd = accept4(ln_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		add_client(fd);
	}
}

// flush_stdin writes what is pending for the container's stdin; while
// some is, clients are not read, so a container that does not read its
// stdin slows its clients down, not its output.
static void flush_stdin(void) {
	while (stdin_len > 0) {
		ssize_t w = write(stdin_fd, stdin_buf + stdin_off, stdin_len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w <= 0) { // the container closed its stdin
			stdin_len = 0;
			break;
		}
		stdin_off += (size_t)w;
		stdin_len -= (size_t)w;
	}
	stdin_off = 0;
}

static void resize(const unsigned char *p) {
	struct winsize ws = {.ws_row = (unsigned short)(p[0] << 8 | p[1]), .ws_col = (unsigned short)(p[2] << 8 | p[3])};
	if (pty_fd >= 0)
		ioctl(pty_fd, TIOCSWINSZ, &ws);
}

// read_client reads what client i sent; it returns 1 when it was dropped.
static int read_client(int i) {
	struct client *c = &clients[i];
	if (c->hlen < 8) {
		ssize_t r = read(c->fd, c->hdr + c->hlen, 8 - c->hlen);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (r <= 0) {
			drop_client(i);
			return 1;
		}
		c->hlen += (size_t)r;
		if (c->hlen < 8)
			return 0;
		c->left = (uint32_t)c->hdr[4] << 24 | (uint32_t)c->hdr[5] << 16 | (uint32_t)c->hdr[6] << 8 | c->hdr[7];
		c->slen = 0;
	}
	int type = c->hdr[0];
	if (c->left > 0) {
		char *dst = stdin_buf;
		size_t room = sizeof stdin_buf;
		if (type != F_STDIN) {
			dst = (char *)c->small + c->slen;
			room = sizeof c->small - c->slen;
			if (room == 0) { // an oversized control frame: read and drop
				static char junk[256];
				dst = junk;
				room = sizeof junk;
			}
		}
		if (room > c->left)
			room = c->left;
		ssize_t r = read(c->fd, dst, room);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (r <= 0) {
			drop_client(i);
			return 1;
		}
		c->left -= (uint32_t)r;
		if (type == F_STDIN) {
			if (stdin_fd >= 0) {
				stdin_len = (size_t)r;
				flush_stdin();
			}
		} else if (dst == (char *)c->small + c->slen) {
			c->slen += (size_t)r;
		}
	}
	if (c->left == 0) {
		if (type == F_RESIZE && c->slen == 4)
			resize(c->small);
		if (type == F_EOF && pty_fd < 0 && stdin_fd >= 0) {
			close(stdin_fd);
			stdin_fd = -1;
			stdin_len = 0;
		}
		c->hlen = 0;
	}
	return 0;
}

// ---- output and children ----

// read_stream copies what the container wrote; it returns 0 at EOF (a
// pty's reads end with EIO once the last slave closes).
static int read_stream(struct stream *s) {
	ssize_t r = read(s->fd, s->buf + s->plen, CHUNK);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (r <= 0) {
		log_partial(s);
		close(s->fd);
		s->fd = -1;
		return 0;
	}
	broadcast(s->type, s->buf + s->plen, (size_t)r);
	log_data(s, s->plen + (size_t)r);
	return 1;
}

// reap reaps every exited child (we are a subreaper) and records the
// init's status as internal/engine's reapUntil does.
static void reap(int *code) {
	struct signalfd_siginfo si;
	while (read(sig_fd, &si, sizeof si) > 0)
		;
	for (;;) {
		int ws;
		pid_t p = waitpid(-1, &ws, WNOHANG);
		if (p < 0 && errno == EINTR)
			continue;
		if (p <= 0)
			return;
		if (p == init_pid)
			*code = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
	}
}

static int open_streams(void) {
	int n = 0;
	for (int i = 0; i < nstreams; i++)
		if (streams[i].fd >= 0)
			n++;
	return n;
}

static void loop(int *code) {
	struct pollfd pfd[3 + 2 + MAX_CLIENTS];
	long long exited_at = 0, quiet_since = 0;
	for (;;) {
		if (*code >= 0) {
			long long t = now_ms();
			if (exited_at == 0)
				exited_at = quiet_since = t;
			if (open_streams() == 0 || t - exited_at >= DRAIN_MAX_MS || t - quiet_since >= DRAIN_IDLE_MS)
				return;
		}
		int n = 0;
		pfd[n++] = (struct pollfd){sig_fd, POLLIN, 0};
		pfd[n++] = (struct pollfd){ln_fd, POLLIN, 0};
		pfd[n++] = (struct pollfd){stdin_len > 0 ? stdin_fd : -1, POLLOUT, 0};
		for (int i = 0; i < nstreams; i++)
			pfd[n++] = (struct pollfd){streams[i].fd, POLLIN, 0};
		for (int i = 0; i < nclients; i++)
			pfd[n++] = (struct pollfd){stdin_len > 0 ? -1 : clients[i].fd, POLLIN, 0};
		int r = poll(pfd, (nfds_t)n, *code >= 0 ? DRAIN_IDLE_MS / 4 : -1);
		if (r < 0 && errno != EINTR)
			return;
		if (r <= 0)
			continue;
		if (pfd[0].revents)
			reap(code);
		if (pfd[1].revents)
			accept_clients();
		if (pfd[2].revents)
			flush_stdin();
		for (int i = 0; i < nstreams; i++)
			if (pfd[3 + i].revents && streams[i].fd >= 0) {
				read_stream(&streams[i]);
				quiet_since = now_ms();
			}
		// Clients dropped above shift the array: match by descriptor.
		for (int k = 3 + nstreams; k < n; k++) {
			if (!pfd[k].revents || pfd[k].fd < 0)
				continue;
			for (int i = 0; i < nclients; i++)
				if (clients[i].fd == pfd[k].fd) {
					read_client(i);
					break;
				}
		}
	}
}

// ---- hand-over ----

static void fail(const char *what) {
	char msg[256];
	int n = snprintf(msg, sizeof msg, "cocin: monitor loop: %s: %s\n", what, strerror(errno));
	if (n > 0)
		(void)write_all(2, msg, (size_t)n);
	_exit(125);
}

static void parse(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *v = strchr(a, '=');
		if (v == NULL)
			continue;
		v++;
		if (!strncmp(a, "pid=", 4))
			init_pid = (pid_t)atoi(v);
		else if (!strncmp(a, "out=", 4) || !strncmp(a, "err=", 4) || !strncmp(a, "pty=", 4)) {
			struct stream *s = &streams[nstreams++];
			s->fd = atoi(v);
			s->name = a[0] == 'e' ? "stderr" : "stdout";
			s->type = a[0] == 'e' ? F_STDERR : F_STDOUT;
			if (a[0] == 'p')
				pty_fd = s->fd;
		} else if (!strncmp(a, "in=", 3))
			stdin_fd = atoi(v);
		else if (!strncmp(a, "ln=", 3))
			ln_fd = atoi(v);
		else if (!strncmp(a, "cl=", 3))
			add_client(atoi(v));
		else if (!strncmp(a, "log=", 4))
			log_path = v;
		else if (!strncmp(a, "maxsize=", 8))
			max_size = atoll(v);
		else if (!strncmp(a, "maxfiles=", 9))
			max_files = atoi(v) < 1 ? 1 : atoi(v);
		else if (!strncmp(a, "h=", 2))
			handover = a;
	}
	if (init_pid <= 0 || log_path == NULL || nstreams == 0)
		fail("bad arguments");
}

// finish hands the exit back to the Go monitor: same pid, the listener
// and the clients kept open for the exit frame and the next run.
static void finish(int code, char **envp) {
	static char argbuf[MAX_CLIENTS + 2][24];
	char *args[MAX_CLIENTS + 6];
	int n = 0;
	for (int i = 0; i < nstreams; i++)
		if (streams[i].fd >= 0) {
			log_partial(&streams[i]);
			close(streams[i].fd);
		}
	if (stdin_fd >= 0 && stdin_fd != pty_fd)
		close(stdin_fd);
	if (log_fd >= 0)
		close(log_fd);
	args[n++] = FINISH_ARG0;
	snprintf(argbuf[0], sizeof argbuf[0], "status=%d", code);
	args[n++] = argbuf[0];
	snprintf(argbuf[1], sizeof argbuf[1], "ln=%d", ln_fd);
	args[n++] = argbuf[1];
	fcntl(ln_fd, F_SETFD, 0);
	for (int i = 0; i < nclients; i++) {
		fcntl(clients[i].fd, F_SETFD, 0);
		snprintf(argbuf[2 + i], sizeof argbuf[2 + i], "cl=%d", clients[i].fd);
		args[n++] = argbuf[2 + i];
	}
	args[n++] = (char *)handover;
	args[n] = NULL;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve("/proc/self/exe", args, envp);
	fail("exec back");
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

// close_others closes every inherited descriptor above 2 but the ones
// handed over: nothing else outlives the Go monitor.
static void close_others(void) {
	int keep[4 + MAX_CLIENTS], n = 0;
	for (int i = 0; i < nstreams; i++)
		keep[n++] = streams[i].fd;
	if (stdin_fd >= 0)
		keep[n++] = stdin_fd;
	if (ln_fd >= 0)
		keep[n++] = ln_fd;
	for (int i = 0; i < nclients; i++)
		keep[n++] = clients[i].fd;
	qsort(keep, (size_t)n, sizeof keep[0], cmp_int);
	unsigned int from = 3;
	for (int i = 0; i < n; i++) {
		if (keep[i] < (int)from)
			continue;
		if ((unsigned int)keep[i] > from)
			syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0U);
		from = (unsigned int)keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0U);
}

static void ignore(int sig) { (void)sig; }

__attribute__((constructor)) static void cocin_monitor_loop(int argc, char **argv, char **envp) {
	if (argc < 1 || argv[0] == NULL || strcmp(argv[0], LOOP_ARG0) != 0)
		return;
	// Shown as the monitor in ps and top, as the Go monitor names itself.
	prctl(PR_SET_NAME, "cocin-monitor", 0, 0, 0);
	parse(argc, argv);
	close_others();
	// Caught (not ignored) so that the handler resets at the exec back and
	// no later container inherits an ignored signal.
	struct sigaction sa = {.sa_handler = ignore};
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0)
		fail("signalfd");
	for (int i = 0; i < nstreams; i++)
		fcntl(streams[i].fd, F_SETFL, fcntl(streams[i].fd, F_GETFL) | O_NONBLOCK);
	if (stdin_fd >= 0)
		fcntl(stdin_fd, F_SETFL, fcntl(stdin_fd, F_GETFL) | O_NONBLOCK);
	if (ln_fd >= 0)
		fcntl(ln_fd, F_SETFL, fcntl(ln_fd, F_GETFL) | O_NONBLOCK);
	open_log();
	int code = -1;
	reap(&code); // the init may have exited before the signalfd existed
	loop(&code);
	if (code < 0)
		code = 255;
	finish(code, envp);
}
