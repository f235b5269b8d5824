/**
 * Host-side bash that lives in real `.sh` files beside the TypeScript that uses it (checked by
 * `bash -n` and shellcheck in the unit tests), read at run time. Pure apart from reading the file.
 *
 * A hooks file holds top-level bash functions only. `hook_NAME() { … }` holds the body of one hook
 * (see FileHooks); every other function is a helper that a hook takes in with a comment line
 * `# include: NAME …` (its whole definition is put there). A function starts at the beginning of
 * a line with `NAME() {` and ends at the first line that is just `}` (a one-line function ends on
 * its own line); bodies are indented, so their own inner functions never close it.
 *
 * The managed-file scripts drop comment lines, blank lines and indentation (see compact), so a
 * file's layout and comments cost nothing on the host.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { FileHooks } from "./managedFileScript";

const STEPS: Array<keyof FileHooks> = ["preflight", "validate", "activate", "verify", "deactivate", "saveOriginal", "restoreOriginal", "beforeRestore", "ownContent"];

export interface ShellFile {
    /** The body of `hook_NAME` with its includes expanded (what a FileHooks field holds). */
    hook(name: string): string;
    /** Every FileHooks step the file has as `hook_<prefix><step>` (e.g. hook_validate, hook_pam_verify). */
    hooks(prefix?: string): FileHooks;
    /** The body of any function, its includes expanded (a part of a script, e.g. core/managedFile.sh). */
    body(fnName: string): string;
    /** The whole definition of a helper function (or of a named snippet given to shellFile). */
    def(name: string): string;
}

/** File text by path: a program reads each .sh file once, however many hosts and files use it. */
const texts = new Map<string, string>();

function read(dir: string, file: string, subs: Record<string, string>): string {
    const p = path.join(dir, file);
    let text = texts.get(p);
    if (text === undefined) texts.set(p, (text = fs.readFileSync(p, "utf8")));
    for (const [k, v] of Object.entries(subs)) text = text.split(`@${k}@`).join(v);
    return text;
}

const START = /^([A-Za-z_][A-Za-z0-9_]*)\(\) \{/;
/** hook_STEP, hook_PREFIX_STEP (a file with several kinds of file), and hook_STEP_guarded. */
const HOOK_NAME = new RegExp(`^hook_(?:[a-z]+_)*(?:${STEPS.join("|")})(?:_guarded)?$`);
const INCLUDE = /^\s*# include: (.+)$/;

/**
 * Read `file` (relative to `dir`, e.g. `__dirname`). `snippets` are more definitions that an
 * include may name (e.g. the login probe, shared by several kinds); `subs` replace `@NAME@` tokens.
 */
export function shellFile(dir: string, file: string, snippets: Record<string, string> = {}, subs: Record<string, string> = {}): ShellFile {
    // Every host of a fleet reads the same hooks files: parsed and checked once per program.
    const key = JSON.stringify([path.join(dir, file), snippets, subs]);
    let parsed = parsedFiles.get(key);
    if (parsed === undefined) parsedFiles.set(key, (parsed = parse(dir, file, snippets, subs)));
    return parsed;
}

/** Parsed files by path, snippets and substitutions (a ShellFile is immutable). */
const parsedFiles = new Map<string, ShellFile>();

function parse(dir: string, file: string, snippets: Record<string, string>, subs: Record<string, string>): ShellFile {
    const text = read(dir, file, subs);
    const defs = new Map<string, string>();
    const bodies = new Map<string, string[]>();
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
        const m = START.exec(lines[i]);
        if (!m) continue;
        if (lines[i].trimEnd().endsWith("}")) {
            defs.set(m[1], lines[i]);
            continue;
        }
        const end = lines.indexOf("}", i + 1);
        if (end < 0) throw new Error(`${file}: ${m[1]}() has no closing '}' line`);
        defs.set(m[1], lines.slice(i, end + 1).join("\n"));
        bodies.set(m[1], lines.slice(i + 1, end));
        i = end;
    }
    const def = (name: string): string => {
        const d = snippets[name] ?? defs.get(name);
        if (d === undefined) throw new Error(`${file}: no function ${name}`);
        return d;
    };
    const body = (fnName: string): string => {
        const lines = bodies.get(fnName);
        if (lines === undefined) throw new Error(`${file}: no ${fnName}()`);
        return lines
            .map((l) => {
                const inc = INCLUDE.exec(l);
                return inc ? inc[1].trim().split(/\s+/).map(def).join("\n") : l;
            })
            .join("\n");
    };
    const hook = (name: string): string => body(`hook_${name}`);
    // A misspelt hook would silently be no hook at all (verify as `:`), and a helper the file defines
    // but a hook does not include would be missing on the host (bash -n and shellcheck see it defined):
    // both are errors when the file is read.
    for (const name of bodies.keys()) {
        if (name.startsWith("hook_") && !HOOK_NAME.test(name)) throw new Error(`${file}: ${name}() is not a hook step (hook_[prefix_]STEP, STEP one of ${STEPS.join(", ")})`);
    }
    const helpers = [...defs.keys()].filter((n) => !n.startsWith("hook_"));
    for (const name of [...bodies.keys()].filter((n) => n.startsWith("hook_"))) {
        const text = body(name);
        const code = text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");
        for (const h of helpers) {
            if (h === name || !new RegExp(`(^|[\\s;|&(!{$])${h}(?=[\\s;|&)]|$)`, "m").test(code)) continue;
            if (!new RegExp(`^\\s*${h}\\(\\) \\{`, "m").test(text)) throw new Error(`${file}: ${name}() calls ${h} without including it (add it to a '# include:' line)`);
        }
    }
    return {
        def,
        hook,
        body,
        hooks(prefix = "") {
            return Object.fromEntries(STEPS.filter((s) => bodies.has(`hook_${prefix}${s}`)).map((s) => [s, hook(`${prefix}${s}`)]));
        },
    };
}

/** Read a whole `.sh` file (e.g. a script that is itself a managed file), `@NAME@` tokens replaced. */
export function readShell(dir: string, file: string, subs: Record<string, string> = {}): string {
    return read(dir, file, subs);
}
