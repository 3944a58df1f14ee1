package runtime

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// setupConsole gives the process a new session and, when process.terminal
// is set, a pseudo-terminal from the container's own devpts instance: the
// master goes to the console socket (runc's protocol: one SCM_RIGHTS
// message), the slave becomes stdio, /dev/console and the controlling tty.
func (p *initProc) setupConsole() error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if !p.spec.Process.Terminal {
		return nil
	}
	ptmx, err := p.resolve("/dev/pts/ptmx")
	if err != nil {
		return err
	}
	master, slave, name, err := openPty(ptmx, p.spec.Process.ConsoleSize)
	if err != nil {
		return err
	}
	defer unix.Close(master)
	defer unix.Close(slave)
	p.ptyName = name
	if err := p.bindConsole(slave); err != nil {
		return err
	}
	return attachPty(master, slave, p.ptyName)
}

// openPty opens a new pty on the devpts instance of ptmx and returns the
// master, the slave and the slave's name in the container.
func openPty(ptmx string, size *specs.Box) (master, slave int, name string, err error) {
	master, err = unix.Open(ptmx, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, -1, "", fmt.Errorf("open ptmx: %w", err)
	}
	defer func() {
		if err != nil {
			unix.Close(master)
		}
	}()
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return -1, -1, "", fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return -1, -1, "", fmt.Errorf("pty number: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master, never through a path
	// the rootfs could have redirected.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return -1, -1, "", fmt.Errorf("open pty slave: %w", errno)
	}
	if size != nil {
		_ = unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)})
	}
	return master, int(r), "/dev/pts/" + strconv.Itoa(n), nil
}

// attachPty makes the slave stdio and the controlling terminal of this
// session leader, and sends the master over the console socket.
func attachPty(master, slave int, name string) error {
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return err
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	if err := SendFD(os.NewFile(fdConsole, "console-socket"), name, master); err != nil {
		return fmt.Errorf("send pty master: %w", err)
	}
	return nil
}

// bindConsole makes /dev/console the container's terminal.
func (p *initProc) bindConsole(slave int) error {
	dest, err := p.resolve("/dev/console")
	if err != nil {
		return err
	}
	if err := ensureMountPoint(dest, false); err != nil {
		return err
	}
	src := "/proc/self/fd/" + strconv.Itoa(slave)
	if err := unix.Mount(src, dest, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind /dev/console: %w", err)
	}
	return nil
}

// SendFD sends fd with name over the unix socket sock.
func SendFD(sock *os.File, name string, fd int) error {
	rights := unix.UnixRights(fd)
	return unix.Sendmsg(int(sock.Fd()), []byte(name), rights, nil, 0)
}

// RecvFD receives one descriptor sent by SendFD.
func RecvFD(sock *os.File) (*os.File, error) {
	name := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), name, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, err
	}
	if len(msgs) != 1 {
		return nil, errors.New("expected one descriptor on the console socket")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, errors.New("expected one descriptor on the console socket")
	}
	return os.NewFile(uintptr(fds[0]), string(name[:n])), nil
}
