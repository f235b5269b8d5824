package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracing/opentracing-go"
	"github.com/opentracing/opentracing-go/mocktracer"

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

func TestProbeFilterTagsTheOperationSpanWithWhatItsProbesCost(t *testing.T) {
	tracer := mocktracer.New()
	sp := tracer.StartSpan("op")
	ctx := opentracing.ContextWithSpan(context.Background(), sp)
	f := newProbeFilter(ctx, resource.PropertyMap{}, io.Discard)
	f.answer = func(ctx context.Context, _ resource.PropertyMap, _, _ string) {
		defer noteProbe(ctx, time.Now().Add(-1500*time.Millisecond))
		noteConnect(ctx, errors.New("connection refused"))
		noteConnect(ctx, nil)
	}
	_, _ = f.Write([]byte("conntune-login-request v1 /run/conntune-login.1.AbCd1234/fifo 0123456789abcdef0123456789abcdef\n"))
	f.close()
	tags := sp.(*mocktracer.MockSpan).Tags()
	if tags["conntune.probe_connects"] != 2 || tags["conntune.probe_failed_connects"] != 1 {
		t.Fatalf("tags %v", tags)
	}
	if ms, _ := tags["conntune.probe_ms"].(int64); ms < 1500 || ms > 5000 {
		t.Fatalf("probe_ms %v", tags["conntune.probe_ms"])
	}
	// A command without probes adds no tags.
	sp2 := tracer.StartSpan("op2")
	g := newProbeFilter(opentracing.ContextWithSpan(context.Background(), sp2), resource.PropertyMap{}, io.Discard)
	g.close()
	if len(sp2.(*mocktracer.MockSpan).Tags()) != 0 {
		t.Fatalf("tags without a probe: %v", sp2.(*mocktracer.MockSpan).Tags())
	}
}
