package main

// What this provider does with each input of @pulumi/command's remote.Command (and its
// ConnectionArgs): every field is either implemented as the SDK documents it, or refused in Check,
// so that `pulumi preview` already fails with the field's name and what is allowed. README.md
// ("Toolchain", "Troubleshooting") lists the same.

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// connectionKeys: the fields of ConnectionArgs this provider implements (proxy is refused).
var connectionKeys = []string{"agentSocketPath", "dialErrorLimit", "host", "hostKey", "password", "perDialTimeout", "port", "privateKey", "privateKeyPassword", "user"}

// loggingValues: the SDK's Logging enum.
var loggingValues = []string{"stdout", "stderr", "stdoutAndStderr", "none"}

// envName: what a remote environment variable may be called (the SSH "env" request sets it as is).
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkInputs validates the inputs of one command:remote:Command. Values not yet known (preview)
// are checked when they are.
func checkInputs(news resource.PropertyMap) []*pulumirpc.CheckFailure {
	var fs []*pulumirpc.CheckFailure
	fail := func(prop, format string, a ...any) {
		fs = append(fs, &pulumirpc.CheckFailure{Property: prop, Reason: prop + ": " + fmt.Sprintf(format, a...)})
	}
	for _, k := range news.StableKeys() {
		if !contains(inputKeys, string(k)) && !strings.HasPrefix(string(k), "__") {
			fail(string(k), "is not an input of %s (inputs: %s)", remoteCommand, strings.Join(inputKeys, ", "))
		}
	}
	for _, k := range []string{"create", "update", "delete", "stdin"} {
		if v, ok := known(news, k); ok && !v.IsString() {
			fail(k, "must be a string")
		}
	}
	if v, ok := known(news, "logging"); ok && (!v.IsString() || !contains(loggingValues, v.StringValue())) {
		fail("logging", "must be one of %s", strings.Join(loggingValues, ", "))
	}
	if v, ok := known(news, "addPreviousOutputInEnv"); ok && !v.IsBool() {
		fail("addPreviousOutputInEnv", "must be true or false")
	}
	if v, ok := known(news, "triggers"); ok && !v.IsArray() {
		fail("triggers", "must be a list")
	}
	if v, ok := known(news, "environment"); ok {
		if !v.IsObject() {
			fail("environment", "must be a map of names to strings")
		} else {
			for _, k := range v.ObjectValue().StableKeys() {
				if !envName.MatchString(string(k)) {
					fail("environment."+string(k), "is not a valid variable name (letters, digits and _, not starting with a digit)")
				}
				if e := reveal(v.ObjectValue()[k]); !e.ContainsUnknowns() && !e.IsString() {
					fail("environment."+string(k), "must be a string")
				}
			}
		}
	}
	c, ok := news["connection"]
	if !ok || c.IsNull() {
		fail("connection", "is required (the SSH host to run the commands on)")
		return fs
	}
	if c.ContainsUnknowns() && !reveal(c).IsObject() {
		return fs
	}
	if !reveal(c).IsObject() {
		fail("connection", "must be an object (ConnectionArgs)")
		return fs
	}
	return append(fs, checkConnection(reveal(c).ObjectValue())...)
}

func checkConnection(c resource.PropertyMap) []*pulumirpc.CheckFailure {
	var fs []*pulumirpc.CheckFailure
	fail := func(prop, format string, a ...any) {
		fs = append(fs, &pulumirpc.CheckFailure{Property: "connection." + prop, Reason: "connection." + prop + ": " + fmt.Sprintf(format, a...)})
	}
	for _, k := range c.StableKeys() {
		switch {
		case k == "proxy":
			if !c[k].IsNull() {
				fail("proxy", "a bastion/proxy host is not supported by conntune's command provider: connect to the host directly (or through a tunnel whose local end is connection.host/port)")
			}
		case !contains(connectionKeys, string(k)) && !strings.HasPrefix(string(k), "__"):
			fail(string(k), "is not a field of ConnectionArgs (fields: %s)", strings.Join(connectionKeys, ", "))
		}
	}
	if v, ok := c["host"]; !ok || v.IsNull() {
		fail("host", "is required")
	} else if v, ok := known(c, "host"); ok && (!v.IsString() || strings.TrimSpace(v.StringValue()) == "") {
		fail("host", "must be a non-empty string (a name or an address)")
	}
	for _, k := range []string{"user", "password", "privateKey", "privateKeyPassword", "agentSocketPath", "hostKey"} {
		if v, ok := known(c, k); ok && !v.IsString() {
			fail(k, "must be a string")
		}
	}
	if v, ok := known(c, "user"); ok && v.IsString() && v.StringValue() == "" {
		fail("user", "must not be empty (it defaults to root when unset)")
	}
	integer := func(k string, lo, hi float64, allowed string) {
		if v, ok := known(c, k); ok {
			if !v.IsNumber() || v.NumberValue() != math.Trunc(v.NumberValue()) || v.NumberValue() < lo || v.NumberValue() > hi {
				fail(k, "must be %s", allowed)
			}
		}
	}
	integer("port", 1, 65535, "a whole number from 1 to 65535")
	integer("dialErrorLimit", -1, math.MaxInt32, fmt.Sprintf("a whole number ≥ 0 (failed dials allowed before giving up), or -1 for no limit (retries for up to %s)", unlimitedDialFor))
	integer("perDialTimeout", 0, math.MaxInt32, "a whole number of seconds ≥ 0 (0: no maximum)")
	if v, ok := known(c, "hostKey"); ok && v.IsString() && v.StringValue() != "" {
		if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(v.StringValue())); err != nil {
			fail("hostKey", "is not a public key line such as \"ssh-ed25519 AAAA…\" (the host's key as ssh-keyscan prints it, without the host name)")
		}
	}
	pk, pkKnown := known(c, "privateKey")
	if v, ok := known(c, "privateKeyPassword"); ok && v.IsString() && v.StringValue() != "" {
		if _, present := c["privateKey"]; !present || c["privateKey"].IsNull() {
			fail("privateKeyPassword", "is set, but connection.privateKey is not (it is the passphrase of that key)")
		}
	}
	if pkKnown && pk.IsString() && pk.StringValue() != "" {
		if pw, ok := c["privateKeyPassword"]; !ok || !reveal(pw).ContainsUnknowns() {
			if _, err := parsePrivateKey(c); err != nil {
				var reason string
				if strings.Contains(err.Error(), "privateKeyPassword") {
					reason = "is encrypted: set connection.privateKeyPassword (its passphrase)"
				} else {
					reason = "is not a private key this provider can read (OpenSSH or PEM format), or its passphrase (connection.privateKeyPassword) is wrong"
				}
				fail("privateKey", "%s", reason)
			}
		}
	}
	return fs
}

