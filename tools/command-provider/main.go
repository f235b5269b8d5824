// conntune's pulumi-resource-command: a provider plugin that implements the `command:remote:Command`
// resource of the @pulumi/command SDK (create/update/delete commands run over SSH, stdin, triggers,
// logging, a pinned host key).
//
// Why it exists: conntune needs one shared SSH connection per host, a pinned host key and a real
// Read, which upstream's pulumi-command does not have. The toolchain step builds it per clone and
// Pulumi.yaml names it as the project's `command` plugin (README, "Toolchain"); it reports its own
// version, so it is never taken for upstream's. It speaks the same gRPC protocol and resource schema;
// each input is implemented as the SDK documents it or refused at preview (inputs.go).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opentracing/opentracing-go"
	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is stamped by the toolchain step (-ldflags -X main.version=…): the SDK's plugin version
// plus "+conntune.<source hash>".
var version = "0.0.0-dev"

const remoteCommand = "command:remote:Command"

// resourceIDPlaceholder in a command is replaced by the resource's ID before the command runs (only
// in the command line that runs, never in the state): conntune's scripts record on the host which
// resource owns a file, so that the old half of a replacement does not restore it.
const resourceIDPlaceholder = "@CT_RESOURCE_ID@"

// Inputs of command:remote:Command; a change to any of them updates the resource, `triggers` replaces it.
var inputKeys = []string{"addPreviousOutputInEnv", "connection", "create", "delete", "environment", "logging", "stdin", "triggers", "update"}

// scriptKeys are the inputs that are not echoed into the outputs (upstream echoes every input): the
// engine keeps a resource's inputs in the state anyway, so in the outputs conntune's packed scripts
// were stored twice, and the file backend rewrites the whole state at every step. Whatever needs a
// script reads it from the inputs (Delete: the request's old inputs).
var scriptKeys = []resource.PropertyKey{"create", "update", "delete"}

// movedDelete stands in the outputs for a delete script, which this provider reads from the inputs
// only. A provider from before that change (e.g. an older checkout's, built by `npm run rollback --
// --program`) runs the delete it finds in the outputs and, finding none, would report the delete done
// and leave the host unrestored: this one fails such a delete loudly, naming the way out. This
// provider never runs it (see Delete).
const movedDelete = `echo "conntune: this command was recorded by a newer conntune command provider, which keeps its delete script in the inputs only: delete it with that provider (npm run pulumi from a current checkout); nothing was restored" >&2; exit 1`

// outputsOf is the state a create or update records: the inputs without the scripts (the delete
// script's place holds movedDelete).
func outputsOf(inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	for _, k := range scriptKeys {
		delete(out, k)
	}
	if d, _ := str(inputs, "delete"); d != "" {
		out["delete"] = resource.NewStringProperty(movedDelete)
	}
	return out
}

