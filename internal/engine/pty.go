package engine

import (
	"os"

	"golang.org/x/sys/unix"
)

func resizePty(pty *os.File, rows, cols uint16) {
	_ = unix.IoctlSetWinsize(int(pty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
}
