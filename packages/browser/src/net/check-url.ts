import dns from "node:dns";
import type { LookupAddress, LookupOptions } from "node:dns";
import net from "node:net";
import type { LookupFunction } from "node:net";
import { classifyAddress, describeRange } from "./ip-ranges.ts";
import { isHostAllowedByException, normaliseHost } from "./network-policy.ts";
import type { NetworkPolicy } from "./network-policy.ts";
import { isWebProtocol } from "../web-url.ts";

/** Resolves a hostname to every address; injectable so tests can simulate DNS. */
export type LookupFn = (hostname: string) => Promise<LookupAddress[]>;

export const systemLookup: LookupFn = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export type UrlCheckCode = "INVALID_URL" | "UNSUPPORTED_SCHEME" | "FORBIDDEN_ADDRESS" | "HOST_NOT_FOUND";

export type UrlCheck =
  | { ok: true; /** WHATWG-normalised href. */ url: string }
  | {
      ok: false;
      code: UrlCheckCode;
      /** Human readable, e.g. "127.0.0.1 is a loopback address" (a literal IP is named, a resolved one never). */
      reason: string;
    };

export type HostCheck =
  | { ok: true; /** Addresses that passed the check; connect to these and nothing else. */ addresses: LookupAddress[] }
  | {
      ok: false;
      code: "FORBIDDEN_ADDRESS" | "HOST_NOT_FOUND";
      reason: string;
      /** The forbidden address a host name resolved to: for operators' logs, never in `reason`. */
      address?: string;
    };

function isLocalhostName(host: string): boolean {
  // RFC 6761: localhost and *.localhost always mean loopback, whatever DNS says.
  return host === "localhost" || host.endsWith(".localhost");
}

const NOT_FOUND_CODES = new Set(["ENOTFOUND", "ENODATA", "EAI_NONAME", "EAI_NODATA", "EAI_AGAIN", "EAI_FAIL"]);

/**
 * Resolves `hostname` and checks every address against the policy. One
 * forbidden address refuses the whole host: the connect step may pick any of
 * them, and a name answering "public + 127.0.0.1" is a classic rebinding trick.
 */
export async function resolveAndCheckHost(
  hostname: string,
  port: number,
  policy: NetworkPolicy,
  lookup: LookupFn = systemLookup,
): Promise<HostCheck> {
  const host = normaliseHost(hostname);
  if (host === undefined) return { ok: false, code: "HOST_NOT_FOUND", reason: `${hostname} is not a valid host` };
  const enforce = !policy.allowPrivateNetwork && !isHostAllowedByException(policy, host, port);
  const family = net.isIP(host);
  if (family !== 0) {
    if (enforce) {
      const cls = classifyAddress(host);
      if (cls.forbidden)
        return { ok: false, code: "FORBIDDEN_ADDRESS", reason: `${host} is ${describeRange(cls.range)} address` };
    }
    return { ok: true, addresses: [{ address: host, family }] };
  }
  if (enforce && isLocalhostName(host)) {
    return { ok: false, code: "FORBIDDEN_ADDRESS", reason: `${host} is a loopback name` };
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    const why = NOT_FOUND_CODES.has(code) ? "could not be resolved" : `lookup failed (${code || String(err)})`;
    return { ok: false, code: "HOST_NOT_FOUND", reason: `${host} ${why}` };
  }
  if (addresses.length === 0) return { ok: false, code: "HOST_NOT_FOUND", reason: `${host} has no addresses` };
  if (enforce) {
    for (const a of addresses) {
      const cls = classifyAddress(a.address);
      if (cls.forbidden) {
        // The reason reaches the caller (a 400 at submit, a job's error): it names the kind of
        // range, not the address, which would tell an outsider what an internal name maps to.
        return {
          ok: false,
          code: "FORBIDDEN_ADDRESS",
          reason: `${host} resolves to ${describeRange(cls.kind)} address, which is not allowed`,
          address: a.address,
        };
      }
    }
  }
  return { ok: true, addresses };
}

