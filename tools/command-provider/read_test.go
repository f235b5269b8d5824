package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

func state(stdin, stdout string, secret bool) (resource.PropertyMap, resource.PropertyMap) {
	in := resource.PropertyMap{"create": resource.NewStringProperty("bash -c x conntune a b @CT_RESOURCE_ID@ @CT_OP@"), "stdin": resource.NewStringProperty(stdin)}
	if secret {
		in["stdin"] = resource.MakeSecret(in["stdin"])
	}
	out := in.Copy()
	out["stdout"] = resource.NewStringProperty(stdout)
	return in, out
}

func view(t *testing.T, lines string) hostView {
	t.Helper()
	v, err := parseHostView(lines)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestReadOfACleanHostReturnsTheStateUnchanged(t *testing.T) {
	in, out := state("a = 1\n", "ct:a=1\nct:changed=yes", false)
	ni, no, changed := mergeRead(in, out, 0, view(t, "ct-content:"+b64("a = 1\n")+"\nct:a=1"))
	if changed || !ni.DeepEquals(in) || !no.DeepEquals(out) {
		t.Fatalf("changed=%v %v %v", changed, ni, no)
	}
}

func TestReadPutsTheHostsContentIntoStdinKeepingTheSecretLinesAndSecretness(t *testing.T) {
	in, out := state("pw\na = 1\n", "ct:a=1", true)
	ni, no, changed := mergeRead(in, out, 1, view(t, "ct-content:"+b64("a = 1\nb = 2\n")+"\nct:a=1"))
	if !changed {
		t.Fatal("not changed")
	}
	for _, m := range []resource.PropertyMap{ni, no} {
		if !m["stdin"].IsSecret() {
			t.Fatal("stdin lost its secret-ness")
		}
		if got, _ := str(m, "stdin"); got != "pw\na = 1\nb = 2\n" {
			t.Fatalf("stdin %q", got)
		}
	}
	if got, _ := str(no, "stdout"); got != "ct:a=1" {
		t.Fatalf("stdout %q", got)
	}
}

func TestReadOfAMissingFileLeavesOnlyTheSecretLines(t *testing.T) {
	in, out := state("a = 1\n", "ct:a=1", false)
	ni, no, changed := mergeRead(in, out, 0, view(t, "ct-content-missing\nct-drift:/f is missing"))
	if got, _ := str(ni, "stdin"); !changed || got != "" {
		t.Fatalf("stdin %q", got)
	}
	if got, _ := str(no, "stdout"); got != "ct:a=1\nct-drift:/f is missing" {
		t.Fatalf("stdout %q", got)
	}
}

func TestReadReplacesTheValuesTheHostShowsDifferentlyAndAppendsTheDriftLines(t *testing.T) {
	in, out := state("k = 600\n", "ct:k=600\nct:other=x\nct-drift:old finding\nct:changed=yes", false)
	_, no, changed := mergeRead(in, out, 0, view(t, "ct-content:"+b64("k = 600\n")+"\nct:k=7200\nct:other=x\nct-drift:k: wanted 600, the kernel shows 7200"))
	want := "ct:k=7200\nct:other=x\nct:changed=yes\nct-drift:k: wanted 600, the kernel shows 7200"
	if got, _ := str(no, "stdout"); !changed || got != want {
		t.Fatalf("stdout %q", got)
	}
	if opFor("update", no) != "repair" || opFor("update", out) != "repair" || opFor("create", no) != "apply" {
		t.Fatal("opFor")
	}
	_, clean, _ := mergeRead(in, out, 0, view(t, "ct-content:"+b64("k = 600\n")+"\nct:k=600"))
	if opFor("update", clean) != "apply" {
		t.Fatal("a host repaired by hand still repairs")
	}
}

func TestAReadWithoutAContentLineIsAnError(t *testing.T) {
	if _, err := parseHostView("ct:a=1"); err == nil {
		t.Fatal("no error")
	}
}

func TestSplitSecretLines(t *testing.T) {
	for _, c := range []struct {
		in      string
		n       int
		s, rest string
	}{{"a\nb\nc", 0, "", "a\nb\nc"}, {"a\nb\nc", 2, "a\nb\n", "c"}, {"a", 1, "a", ""}} {
		if s, r := splitSecretLines(c.in, c.n); s != c.s || r != c.rest {
			t.Fatalf("%q %d: %q %q", c.in, c.n, s, r)
		}
	}
}

func TestDriftShowsAsAnUpdateOfStdout(t *testing.T) {
	_, out := state("", "ct:a=1\nct-drift:a: wanted 2", false)
	diffs, detailed := driftDiff(out, []string{"stdin"}, nil)
	if len(diffs) != 2 || diffs[1] != "stdout" || detailed["stdout"] == nil || !detailed["stdin"].InputDiff {
		t.Fatalf("%v %v", diffs, detailed)
	}
	_, clean := state("", "ct:a=1", false)
	if d, det := driftDiff(clean, []string{"stdin"}, nil); len(d) != 1 || det != nil {
		t.Fatal("clean state got a drift diff")
	}
}

func TestAFileWithBytesThatAreNotUTF8IsDriftAndCanBeStoredInTheState(t *testing.T) {
	in, out := state("# caf\u00e9\na = 1\n", "ct:a=1", false)
	latin1 := "# caf\xe9\na = 1\n"
	v := view(t, "ct-content:"+b64(latin1)+"\nct:a=1")
	ni, no, changed := mergeRead(in, out, 0, v)
	if !changed {
		t.Fatal("a file with a Latin-1 byte must differ from the UTF-8 content conntune wrote")
	}
	stdin, _ := str(ni, "stdin")
	if stdin != "# caf\uFFFD\na = 1\n" {
		t.Fatalf("stdin %q", stdin)
	}
	stdout, _ := str(no, "stdout")
	if !strings.Contains(stdout, "ct-drift:the file holds bytes that are not UTF-8") {
		t.Fatalf("stdout %q", stdout)
	}
	if _, err := plugin.MarshalProperties(ni, marshal); err != nil {
		t.Fatalf("the engine would refuse the state: %v", err)
	}
}
