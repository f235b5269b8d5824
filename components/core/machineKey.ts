/**
 * One machine as the program can tell it: the address as typed, without letter case or a final dot
 * (`Web1.` and `web1` are one machine), and the port. Names that resolve to the same address are not
 * seen as one (the program resolves nothing). Used by the stack schema's one-entry-per-machine rule
 * and the one-claim-per-file registry (managedFile.ts).
 */
export function machineKey(host: string, port: number): string {
    return `${host.toLowerCase().replace(/\.$/, "")} port ${port}`;
}
