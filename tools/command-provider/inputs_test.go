package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

func testKeys(t *testing.T) (privatePEM, publicLine string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp)))
}

// conntuneInputs: what conntune's managed files send (components/core/connection.ts).
func conntuneInputs(t *testing.T) resource.PropertyMap {
	key, hostKey := testKeys(t)
	return resource.NewPropertyMapFromMap(map[string]any{
		"connection": map[string]any{
			"host": "10.0.0.1", "port": 22, "user": "root", "hostKey": hostKey,
			"privateKey": resource.MakeSecret(resource.NewStringProperty(key)), "dialErrorLimit": 3, "perDialTimeout": 10,
		},
		"create":   "echo hi",
		"delete":   "echo bye",
		"stdin":    resource.MakeSecret(resource.NewStringProperty("pw\ncontent")),
		"logging":  "stderr",
		"triggers": []any{"/etc/ssh/sshd_config.d/50-conntune.conf"},
	})
}

func failuresOf(m resource.PropertyMap) map[string]string {
	out := map[string]string{}
	for _, f := range checkInputs(m) {
		out[f.Property] = f.Reason
	}
	return out
}

func TestCheckAcceptsWhatConntuneSendsAndEveryDocumentedValue(t *testing.T) {
	if f := failuresOf(conntuneInputs(t)); len(f) > 0 {
		t.Fatalf("failures for conntune's own inputs: %v", f)
	}
	m := conntuneInputs(t)
	c := m["connection"].ObjectValue()
	c["dialErrorLimit"] = resource.NewNumberProperty(-1)
	c["perDialTimeout"] = resource.NewNumberProperty(0)
	c["password"] = resource.NewStringProperty("pw")
	c["agentSocketPath"] = resource.NewStringProperty("/run/agent.sock")
	m["addPreviousOutputInEnv"] = resource.NewBoolProperty(false)
	m["environment"] = resource.NewObjectProperty(resource.PropertyMap{"LANG": resource.NewStringProperty("C")})
	m["update"] = resource.NewStringProperty("echo again")
	for _, l := range loggingValues {
		m["logging"] = resource.NewStringProperty(l)
		if f := failuresOf(m); len(f) > 0 {
			t.Fatalf("logging %s: failures %v", l, f)
		}
	}
}

func TestCheckRefusesEachUnsupportedOrMalformedFieldByName(t *testing.T) {
	cases := []struct {
		name, prop, want string
		edit             func(m resource.PropertyMap)
	}{
		{"a proxy", "connection.proxy", "bastion/proxy host is not supported", func(m resource.PropertyMap) {
			conn(m)["proxy"] = resource.NewObjectProperty(resource.PropertyMap{"host": resource.NewStringProperty("bastion")})
		}},
		{"no connection", "connection", "is required", func(m resource.PropertyMap) { delete(m, "connection") }},
		{"no host", "connection.host", "is required", func(m resource.PropertyMap) { delete(conn(m), "host") }},
		{"an empty host", "connection.host", "non-empty", func(m resource.PropertyMap) { conn(m)["host"] = resource.NewStringProperty(" ") }},
		{"port 0", "connection.port", "1 to 65535", func(m resource.PropertyMap) { conn(m)["port"] = resource.NewNumberProperty(0) }},
		{"port 22.5", "connection.port", "1 to 65535", func(m resource.PropertyMap) { conn(m)["port"] = resource.NewNumberProperty(22.5) }},
		{"dialErrorLimit -2", "connection.dialErrorLimit", "-1 for no limit", func(m resource.PropertyMap) { conn(m)["dialErrorLimit"] = resource.NewNumberProperty(-2) }},
		{"perDialTimeout -1", "connection.perDialTimeout", "0: no maximum", func(m resource.PropertyMap) { conn(m)["perDialTimeout"] = resource.NewNumberProperty(-1) }},
		{"an empty user", "connection.user", "must not be empty", func(m resource.PropertyMap) { conn(m)["user"] = resource.NewStringProperty("") }},
		{"a bad hostKey", "connection.hostKey", "not a public key line", func(m resource.PropertyMap) { conn(m)["hostKey"] = resource.NewStringProperty("AAAA") }},
		{"a bad privateKey", "connection.privateKey", "not a private key", func(m resource.PropertyMap) {
			conn(m)["privateKey"] = resource.MakeSecret(resource.NewStringProperty("not a key"))
		}},
		{"a passphrase without a key", "connection.privateKeyPassword", "connection.privateKey is not", func(m resource.PropertyMap) {
			delete(conn(m), "privateKey")
			conn(m)["privateKeyPassword"] = resource.NewStringProperty("x")
		}},
		{"an unknown connection field", "connection.proxyHost", "not a field of ConnectionArgs", func(m resource.PropertyMap) { conn(m)["proxyHost"] = resource.NewStringProperty("b") }},
		{"an unknown input", "dir", "not an input of command:remote:Command", func(m resource.PropertyMap) { m["dir"] = resource.NewStringProperty("/tmp") }},
		{"logging verbose", "logging", "stdout, stderr, stdoutAndStderr, none", func(m resource.PropertyMap) { m["logging"] = resource.NewStringProperty("verbose") }},
		{"addPreviousOutputInEnv as text", "addPreviousOutputInEnv", "true or false", func(m resource.PropertyMap) { m["addPreviousOutputInEnv"] = resource.NewStringProperty("yes") }},
		{"create as a number", "create", "must be a string", func(m resource.PropertyMap) { m["create"] = resource.NewNumberProperty(1) }},
		{"an environment name with =", "environment.A=B", "valid variable name", func(m resource.PropertyMap) {
			m["environment"] = resource.NewObjectProperty(resource.PropertyMap{"A=B": resource.NewStringProperty("x")})
		}},
		{"triggers as a string", "triggers", "must be a list", func(m resource.PropertyMap) { m["triggers"] = resource.NewStringProperty("x") }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := conntuneInputs(t)
			c.edit(m)
			f := failuresOf(m)
			if !strings.Contains(f[c.prop], c.want) || !strings.HasPrefix(f[c.prop], c.prop+": ") {
				t.Fatalf("failure for %s = %q, want it to name the field and contain %q (all: %v)", c.prop, f[c.prop], c.want, f)
			}
			if len(f) != 1 {
				t.Fatalf("want exactly one failure, got %v", f)
			}
		})
	}
}

