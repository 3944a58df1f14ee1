package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cocin-dev/cocin/internal/image"
	"github.com/cocin-dev/cocin/internal/layer"
	"github.com/cocin-dev/cocin/internal/logs"
	"github.com/cocin-dev/cocin/internal/runtime"
	"github.com/cocin-dev/cocin/internal/specgen"
	"github.com/cocin-dev/cocin/internal/state"
	"github.com/cocin-dev/cocin/internal/trace"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// RunOptions are `cocin run`'s flags.
type RunOptions struct {
	specgen.Options
	Image       string
	Name        string
	Remove      bool
	Interactive bool
	Detach      bool
	// Restart is --restart: no, on-failure[:N], always, unless-stopped.
	Restart string
	// LogOptions are --log-opt key=value (max-size, max-file).
	LogOptions []string
	// Net are the network flags (network.go).
	Net NetOptions
	// StopSignal and StopTimeout (seconds, -1: no limit) are what `stop`
	// uses unless told otherwise; defaults: the image's STOPSIGNAL or
	// SIGTERM, and 10 s.
	StopSignal  string
	StopTimeout *int
}

// Streams are the standard streams of the calling command.
type Streams struct {
	Stdin          *os.File
	Stdout, Stderr *os.File
}

// prepared is a container whose record, rootfs and spec exist but whose
// runtime side does not yet.
type prepared struct {
	rec  *state.Container
	spec *specs.Spec
	undo []func()
}

func (p *prepared) rollback() {
	for i := len(p.undo) - 1; i >= 0; i-- {
		p.undo[i]()
	}
}

// Run creates a container, runs it in the foreground and returns its exit
// code. Everything it made is undone on failure, and on exit with --rm.
func (e *Engine) Run(ctx context.Context, o *RunOptions, st Streams) (code int, err error) {
	p, err := e.prepare(ctx, o)
	if err != nil {
		return ExitCode(err), err
	}
	defer func() {
		if err != nil {
			p.rollback()
		}
	}()
	return e.runForeground(ctx, p, o, st)
}

// prepare does everything up to the runtime: image, ID and name, rootfs,
// spec, record.
func (e *Engine) prepare(ctx context.Context, o *RunOptions) (_ *prepared, err error) {
	p := &prepared{}
	defer func() {
		if err != nil {
			p.rollback()
		}
	}()
	policy, err := ParseRestartPolicy(o.Restart)
	if err != nil {
		return nil, err
	}
	if o.Remove && policy.Name != "no" {
		return nil, errors.New("conflicting options: cannot specify both --restart and --rm")
	}
	if _, err := ParseSignal(o.StopSignal, unix.SIGTERM); err != nil {
		return nil, err
	}
	logOpts, err := parseLogOptions(o.LogOptions)
	if err != nil {
		return nil, err
	}
	if err := checkResources(&o.Resources); err != nil {
		return nil, err
	}
	if o.Security.Privileged && o.Security.UsernsRemap != "" && o.Security.UsernsRemap != "host" {
		return nil, errors.New("privileged mode is incompatible with user namespaces: use --userns-remap=host with --privileged")
	}
	_, end := trace.Step(ctx, "resolve image")
	img, err := e.Images.Get(o.Image)
	end()
	if err != nil {
		if errors.Is(err, image.ErrNotFound) {
			return nil, fmt.Errorf("unable to find image %q locally", o.Image)
		}
		return nil, err
	}
	id := state.NewID()
	// The record itself is written once, complete, after the spec; until
	// then the directory names its maker, so that `system prune` and a
	// later run wanting the same name leave it alone while this command
	// lives, and clean it up (or take the name) if it dies.
	if err := e.Containers.MakeDir(id); err != nil {
		return nil, err
	}
	if err := writeMaker(e.Containers.Dir(id)); err != nil {
		_ = os.RemoveAll(e.Containers.Dir(id))
		return nil, err
	}
	// Undone last of all: a failed first container leaves no bridge,
	// table or parent cgroup behind either.
	p.undo = append(p.undo, e.releaseIdle)
	p.undo = append(p.undo, func() { _ = os.RemoveAll(e.Containers.Dir(id)) })
	name, err := e.reserveName(o.Name, id)
	if err != nil {
		return nil, err
	}
	p.undo = append(p.undo, func() { e.Containers.ReleaseName(name, id) })

	rec := &state.Container{
		ID: id, Name: name, Image: o.Image, ImageID: img.ID.String(), Created: time.Now().UTC(),
		Dir: e.Containers.Dir(id), AutoRemove: o.Remove,
		State: state.State{Status: state.Created},
		Tty:   o.Tty, OpenStdin: o.Interactive, RestartPolicy: policy,
		LogPath: filepath.Join(e.Containers.Dir(id), "container.log"), LogOptions: logOpts,
		StopSignal: img.Config.Config.StopSignal, StopTimeout: o.StopTimeout,
	}
	if o.StopSignal != "" {
		rec.StopSignal = o.StopSignal
	}
	if err := e.prepareUserns(o, rec.Dir); err != nil {
		return nil, err
	}
	_, end = trace.Step(ctx, "mount rootfs (overlay)")
	rootfs, err := e.mountRootfs(img, rec.Dir, o.Remove)
	end()
	if err != nil {
		return nil, err
	}
	p.undo = append(p.undo, func() { _ = layer.UnmountRootfs(rec.Dir) })
	rec.Rootfs = rootfs
	if err := e.setupStorage(ctx, p, o, img, rec); err != nil {
		return nil, err
	}

	_, end = trace.Step(ctx, "generate spec")
	spec, err := e.generateSpec(img, o, rec)
	end()
	if err != nil {
		return nil, err
	}
	rec.Path, rec.Args = spec.Process.Args[0], spec.Process.Args[1:]
	rec.Spec, _ = json.Marshal(spec)
	rec.Options, _ = json.Marshal(o)
	// The record names this command as the one starting the container
	// (the monitor takes over for run -d, create lets go): if it is
	// killed half-way, the next command undoes what it left.
	me, err := self()
	if err != nil {
		return nil, err
	}
	rec.Owner, rec.OwnerStart = me.pid, me.start
	if err := e.Containers.Write(rec); err != nil {
		return nil, err
	}
	p.rec, p.spec = rec, spec
	e.emit(rec, "create", nil)
	return p, nil
}

