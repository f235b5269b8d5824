package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

const testURN = "urn:pulumi:s::p::command:remote:Command::web1-sysctl-file-apply"

// managedFileInputs are inputs shaped like conntune's managed-file command.
func managedFileInputs() resource.PropertyMap {
	return commandInputs(map[string]any{
		"create":                 "bash -c x conntune a b @CT_RESOURCE_ID@ @CT_OP@",
		"update":                 "again",
		"delete":                 "restore",
		"stdin":                  "a = 1\n",
		"logging":                "stderr",
		"triggers":               []any{"/etc/sysctl.d/90-conntune.conf"},
		"addPreviousOutputInEnv": false,
	})
}

// oldStyle is the state an earlier conntune's provider recorded: every input echoed, stdout, stderr.
func oldStyle(in resource.PropertyMap, stdout string) resource.PropertyMap {
	out := in.Copy()
	out["stdout"], out["stderr"] = resource.NewStringProperty(stdout), resource.NewStringProperty("")
	return out
}

func props(t *testing.T, m resource.PropertyMap) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(m, marshal)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unprops(t *testing.T, s *structpb.Struct) resource.PropertyMap {
	t.Helper()
	m, err := plugin.UnmarshalProperties(s, marshal)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCreateUpdateAndPreviewRecordEveryInputButTheScripts(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	in := managedFileInputs()
	s := &server{}
	preview, err := s.run(context.Background(), testURN, "abc", in, "create", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]resource.PropertyMap{
		"create":                       runState(t, "create", in, nil),
		"update of an old-style state": runState(t, "update", in, oldStyle(in, "ct:a=1")),
		"preview":                      unprops(t, preview),
	} {
		for _, k := range scriptKeys {
			if holdsScript(st, k) {
				t.Errorf("%s: the outputs hold %s", name, k)
			}
		}
		for _, k := range []resource.PropertyKey{"connection", "stdin", "logging", "triggers", "addPreviousOutputInEnv"} {
			if !st[k].DeepEquals(in[k]) {
				t.Errorf("%s: output %s = %v, want the input %v", name, k, st[k], in[k])
			}
		}
		if _, ok := st["stdout"]; !ok {
			t.Errorf("%s: no stdout", name)
		}
	}
}

func TestDeleteRunsTheDeleteScriptOfTheOldInputs(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	in := managedFileInputs()
	out := outputsOf(in)
	out["stdout"] = resource.NewStringProperty("ct:a=1")
	s := &server{}
	if _, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, out), OldInputs: props(t, in)}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.cmds, ";") != "restore" {
		t.Fatalf("commands run: %q", f.cmds)
	}
}

func TestADeleteThatIsAnOperationRunsTheCreateScriptOfTheOldInputsWithTheDeleteOperation(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	in := managedFileInputs()
	in["create"] = resource.NewStringProperty("bash -c x conntune a b @CT_RESOURCE_ID@ @CT_OP@ " + deleteOpArg)
	in["delete"] = resource.NewStringProperty(deleteByOperation)
	out := outputsOf(in)
	s := &server{}
	if _, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, out), OldInputs: props(t, in)}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.cmds, ";") != "bash -c x conntune a b abc delete "+deleteOpArg {
		t.Fatalf("commands run: %q", f.cmds)
	}
	// A script without the delete operation (no placeholder, or one from before it, which would take
	// an unknown operation for apply): an error, never a create.
	for _, create := range []string{"bash -c x", "bash -c x conntune a b @CT_RESOURCE_ID@ @CT_OP@"} {
		in["create"] = resource.NewStringProperty(create)
		f.cmds = nil
		_, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, out), OldInputs: props(t, in)})
		if err == nil || !strings.Contains(err.Error(), "has no delete operation") || len(f.cmds) != 0 {
			t.Fatalf("create %q: err %v, commands run: %q", create, err, f.cmds)
		}
	}
}

func TestTheDeleteOperationRunByAnOlderProviderAsACommandFailsLoudly(t *testing.T) {
	out, err := exec.Command("sh", "-c", deleteByOperation).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "npm run pulumi") {
		t.Fatalf("exit %v, output %q", err, out)
	}
}

func TestDeleteOfAnOldStyleStateWithoutOldInputsRunsTheScriptOfTheOutputs(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	s := &server{}
	if _, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, oldStyle(managedFileInputs(), "ct:a=1"))}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.cmds, ";") != "restore" {
		t.Fatalf("commands run: %q", f.cmds)
	}
}

func TestDeleteWithoutOldInputsOfOutputsWithoutScriptsFailsInsteadOfForgettingTheRestore(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	out := outputsOf(managedFileInputs())
	out["stdout"] = resource.NewStringProperty("ct:a=1")
	s := &server{}
	_, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, out)})
	if err == nil || !strings.Contains(err.Error(), "sent no old inputs") {
		t.Fatalf("err = %v", err)
	}
	if len(f.cmds) != 0 || f.dials.Load() != 0 {
		t.Fatalf("commands run: %q", f.cmds)
	}
}

// hostShows makes the fake host answer the read operation with this file content.
func hostShows(f *envSSHD, content string) {
	f.reply = func(cmd string) string {
		if !strings.HasSuffix(cmd, " read") {
			return "not a read: " + cmd + "\n"
		}
		return "ct-content:" + b64(content) + "\nct:a=1\n"
	}
}