// known returns the (revealed) value of key when it is present, not null and known.
func known(m resource.PropertyMap, key string) (resource.PropertyValue, bool) {
	v, ok := m[resource.PropertyKey(key)]
	if !ok || v.IsNull() || v.ContainsUnknowns() {
		return resource.PropertyValue{}, false
	}
	return reveal(v), true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Names of the variables that carry the previous run's output (as upstream's provider sets them).
const (
	envPrevStdout = "PULUMI_COMMAND_STDOUT"
	envPrevStderr = "PULUMI_COMMAND_STDERR"
)

// previousOutput returns the previous stdout and stderr to export to an update or delete command,
// in a fixed order; none for a create, or when addPreviousOutputInEnv is false. explicit tells
// whether the program asked for them (addPreviousOutputInEnv: true) rather than the default.
func previousOutput(which string, inputs, olds resource.PropertyMap) (vars [][2]string, explicit bool) {
	if which != "update" && which != "delete" || olds == nil {
		return nil, false
	}
	if v, ok := known(inputs, "addPreviousOutputInEnv"); ok && v.IsBool() {
		if !v.BoolValue() {
			return nil, false
		}
		explicit = true
	}
	for _, kv := range [][2]string{{envPrevStdout, "stdout"}, {envPrevStderr, "stderr"}} {
		if s, _ := str(olds, kv[1]); s != "" {
			vars = append(vars, [2]string{kv[0], s})
		}
	}
	return vars, explicit
}

// noCommandState is the result of a create or update with no command to run (upstream: a no-op):
// an update keeps the previous output, a create has none.
func noCommandState(state, olds resource.PropertyMap) (*structpb.Struct, error) {
	for _, k := range []resource.PropertyKey{"stdout", "stderr"} {
		state[k] = resource.NewStringProperty("")
		if v, ok := olds[k]; ok && !v.IsNull() {
			state[k] = v
		}
	}
	return plugin.MarshalProperties(state, marshal)
}

// setPreviousOutput exports the previous stdout/stderr to an update or delete command (see
// previousOutput). They go as SSH "env" requests, as upstream sends them, so the host's sshd must
// accept them (AcceptEnv PULUMI_COMMAND_STDOUT PULUMI_COMMAND_STDERR); values never travel in the
// command line (they may be secret). A refusal is a warning when the program set
// addPreviousOutputInEnv: true, and only a debug message under the default, where upstream too goes
// on without them: the command runs either way.
func (s *server) setPreviousOutput(ctx context.Context, sess interface{ Setenv(string, string) error }, urn, which string, inputs, olds resource.PropertyMap) {
	vars, explicit := previousOutput(which, inputs, olds)
	for _, kv := range vars {
		if err := sess.Setenv(kv[0], kv[1]); err != nil && s.host != nil {
			sev := diag.Debug
			if explicit {
				sev = diag.Warning
			}
			_ = s.host.Log(ctx, sev, resource.URN(urn), fmt.Sprintf("addPreviousOutputInEnv: the SSH server refused %s, so the %s command runs without it (allow it with `AcceptEnv %s %s` in the host's sshd_config)", kv[0], which, envPrevStdout, envPrevStderr))
		}
	}
}
