package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	// defaultDialErrorLimit / defaultPerDialTimeout: the SDK's documented defaults.
	defaultDialErrorLimit = 10
	defaultPerDialTimeout = 15 * time.Second
)

// Variables so that tests need not wait minutes.
var (
	// unlimitedDialFor bounds `dialErrorLimit: -1` ("no limit" in the SDK): attempts go on until the
	// host answers, the engine cancels, or this much time has passed since the first attempt. An
	// update that waits on a host forever helps no one; ten minutes covers a reboot.
	unlimitedDialFor = 10 * time.Minute
	// dialBackoffStep / maxDialBackoff: the pause between attempts grows by a step per attempt, to a cap.
	dialBackoffStep = 500 * time.Millisecond
	maxDialBackoff  = 5 * time.Second
)

// dialSettings are the connection's retry settings, as the SDK documents them.
type dialSettings struct {
	limit     int           // failed dials allowed before giving up; -1: no limit (bounded by unlimited)
	perDial   time.Duration // per attempt (TCP connect, handshake, login); 0: no maximum
	unlimited time.Duration
}

func readDialSettings(c resource.PropertyMap) dialSettings {
	d := dialSettings{limit: defaultDialErrorLimit, perDial: defaultPerDialTimeout, unlimited: unlimitedDialFor}
	if v, _ := str(c, "dialErrorLimit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			d.limit = n
		}
	}
	if v, _ := str(c, "perDialTimeout"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			d.perDial = time.Duration(n) * time.Second
		}
	}
	return d
}

// attempts is the number of dials allowed (0 means: until the time bound). The SDK documents
// dialErrorLimit as the errors allowed, as upstream counts it: the dial after the last allowed error
// is the last one (10: up to 11 dials; 0: one).
func (d dialSettings) attempts() int {
	if d.limit < 0 {
		return 0
	}
	return d.limit + 1
}

// dialNet is the TCP connect (a variable so that tests can count and fail attempts).
var dialNet = func(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "tcp", addr)
}

// sshAuth builds the login methods: the private key, then the password (also answered to
// keyboard-interactive prompts), then the SSH agent. The agent is asked when agentSocketPath is set,
// or, from SSH_AUTH_SOCK, only when the connection names no key and no password: otherwise an agent
// key could stand in for the stack's own key, and the login probe must prove that key. The returned
// closer ends the agent connection (call it once the login is done).
func sshAuth(c resource.PropertyMap) ([]ssh.AuthMethod, io.Closer, error) {
	var auth []ssh.AuthMethod
	if key, _ := str(c, "privateKey"); key != "" {
		signer, err := parsePrivateKey(c)
		if err != nil {
			return nil, nil, err
		}
		auth = append(auth, ssh.PublicKeys(signer))
	}
	if pw, _ := str(c, "password"); pw != "" {
		auth = append(auth, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
			answers := make([]string, len(questions))
			for i := range answers {
				answers[i] = pw
			}
			return answers, nil
		}))
	}
	sock, _ := str(c, "agentSocketPath")
	explicit := sock != ""
	if !explicit && len(auth) == 0 {
		sock = os.Getenv("SSH_AUTH_SOCK")
	}
	if sock == "" {
		return auth, io.NopCloser(nil), nil
	}
	a, err := net.Dial("unix", sock)
	if err != nil {
		if explicit {
			return nil, nil, fmt.Errorf("connection.agentSocketPath: cannot reach the SSH agent at %s: %w", sock, err)
		}
		return auth, io.NopCloser(nil), nil
	}
	return append(auth, ssh.PublicKeysCallback(agent.NewClient(a).Signers)), a, nil
}

func parsePrivateKey(c resource.PropertyMap) (ssh.Signer, error) {
	key, _ := str(c, "privateKey")
	pass, _ := str(c, "privateKeyPassword")
	var signer ssh.Signer
	var err error
	if pass != "" {
		signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(pass))
	} else {
		signer, err = ssh.ParsePrivateKey([]byte(key))
	}
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("connection.privateKey is encrypted: set connection.privateKeyPassword")
		}
		return nil, fmt.Errorf("connection.privateKey cannot be parsed: %w", err)
	}
	return signer, nil
}

