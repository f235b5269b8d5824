import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import * as fs from "node:fs";
import { BACKEND_URL_PASSWORD, backendUrlProblem, fileBackendUrl } from "../../scripts/engine";

const REPO = path.join(__dirname, "..", "..");

describe("the backend URL", () => {
    it("of the local file backend writes no sidecar file per state write, the same in npm run pulumi and the operator commands", () => {
        expect(fileBackendUrl("/srv/conntune/.pulumi-state")).toBe("file:///srv/conntune/.pulumi-state?metadata=skip");
        expect(fs.readFileSync(path.join(REPO, "scripts/pulumi.sh"), "utf8")).toContain('export PULUMI_BACKEND_URL="file://$ROOT/.pulumi-state?metadata=skip"');
    });

    it.each([
        ["postgres://conntune:s3cret@db.internal:5432/conntune?sslmode=require", true],
        ["postgres://conntune:@db.internal/conntune", true],
        ["postgres://:s3cret@db.internal/conntune", true],
        ["s3://AKIA:s3cret@bucket", true],
        ["postgres://conntune@db.internal/conntune?sslmode=require&password=s3cret", true],
        ["postgres://conntune@db.internal/conntune?PASSWORD=s3cret&table=t", true],
        ["postgres://conntune@db.internal:5432/conntune?sslmode=require&table=pulumi_state", false],
        ["postgres://db.internal:5432/conntune?options=a:b@c", false],
        ["postgres://", false],
        ["file:///srv/state", false],
        ["s3://bucket/prefix?region=eu-west-1", false],
        [undefined, false],
    ])("%s is refused when it holds a password: %s", (url, refused) => {
        expect(backendUrlProblem(url)).toBe(refused ? BACKEND_URL_PASSWORD : undefined);
    });

    it("with a password stops `npm run pulumi` before pulumi starts, with the same message, never echoing the URL", () => {
        const r = spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls"], {
            encoding: "utf8",
            env: { ...process.env, PULUMI_BACKEND_URL: "postgres://conntune:pw-never-shown@127.0.0.1:9/conntune" },
        });
        expect(r.status).toBe(1);
        expect(r.stderr.trim()).toBe(BACKEND_URL_PASSWORD);
        expect(`${r.stdout}${r.stderr}`).not.toContain("pw-never-shown");
    });

    it("with a password as a query parameter (the PostgreSQL drivers read ?password=) stops `npm run pulumi` too", () => {
        const r = spawnSync("bash", [path.join(REPO, "scripts/pulumi.sh"), "stack", "ls"], {
            encoding: "utf8",
            env: { ...process.env, PULUMI_BACKEND_URL: "postgres://conntune@127.0.0.1:9/conntune?sslmode=disable&password=pw-never-shown" },
        });
        expect(r.status).toBe(1);
        expect(r.stderr.trim()).toBe(BACKEND_URL_PASSWORD);
        expect(`${r.stdout}${r.stderr}`).not.toContain("pw-never-shown");
    });
});
