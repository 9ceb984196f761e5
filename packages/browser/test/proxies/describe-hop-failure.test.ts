import { describe, expect, it } from "vitest";
import { describeHopFailure } from "../../src/proxies/describe-hop-failure.ts";

describe("describeHopFailure", () => {
  it.each([
    [594, "the connection was refused"],
    [597, "the upstream proxy refused its credentials"],
    [593, "the host name could not be resolved"],
    [591, "the connection failed"],
  ])("reads proxy-chain's %i", (status, text) => {
    expect(describeHopFailure(status)).toBe(text);
  });

  it("leaves the statuses of sites alone", () => {
    for (const status of [200, 404, 500, 502, 503, 504, 589, 600]) expect(describeHopFailure(status)).toBeUndefined();
  });
});