// dial opens the SSH connection, retrying only network errors (never a host-key or auth failure),
// as often as dialErrorLimit allows, each attempt within perDialTimeout, and stops at once when ctx
// ends (the engine's Cancel included).
func dial(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error) {
	host, _ := str(c, "host")
	port := 22
	if p, _ := str(c, "port"); p != "" {
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	user, _ := str(c, "user")
	if user == "" {
		user = "root"
	}
	ds := readDialSettings(c)
	auth, agentConn, err := sshAuth(c)
	if err != nil {
		return nil, err
	}
	// The agent is only needed during the login below.
	defer agentConn.Close()
	hostKeyCallback := ssh.InsecureIgnoreHostKey()
	var hostKeyAlgos []string
	if hk, _ := str(c, "hostKey"); hk != "" {
		pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk))
		if err != nil {
			return nil, fmt.Errorf("connection.hostKey is not a public key line: %w", err)
		}
		hostKeyAlgos = hostKeyAlgorithms(pinned.Type())
		hostKeyCallback = func(_ string, _ net.Addr, offered ssh.PublicKey) error {
			if bytes.Equal(offered.Marshal(), pinned.Marshal()) {
				return nil
			}
			return fmt.Errorf("host key mismatch for %s: the host offered %s %s but %s %s is pinned; refusing to connect",
				host, offered.Type(), ssh.FingerprintSHA256(offered), pinned.Type(), ssh.FingerprintSHA256(pinned))
		}
	}
	cfg := &ssh.ClientConfig{User: user, Auth: auth, HostKeyCallback: hostKeyCallback, HostKeyAlgorithms: hostKeyAlgos, Timeout: ds.perDial}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	started := time.Now()
	var lastErr error
	attempt := 0
	for {
		attempt++
		conn, err := dialNet(ctx, addr, ds.perDial)
		noteConnect(ctx, err)
		if err == nil {
			return handshake(ctx, conn, addr, user, cfg, ds.perDial)
		}
		lastErr = err
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dialing %s: %w", addr, ctx.Err())
		}
		if n := ds.attempts(); n > 0 && attempt >= n {
			return nil, fmt.Errorf("could not reach %s after %d attempts (connection.dialErrorLimit %d: failed dials allowed before giving up): %v", addr, attempt, ds.limit, lastErr)
		}
		if ds.attempts() == 0 && time.Since(started) >= ds.unlimited {
			return nil, fmt.Errorf("could not reach %s in %s (%d attempts; connection.dialErrorLimit -1 retries until then): %v", addr, ds.unlimited, attempt, lastErr)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("dialing %s: %w", addr, ctx.Err())
		case <-time.After(min(time.Duration(attempt)*dialBackoffStep, maxDialBackoff)):
		}
	}
}

// handshake runs the key exchange and login on conn. It gets the same time limit as the TCP connect
// (a host that accepts the connection but never answers must not hold the update forever), and ends
// when ctx does.
func handshake(ctx context.Context, conn net.Conn, addr, user string, cfg *ssh.ClientConfig, perDial time.Duration) (*ssh.Client, error) {
	if perDial > 0 {
		_ = conn.SetDeadline(time.Now().Add(perDial))
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	cancelled := !stop()
	if err != nil {
		conn.Close()
		if cancelled {
			return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, ctx.Err())
		}
		return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, err)
	}
	if cancelled {
		cc.Close()
		return nil, fmt.Errorf("ssh %s@%s: %w", user, addr, ctx.Err())
	}
	_ = conn.SetDeadline(time.Time{})
	return ssh.NewClient(cc, chans, reqs), nil
}

// hostKeyAlgorithms makes the server present the key type that is pinned.
func hostKeyAlgorithms(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
