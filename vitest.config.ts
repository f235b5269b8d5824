import { defineConfig } from "vitest/config";

/** Unit tests: pure renderers, schemas and setMocks wiring. Seconds, anywhere. */
export default defineConfig({
    test: {
        include: ["test/unit/**/*.test.ts"],
        testTimeout: 20_000,
    },
});
