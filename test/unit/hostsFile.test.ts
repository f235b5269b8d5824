import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readHostsFile } from "../../components/load";

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

    it("names a missing file and a file that is not JSON", () => {
        expect(readHostsFile("missing.json", dir).problem).toBe("conntune:hostsFile: cannot read missing.json: ENOENT");
        expect(readHostsFile("broken.json", dir).problem).toMatch(/^conntune:hostsFile: broken\.json is not JSON: /);
    });
});
