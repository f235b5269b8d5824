// Read for conntune's managed files: Pulumi's refresh (`pulumi refresh`, `preview --refresh`,
// `up --refresh`) sees the host.
//
// A command whose `create` holds the operation placeholder is one of conntune's managed-file scripts:
// run with the operation `read` it writes nothing and prints the file's current content as conntune
// sees it (`ct-content:BASE64` or `ct-content-missing`), the verify step's `ct:key=value` read-back
// and, where the host does not show the wanted values, `ct-drift:` lines (see
// components/core/managedFileScript.ts). Read returns state that differs from the old state exactly
// where the host differs: the content part of `stdin` becomes the host's content (so the next diff
// shows the changed lines), `ct:` values the host shows differently are replaced in `stdout`, and the
// `ct-drift:` lines are added to it (Diff then plans an update, which runs the operation `repair`).
// Nothing differs: the old state comes back unchanged, so a refresh of a clean host changes nothing.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// opPlaceholder in a command is replaced by the operation before the command runs (never in the
// state): apply (create, update), repair (an update of a resource whose refreshed state shows
// runtime drift), read (Read), delete (Delete of a command whose delete is deleteByOperation).
const opPlaceholder = "@CT_OP@"

// deleteByOperation as a command's `delete` says: the delete is the `delete` operation of the
// command's `create` script (@CT_OP@ = delete), so the state holds the one script once instead of
// two scripts that repeat the shared part. Run as a shell command by a provider that does not know
// it (an older conntune provider), it fails, naming the way out: never a silent no-op that would
// leave a host unrestored. The same text as DELETE_BY_OPERATION in components/core/managedFileScript.ts.
const deleteByOperation = `echo "conntune: this delete is an operation of the create script, which only conntune's command provider from 2026-12 runs: destroy with this checkout (npm run pulumi)" >&2; exit 1`

// deleteOpArg follows opPlaceholder in a create command whose script has the delete operation (conntune's
// DELETE_OP_ARG). A script from before it treats an unknown operation as apply: run with delete it
// would apply the file again and report success, and the host's original would never come back.
const deleteOpArg = "ct-ops-with-delete"

// driftPrefix starts a line of stdout that a refresh added: the host does not show a wanted value.
const driftPrefix = "ct-drift:"

// opFor is the operation a command runs as: an update of a resource whose (refreshed) state shows
// runtime drift repairs (activates even when the file already has the content).
func opFor(which string, olds resource.PropertyMap) string {
	if which == "update" && len(driftLines(olds)) > 0 {
		return "repair"
	}
	return "apply"
}

// driftLines are the `ct-drift:` lines of a state's stdout (put there by Read).
func driftLines(state resource.PropertyMap) []string {
	out, _ := str(state, "stdout")
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, driftPrefix) {
			lines = append(lines, l)
		}
	}
	return lines
}

// secretLineCount is how many leading lines of a command's stdin are secrets: the `: ct-secret-lines=N;`
// declaration, else 1 for a command that starts by reading the sudo password (secretLineRead).
func secretLineCount(cmd string) int {
	if m := secretLinesDecl.FindStringSubmatch(cmd); m != nil {
		return int(m[1][0] - '0')
	}
	if strings.HasPrefix(cmd, secretLineRead) {
		return 1
	}
	return 0
}

// splitSecretLines splits stdin into its first n lines (each with its newline) and the rest (the content).
func splitSecretLines(stdin string, n int) (secret, content string) {
	rest := stdin
	for i := 0; i < n; i++ {
		j := strings.IndexByte(rest, '\n')
		if j < 0 {
			return stdin, ""
		}
		rest = rest[j+1:]
	}
	return stdin[:len(stdin)-len(rest)], rest
}

// hostView is what the read operation printed.
type hostView struct {
	content string // the file as conntune sees it ("" when missing)
	missing bool
	values  map[string]string // ct:key=value
	drift   []string          // ct-drift: lines, whole
}

func parseHostView(out string) (hostView, error) {
	v := hostView{values: map[string]string{}}
	seen := false
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSuffix(l, "\r")
		switch {
		case strings.HasPrefix(l, "ct-content:"):
			b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(l, "ct-content:"))
			if err != nil {
				return v, fmt.Errorf("the read printed a content line that is not base64: %w", err)
			}
			v.content, seen = string(b), true
			// The state holds strings, and the engine refuses one that is not UTF-8 (the whole refresh
			// would fail): such bytes are shown as U+FFFD, which differs from what conntune wrote, so
			// the file is drift and the next up --refresh rewrites it.
			if !utf8.Valid(b) {
				v.content = strings.ToValidUTF8(v.content, "\uFFFD")
				v.drift = append(v.drift, driftPrefix+"the file holds bytes that are not UTF-8 (shown as U+FFFD)")
			}
		case l == "ct-content-missing":
			v.missing, seen = true, true
		case strings.HasPrefix(l, driftPrefix):
			v.drift = append(v.drift, l)
		case strings.HasPrefix(l, "ct:"):
			if k, val, ok := strings.Cut(strings.TrimPrefix(l, "ct:"), "="); ok {
				v.values[k] = val
			}
		}
	}
	if !seen {
		return v, errors.New("the read printed no content line (ct-content: or ct-content-missing)")
	}
	return v, nil
}

// withString sets a string property, keeping the secret-ness of the value it replaces.
func withString(old resource.PropertyValue, s string) resource.PropertyValue {
	v := resource.NewStringProperty(s)
	if old.IsSecret() {
		return resource.MakeSecret(v)
	}
	return v
}

