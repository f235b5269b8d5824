package main

import (
	"context"
	"sync"

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

// stopSession ends a running command: SIGTERM to it, then the session's channel is closed (so that
// Run returns even when the host does not pass the signal on: OpenSSH before 7.9 ignores it).
func stopSession(sess interface {
	Signal(ssh.Signal) error
	Close() error
}) {
	_ = sess.Signal(ssh.SIGTERM)
	_ = sess.Close()
}
