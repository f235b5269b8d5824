import { defineConfig } from "vitest/config";

/**
 * E2E tests: the real Pulumi CLI against real test hosts (systemd-nspawn in network namespaces).
 * Files run one after another: each boots its own hosts and the machine fits about 10 at once.
 */
export default defineConfig({
    test: {
        include: ["test/e2e/**/*.test.ts"],
        testTimeout: 600_000,
        hookTimeout: 600_000,
        fileParallelism: false,
        reporters: ["verbose"],
    },
});
