import { describe, expect, it } from "vitest";
import { HEADER } from "../core/render";
import { renderOverride } from "./render";
import { overrideSchema } from "./schema";

describe("renderOverride", () => {
    it("writes sections in unit-file order and directives sorted", () => {
        expect(renderOverride(overrideSchema.parse({ unit: "llm-gateway.service", settings: { Service: { LimitNOFILE: 65536, Restart: "always" }, Unit: { StartLimitBurst: 5 } } }))).toBe(
            [HEADER, "[Unit]", "StartLimitBurst=5", "[Service]", "LimitNOFILE=65536", "Restart=always", ""].join("\n"),
        );
    });
});
