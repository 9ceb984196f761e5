import { loggerOptions } from "@orbweaver/config";
import { Writable } from "node:stream";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "./helpers/http.ts";
import { runCli } from "./helpers/spawn.ts";
import { startTestStack, type TestStack } from "./helpers/stack.ts";

/**
 * Gaps found by mutation testing of the gateway's request plugins (json-body, storable-text,
 * error-handler), the operator CLI and the log redaction every process uses: each test here fails
 * with a plausible bug in one of them that the rest of the suite let through.
 */
let stack: TestStack;
let key: string;

type Envelope = { status: string; message: string; error: string; errors?: string[] };

beforeAll(async () => {
  // No worker: only what the gateway accepts or refuses, and what the CLI does, is looked at.
  stack = await startTestStack({ worker: false, env: { BODY_LIMIT_BYTES: "16384" } });
  key = (await stack.createKey(1000)).key;
});
afterAll(async () => {
  await stack?.stop();
});

/** A valid scrape body as JSON text, with `extra` (raw JSON members) spliced in. */
const scrapeText = (extra: string) => `{"urls":[{"url":"http://127.0.0.1:9/page"}],${extra}}`;
const postRaw = (rawBody: string) => call<Envelope>(`${stack.api}/scrape`, { key, rawBody });

describe("JSON bodies (mutation audit)", () => {
  it("takes a body nested exactly 64 levels deep and refuses 65", async () => {
    // The body object is level 1; an unknown member nested 63 arrays deep brings it to 64.
    const nested = (levels: number) => scrapeText(`"junk":${"[".repeat(levels)}${"]".repeat(levels)}`);
    const at64 = await postRaw(nested(63));
    expect(at64.status, JSON.stringify(at64.body)).toBe(202);
    const at65 = await postRaw(nested(64));
    expect(at65.status).toBe(400);
    expect(at65.body.message).toBe("Request body is nested too deeply (more than 64 levels)");
    expect(at65.body.errors).toEqual([at65.body.message]);
  });

  it("does not count brackets inside strings, escaped quotes included", async () => {
    // A prompt quoting JSON: 100 brackets, after an escaped quote and an escaped backslash.
    const brackets = "[{".repeat(50);
    for (const prompt of [brackets, `say \\"${brackets}`, `path C:\\\\${brackets}`, `\\\\\\"${brackets}`]) {
      const res = await postRaw(scrapeText(`"prompt":"${prompt}"`));
      expect(res.status, `${prompt.slice(0, 12)}: ${JSON.stringify(res.body)}`).toBe(202);
    }
  });

  it("refuses unpaired surrogates written in upper case (\\uD800) and takes an upper-case pair", async () => {
    for (const escape of ["\\uD800", "\\uDFFF", "\\uDbFf"]) {
      const res = await postRaw(scrapeText(`"prompt":"a${escape}b"`));
      expect(res.status, escape).toBe(400);
      expect(res.body.message).toBe(
        "body.prompt must be well-formed Unicode (it holds an unpaired surrogate such as \\ud800)",
      );
    }
    expect((await postRaw(scrapeText(`"prompt":"smile \\uD83D\\uDE00"`))).status).toBe(202);
  });

  it("reads `Content-Type: application/json` with no body on a DELETE as no body", async () => {
    for (const path of [
      "/crawl/00000000-0000-0000-0000-000000000000",
      "/batch/scrape/00000000-0000-0000-0000-000000000000",
    ]) {
      const res = await call<Envelope>(`${stack.api}${path}`, { key, method: "DELETE", rawBody: "" });
      expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(404);
      const spaces = await call<Envelope>(`${stack.api}${path}`, { key, method: "DELETE", rawBody: "  \n" });
      expect(spaces.status, `${path}: ${JSON.stringify(spaces.body)}`).toBe(404);
    }
  });

  it("lists the first 20 problems of a body with many, and counts the rest", async () => {
    const actions = Array.from({ length: 30 }, () => ({}));
    const res = await call<Envelope>(`${stack.api}/scrape`, {
      key,
      body: { urls: [{ url: "http://127.0.0.1:9/page", actions }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(21);
    expect(res.body.errors![20]).toMatch(/^… and \d+ more$/);
  });
});

describe("operator CLI (mutation audit)", () => {
  it("refuses an unknown start role as a usage error instead of starting nothing", async () => {
    const res = await runCli(["start", "--role", "gateway"], stack.env);
    expect(res.code, res.output).toBe(64);
    expect(res.output).toContain('unknown role "gateway"');
    expect(res.output).toContain("Usage:");
  });

  it("refuses limits that are not positive integers", async () => {
    const { accountId } = await stack.createKey(1);
    for (const args of [
      ["--pending-scrapes", "0"],
      ["--rate-limit", "1.5"],
      ["--pending-crawls", "ten"],
    ]) {
      const res = await runCli(["accounts", "set-limits", "--account", accountId, ...args], stack.env);
      expect(res.code, `${args.join(" ")}: ${res.output}`).toBe(64);
      expect(res.output).toContain(`${args[0]} must be a positive integer or "default"`);
    }
  });

  it("refuses a credits amount that is not a number, and creates a key with 0 credits by default", async () => {
    const created = await runCli(["keys", "create", "--name", "mut-zero", "--json"], stack.env);
    expect(created.code, created.output).toBe(0);
    const { accountId, key: newKey } = JSON.parse(created.stdout.trim()) as { accountId: string; key: string };
    expect(await stack.balance(accountId)).toBe(0);
    for (const amount of ["abc", " ", "Infinity"]) {
      const res = await runCli(["credits", "add", "--account", accountId, "--credits", amount], stack.env);
      expect(res.code, `${amount}: ${res.output}`).toBe(64);
      expect(res.output).toContain("--credits must be a number");
    }
    expect(await stack.balance(accountId)).toBe(0);

    // Revoking needs a key or an id; a key revoked once matches nothing the second time.
    expect((await runCli(["keys", "revoke"], stack.env)).code).toBe(64);
    expect((await runCli(["keys", "revoke", "--key", newKey], stack.env)).code).toBe(0);
    const again = await runCli(["keys", "revoke", "--key", newKey], stack.env);
    expect(again.code, again.output).toBe(1);
    expect(again.output).toContain("no active key matched");
  });

  it("names a bad PROXY_POOL entry without printing its credentials", async () => {
    const res = await runCli(["start", "--role", "worker"], {
      ...stack.env,
      PROXY_POOL: "us=ftp://proxyuser:Sup3rS3cretPw@proxy.example:8000",
    });
    expect(res.code, res.output).toBe(1);
    expect(res.output).toContain("PROXY_POOL");
    expect(res.output).not.toContain("Sup3rS3cretPw");
  });
});

describe("log redaction (mutation audit)", () => {
  /** Lines logged through the options every process uses (`loggerOptions`). */
  function capture(): { log: pino.Logger; text: () => string } {
    let text = "";
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    return { log: pino(loggerOptions({ logLevel: "trace" }, "test"), sink), text: () => text };
  }

  it("never writes API keys, Authorization, cookies, CAPTCHA keys or link signatures", () => {
    const { log, text } = capture();
    const secrets = {
      apiKey: "spd_live_key_0123456789abcdef",
      bearer: "spd_bearer_key_fedcba9876543210",
      cookie: "session=cookie-secret-4242",
      setCookie: "sid=set-cookie-secret-777",
      captcha: "captcha-client-key-31337",
      signature: "sig0123456789abcdefsig",
    };
    log.info({
      req: {
        method: "GET",
        url: `/api/files/abc.png?expires=1&signature=${secrets.signature}`,
        headers: { "x-api-key": secrets.apiKey, authorization: `Bearer ${secrets.bearer}`, cookie: secrets.cookie },
      },
      res: { headers: { "set-cookie": secrets.setCookie } },
    });
    log.warn({
      headers: { "x-api-key": secrets.apiKey, authorization: `Bearer ${secrets.bearer}`, cookie: secrets.cookie },
    });
    log.info({ cookies: secrets.cookie, job: { cookies: secrets.cookie } }, "job cookies");
    log.info({ key: secrets.apiKey, apiKey: secrets.bearer }, "key lookup");
    log.info({ clientKey: secrets.captcha, task: { clientKey: secrets.captcha } }, "captcha request");
    const out = text();
    expect(out).toContain("signature=[redacted]");
    expect(out).toContain("/api/files/abc.png");
    for (const [name, secret] of Object.entries(secrets)) {
      expect(out.includes(secret), `${name} in the logs:\n${out}`).toBe(false);
    }
  });
});