func main() {
	err := provider.Main("command", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &server{host: host}, nil
	})
	// Close the shared connections, but never let a stuck one delay the end of the update.
	closed := make(chan struct{})
	go func() { pool.closeAll(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

type server struct {
	pulumirpc.UnimplementedResourceProviderServer
	host *provider.HostClient
}

var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}

func (s *server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (s *server) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"command","version":%q}`, version)}, nil
}

func (s *server) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (s *server) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (s *server) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true}, nil
}

// Cancel stops this provider's dials and running commands (cancel.go).
func (s *server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	cancelled.fire()
	return &emptypb.Empty{}, nil
}

func (s *server) GetMapping(context.Context, *pulumirpc.GetMappingRequest) (*pulumirpc.GetMappingResponse, error) {
	return &pulumirpc.GetMappingResponse{}, nil
}

func checkType(urn string) error {
	if t := string(resource.URN(urn).Type()); t != remoteCommand {
		return fmt.Errorf("conntune's command provider implements only %s, not %s", remoteCommand, t)
	}
	return nil
}

func (s *server) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshal)
	if err != nil {
		return nil, err
	}
	failures := checkInputs(news) // inputs.go: every input implemented as documented, or refused here
	return &pulumirpc.CheckResponse{Inputs: req.GetNews(), Failures: failures}, nil
}

func (s *server) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOldInputs(), marshal)
	if err != nil {
		return nil, err
	}
	// State written without old inputs: compare against the outputs. Those of this provider hold no
	// scripts, so a command with scripts shows them as changed and is updated (its create runs again):
	// a script change is never missed.
	if len(olds) == 0 {
		if olds, err = plugin.UnmarshalProperties(req.GetOlds(), marshal); err != nil {
			return nil, err
		}
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshal)
	if err != nil {
		return nil, err
	}
	var diffs, replaces []string
	for _, k := range inputKeys {
		o, n := olds[resource.PropertyKey(k)], news[resource.PropertyKey(k)]
		if equalProps(o, n) {
			continue
		}
		diffs = append(diffs, k)
		// Adding triggers to a command created without them (a stack from before conntune set them)
		// updates it in place: replacing every command on that upgrade would re-apply every file.
		if k == "triggers" && !o.IsNull() {
			replaces = append(replaces, k)
		}
	}
	// Runtime drift found by a refresh (Read) is an update too: it runs the operation repair.
	outputs, err := plugin.UnmarshalProperties(req.GetOlds(), marshal)
	if err != nil {
		return nil, err
	}
	diffs, detailed := driftDiff(outputs, diffs, replaces)
	changes := pulumirpc.DiffResponse_DIFF_NONE
	if len(diffs) > 0 {
		changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	return &pulumirpc.DiffResponse{Changes: changes, Diffs: diffs, Replaces: replaces, DetailedDiff: detailed, HasDetailedDiff: detailed != nil}, nil
}

// equalProps compares values, treating a missing value like null and looking through secrets.
func equalProps(a, b resource.PropertyValue) bool {
	if a.ContainsUnknowns() || b.ContainsUnknowns() {
		return false
	}
	return reveal(a).DeepEquals(reveal(b))
}

func reveal(v resource.PropertyValue) resource.PropertyValue {
	switch {
	case v.IsSecret():
		return reveal(v.SecretValue().Element)
	case v.IsObject():
		out := resource.PropertyMap{}
		for k, e := range v.ObjectValue() {
			if !e.IsNull() {
				out[k] = reveal(e)
			}
		}
		return resource.NewObjectProperty(out)
	case v.IsArray():
		arr := make([]resource.PropertyValue, len(v.ArrayValue()))
		for i, e := range v.ArrayValue() {
			arr[i] = reveal(e)
		}
		return resource.NewArrayProperty(arr)
	}
	return v
}

// str reads a (possibly secret) string input; secret tells whether it was secret.
func str(m resource.PropertyMap, key string) (value string, secret bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok {
		return "", false
	}
	if v.IsSecret() {
		secret = true
		v = v.SecretValue().Element
	}
	switch {
	case v.IsString():
		return v.StringValue(), secret
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64), secret
	}
	return "", secret
}

func (s *server) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := checkType(req.GetUrn()); err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetProperties(), marshal)
	if err != nil {
		return nil, err
	}
	id := newID()
	out, err := s.run(ctx, req.GetUrn(), id, inputs, "create", nil, req.GetPreview())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: out}, nil
}

func (s *server) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	inputs, err := plugin.UnmarshalProperties(req.GetNews(), marshal)
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), marshal)
	if err != nil {
		return nil, err
	}
	out, err := s.run(ctx, req.GetUrn(), req.GetId(), inputs, "update", olds, req.GetPreview())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: out}, nil
}

// Delete runs the `delete` script of the resource's last inputs (the request's old inputs); the
// outputs stand in for them when the engine sends none (only outputs written by an earlier conntune
// hold the scripts; this provider's hold movedDelete in place of one).
func (s *server) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	state, err := plugin.UnmarshalProperties(req.GetProperties(), marshal)
	if err != nil {
		return nil, err
	}
	inputs, err := plugin.UnmarshalProperties(req.GetOldInputs(), marshal)
	if err != nil {
		return nil, err
	}
	if len(inputs) == 0 {
		if d, _ := str(state, "delete"); d == movedDelete {
			// Outputs of this provider and no old inputs (a Pulumi CLI older than the DeleteRequest's
			// old_inputs): the delete script is unknown, and going on would leave the host unrestored
			// while the resource leaves the state. (Outputs without any delete had none to run.)
			return nil, fmt.Errorf("delete of %s: the Pulumi engine sent no old inputs, so the delete command is unknown (this provider keeps the scripts in the inputs only): run the update with conntune's Pulumi CLI (npm run pulumi)", resource.URN(req.GetUrn()).Name())
		}
		inputs = state
	}
	if c, _ := str(inputs, "delete"); c != "" {
		if _, err := s.run(ctx, req.GetUrn(), req.GetId(), inputs, "delete", state, false); err != nil {
			return nil, err
		}
	}
	return &emptypb.Empty{}, nil
}

// shellWordID is the ID as it goes into a command line unquoted: IDs this provider makes are hex; an
// ID with any other character (e.g. imported from elsewhere) becomes empty (the owner is unknown).
func shellWordID(id string) string {
	if len(id) > 128 {
		return ""
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return id
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// run executes the named command of `inputs` and returns the new state (the inputs without the
// scripts, with stdout/stderr). olds are the previous outputs (an update's or a delete's).
func (s *server) run(ctx context.Context, urn string, id string, inputs resource.PropertyMap, which string, olds resource.PropertyMap, preview bool) (*structpb.Struct, error) {
	if sp := opentracing.SpanFromContext(ctx); sp != nil {
		sp.SetTag("pulumi.urn", urn)
	}
	state := outputsOf(inputs)
	if preview {
		state["stdout"] = resource.MakeComputed(resource.NewStringProperty(""))
		state["stderr"] = resource.MakeComputed(resource.NewStringProperty(""))
		return plugin.MarshalProperties(state, marshal)
	}
	cmd, cmdSecret := str(inputs, which)
	op := opFor(which, olds)
	if which == "delete" && cmd == deleteByOperation {
		if cmd, cmdSecret = str(inputs, "create"); !strings.Contains(cmd, opPlaceholder+" "+deleteOpArg) {
			return nil, fmt.Errorf("delete of %s: its create command has no delete operation (no %s %s): nothing was run", resource.URN(urn).Name(), opPlaceholder, deleteOpArg)
		}
		op = "delete"
	}
	if which == "update" && cmd == "" {
		// As upstream: without an `update` command, an update runs `create` again.
		cmd, cmdSecret = str(inputs, "create")
	}
	if cmd == "" { // as upstream: nothing to run, so no connection is opened (inputs.go)
		return noCommandState(state, olds)
	}
	ctx, stopCancel := cancelled.with(ctx) // the engine's Cancel ends this operation (cancel.go)
	defer stopCancel()
	cmd = strings.ReplaceAll(cmd, resourceIDPlaceholder, shellWordID(id))
	cmd = strings.ReplaceAll(cmd, opPlaceholder, op)
	stdin, stdinSecret := str(inputs, "stdin")
	logging, _ := str(inputs, "logging")
	if logging == "" {
		logging = "stdoutAndStderr"
	}
	secretOutput := cmdSecret || stdinSecret
	conn, ok := inputs["connection"]
	if !ok || conn.ContainsUnknowns() {
		return nil, errors.New("connection is unknown")
	}
	red := newRedactor(secretValues(inputs, cmd, stdin))
	sess, release, err := pool.session(ctx, reveal(conn).ObjectValue())
	if err != nil {
		return nil, err
	}
	defer release()
	if env, ok := inputs["environment"]; ok && reveal(env).IsObject() {
		keys := reveal(env).ObjectValue().StableKeys()
		for _, k := range keys {
			v := reveal(env).ObjectValue()[k]
			if v.IsString() {
				if err := sess.Setenv(string(k), v.StringValue()); err != nil {
					return nil, fmt.Errorf("the SSH server refused environment variable %s (it needs AcceptEnv %s)", k, k)
				}
			}
		}
	}
	s.setPreviousOutput(ctx, sess, urn, which, inputs, olds)
	if stdin != "" {
		sess.Stdin = strings.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	logOut := !secretOutput && (logging == "stdout" || logging == "stdoutAndStderr")
	logErr := !secretOutput && (logging == "stderr" || logging == "stdoutAndStderr")
	outW := newLineLogger(ctx, s.host, resource.URN(urn), logOut, &stdout, red)
	errW := newLineLogger(ctx, s.host, resource.URN(urn), logErr, &stderr, red)
	// Login-probe requests of conntune's scripts are answered here and kept out of the output (probe.go).
	probes := newProbeFilter(ctx, reveal(conn).ObjectValue(), outW)
	sess.Stdout, sess.Stderr = probes, errW
	runErr := runUntilCancelled(ctx, sess, cmd) // cancel.go
	probes.close()
	outW.flush()
	errW.flush()
	if runErr != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%s command stopped: %v (it may have done part of its work; the next update runs it again)", which, context.Cause(ctx))
	}
	if runErr != nil {
		var missing *ssh.ExitMissingError
		if errors.As(runErr, &missing) {
			host, _ := str(reveal(conn).ObjectValue(), "host")
			return nil, errors.New(red.apply(fmt.Sprintf("%s command failed: the SSH connection to %s ended before the command finished (it may have done part of its work; the next update runs it again)%s", which, host, tail(stderr.String(), 30))))
		}
		return nil, errors.New(red.apply(fmt.Sprintf("%s command failed (%v)%s", which, runErr, tail(stderr.String(), 30))))
	}
	so := red.apply(strings.TrimSuffix(stdout.String(), "\n"))
	se := red.apply(strings.TrimSuffix(stderr.String(), "\n"))
	state["stdout"], state["stderr"] = resource.NewStringProperty(so), resource.NewStringProperty(se)
	if secretOutput {
		state["stdout"], state["stderr"] = resource.MakeSecret(state["stdout"]), resource.MakeSecret(state["stderr"])
	}
	return plugin.MarshalProperties(state, marshal)
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return ":\n" + strings.Join(lines, "\n")
}

// secretLineRead starts a command that reads a secret from the first line of its stdin (conntune's
// asRoot: the sudo password). By this convention the provider knows that line is a secret value.
const secretLineRead = "IFS= read -r ct_secret"

// secretLinesDecl starts a command whose stdin begins with N secret lines (conntune's asRoot when the
// script itself reads a secret too, e.g. the Redis password after the sudo password): ": ct-secret-lines=N;".
var secretLinesDecl = regexp.MustCompile(`^: ct-secret-lines=([1-9]);`)

// redacted replaces a secret value in anything the provider passes on.
const redacted = "[secret]"

// secretValues are the values that must never leave the provider in output, logs or error text:
// the secret first line of stdin (by the secretLineRead convention), and every secret string of the
// connection and the environment (a private key line by line, so a partial echo is caught too).
func secretValues(inputs resource.PropertyMap, cmd, stdin string) []string {
	var vals []string
	n := secretLineCount(cmd)
	rest := stdin
	for i := 0; i < n && rest != ""; i++ {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		if line = strings.TrimSuffix(line, "\r"); line != "" {
			vals = append(vals, line)
		}
	}
	add := func(text string) {
		vals = append(vals, text)
		for _, line := range strings.Split(text, "\n") {
			if line = strings.TrimSpace(line); len(line) >= 16 && !strings.HasPrefix(line, "-----") {
				vals = append(vals, line)
			}
		}
	}
	// The SDK may send the whole connection as one secret (its defaults are applied to an object
	// holding a secret): then the fields that carry credentials are known by name.
	credentials := map[string]bool{"privateKey": true, "password": true, "privateKeyPassword": true}
	for _, key := range []string{"connection", "environment"} {
		v, ok := inputs[resource.PropertyKey(key)]
		if !ok {
			continue
		}
		whole := v.IsSecret()
		if whole {
			v = v.SecretValue().Element
		}
		if !v.IsObject() {
			continue
		}
		for k, e := range v.ObjectValue() {
			secret := e.IsSecret() || (whole && key == "environment") || (key == "connection" && credentials[string(k)])
			if e.IsSecret() {
				e = e.SecretValue().Element
			}
			if secret && e.IsString() {
				add(e.StringValue())
			}
		}
	}
	return vals
}

// redactor replaces secret values, longest first (a value that contains another goes whole).
type redactor struct{ r *strings.Replacer }

func newRedactor(values []string) *redactor {
	var uniq []string
	seen := map[string]bool{}
	for _, v := range values {
		if v != "" && !seen[v] {
			seen[v] = true
			uniq = append(uniq, v)
		}
	}
	if len(uniq) == 0 {
		return &redactor{}
	}
	sort.Slice(uniq, func(i, j int) bool { return len(uniq[i]) > len(uniq[j]) })
	pairs := make([]string, 0, 2*len(uniq))
	for _, v := range uniq {
		pairs = append(pairs, v, redacted)
	}
	return &redactor{r: strings.NewReplacer(pairs...)}
}

func (r *redactor) apply(s string) string {
	if r == nil || r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// lineLogger buffers output and sends complete lines to the engine as they arrive (progress).
type lineLogger struct {
	ctx  context.Context
	host *provider.HostClient
	urn  resource.URN
	on   bool
	keep *bytes.Buffer
	red  *redactor
	mu   sync.Mutex
	part []byte
}

func newLineLogger(ctx context.Context, host *provider.HostClient, urn resource.URN, on bool, keep *bytes.Buffer, red *redactor) *lineLogger {
	return &lineLogger{ctx: ctx, host: host, urn: urn, on: on, keep: keep, red: red}
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keep.Write(p)
	if !l.on || l.host == nil {
		return len(p), nil
	}
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		_ = l.host.Log(l.ctx, diag.Info, l.urn, l.red.apply(string(l.part[:i])))
		l.part = l.part[i+1:]
	}
	return len(p), nil
}

func (l *lineLogger) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on && l.host != nil && len(l.part) > 0 {
		_ = l.host.Log(l.ctx, diag.Info, l.urn, l.red.apply(string(l.part)))
	}
	l.part = nil
}

var _ io.Writer = (*lineLogger)(nil)
