import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseStackConfig } from "../config";
import { budgetOutput } from "./output";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4";
const redfin = (clients: unknown[]) => parseStackConfig({ hosts: [{ name: "redfin", connection: { host: "10.0.0.5", hostKey: KEY }, redis: { enabled: false, runsOn: "bluefin", settings: {}, clients } }] });

describe("the program's budget output", () => {
    afterEach(() => vi.restoreAllMocks());

    it("returns each target's budget and shows each warning once as a Pulumi warning", () => {
        const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
        const out = budgetOutput(redfin([{ name: "ganuda", library: "redis-py", poolSize: 10, readTimeoutSeconds: 5 }]));
        expect(Object.keys(out!)).toEqual(["redfin"]);
        expect(out!.redfin.total).toBe(10);
        expect(warn).toHaveBeenCalledTimes(1);
        expect(warn.mock.calls[0][0]).toBe(`connection budget: ${out!.redfin.warnings[0]}`);
    });

    it("is absent for a stack without a Redis target", () => {
        const warn = vi.spyOn(pulumi.log, "warn").mockResolvedValue(undefined);
        expect(budgetOutput(parseStackConfig({ hosts: [] }))).toBeUndefined();
        expect(warn).not.toHaveBeenCalled();
    });
});