/**
 * Checks a scrape target before it is queued. Credentials in the URL
 * (`http://user:pass@host/`) are allowed: they do not change where the
 * request goes, and the WHATWG parser extracts the real host, so
 * `http://example.com@127.0.0.1/` is checked (and refused) as 127.0.0.1.
 *
 * Passing this check is not enough on its own: DNS may answer differently at
 * fetch time and pages redirect. The egress proxy re-checks every connection.
 */
export async function checkTargetUrl(
  rawUrl: string,
  policy: NetworkPolicy,
  opts?: { lookup?: LookupFn },
): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(rawUrl.trim());
  } catch {
    return { ok: false, code: "INVALID_URL", reason: "not a valid absolute URL" };
  }
  if (!isWebProtocol(url.protocol)) {
    return {
      ok: false,
      code: "UNSUPPORTED_SCHEME",
      reason: `${url.protocol.slice(0, -1)} URLs are not supported; use http or https`,
    };
  }
  if (url.hostname === "") return { ok: false, code: "INVALID_URL", reason: "URL has no host" };
  const port = url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const res = await resolveAndCheckHost(url.hostname, port, policy, opts?.lookup);
  if (!res.ok) return res;
  return { ok: true, url: url.href };
}

function lookupError(message: string, code: string, hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code, hostname });
}

function familyOf(options: LookupOptions | undefined): 0 | 4 | 6 {
  const f: unknown = options?.family;
  if (f === 4 || f === "IPv4") return 4;
  if (f === 6 || f === "IPv6") return 6;
  return 0;
}

/** Answers a `dns.lookup`-shaped call from a fixed address list. */
function answer(
  hostname: string,
  addresses: LookupAddress[],
  options: LookupOptions | undefined,
  callback: Parameters<LookupFunction>[2],
): void {
  const fam = familyOf(options);
  const usable = fam === 0 ? addresses : addresses.filter((a) => a.family === fam);
  const first = usable[0];
  if (first === undefined) {
    callback(lookupError(`${hostname} has no IPv${fam} address`, "ENOTFOUND", hostname), options?.all ? [] : "", 0);
    return;
  }
  if (options?.all) callback(null, usable);
  else callback(null, first.address, first.family);
}

/** Normalises the (hostname, cb) and (hostname, options, cb) call shapes of dns.lookup. */
function withOptions(
  impl: (hostname: string, options: LookupOptions | undefined, cb: Parameters<LookupFunction>[2]) => void,
): LookupFunction {
  return ((hostname: string, options: unknown, callback?: unknown) => {
    if (typeof options === "function") {
      impl(hostname, undefined, options as Parameters<LookupFunction>[2]);
      return;
    }
    const opts = typeof options === "number" ? { family: options } : (options as LookupOptions | undefined);
    impl(hostname, opts, callback as Parameters<LookupFunction>[2]);
  }) as LookupFunction;
}

/**
 * A `dns.lookup` replacement for `net.connect({ lookup })` / `http.request({ lookup })`
 * that checks what it resolves before handing it to the socket, so the address
 * checked is the address connected to (no DNS-rebinding window). Fails with
 * code `ERR_FORBIDDEN_ADDRESS` (or `ENOTFOUND`). Note: Node skips `lookup` for
 * IP-literal hosts, so check literals before connecting (resolveAndCheckHost does).
 * `port` lets `host:port` exceptions apply; without it only bare-host exceptions do.
 */
export function createGuardedLookup(
  policy: NetworkPolicy,
  opts?: { port?: number; lookup?: LookupFn },
): LookupFunction {
  return withOptions((hostname, options, callback) => {
    resolveAndCheckHost(hostname, opts?.port ?? 0, policy, opts?.lookup).then(
      (res) => {
        if (!res.ok) {
          const code = res.code === "FORBIDDEN_ADDRESS" ? "ERR_FORBIDDEN_ADDRESS" : "ENOTFOUND";
          callback(lookupError(res.reason, code, hostname), options?.all ? [] : "", 0);
          return;
        }
        answer(hostname, res.addresses, options, callback);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, options?.all ? [] : "", 0),
    );
  });
}

/** A lookup that only ever returns addresses already checked by resolveAndCheckHost. */
export function createPinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return withOptions((hostname, options, callback) => {
    // Async like the real dns.lookup; net.connect relies on that ordering.
    process.nextTick(() => answer(hostname, addresses, options, callback));
  });
}