// mergeRead returns the state as the host shows it: inputs and outputs with the content part of
// stdin replaced by the host's content (the n secret lines before it kept), and outputs' stdout with
// each ct:key=value the host shows differently replaced and the ct-drift lines appended (those of an
// earlier refresh dropped). changed is false when the host matches the state: then both are unchanged.
func mergeRead(inputs, outputs resource.PropertyMap, n int, view hostView) (newInputs, newOutputs resource.PropertyMap, changed bool) {
	newInputs, newOutputs = inputs.Copy(), outputs.Copy()
	for _, m := range []resource.PropertyMap{newInputs, newOutputs} {
		old, ok := m["stdin"]
		if !ok {
			continue
		}
		stdin, _ := str(m, "stdin")
		secret, content := splitSecretLines(stdin, n)
		if content != view.content {
			m["stdin"] = withString(old, secret+view.content)
			changed = true
		}
	}
	if old, ok := outputs["stdout"]; ok || len(view.drift) > 0 {
		stdout, _ := str(outputs, "stdout")
		var lines []string
		for _, l := range strings.Split(stdout, "\n") {
			if strings.HasPrefix(l, driftPrefix) {
				continue
			}
			if k, _, ok := strings.Cut(strings.TrimPrefix(l, "ct:"), "="); ok && strings.HasPrefix(l, "ct:") {
				if hv, ok := view.values[k]; ok {
					l = "ct:" + k + "=" + hv
				}
			}
			lines = append(lines, l)
		}
		if stdout == "" {
			lines = nil
		}
		lines = append(lines, view.drift...)
		if s := strings.Join(lines, "\n"); s != stdout {
			newOutputs["stdout"] = withString(old, s)
			changed = true
		}
	}
	if !changed {
		return inputs, outputs, false
	}
	return newInputs, newOutputs, true
}

func (s *server) Read(ctx context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	echo := &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}
	inputs, err := plugin.UnmarshalProperties(req.GetInputs(), marshal)
	if err != nil {
		return nil, err
	}
	outputs, err := plugin.UnmarshalProperties(req.GetProperties(), marshal)
	if err != nil {
		return nil, err
	}
	src := inputs
	if len(src) == 0 {
		src = outputs
	}
	create, createSecret := str(src, "create")
	if !strings.Contains(create, opPlaceholder) {
		// Not a conntune managed-file script of this version (e.g. state from an older conntune): as before.
		return echo, nil
	}
	n := secretLineCount(create)
	stdin, stdinSecret := str(src, "stdin")
	secretLines, _ := splitSecretLines(stdin, n)
	q := src.Copy()
	q["create"] = resource.NewStringProperty(strings.ReplaceAll(create, opPlaceholder, "read"))
	if createSecret {
		q["create"] = resource.MakeSecret(q["create"])
	}
	q["stdin"] = resource.NewStringProperty(secretLines)
	if stdinSecret {
		q["stdin"] = resource.MakeSecret(q["stdin"])
	}
	q["logging"] = resource.NewStringProperty("none")
	out, err := s.run(ctx, req.GetUrn(), req.GetId(), q, "create", nil, false)
	file := "the managed file"
	if t, ok := src["triggers"]; ok && reveal(t).IsArray() && len(reveal(t).ArrayValue()) > 0 && reveal(t).ArrayValue()[0].IsString() {
		file = reveal(t).ArrayValue()[0].StringValue()
	}
	host := "its host"
	if c, ok := src["connection"]; ok && reveal(c).IsObject() {
		if h, _ := str(reveal(c).ObjectValue(), "host"); h != "" {
			host = h
		}
	}
	if err != nil {
		return nil, fmt.Errorf("refresh could not read %s on %s: %w", file, host, err)
	}
	got, err := plugin.UnmarshalProperties(out, marshal)
	if err != nil {
		return nil, err
	}
	printed, _ := str(got, "stdout")
	view, err := parseHostView(printed)
	if err != nil {
		return nil, fmt.Errorf("refresh could not read %s on %s: %w", file, host, err)
	}
	newIn, newOut, changed := mergeRead(inputs, outputs, n, view)
	if !changed {
		return echo, nil
	}
	props, err := plugin.MarshalProperties(newOut, marshal)
	if err != nil {
		return nil, err
	}
	ins, err := plugin.MarshalProperties(newIn, marshal)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: props, Inputs: ins}, nil
}

// driftDiff adds runtime drift (ct-drift lines in the old state's stdout, put there by Read) to a
// diff: an update shown on stdout, its old value with the drift lines. The detailed diff is only
// given then, so that an ordinary diff is shown exactly as before.
func driftDiff(outputs resource.PropertyMap, diffs, replaces []string) (allDiffs []string, detailed map[string]*pulumirpc.PropertyDiff) {
	if len(driftLines(outputs)) == 0 {
		return diffs, nil
	}
	detailed = map[string]*pulumirpc.PropertyDiff{}
	for _, k := range diffs {
		kind := pulumirpc.PropertyDiff_UPDATE
		for _, r := range replaces {
			if r == k {
				kind = pulumirpc.PropertyDiff_UPDATE_REPLACE
			}
		}
		detailed[k] = &pulumirpc.PropertyDiff{Kind: kind, InputDiff: true}
	}
	detailed["stdout"] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_UPDATE}
	return append(diffs, "stdout"), detailed
}
