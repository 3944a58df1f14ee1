/* secprobe: one static binary, one attempt per subcommand. It prints
 * "ok" and exits 0 when the kernel allowed the attempt, or prints the
 * errno and exits 1. Used by the security integration tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(long rc) {
	if (rc < 0) {
		printf("errno %d (%s)\n", errno, strerror(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}

/* ptrace_child attaches to a child that runs as another user: without
 * CAP_SYS_PTRACE the kernel refuses. */
static int ptrace_child(void) {
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(4242) != 0)
			_exit(2);
		pause();
		_exit(0);
	}
	usleep(100000);
	long rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
	int saved = errno;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	errno = saved;
	return report(rc);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: secprobe unshare-user|keyctl|init-module|ptrace|euid\n");
		return 2;
	}
	const char *c = argv[1];
	if (!strcmp(c, "unshare-user"))
		return report(unshare(CLONE_NEWUSER));
	if (!strcmp(c, "keyctl"))
		return report(syscall(SYS_add_key, "user", "cocin-test", "x", 1, -2 /* process keyring */));
	if (!strcmp(c, "init-module")) {
		/* Not an ELF image: a permitted call fails with ENOEXEC and loads
		 * nothing; a refused one fails with EPERM. */
		static char junk[64];
		long rc = syscall(SYS_init_module, junk, sizeof junk, "");
		if (rc < 0 && errno != EPERM) {
			printf("permitted (errno %d)\n", errno);
			return 0;
		}
		return report(rc);
	}
	if (!strcmp(c, "ptrace"))
		return ptrace_child();
	if (!strcmp(c, "euid")) {
		printf("euid %d\n", (int)geteuid());
		return 0;
	}
	fprintf(stderr, "unknown probe %s\n", c);
	return 2;
}