func TestCheckNeverEchoesASecretValue(t *testing.T) {
	m := conntuneInputs(t)
	conn(m)["privateKey"] = resource.MakeSecret(resource.NewStringProperty("super-secret-not-a-key"))
	for _, r := range failuresOf(m) {
		if strings.Contains(r, "super-secret") {
			t.Fatalf("the failure shows the secret: %s", r)
		}
	}
}

func TestCheckLeavesValuesThatAreNotKnownYetForLater(t *testing.T) {
	m := conntuneInputs(t)
	conn(m)["port"] = resource.MakeComputed(resource.NewStringProperty(""))
	conn(m)["privateKey"] = resource.MakeComputed(resource.NewStringProperty(""))
	m["create"] = resource.MakeComputed(resource.NewStringProperty(""))
	if f := failuresOf(m); len(f) > 0 {
		t.Fatalf("failures for unknown values: %v", f)
	}
	whole := conntuneInputs(t)
	whole["connection"] = resource.MakeComputed(resource.NewStringProperty(""))
	if f := failuresOf(whole); len(f) > 0 {
		t.Fatalf("failures for an unknown connection: %v", f)
	}
}

func TestPreviousOutputGoesToUpdateAndDeleteUnlessTurnedOff(t *testing.T) {
	olds := resource.PropertyMap{"stdout": resource.NewStringProperty("out"), "stderr": resource.MakeSecret(resource.NewStringProperty("err"))}
	in := resource.PropertyMap{}
	if v, _ := previousOutput("create", in, olds); v != nil {
		t.Fatalf("create got %v", v)
	}
	for _, which := range []string{"update", "delete"} {
		v, explicit := previousOutput(which, in, olds)
		if len(v) != 2 || v[0] != [2]string{"PULUMI_COMMAND_STDOUT", "out"} || v[1] != [2]string{"PULUMI_COMMAND_STDERR", "err"} || explicit {
			t.Fatalf("%s got %v explicit=%v", which, v, explicit)
		}
	}
	if _, explicit := previousOutput("update", resource.PropertyMap{"addPreviousOutputInEnv": resource.NewBoolProperty(true)}, olds); !explicit {
		t.Fatalf("addPreviousOutputInEnv: true is not taken as explicit")
	}
	if v, _ := previousOutput("update", resource.PropertyMap{"addPreviousOutputInEnv": resource.NewBoolProperty(false)}, olds); v != nil {
		t.Fatalf("addPreviousOutputInEnv: false still exports %v", v)
	}
	if v, _ := previousOutput("update", in, resource.PropertyMap{"stdout": resource.NewStringProperty("")}); v != nil {
		t.Fatalf("empty previous output exported: %v", v)
	}
}

func conn(m resource.PropertyMap) resource.PropertyMap {
	return m["connection"].ObjectValue()
}
