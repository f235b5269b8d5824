package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// loopbackSSHD listens on 127.0.0.1 and logs in whoever presents a public key (any key).
func loopbackSSHD(t *testing.T) (host, port string) {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(c, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					_ = nc.Reject(ssh.Prohibited, "no")
				}
			}()
		}
	}()
	host, port, _ = net.SplitHostPort(l.Addr().String())
	return host, port
}

func connWith(host, port string, extra map[string]any) resource.PropertyMap {
	m := resource.NewPropertyMapFromMap(extra)
	m["host"] = resource.NewStringProperty(host)
	m["port"] = resource.NewStringProperty(port)
	return m
}

// failingNet makes every TCP connect fail (and counts them) for the rest of the test.
func failingNet(t *testing.T) *atomic.Int32 {
	var n atomic.Int32
	old, oldStep, oldFor := dialNet, dialBackoffStep, unlimitedDialFor
	dialNet = func(context.Context, string, time.Duration) (net.Conn, error) {
		n.Add(1)
		return nil, errors.New("connection refused")
	}
	dialBackoffStep = time.Millisecond
	t.Cleanup(func() { dialNet, dialBackoffStep, unlimitedDialFor = old, oldStep, oldFor })
	return &n
}

func TestDialErrorLimitIsTheNumberOfFailedDialsAllowed(t *testing.T) {
	for _, c := range []struct{ limit, want int32 }{{3, 4}, {0, 1}, {1, 2}} {
		n := failingNet(t)
		_, err := dial(context.Background(), connWith("h", "22", map[string]any{"dialErrorLimit": float64(c.limit)}))
		if err == nil || n.Load() != c.want || !strings.Contains(err.Error(), "connection.dialErrorLimit") {
			t.Fatalf("dialErrorLimit %d: %d attempts (want %d), err %v", c.limit, n.Load(), c.want, err)
		}
	}
	n := failingNet(t)
	_, _ = dial(context.Background(), connWith("h", "22", nil))
	if n.Load() != defaultDialErrorLimit+1 {
		t.Fatalf("default: %d attempts, want %d", n.Load(), defaultDialErrorLimit+1)
	}
}

func TestDialErrorLimitMinusOneRetriesWithoutACountUntilTheTimeBound(t *testing.T) {
	n := failingNet(t)
	unlimitedDialFor = 300 * time.Millisecond
	start := time.Now()
	_, err := dial(context.Background(), connWith("h", "22", map[string]any{"dialErrorLimit": float64(-1)}))
	if err == nil || !strings.Contains(err.Error(), "dialErrorLimit -1") {
		t.Fatalf("err %v", err)
	}
	if n.Load() <= defaultDialErrorLimit+2 {
		t.Fatalf("only %d attempts: -1 was treated as a count", n.Load())
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 3*time.Second {
		t.Fatalf("gave up after %s, want the 300ms bound", el)
	}
}

func TestADialStopsWhenTheContextEnds(t *testing.T) {
	failingNet(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := dial(ctx, connWith("h", "22", map[string]any{"dialErrorLimit": float64(-1)}))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestAHandshakeStopsWhenTheContextEnds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never speaks SSH
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err = dial(ctx, connWith(host, port, map[string]any{"perDialTimeout": float64(0)}))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

func TestPerDialTimeoutZeroMeansNoMaximum(t *testing.T) {
	host, port := loopbackSSHD(t)
	key, _ := testKeys(t)
	c, err := dial(context.Background(), connWith(host, port, map[string]any{"perDialTimeout": float64(0), "privateKey": key}))
	if err != nil {
		t.Fatalf("perDialTimeout 0: %v", err)
	}
	c.Close()
}

func TestTheAgentConnectionIsClosedOnceTheLoginIsDone(t *testing.T) {
	host, port := loopbackSSHD(t)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	closed := make(chan struct{}, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = agent.ServeAgent(keyring, c) // returns when the client closes its end
				closed <- struct{}{}
			}()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := dial(context.Background(), connWith(host, port, map[string]any{"agentSocketPath": sock}))
		if err != nil {
			t.Fatalf("login with the agent: %v", err)
		}
		select {
		case <-closed:
		case <-time.After(2 * time.Second):
			t.Fatalf("login %d: the agent connection is still open after the login", i+1)
		}
		c.Close()
	}
}

func TestAnAgentSocketPathThatCannotBeReachedIsAnErrorNamingTheField(t *testing.T) {
	_, err := dial(context.Background(), connWith("127.0.0.1", "1", map[string]any{"agentSocketPath": filepath.Join(t.TempDir(), "none")}))
	if err == nil || !strings.Contains(err.Error(), "connection.agentSocketPath") {
		t.Fatalf("err %v", err)
	}
}

func TestSSHAuthSockIsNotAskedWhenTheConnectionHasItsOwnKey(t *testing.T) {
	key, _ := testKeys(t)
	t.Setenv("SSH_AUTH_SOCK", filepath.Join(t.TempDir(), "agent.sock"))
	auth, closer, err := sshAuth(resource.PropertyMap{"privateKey": resource.NewStringProperty(key)})
	if err != nil || len(auth) != 1 {
		t.Fatalf("auth methods %d, err %v", len(auth), err)
	}
	_ = closer.Close()
}

func TestAPasswordLogsInByPasswordAndByKeyboardInteractive(t *testing.T) {
	for _, method := range []string{"password", "keyboard-interactive"} {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		signer, _ := ssh.NewSignerFromKey(priv)
		cfg := &ssh.ServerConfig{}
		if method == "password" {
			cfg.PasswordCallback = func(_ ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
				if string(pw) == "s3cret" {
					return nil, nil
				}
				return nil, errors.New("wrong")
			}
		} else {
			cfg.KeyboardInteractiveCallback = func(_ ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
				a, err := ask("", "", []string{"Password: "}, []bool{false})
				if err == nil && len(a) == 1 && a[0] == "s3cret" {
					return nil, nil
				}
				return nil, errors.New("wrong")
			}
		}
		cfg.AddHostKey(signer)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			if _, chans, reqs, err := ssh.NewServerConn(c, cfg); err == nil {
				go ssh.DiscardRequests(reqs)
				go func() {
					for range chans {
					}
				}()
			}
		}()
		host, port, _ := net.SplitHostPort(l.Addr().String())
		c, err := dial(context.Background(), connWith(host, port, map[string]any{"password": "s3cret"}))
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		c.Close()
		l.Close()
	}
}