func (e *Engine) reserveName(name, id string) (string, error) {
	if name != "" {
		if err := state.ValidateName(name); err != nil {
			return "", err
		}
		for try := 0; ; try++ {
			err := e.Containers.ReserveName(name, id)
			if !errors.Is(err, state.ErrNameInUse) || try == 2 || !e.releaseStaleName(name) {
				return name, err
			}
		}
	}
	for i := 0; ; i++ {
		n := state.RandomName(i)
		err := e.Containers.ReserveName(n, id)
		if !errors.Is(err, state.ErrNameInUse) {
			return n, err
		}
	}
}

// releaseStaleName frees name if the container holding it does not exist
// and is not being made: its run was killed before it wrote the record.
// It reports whether the name was freed.
func (e *Engine) releaseStaleName(name string) bool {
	holder, err := e.Containers.NameHolder(name)
	if err != nil || !e.staleHolder(holder) {
		return false
	}
	e.Containers.ReleaseName(name, holder)
	return true
}

// staleHolder: no record and no live maker (run, create) for id.
func (e *Engine) staleHolder(id string) bool {
	_, err := e.Containers.Get(id)
	return errors.Is(err, state.ErrNotFound) && !makerAlive(e.Containers.Dir(id))
}

// mountRootfs mounts a container's overlay; a --rm container's is
// transient (volatile: no syncs, it never outlives the container).
func (e *Engine) mountRootfs(img *image.Image, dir string, transient bool) (string, error) {
	lowers, err := e.Images.LayerDirs(img)
	if err != nil {
		return "", err
	}
	if m, err := loadIDMap(dir); m != nil || err != nil {
		if err != nil {
			return "", err
		}
		return e.mountRootfsUserns(img, lowers, dir, m)
	}
	if transient {
		return layer.MountTransientRootfs(lowers, dir)
	}
	return layer.MountRootfs(lowers, dir)
}

