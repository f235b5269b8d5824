package main

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACBd0OpKq6oEXAMPLEkeyMATERIALonlyForTests0123456789\n-----END OPENSSH PRIVATE KEY-----\n"

func inputsWith(cmd, stdin string, wholeConnSecret bool) resource.PropertyMap {
	conn := resource.NewObjectProperty(resource.PropertyMap{
		"host":       resource.NewStringProperty("10.0.0.5"),
		"user":       resource.NewStringProperty("tuner"),
		"privateKey": resource.MakeSecret(resource.NewStringProperty(key)),
	})
	if wholeConnSecret {
		conn = resource.NewObjectProperty(resource.PropertyMap{
			"host":       resource.NewStringProperty("10.0.0.5"),
			"user":       resource.NewStringProperty("tuner"),
			"privateKey": resource.NewStringProperty(key),
		})
		conn = resource.MakeSecret(conn)
	}
	return resource.PropertyMap{
		"connection": conn,
		"create":     resource.NewStringProperty(cmd),
		"stdin":      resource.MakeSecret(resource.NewStringProperty(stdin)),
	}
}

func TestRedactsTheSecretFirstLineOfStdinByConvention(t *testing.T) {
	cmd := secretLineRead + "; sudo -n bash -c x"
	in := inputsWith(cmd, "hunter2-pw\n# file\nKey=1\n", false)
	r := newRedactor(secretValues(in, cmd, "hunter2-pw\n# file\nKey=1\n"))
	got := r.apply("sudo: bad line 'hunter2-pw' at 10.0.0.5 as tuner\nKey=1")
	if strings.Contains(got, "hunter2-pw") || !strings.Contains(got, "[secret]") {
		t.Fatalf("password not redacted: %q", got)
	}
	if !strings.Contains(got, "10.0.0.5") || !strings.Contains(got, "tuner") || !strings.Contains(got, "Key=1") {
		t.Fatalf("redacted more than the secrets: %q", got)
	}
}

func TestLeavesStdinAloneWithoutTheConvention(t *testing.T) {
	in := inputsWith("cat > /etc/x", "first line\nsecond\n", false)
	r := newRedactor(secretValues(in, "cat > /etc/x", "first line\nsecond\n"))
	if got := r.apply("first line"); got != "first line" {
		t.Fatalf("redacted a line the command did not read as a secret: %q", got)
	}
}

func TestRedactsThePrivateKeyAndEachOfItsLines(t *testing.T) {
	for _, whole := range []bool{false, true} {
		in := inputsWith("true", "", whole)
		r := newRedactor(secretValues(in, "true", ""))
		line := strings.Split(key, "\n")[2]
		for _, text := range []string{key, "oops: " + line} {
			if got := r.apply(text); strings.Contains(got, line) {
				t.Fatalf("key material left (whole connection secret: %v): %q", whole, got)
			}
		}
		if got := r.apply("could not reach 10.0.0.5"); got != "could not reach 10.0.0.5" {
			t.Fatalf("redacted the host: %q", got)
		}
	}
}

func TestRedactsTheDeclaredSecretLinesOfStdin(t *testing.T) {
	cmd := ": ct-secret-lines=2; " + secretLineRead + "; sudo -n bash -c x"
	stdin := "sudo-pw-1\nredis-pw-2\nmaxmemory 1mb\n"
	r := newRedactor(secretValues(inputsWith(cmd, stdin, false), cmd, stdin))
	got := r.apply("a sudo-pw-1 b redis-pw-2 c maxmemory 1mb")
	if strings.Contains(got, "sudo-pw-1") || strings.Contains(got, "redis-pw-2") || !strings.Contains(got, "maxmemory 1mb") {
		t.Fatalf("declared secret lines not redacted exactly: %q", got)
	}
}
