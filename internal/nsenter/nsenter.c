// The namespace-joining constructor: see doc.go for why it exists.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARG0_PREFIX "cocin-nsenter"
#define BOOTSTRAP_FD 3
#define STATUS_FD 4
#define MAX_BOOTSTRAP 65536
#define MAX_NS 16

struct ns_entry {
	int type; // CLONE_NEW*
	int fd;
	char name[16];
};

// status writes one JSON line to the status pipe. Messages are built from
// namespace names and strerror only, so they need no escaping.
static void status(const char *json) {
	size_t n = strlen(json);
	while (n > 0) {
		ssize_t w = write(STATUS_FD, json, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		json += w;
		n -= (size_t)w;
	}
}

static void fail_text(const char *text) {
	char buf[512];
	snprintf(buf, sizeof buf, "{\"type\":\"error\",\"message\":\"%s\",\"code\":125}\n", text);
	status(buf);
	_exit(125);
}

static void fail(const char *what, const char *arg, int err) {
	char text[400];
	snprintf(text, sizeof text, "nsenter: %s %s: %s", what, arg, strerror(err));
	fail_text(text);
}

static int ns_type(const char *name) {
	static const struct { const char *n; int t; } types[] = {
		{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS}, {"uts", CLONE_NEWUTS}, {"ipc", CLONE_NEWIPC},
		{"net", CLONE_NEWNET}, {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i].n, name) == 0)
			return types[i].t;
	return 0;
}

static size_t read_bootstrap(char *buf, size_t max) {
	size_t len = 0;
	for (;;) {
		ssize_t r = read(BOOTSTRAP_FD, buf + len, max - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("read", "bootstrap", errno);
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == max - 1)
			fail("read", "bootstrap", E2BIG);
	}
	buf[len] = '\0';
	close(BOOTSTRAP_FD);
	return len;
}

// parse reads "ns TYPE PATH" and "wait" lines. Every path is opened now,
// before any setns changes what the paths mean.
static int parse(char *buf, struct ns_entry *ns, int *wait_mode) {
	int n = 0;
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (strcmp(line, "wait") == 0) {
			*wait_mode = 1;
			continue;
		}
		char name[16], path[4096];
		if (sscanf(line, "ns %15s %4095s", name, path) != 2)
			fail("bad bootstrap line", "", EINVAL);
		if (n == MAX_NS)
			fail("too many namespaces", "", E2BIG);
		ns[n].type = ns_type(name);
		if (ns[n].type == 0)
			fail("unknown namespace", name, EINVAL);
		ns[n].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns[n].fd < 0)
			fail("open", path, errno);
		snprintf(ns[n].name, sizeof ns[n].name, "%s", name);
		n++;
	}
	return n;
}

// join enters the user namespace first (it grants the rights over the
// others), the mount namespace last (it changes root and cwd).
static void join(struct ns_entry *ns, int n) {
	for (int pass = 0; pass < 3; pass++) {
		for (int i = 0; i < n; i++) {
			int p = ns[i].type == CLONE_NEWUSER ? 0 : ns[i].type == CLONE_NEWNS ? 2 : 1;
			if (p != pass)
				continue;
			if (setns(ns[i].fd, ns[i].type) < 0)
				fail("setns", ns[i].name, errno);
			close(ns[i].fd);
		}
	}
}

// reap waits for the child and exits, for a detached exec whose caller
// will not wait: nothing it starts is left a zombie.
static void reap(pid_t child) {
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 0; i < 3 && fd >= 0; i++)
		dup2(fd, i);
	syscall(SYS_close_range, 3, ~0U, 0);
	setsid();
	while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
		;
	_exit(0);
}

__attribute__((constructor)) static void cocin_nsenter(int argc, char **argv, char **envp) {
	(void)envp;
	if (argc < 1 || argv[0] == NULL || strncmp(argv[0], ARG0_PREFIX, sizeof ARG0_PREFIX - 1) != 0)
		return;
	static char buf[MAX_BOOTSTRAP];
	struct ns_entry ns[MAX_NS];
	int wait_mode = 0;
	read_bootstrap(buf, sizeof buf);
	int n = parse(buf, ns, &wait_mode);
	join(ns, n);
	// A new pid namespace applies only to children: fork so that the Go
	// runtime starts inside every namespace.
	pid_t child = fork();
	if (child < 0 && errno == ENOMEM)
		// What fork says in a pid namespace whose init has exited: the
		// container stopped while we joined it.
		fail_text("container is not running (its init exited)");
	if (child < 0)
		fail("fork", "", errno);
	if (child == 0)
		return;
	char msg[64];
	snprintf(msg, sizeof msg, "{\"type\":\"pid\",\"pid\":%d}\n", (int)child);
	status(msg);
	if (wait_mode)
		reap(child);
	_exit(0);
}
