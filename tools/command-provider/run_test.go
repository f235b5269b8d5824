package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// envSSHD is an in-process SSH server that records each session's env requests (accepting those
// named in accept) and its command; a command "sleep" runs until the client ends the session.
type envSSHD struct {
	accept map[string]bool
	dials  atomic.Int32
	mu     sync.Mutex
	envs   []map[string]string
	cmds   []string
	ended  chan string             // "signal TERM" / "closed" for a sleeping command
	reply  func(cmd string) string // what a command prints (default: "ran CMD")
}

func (f *envSSHD) serve(conn net.Conn, cfg *ssh.ServerConfig) {
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			env := map[string]string{}
			for r := range chReqs {
				switch r.Type {
				case "env":
					var kv struct{ Name, Value string }
					_ = ssh.Unmarshal(r.Payload, &kv)
					ok := f.accept[kv.Name]
					if ok {
						env[kv.Name] = kv.Value
					}
					_ = r.Reply(ok, nil)
				case "signal":
					var s struct{ Signal string }
					_ = ssh.Unmarshal(r.Payload, &s)
					f.ended <- "signal " + s.Signal
				case "exec":
					var c struct{ Command string }
					_ = ssh.Unmarshal(r.Payload, &c)
					_ = r.Reply(true, nil)
					f.mu.Lock()
					f.envs = append(f.envs, env)
					f.cmds = append(f.cmds, c.Command)
					f.mu.Unlock()
					if c.Command == "sleep" {
						continue // until the client closes the channel
					}
					go func() {
						if f.reply != nil {
							fmt.Fprint(ch, f.reply(c.Command))
						} else {
							fmt.Fprintf(ch, "ran %s\n", c.Command)
						}
						_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
						_ = ch.Close()
					}()
				default:
					_ = r.Reply(false, nil)
				}
			}
			select {
			case f.ended <- "closed":
			default:
			}
		}()
	}
}

