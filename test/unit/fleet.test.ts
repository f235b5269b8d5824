import { describe, expect, it } from "vitest";
import { layout, slotFileName } from "../../lab/hosts/fleet";

describe("logical hosts of the benchmark fleet", () => {
    it.each([
        [1, 10, [1]],
        [10, 10, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
        [25, 10, [3, 3, 3, 3, 3, 2, 2, 2, 2, 2]],
        [50, 10, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5]],
    ])("spreads %i hosts over at most %i real hosts as evenly as possible", (n, real, want) => {
        expect(layout(n, real)).toEqual(want);
        expect(layout(n, real).reduce((a, b) => a + b, 0)).toBe(n);
    });

    it("keeps the default file names for a real host's first logical host and suffixes the others", () => {
        expect(slotFileName("00-conntune.conf", 0)).toBe("00-conntune.conf");
        expect(slotFileName("99-conntune-tcp.conf", 3)).toBe("99-conntune-tcp-l3.conf");
    });
});
