package main

import (
	"context"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// canceller carries the engine's Cancel (Ctrl-C, `pulumi cancel`) to every operation of this
// provider process: dials in progress stop, running commands get SIGTERM and their sessions are
// closed, and operations that start later fail at once.
type canceller struct {
	once   sync.Once
	ctx    context.Context
	cancel context.CancelFunc
}

func newCanceller() *canceller {
	ctx, cancel := context.WithCancel(context.Background())
	return &canceller{ctx: ctx, cancel: cancel}
}

var cancelled = newCanceller()

// with returns a context that ends with ctx or with the engine's Cancel, whichever comes first.
func (c *canceller) with(ctx context.Context) (context.Context, context.CancelFunc) {
	merged, stop := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(c.ctx, func() { stop(errCancelled) })
	return merged, func() { unhook(); stop(nil) }
}

// fire cancels everything (idempotent).
func (c *canceller) fire() { c.once.Do(c.cancel) }

type cancelError struct{}

func (cancelError) Error() string {
	return "the engine cancelled the operation (Ctrl-C or pulumi cancel)"
}

var errCancelled error = cancelError{}

// cancelGrace: how long a cancelled command's session may take to end before the operation returns
// anyway. OpenSSH closes a session only once every process holding its output has exited, and a
// signal reaches only the command's shell, not the processes it started.
const cancelGrace = 2 * time.Second

// runUntilCancelled runs cmd on sess; when ctx ends first, the command is stopped (stopSession)
// and the operation returns within cancelGrace, whatever the host's processes still do.
func runUntilCancelled(ctx context.Context, sess *ssh.Session, cmd string) error {
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmd) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	stopSession(sess)
	select {
	case err := <-done:
		return err
	case <-time.After(cancelGrace):
		return context.Cause(ctx)
	}
}

// stopSession ends a running command: SIGTERM to it, then the session's channel is closed (so that
// Run returns even when the host does not pass the signal on: OpenSSH before 7.9 ignores it).
func stopSession(sess interface {
	Signal(ssh.Signal) error
	Close() error
}) {
	_ = sess.Signal(ssh.SIGTERM)
	_ = sess.Close()
}
