import { defineConfig } from "vitest/config";

/** Unit tests: beside the code they test (components/**), plus the cross-cutting ones in test/unit. Seconds, anywhere. */
export default defineConfig({
    test: {
        include: ["test/unit/**/*.test.ts", "components/**/*.test.ts", "policy/**/*.test.ts"],
        testTimeout: 20_000,
    },
});