func (e *Engine) generateSpec(img *image.Image, o *RunOptions, rec *state.Container) (*specs.Spec, error) {
	hostname := e.runHostname(o, rec)
	opts := o.Options
	opts.CgroupsPath = e.cfg.CgroupParent + "/" + rec.ID
	etc, err := writeEtcFiles(rec.Dir, hostname)
	if err != nil {
		return nil, err
	}
	opts.Mounts = append(etc, opts.Mounts...)
	if err := e.prepareNetwork(img, o, rec, hostname, &opts); err != nil {
		return nil, err
	}
	spec, err := specgen.Generate(&img.Config.Config, &opts, rec.Rootfs, hostname)
	if err != nil {
		return nil, err
	}
	if spec.Root.Readonly {
		readOnlyEtcFiles(spec, rec.Dir)
	}
	if err := makeWorkdir(rec.Rootfs, spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// runForeground creates and starts the container in this process, which
// stays its parent: it forwards signals and stdio and collects the exit.
func (e *Engine) runForeground(ctx context.Context, p *prepared, o *RunOptions, st Streams) (int, error) {
	rec := p.rec
	tty, err := newTTYSession(o, st)
	if err != nil {
		return 125, err
	}
	defer tty.close()

	copts := runtime.CreateOpts{ID: rec.ID, Spec: p.spec, LoopbackUp: true}
	copts.ConsoleSocket = tty.socket()
	var relay *stdioRelay
	if !o.Tty {
		if relay, err = newStdioRelay(st, o.Interactive); err != nil {
			return 125, err
		}
		copts.Stdin, copts.Stdout, copts.Stderr = relay.In, relay.Out, relay.Err
	}
	cctx, end := trace.Step(ctx, "create container")
	ctr, err := e.Runtime.Create(cctx, copts)
	end()
	if err != nil {
		if relay != nil {
			relay.close()
		}
		return ExitCode(err), err
	}
	if relay != nil {
		log, err := logs.NewWriter(rec.LogPath, logOptions(rec.LogOptions))
		if err != nil {
			relay.close()
			return 125, err
		}
		defer log.Close()
		relay.start(log)
	}
	p.undo = append(p.undo, func() { _ = e.Runtime.Delete(rec.ID, true) })
	p.undo = append(p.undo, func() { e.detachNetwork(rec.ID) })
	if err := e.attachNetwork(rec, ctr.Pid); err != nil {
		return 125, err
	}
	if err := tty.receive(); err != nil {
		return 125, err
	}
	sigs := forwardSignals(ctr, o.Tty)
	defer signal.Stop(sigs)

	_, end = trace.Step(ctx, "start")
	err = e.Runtime.Start(rec.ID)
	if err == nil {
		err = ctr.Started()
	}
	end()
	if err != nil {
		return ExitCode(err), err
	}
	e.recordStart(rec.ID, ctr.Pid)
	tty.pump(o.Interactive)
	_, end = trace.Step(ctx, "wait")
	code, werr := ctr.Wait()
	tty.drain()
	if relay != nil {
		relay.wait()
	}
	end()
	cctx, end = trace.Step(ctx, "cleanup")
	oom, _ := ctr.Cgroup().OOMKilled()
	e.finish(cctx, rec, code, oom, werr)
	end()
	return code, nil
}

// finish records the exit and releases the runtime side and the rootfs;
// with --rm it removes the container altogether.
func (e *Engine) finish(ctx context.Context, rec *state.Container, code int, oom bool, werr error) {
	_, end := trace.Step(ctx, "delete runtime state and cgroup")
	_ = e.Runtime.Delete(rec.ID, true)
	end()
	_, end = trace.Step(ctx, "detach network")
	e.detachNetwork(rec.ID)
	end()
	if rec.AutoRemove {
		// No record of the exit stays, but the event log keeps it (wait).
		e.emit(rec, "die", map[string]string{"exitCode": strconv.Itoa(code)})
		_, end = trace.Step(ctx, "unmount and remove container")
		_ = e.removeContainer(ctx, rec)
		end()
		return
	}
	e.recordExit(rec.ID, code, oom, werr)
}

// forwardSignals relays the signals cocin receives to the container's init
// (Docker's sig-proxy). SIGCHLD, SIGPIPE, SIGURG (Go's preemption) and,
// with a terminal, SIGWINCH are ours.
func forwardSignals(ctr signaler, tty bool) chan os.Signal {
	return relaySignals(tty, func(s unix.Signal) { _ = ctr.Signal(s) })
}

// relaySignals calls send for every signal cocin may forward.
func relaySignals(tty bool, send func(unix.Signal)) chan os.Signal {
	ch := make(chan os.Signal, 16)
	var sigs []os.Signal
	for s := syscall.Signal(1); s <= 31; s++ {
		switch s {
		case unix.SIGCHLD, unix.SIGPIPE, unix.SIGURG, unix.SIGKILL, unix.SIGSTOP:
			continue
		case unix.SIGWINCH:
			if tty {
				continue
			}
		}
		sigs = append(sigs, s)
	}
	signal.Notify(ch, sigs...)
	go func() {
		for s := range ch {
			send(s.(syscall.Signal))
		}
	}()
	return ch
}

// ttySession is the terminal side of `run -t`: the console socket, the pty
// master the init sends back, raw mode and window size.
type ttySession struct {
	enabled    bool
	st         Streams
	local      *os.File // our end of the console socket
	remote     *os.File // the init's end
	master     *os.File
	restore    func()
	outputDone chan struct{}
	winch      chan os.Signal
	once       sync.Once
}

func newTTYSession(o *RunOptions, st Streams) (*ttySession, error) {
	t := &ttySession{enabled: o.Tty, st: st}
	if !o.Tty {
		return t, nil
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	t.local, t.remote = os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console")
	return t, nil
}

func (t *ttySession) socket() *os.File {
	if !t.enabled {
		return nil
	}
	return t.remote
}

// receive takes the pty master, sizes it like our terminal and puts our
// terminal in raw mode so that keys (Ctrl-C included) reach the container.
func (t *ttySession) receive() error {
	if !t.enabled {
		return nil
	}
	t.remote.Close()
	m, err := runtime.RecvFD(t.local)
	if err != nil {
		return fmt.Errorf("receive terminal: %w", err)
	}
	t.master = m
	t.resize()
	if term.IsTerminal(int(t.st.Stdin.Fd())) {
		old, err := term.MakeRaw(int(t.st.Stdin.Fd()))
		if err == nil {
			t.restore = func() { _ = term.Restore(int(t.st.Stdin.Fd()), old) }
		}
	}
	t.winch = make(chan os.Signal, 1)
	signal.Notify(t.winch, unix.SIGWINCH)
	go func() {
		for range t.winch {
			t.resize()
		}
	}()
	return nil
}

func (t *ttySession) resize() {
	ws, err := unix.IoctlGetWinsize(int(t.st.Stdout.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		ws, err = unix.IoctlGetWinsize(int(t.st.Stdin.Fd()), unix.TIOCGWINSZ)
	}
	if err == nil {
		_ = unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// pump copies the pty to stdout and, with -i, stdin to the pty.
func (t *ttySession) pump(interactive bool) {
	if !t.enabled {
		return
	}
	t.outputDone = make(chan struct{})
	go func() {
		_, _ = io.Copy(t.st.Stdout, t.master)
		close(t.outputDone)
	}()
	if interactive {
		go func() { _, _ = io.Copy(t.master, t.st.Stdin) }()
	}
}

// drain waits for the output the container wrote before it exited. A
// process that outlived PID 1 and holds the pty cannot keep us forever.
func (t *ttySession) drain() {
	if !t.enabled || t.outputDone == nil {
		return
	}
	select {
	case <-t.outputDone:
	case <-time.After(2 * time.Second):
	}
}

func (t *ttySession) close() {
	t.once.Do(func() {
		if t.winch != nil {
			signal.Stop(t.winch)
			close(t.winch)
		}
		if t.restore != nil {
			t.restore()
		}
		for _, f := range []*os.File{t.local, t.remote, t.master} {
			if f != nil {
				f.Close()
			}
		}
	})
}

// makeWorkdir creates the working directory in the rootfs when the image
// lacks it, as Docker does, resolving symlinks inside the rootfs.
func makeWorkdir(rootfs string, spec *specs.Spec) error {
	dir, err := secureJoin(rootfs, spec.Process.Cwd)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create working directory %s: %w", spec.Process.Cwd, err)
	}
	uid, gid := hostOwner(spec)
	return os.Chown(dir, uid, gid)
}

// readOnlyEtcFiles makes the container's own /etc/hostname, /etc/hosts and
// /etc/resolv.conf read-only in a --read-only container, as Docker and
// Podman do (cocin still rewrites the host side when networks change).
func readOnlyEtcFiles(spec *specs.Spec, dir string) {
	for i, m := range spec.Mounts {
		if m.Type == "bind" && filepath.Dir(m.Source) == dir && strings.HasPrefix(m.Destination, "/etc/") {
			spec.Mounts[i].Options = append(m.Options, "ro")
		}
	}
}

// writeEtcFiles writes the container's /etc/hostname and /etc/hosts and
// returns the bind mounts that put them in place.
func writeEtcFiles(dir, hostname string) ([]specs.Mount, error) {
	files := map[string]string{
		"hostname": hostname + "\n",
		"hosts": "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
			"fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n" +
			"127.0.1.1\t" + hostname + "\n",
	}
	var mounts []specs.Mount
	for _, name := range []string{"hostname", "hosts"} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(files[name]), 0o644); err != nil {
			return nil, err
		}
		mounts = append(mounts, specs.Mount{Destination: "/etc/" + name, Type: "bind", Source: p, Options: []string{"rbind", "rprivate"}})
	}
	return mounts, nil
}
