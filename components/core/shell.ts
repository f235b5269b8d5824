/**
 * Shell quoting for the remote scripts. Pure, no Pulumi import.
 *
 * Everything that comes from stack config and ends up in a remote command passes through `shq`
 * (single-quote quoting) after the schema has already restricted it to a strict pattern.
 */

/**
 * Quote one argument for a POSIX shell. Rejects NUL, and newlines unless `multiline` (scripts that
 * conntune itself wrote): no config value needs them.
 */
export function shq(value: string | number, multiline = false): string {
    const s = String(value);
    if (s.includes("\0") || (!multiline && /[\n\r]/.test(s))) throw new Error(`refusing to pass a value with a newline or NUL to a remote shell: ${JSON.stringify(s)}`);
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `NAME='value'` assignments, one per line, for variables a remote script reads. */
export function shVars(vars: Record<string, string | number>): string {
    return Object.entries(vars)
        .map(([k, v]) => {
            if (!/^[A-Z_][A-Z0-9_]*$/.test(k)) throw new Error(`bad shell variable name ${k}`);
            return `${k}=${shq(v)}`;
        })
        .join("\n");
}
