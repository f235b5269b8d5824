package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func TestProbeFilterAnswersRequestsAndKeepsThemOutOfTheOutput(t *testing.T) {
	var out bytes.Buffer
	var mu sync.Mutex
	var asked []string
	f := newProbeFilter(context.Background(), resource.PropertyMap{}, &out)
	f.answer = func(_ context.Context, _ resource.PropertyMap, fifo, nonce string) {
		mu.Lock()
		asked = append(asked, fifo+" "+nonce)
		mu.Unlock()
	}
	req := "conntune-login-request v1 /run/conntune-login.123.AbCd1234/fifo 0123456789abcdef0123456789abcdef\n"
	// Split across writes, as the SSH channel delivers it.
	for _, chunk := range []string{"ct:a=1\nct:b", "=2\n" + req[:20], req[20:] + "tail"} {
		if _, err := f.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	f.close()
	if got := out.String(); got != "ct:a=1\nct:b=2\ntail" {
		t.Fatalf("output %q", got)
	}
	if len(asked) != 1 || asked[0] != "/run/conntune-login.123.AbCd1234/fifo 0123456789abcdef0123456789abcdef" {
		t.Fatalf("asked %v", asked)
	}
}

func TestProbeFilterPassesLinesThatOnlyLookLikeRequests(t *testing.T) {
	for _, line := range []string{
		"conntune-login-request v1 /tmp/x/fifo 0123456789abcdef0123456789abcdef",
		"conntune-login-request v1 /run/conntune-login.1.AbCd1234/../../etc/shadow 0123456789abcdef0123456789abcdef",
		"conntune-login-request v1 /run/conntune-login.1.AbCd1234/fifo' 0123456789abcdef0123456789abcdef",
		" conntune-login-request v1 /run/conntune-login.1.AbCd1234/fifo 0123456789abcdef0123456789abcdef",
		"conntune-login-request v1 /run/conntune-login.1.AbCd1234/fifo 0123456789ABCDEF0123456789abcdef",
	} {
		var out bytes.Buffer
		f := newProbeFilter(context.Background(), resource.PropertyMap{}, &out)
		f.answer = func(context.Context, resource.PropertyMap, string, string) { t.Errorf("answered %q", line) }
		_, _ = f.Write([]byte(line + "\n"))
		f.close()
		if out.String() != line+"\n" {
			t.Errorf("dropped %q", line)
		}
	}
}

func TestProbeCommandAndTarget(t *testing.T) {
	cmd := probeCommand("/run/conntune-login.1.AbCd1234/fifo", "0123456789abcdef0123456789abcdef")
	if !strings.HasSuffix(cmd, ">'/run/conntune-login.1.AbCd1234/fifo'") || !strings.Contains(cmd, "ulimit -Hn") {
		t.Fatalf("command %q", cmd)
	}
	c := resource.PropertyMap{"host": resource.NewStringProperty("10.0.0.2"), "user": resource.NewStringProperty("tuner"), "port": resource.NewNumberProperty(2222)}
	if got := probeTarget(c); got != "10.0.0.2:2222" {
		t.Fatalf("target %q", got)
	}
	if got := oneLine("a\nb\r\x00c"); got != "a b  c" {
		t.Fatalf("oneLine %q", got)
	}
}
