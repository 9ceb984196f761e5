import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { checkTargetUrl, createGuardedLookup, redactUrl, sendViaProxy, type NetworkPolicy } from "@orbweaver/browser";

/** Options for {@link guardedRequest}. */
export interface GuardedRequestOptions {
  url: string;
  policy: NetworkPolicy;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** Larger bodies are cut here (the rest is not read). */
  maxBytes: number;
  /** Redirects followed (each target checked again). Default 0. */
  maxRedirects?: number;
  /**
   * GET through the worker's egress proxy under this tag (its SSRF rule, the tag's upstream proxy,
   * its byte count) instead of a direct connection: a proxied crawl's robots.txt and sitemaps.
   */
  egress?: { proxyUrl: string; tag: string };
}

export interface GuardedResponse {
  status: number;
  url: string;
  contentType: string;
  body: Buffer;
}

/** A request the SSRF rule refused, or one that could not be made at all. */
export class GuardedRequestError extends Error {
  override name = "GuardedRequestError";
}

/**
 * An HTTP(S) request outside the browser (robots.txt, sitemaps, webhooks) under the same SSRF rule
 * as every target: the URL is checked first (IP literals, which skip DNS), and the socket connects
 * through a lookup that checks what it resolves, so the checked address is the one connected to.
 * With `egress` the request goes through the worker's egress proxy instead, which applies the same
 * rule when it connects.
 */
export async function guardedRequest(opts: GuardedRequestOptions): Promise<GuardedResponse> {
  let url = opts.url;
  for (let hop = 0; ; hop++) {
    const check = await checkTargetUrl(url, opts.policy);
    // Webhook URLs often carry a token: the message (logged) names the address without it.
    if (!check.ok) throw new GuardedRequestError(`${redactUrl(url)}: ${check.reason}`);
    const res = opts.egress
      ? await requestViaEgress({ ...opts, url: check.url }, opts.egress)
      : await requestOnce({ ...opts, url: check.url });
    const location = res.location;
    if (location && res.status >= 300 && res.status < 400 && hop < (opts.maxRedirects ?? 0)) {
      url = new URL(location, check.url).href;
      continue;
    }
    return { status: res.status, url: check.url, contentType: res.contentType, body: res.body };
  }
}

type Hop = { status: number; contentType: string; location?: string; body: Buffer };

/** The answer as a hop: status, type, redirect target, and the body read so far cut at `maxBytes`. */
function toHop(res: IncomingMessage, chunks: Buffer[], maxBytes: number): Hop {
  return {
    status: res.statusCode ?? 0,
    contentType: String(res.headers["content-type"] ?? ""),
    ...(res.headers.location ? { location: res.headers.location } : {}),
    body: Buffer.concat(chunks).subarray(0, maxBytes),
  };
}

/** One GET through the egress proxy, read up to `maxBytes` within `timeoutMs`. */
async function requestViaEgress(opts: GuardedRequestOptions, egress: { proxyUrl: string; tag: string }): Promise<Hop> {
  if ((opts.method ?? "GET") !== "GET") throw new GuardedRequestError("only GET goes through the egress proxy");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs);
  timer.unref();
  try {
    const hop = await sendViaProxy({
      url: new URL(opts.url),
      proxy: new URL(egress.proxyUrl),
      tag: egress.tag,
      headers: { ...opts.headers },
      signal: controller.signal,
    });
    if (!hop.ok) {
      throw new GuardedRequestError(controller.signal.aborted ? `no answer within ${opts.timeoutMs} ms` : hop.message);
    }
    const res = hop.response;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= opts.maxBytes) break;
    }
    res.destroy();
    if (controller.signal.aborted) throw new GuardedRequestError(`no answer within ${opts.timeoutMs} ms`);
    return toHop(res, chunks, opts.maxBytes);
  } catch (err) {
    if (err instanceof GuardedRequestError) throw err;
    throw new GuardedRequestError(controller.signal.aborted ? `no answer within ${opts.timeoutMs} ms` : String(err));
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function requestOnce(opts: GuardedRequestOptions): Promise<Hop> {
  const target = new URL(opts.url);
  const port = target.port ? Number(target.port) : target.protocol === "https:" ? 443 : 80;
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: opts.method ?? "GET",
        headers: {
          ...opts.headers,
          ...(opts.body !== undefined ? { "content-length": Buffer.byteLength(opts.body) } : {}),
        },
        lookup: createGuardedLookup(opts.policy, { port }),
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size >= opts.maxBytes) return;
          chunks.push(chunk);
          size += chunk.length;
          if (size >= opts.maxBytes) res.destroy();
        });
        const done = () => resolve(toHop(res, chunks, opts.maxBytes));
        res.on("end", done);
        res.on("close", done);
        res.on("error", () => done());
      },
    );
    const timer = setTimeout(
      () => req.destroy(new GuardedRequestError(`no answer within ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    timer.unref();
    req.on("close", () => clearTimeout(timer));
    req.on("timeout", () => req.destroy(new GuardedRequestError(`no answer within ${opts.timeoutMs} ms`)));
    req.on("error", (err) => reject(err instanceof GuardedRequestError ? err : new GuardedRequestError(err.message)));
    req.end(opts.body);
  });
}
