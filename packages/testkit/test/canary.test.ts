import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startCanary, waitFor } from "../src/index.ts";
import type { Canary } from "../src/index.ts";

let canary: Canary | undefined;
afterEach(async () => {
  await canary?.close();
  canary = undefined;
});

describe("canary", () => {
  it("answers 'canary' and counts one plain fetch as one hit", async () => {
    canary = await startCanary();
    expect(canary.hits()).toBe(0);
    const res = await fetch(canary.url("/anything"));
    expect(await res.text()).toBe("canary");
    expect(canary.hits()).toBe(1);
    expect(canary.requests()).toBe(1);
  });

  it("counts raw TCP connections that send nothing", async () => {
    canary = await startCanary();
    const socket = connect(canary.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    const c = canary;
    await waitFor(() => c.hits() === 1, {
      timeoutMs: 2000,
      message: "tcp connection counted",
    });
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(canary.hits()).toBe(1);
    expect(canary.requests()).toBe(0);
  });

  it("counts CONNECT attempts", async () => {
    canary = await startCanary();
    const c = canary;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({
        host: "127.0.0.1",
        port: c.port,
        method: "CONNECT",
        path: "internal.example:443",
      });
      req.on("connect", (res, socket) => {
        socket.destroy();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
    expect(canary.requests()).toBe(1);
    expect(canary.hits()).toBe(1);
  });
});
