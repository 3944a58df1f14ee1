package engine

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// The attach protocol between a client (`run -it`, `attach`, `start -a`)
// and a container's monitor, over a unix socket. Every message is a frame:
// one type byte, three zero bytes, a big-endian uint32 length, the payload
// (the layout of Docker's multiplexed streams).
const (
	frameStdin  = 0 // client → monitor: bytes for the container's stdin
	frameStdout = 1 // monitor → client
	frameStderr = 2 // monitor → client
	frameResize = 3 // client → monitor: rows, cols as two uint16
	frameExit   = 4 // monitor → client: exit code as int32, then EOF
	frameEOF    = 5 // client → monitor: close the container's stdin
)

func writeFrame(w io.Writer, typ byte, payload []byte) error {
	var h [8]byte
	h[0] = typ
	binary.BigEndian.PutUint32(h[4:], uint32(len(payload)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[4:])
	if int(n) > cap(buf) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(r, buf)
	return h[0], buf, err
}

// attachSocketPath keeps socket paths short (sun_path holds 108 bytes;
// conmon#213): the run root plus a 12-digit ID.
func (e *Engine) attachSocketPath(id string) string {
	return filepath.Join(e.cfg.RunRoot, "attach", id[:12])
}

// hub fans the container's output out to attached clients.
type hub struct {
	mu      sync.Mutex
	clients map[net.Conn]struct{}
	tty     bool
}

func newHub(tty bool) *hub { return &hub{clients: map[net.Conn]struct{}{}, tty: tty} }

func (h *hub) add(c net.Conn) {
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
}

func (h *hub) remove(c net.Conn) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	c.Close()
}

// broadcast sends output to every client; a client that cannot keep up is
// dropped rather than stalling the container.
func (h *hub) broadcast(typ byte, p []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if err := writeFrame(c, typ, p); err != nil {
			delete(h.clients, c)
			c.Close()
		}
	}
}

// finish sends the exit code to every client and disconnects them.
func (h *hub) finish(code int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(int32(code)))
	for c := range h.clients {
		_ = writeFrame(c, frameExit, b[:])
		c.Close()
	}
	h.clients = map[net.Conn]struct{}{}
}

// teeWriter sends what the log copier reads to the hub as well.
type teeReader struct {
	r   io.Reader
	h   *hub
	typ byte
}

func (t teeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.h.broadcast(t.typ, p[:n])
	}
	return n, err
}

// serveClient relays a client's input to the container.
func serveClient(c net.Conn, h *hub, stdin *os.File, pty *os.File) {
	defer h.remove(c)
	buf := make([]byte, 32*1024)
	for {
		typ, p, err := readFrame(c, buf)
		if err != nil {
			return
		}
		switch typ {
		case frameStdin:
			if stdin != nil {
				if _, err := stdin.Write(p); err != nil {
					return
				}
			}
		case frameEOF:
			if stdin != nil && pty == nil {
				stdin.Close()
			}
		case frameResize:
			if pty != nil && len(p) == 4 {
				resizePty(pty, binary.BigEndian.Uint16(p[0:2]), binary.BigEndian.Uint16(p[2:4]))
			}
		}
	}
}