// use makes the provider's pool dial this server for the rest of the test.
func (f *envSSHD) use(t *testing.T) {
	fake := &fakeSSHD{}
	cfg := fake.config(t)
	old := pool
	pool = newPool(func(ctx context.Context, c resource.PropertyMap) (*ssh.Client, error) {
		f.dials.Add(1)
		client, server, err := socketPair()
		if err != nil {
			return nil, err
		}
		go f.serve(server, cfg)
		cc, chans, reqs, err := ssh.NewClientConn(client, "fake", &ssh.ClientConfig{User: "root", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
		if err != nil {
			return nil, err
		}
		return ssh.NewClient(cc, chans, reqs), nil
	})
	t.Cleanup(func() { pool.closeAll(); pool = old })
}

func newEnvSSHD(accept ...string) *envSSHD {
	f := &envSSHD{accept: map[string]bool{}, ended: make(chan string, 4)}
	for _, a := range accept {
		f.accept[a] = true
	}
	return f
}

func commandInputs(fields map[string]any) resource.PropertyMap {
	m := resource.NewPropertyMapFromMap(fields)
	m["connection"] = resource.NewObjectProperty(resource.PropertyMap{"host": resource.NewStringProperty("fake")})
	return m
}

func runState(t *testing.T, which string, inputs, olds resource.PropertyMap) resource.PropertyMap {
	t.Helper()
	s := &server{}
	out, err := s.run(context.Background(), "urn:pulumi:s::p::command:remote:Command::c", "abc", inputs, which, olds, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err := plugin.UnmarshalProperties(out, marshal)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAnEmptyCreateOpensNoConnection(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	st := runState(t, "create", commandInputs(map[string]any{"delete": "rm x"}), nil)
	if n := f.dials.Load(); n != 0 {
		t.Fatalf("an empty create dialed %d times", n)
	}
	if st["stdout"].StringValue() != "" || st["stderr"].StringValue() != "" {
		t.Fatalf("outputs of an empty create: %v", st)
	}
}

func TestAnUpdateWithoutCommandsKeepsThePreviousOutputAndOpensNoConnection(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	olds := resource.PropertyMap{"stdout": resource.NewStringProperty("before")}
	st := runState(t, "update", commandInputs(map[string]any{"delete": "rm x"}), olds)
	if n := f.dials.Load(); n != 0 || st["stdout"].StringValue() != "before" {
		t.Fatalf("dials %d, stdout %v", n, st["stdout"])
	}
}

func TestAnUpdateGetsThePreviousOutputAsPulumiCommandStdoutAndStderr(t *testing.T) {
	f := newEnvSSHD("PULUMI_COMMAND_STDOUT", "PULUMI_COMMAND_STDERR")
	f.use(t)
	olds := resource.PropertyMap{"stdout": resource.NewStringProperty("old out"), "stderr": resource.MakeSecret(resource.NewStringProperty("old err"))}
	runState(t, "update", commandInputs(map[string]any{"create": "apply"}), olds)
	runState(t, "delete", commandInputs(map[string]any{"delete": "remove", "stdout": "old out"}), commandInputs(map[string]any{"stdout": "old out"}))
	runState(t, "update", commandInputs(map[string]any{"create": "apply", "addPreviousOutputInEnv": false}), olds)
	runState(t, "create", commandInputs(map[string]any{"create": "apply"}), nil)
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []map[string]string{
		{"PULUMI_COMMAND_STDOUT": "old out", "PULUMI_COMMAND_STDERR": "old err"},
		{"PULUMI_COMMAND_STDOUT": "old out"},
		{},
		{},
	}
	if fmt.Sprint(f.envs) != fmt.Sprint(want) {
		t.Fatalf("environments of update, delete, update with addPreviousOutputInEnv false, create:\n got %v\nwant %v", f.envs, want)
	}
}

func TestASSHServerThatRefusesThePreviousOutputStillRunsTheCommand(t *testing.T) {
	f := newEnvSSHD() // accepts no variable (sshd without AcceptEnv)
	f.use(t)
	olds := resource.PropertyMap{"stdout": resource.NewStringProperty("old out")}
	st := runState(t, "update", commandInputs(map[string]any{"create": "apply", "addPreviousOutputInEnv": true}), olds)
	if st["stdout"].StringValue() != "ran apply" {
		t.Fatalf("stdout %q", st["stdout"].StringValue())
	}
}

func TestCancelStopsARunningCommandPromptly(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	old := cancelled
	cancelled = newCanceller()
	t.Cleanup(func() { cancelled = old })
	s := &server{}
	done := make(chan error, 1)
	go func() {
		_, err := s.run(context.Background(), "urn:pulumi:s::p::command:remote:Command::c", "abc", commandInputs(map[string]any{"create": "sleep"}), "create", nil, false)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.mu.Lock()
		started := len(f.cmds) > 0
		f.mu.Unlock()
		if started {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if _, err := s.Cancel(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cancelled") {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Fatalf("stopping took %s", time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the command still runs 5 s after Cancel")
	}
	if got := <-f.ended; got != "signal TERM" {
		t.Fatalf("the host saw %q first, want the command to get SIGTERM", got)
	}
	// Operations after Cancel fail at once.
	if _, err := s.run(context.Background(), "urn:pulumi:s::p::command:remote:Command::d", "abd", commandInputs(map[string]any{"create": "apply"}), "create", nil, false); err == nil {
		t.Fatal("a command after Cancel ran")
	}
}

func TestEnvironmentIsSentAndAVariableTheServerRefusesFailsTheCommand(t *testing.T) {
	f := newEnvSSHD("GREETING")
	f.use(t)
	in := commandInputs(map[string]any{"create": "apply"})
	in["environment"] = resource.MakeSecret(resource.NewObjectProperty(resource.PropertyMap{"GREETING": resource.NewStringProperty("hi")}))
	runState(t, "create", in, nil)
	f.mu.Lock()
	got := fmt.Sprint(f.envs)
	f.mu.Unlock()
	if got != fmt.Sprint([]map[string]string{{"GREETING": "hi"}}) {
		t.Fatalf("environments: %s", got)
	}
	in["environment"] = resource.NewObjectProperty(resource.PropertyMap{"OTHER": resource.NewStringProperty("x")})
	s := &server{}
	if _, err := s.run(context.Background(), "urn:pulumi:s::p::command:remote:Command::c", "abc", in, "create", nil, false); err == nil || !strings.Contains(err.Error(), "AcceptEnv OTHER") {
		t.Fatalf("err %v", err)
	}
}
