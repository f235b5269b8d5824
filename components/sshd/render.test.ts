import { describe, expect, it } from "vitest";
import { HEADER } from "../core/render";
import { renderSshd } from "./render";
import { sshdSchema } from "./schema";

describe("renderSshd", () => {
    it.each([
        [
            "writes the seed-000 idle-killing defaults",
            {},
            [HEADER,
                "# Idle SSH sessions are dropped after 300 s x 2 = 600 s without an answer.",
                "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
                "ClientAliveInterval 300", "ClientAliveCountMax 2", "LoginGraceTime 30", "TCPKeepAlive yes",
                "MaxStartups 200:30:400", "MaxSessions 100", ""].join("\n"),
        ],
        [
            "writes changed values and extra directives sorted by keyword",
            { clientAliveInterval: 120, clientAliveCountMax: 3, tcpKeepAlive: false, extra: { X11Forwarding: "no", AllowAgentForwarding: "no" } },
            [HEADER,
                "# Idle SSH sessions are dropped after 120 s x 3 = 360 s without an answer.",
                "# sshd keeps the first value it reads for a keyword: this drop-in must sort before others.",
                "ClientAliveInterval 120", "ClientAliveCountMax 3", "LoginGraceTime 30", "TCPKeepAlive no",
                "MaxStartups 200:30:400", "MaxSessions 100", "AllowAgentForwarding no", "X11Forwarding no", ""].join("\n"),
        ],
    ])("%s", (_what, input, expected) => {
        expect(renderSshd(sshdSchema.parse(input))).toBe(expected);
    });
});
