import { describe, expect, it } from "vitest";
import { errorLines } from "../../scripts/engine";

describe("the CLI's errors as the operator commands report them", () => {
    it("keep a failed command's reason (the lines after its error line) and name the resource", () => {
        const out = [
            "Diagnostics:",
            "  command:remote:Command (web1-sysctl-file-apply):",
            "    error: create command failed (Process exited with status 1):",
            "    conntune: sysctl -p /etc/sysctl.d/99-conntune-tcp.conf failed",
            "    sysctl: cannot stat /proc/sys/net/x: No such file or directory",
            "",
            "  pulumi:pulumi:Stack (conntune-dev):",
            "    error: update failed",
            "",
            "stderr: error: update failed",
        ].join("\n");
        expect(errorLines(out)).toEqual([
            "command:remote:Command (web1-sysctl-file-apply): error: create command failed (Process exited with status 1): / conntune: sysctl -p /etc/sysctl.d/99-conntune-tcp.conf failed / sysctl: cannot stat /proc/sys/net/x: No such file or directory",
            "pulumi:pulumi:Stack (conntune-dev): error: update failed",
        ]);
    });

    it("report each error once and nothing when there is none", () => {
        expect(errorLines("error: no stack named 'x' found\nerror: no stack named 'x' found")).toEqual(["error: no stack named 'x' found"]);
        expect(errorLines("all fine")).toEqual([]);
    });
});
