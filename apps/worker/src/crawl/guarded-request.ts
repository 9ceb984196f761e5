import http from "node:http";
import https from "node:https";
import { checkTargetUrl, createGuardedLookup, type NetworkPolicy } from "@orbweaver/browser";

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
 */
export async function guardedRequest(opts: GuardedRequestOptions): Promise<GuardedResponse> {
  let url = opts.url;
  for (let hop = 0; ; hop++) {
    const check = await checkTargetUrl(url, opts.policy);
    if (!check.ok) throw new GuardedRequestError(`${url}: ${check.reason}`);
    const res = await requestOnce({ ...opts, url: check.url });
    const location = res.location;
    if (location && res.status >= 300 && res.status < 400 && hop < (opts.maxRedirects ?? 0)) {
      url = new URL(location, check.url).href;
      continue;
    }
    return { status: res.status, url: check.url, contentType: res.contentType, body: res.body };
  }
}

function requestOnce(
  opts: GuardedRequestOptions,
): Promise<{ status: number; contentType: string; location?: string; body: Buffer }> {
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
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers["content-type"] ?? ""),
            ...(res.headers.location ? { location: res.headers.location } : {}),
            body: Buffer.concat(chunks).subarray(0, opts.maxBytes),
          });
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
