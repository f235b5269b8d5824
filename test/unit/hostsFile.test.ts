import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readHostsFile } from "../../components/load";
import { stackConfigOf } from "../../components/load";

describe("conntune:hostsFile", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-hostsfile-"));
    fs.mkdirSync(path.join(dir, "fleet"));
    fs.writeFileSync(path.join(dir, "fleet", "hosts.json"), JSON.stringify([{ name: "web-1" }]));
    fs.writeFileSync(path.join(dir, "broken.json"), "[{");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("reads the hosts list from a JSON file inside the project directory", () => {
        expect(readHostsFile("fleet/hosts.json", dir)).toEqual({ hosts: [{ name: "web-1" }] });
    });

    it.each([["../hosts.json"], ["/etc/hosts.json"], ["fleet/../hosts.json"], ["hosts.yaml"], ["a b.json"], [""]])("refuses the path %j, naming the field and what is allowed", (file) => {
        expect(readHostsFile(file, dir).problem).toMatch(/^conntune:hostsFile: must be a relative path of a \.json file inside the project directory/);
    });

    it("refuses a link that leads out of the project directory, without reading what it points at", () => {
        const outside = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-outside-"));
        try {
            fs.writeFileSync(path.join(outside, "secret.json"), "-----BEGIN OPENSSH PRIVATE KEY-----");
            fs.symlinkSync(path.join(outside, "secret.json"), path.join(dir, "linked.json"));
            fs.symlinkSync(outside, path.join(dir, "linkdir"));
            for (const f of ["linked.json", "linkdir/secret.json"]) {
                const r = readHostsFile(f, dir);
                expect(r.problem).toBe(`conntune:hostsFile: ${f} leads out of the project directory (a symbolic link): keep the hosts file inside the project`);
                expect(JSON.stringify(r)).not.toContain("BEGIN");
            }
        } finally {
            fs.rmSync(outside, { recursive: true, force: true });
        }
    });

    it("names a missing file and a file that is not JSON", () => {
        expect(readHostsFile("missing.json", dir).problem).toBe("conntune:hostsFile: cannot read missing.json: ENOENT");
        expect(readHostsFile("broken.json", dir).problem).toMatch(/^conntune:hostsFile: broken\.json is not JSON: /);
    });
});

describe("a stack whose hosts are in conntune:hostsFile is a host-group stack for every command", () => {
    const REPO = path.join(__dirname, "..", "..");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conntune-hostsfile-stack-"));
    const host = { name: "web-1", connection: { host: "10.0.0.2", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyFakeKeyFakeKeyFakeKeyFakeKeyFakeKey1" } };
    fs.writeFileSync(path.join(dir, "hosts.json"), JSON.stringify([host]));
    fs.writeFileSync(path.join(dir, "Pulumi.fleet.yaml"), "config:\n  conntune:hostsFile: hosts.json\n");
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("scripts/stacks.sh --host-groups lists it (the deploy and drift workflows' matrix)", () => {
        const r = spawnSync("bash", [path.join(REPO, "scripts/stacks.sh"), "--host-groups", "--project-dir", dir], { encoding: "utf8" });
        expect(r.stdout).toBe('["fleet"]\n');
    });

    it("npm run drift and npm run health read its hosts from the file (the project's)", () => {
        expect(stackConfigOf({ "conntune:hostsFile": "hosts.json" }, dir).hosts.map((h) => h.name)).toEqual(["web-1"]);
        expect(() => stackConfigOf({ "conntune:hostsFile": "../hosts.json" }, dir)).toThrow(/conntune:hostsFile: must be a relative path/);
    });
});