// refreshDiff is the diff the engine computes for a refresh step (non-legacy refresh diff): the
// provider's Diff of the refreshed state against the inputs before the refresh.
func refreshDiff(t *testing.T, s *server, req *pulumirpc.ReadRequest, resp *pulumirpc.ReadResponse) *pulumirpc.DiffResponse {
	t.Helper()
	d, err := s.Diff(context.Background(), &pulumirpc.DiffRequest{Urn: testURN, Id: "abc", OldInputs: resp.GetInputs(), Olds: resp.GetProperties(), News: req.GetInputs()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestARefreshOfOldStyleOutputsOnACleanHostChangesNothing(t *testing.T) {
	f := newEnvSSHD()
	hostShows(f, "a = 1\n")
	f.use(t)
	in := managedFileInputs()
	req := &pulumirpc.ReadRequest{Urn: testURN, Id: "abc", Inputs: props(t, in), Properties: props(t, oldStyle(in, "ct:a=1"))}
	s := &server{}
	resp, err := s.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.cmds) != 1 {
		t.Fatalf("commands run: %q", f.cmds)
	}
	if !unprops(t, resp.GetProperties()).DeepEquals(oldStyle(in, "ct:a=1")) || !unprops(t, resp.GetInputs()).DeepEquals(in) {
		t.Fatalf("the refresh changed the state:\n%v\n%v", resp.GetProperties(), resp.GetInputs())
	}
	if d := refreshDiff(t, s, req, resp); d.GetChanges() != pulumirpc.DiffResponse_DIFF_NONE || len(d.GetDiffs()) != 0 {
		t.Fatalf("refresh diff %v %v", d.GetChanges(), d.GetDiffs())
	}
}

func TestARefreshOfOldStyleOutputsShowsTheHostsChangeAndNotTheScripts(t *testing.T) {
	f := newEnvSSHD()
	hostShows(f, "a = 2\n")
	f.use(t)
	in := managedFileInputs()
	old := oldStyle(in, "ct:a=1")
	req := &pulumirpc.ReadRequest{Urn: testURN, Id: "abc", Inputs: props(t, in), Properties: props(t, old)}
	s := &server{}
	resp, err := s.Read(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := unprops(t, resp.GetProperties())
	for _, k := range scriptKeys {
		if !got[k].DeepEquals(old[k]) {
			t.Errorf("output %s changed: %v", k, got[k])
		}
	}
	if stdin, _ := str(got, "stdin"); stdin != "a = 2\n" {
		t.Fatalf("stdin %q", stdin)
	}
	if d := refreshDiff(t, s, req, resp); strings.Join(d.GetDiffs(), ",") != "stdin" {
		t.Fatalf("refresh diff %v", d.GetDiffs())
	}
}

func TestARefreshOfNewOutputsPutsNoScriptIntoThem(t *testing.T) {
	f := newEnvSSHD()
	hostShows(f, "a = 2\n")
	f.use(t)
	in := managedFileInputs()
	out := outputsOf(in)
	out["stdout"] = resource.NewStringProperty("ct:a=1")
	s := &server{}
	resp, err := s.Read(context.Background(), &pulumirpc.ReadRequest{Urn: testURN, Id: "abc", Inputs: props(t, in), Properties: props(t, out)})
	if err != nil {
		t.Fatal(err)
	}
	got := unprops(t, resp.GetProperties())
	for _, k := range scriptKeys {
		if holdsScript(got, k) {
			t.Errorf("the refreshed outputs hold %s", k)
		}
	}
	if stdin, _ := str(got, "stdin"); stdin != "a = 2\n" {
		t.Fatalf("stdin %q", stdin)
	}
}

// holdsScript: the outputs carry the script k itself (movedDelete in delete's place is no script).
func holdsScript(m resource.PropertyMap, k resource.PropertyKey) bool {
	if v, ok := m[k]; !ok || v.IsNull() {
		return false
	}
	s, _ := str(m, string(k))
	return !(k == "delete" && s == movedDelete)
}

// An older conntune provider (e.g. the one `npm run rollback -- --program` builds for an earlier
// revision) runs the delete it finds in the outputs, and reported success when there was none, leaving
// the host unrestored. What it finds now fails, saying why and what to do.
func TestAnOlderProviderRunningTheOutputsDeleteFailsLoudly(t *testing.T) {
	out := outputsOf(managedFileInputs())
	d, _ := str(out, "delete")
	if d != movedDelete {
		t.Fatalf("outputs' delete = %q", d)
	}
	cmd := exec.Command("bash", "-c", d)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "recorded by a newer conntune command provider") || !strings.Contains(string(msg), "nothing was restored") {
		t.Fatalf("err %v, output %q", err, msg)
	}
	noDelete := managedFileInputs()
	delete(noDelete, "delete")
	if _, ok := outputsOf(noDelete)["delete"]; ok {
		t.Fatal("a command without a delete script got one in its outputs")
	}
}

func TestDeleteWithoutOldInputsOfACommandWithoutDeleteRunsNothing(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	in := managedFileInputs()
	delete(in, "delete")
	out := outputsOf(in)
	out["stdout"] = resource.NewStringProperty("ct:a=1")
	s := &server{}
	if _, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, out)}); err != nil {
		t.Fatal(err)
	}
	if len(f.cmds) != 0 {
		t.Fatalf("commands run: %q", f.cmds)
	}
}

func TestDeleteWithoutOldInputsOfAnOldStyleDeleteOnlyCommandRunsIt(t *testing.T) {
	f := newEnvSSHD()
	f.use(t)
	old := oldStyle(managedFileInputs(), "")
	delete(old, "create")
	s := &server{}
	if _, err := s.Delete(context.Background(), &pulumirpc.DeleteRequest{Urn: testURN, Id: "abc", Properties: props(t, old)}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.cmds, ";") != "restore" {
		t.Fatalf("commands run: %q", f.cmds)
	}
}
