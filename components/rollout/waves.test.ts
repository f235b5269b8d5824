import { describe, expect, it } from "vitest";
import { ConfigError, parseStackConfig } from "../config";
import { rolloutSchema } from "./schema";
import { budgetSpent, heldHosts, hostOf, planWaves, wavesText } from "./waves";

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);
const plan = (n: number, r: unknown) => planWaves(hosts(n), rolloutSchema.parse(r));

describe("the wave plan", () => {
    it.each([
        ["the canary, then the rest at once (the defaults)", 5, {}, [["h1"], ["h2", "h3", "h4", "h5"]]],
        ["the canary, then waves of 2", 5, { waveSize: 2 }, [["h1"], ["h2", "h3"], ["h4", "h5"]]],
        ["a canary of 2, then waves of 2", 5, { canary: 2, waveSize: 2 }, [["h1", "h2"], ["h3", "h4"], ["h5"]]],
        ["no canary wave: waves of 2 from the start", 5, { canary: 0, waveSize: 2 }, [["h1", "h2"], ["h3", "h4"], ["h5"]]],
        ["25% of 10 hosts is 3 per wave (rounded up)", 10, { waveSize: "25%" }, [["h1"], ["h2", "h3", "h4"], ["h5", "h6", "h7"], ["h8", "h9", "h10"]]],
        ["1% of 10 hosts is still 1 per wave", 3, { waveSize: "1%" }, [["h1"], ["h2"], ["h3"]]],
        ["one host: only the canary", 1, { waveSize: 5 }, [["h1"]]],
        ["no hosts: no waves", 0, {}, []],
    ])("%s", (_name, n, r, waves) => {
        expect(plan(n, r).waves).toEqual(waves);
    });

    it("keeps the config order of the hosts", () => {
        expect(planWaves(["db", "web", "cache"], rolloutSchema.parse({ waveSize: 1 })).waves).toEqual([["db"], ["web"], ["cache"]]);
    });

    it("puts every host in one wave with budget 0 when conntune:rollout is not set", () => {
        expect(planWaves(hosts(3), undefined)).toEqual({ waves: [["h1", "h2", "h3"]], maxFailures: 0, configured: false });
    });
});

describe("the failure budget", () => {
    it.each([
        [{}, 10, 0],
        [{ maxFailures: 2 }, 10, 2],
        [{ maxFailures: "10%" }, 10, 1],
        [{ maxFailures: "15%" }, 10, 1],
        [{ maxFailures: "10%" }, 5, 0],
        [{ maxFailures: "0%" }, 5, 0],
    ])("%j of %i hosts tolerates %i failed hosts", (r, n, budget) => {
        expect(plan(n, r).maxFailures).toBe(budget);
    });

    it("is spent only when more hosts failed than it tolerates", () => {
        expect(budgetSpent(0, 0)).toBe(false);
        expect(budgetSpent(1, 0)).toBe(true);
        expect(budgetSpent(1, 1)).toBe(false);
        expect(budgetSpent(2, 1)).toBe(true);
    });
});

describe("conntune:rollout in the stack config", () => {
    const entry = (name: string, i: number) => ({ name, connection: { host: `10.0.0.${i + 1}`, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx1jG0f1lYqvWm4oYQ9nJ0d4kqv6oQm2nX8l1b2c3d4" } });
    const stack = (n: number, rollout: unknown) => ({ hosts: hosts(n).map(entry), rollout });
    const problems = (raw: unknown): string[] => {
        try {
            parseStackConfig(raw);
            return [];
        } catch (e) {
            if (e instanceof ConfigError) return e.problems;
            throw e;
        }
    };

    it.each([
        [{ waveSize: 0 }, 'conntune:rollout.waveSize: must be a whole number of at least 1 or a percentage of the hosts from 1% to 100% (e.g. "25%")'],
        [{ waveSize: "0%" }, 'conntune:rollout.waveSize: must be a whole number of at least 1 or a percentage of the hosts from 1% to 100% (e.g. "25%")'],
        [{ waveSize: "150%" }, 'conntune:rollout.waveSize: must be a whole number of at least 1 or a percentage of the hosts from 1% to 100% (e.g. "25%")'],
        [{ waveSize: 1.5 }, 'conntune:rollout.waveSize: must be a whole number of at least 1 or a percentage of the hosts from 1% to 100% (e.g. "25%")'],
        [{ maxFailures: -1 }, 'conntune:rollout.maxFailures: must be a whole number of at least 0 or a percentage of the hosts from 0% to 99% (e.g. "10%")'],
        [{ maxFailures: "ten" }, 'conntune:rollout.maxFailures: must be a whole number of at least 0 or a percentage of the hosts from 0% to 99% (e.g. "10%")'],
        [{ canary: -1 }, "conntune:rollout.canary: must be a whole number of at least 0"],
        [{ canary: 4 }, "conntune:rollout.canary: 4 is more than the 3 host(s) of the stack: allowed are 0 to 3"],
        [{ maxFailures: 3 }, "conntune:rollout.maxFailures: 3 is not less than the 3 host(s) of the stack: the rollout could never stop; allowed are 0 to 2, or a percentage whose share of the hosts stays below 3"],
        [{ maxFailures: "100%" }, "conntune:rollout.maxFailures: 100% (3 of 3 hosts) is not less than the 3 host(s) of the stack: the rollout could never stop; allowed are 0 to 2, or a percentage whose share of the hosts stays below 3"],
        [{ wavesize: 2 }, 'conntune:rollout: unknown key "wavesize" (did you mean "waveSize"?): allowed are canary, waveSize, maxFailures'],
    ])("refuses %j, naming the field and what is allowed", (rollout, message) => {
        expect(problems(stack(3, rollout))).toEqual([message]);
    });

    it("accepts a count and percentages", () => {
        expect(problems(stack(3, { canary: 1, waveSize: "50%", maxFailures: "34%" }))).toEqual([]);
        expect(parseStackConfig(stack(3, { waveSize: 2 })).rollout).toEqual({ canary: 1, waveSize: 2, maxFailures: 0 });
    });
});

describe("what the wave runner reads", () => {
    const host = "urn:pulumi:dev::conntune::conntune:host:TunedHost::web1";
    const sshd = "urn:pulumi:dev::conntune::conntune:host:TunedHost$conntune:host:SshdHardening::web1-sshd";
    const cmd = "urn:pulumi:dev::conntune::conntune:host:TunedHost$conntune:host:SshdHardening$command:remote:Command::web1-sshd-apply";
    const parents = new Map([[cmd, sshd], [sshd, host], [host, "urn:pulumi:dev::conntune::pulumi:pulumi:Stack::conntune-dev"]]);

    it("finds the host of a resource through its parents", () => {
        expect(hostOf(cmd, parents)).toBe("web1");
        expect(hostOf(host, parents)).toBe("web1");
        expect(hostOf("urn:pulumi:dev::conntune::pulumi:providers:command::default_1_2_1", parents)).toBeUndefined();
    });

    it("reads the failed hosts from the environment", () => {
        expect([...heldHosts(" web1, ,web2")]).toEqual(["web1", "web2"]);
        expect(heldHosts(undefined).size).toBe(0);
    });

    it("names untouched waves with their hosts", () => {
        expect(wavesText([["a"], ["b", "c"], ["d", "e", "f"]], 1)).toBe("wave 2 (b and c), wave 3 (d, e and f)");
    });
});
