import type { Config } from "./load-config.ts";

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/** A request URL as logged: the signature of a signed file link would let a log reader fetch the file. */
export function hideSignatures(url: string): string {
  return url.replace(/([?&]signature=)[^&#]*/gi, "$1[redacted]");
}

/**
 * pino options shared by every process. Secrets are redacted wherever they could appear: API keys,
 * Authorization and cookies in request headers, any `cookies` field a caller logs, and the signature
 * of signed file links in request URLs (Fastify's request log, otherwise as Fastify logs it).
 */
export function loggerOptions(config: Pick<Config, "logLevel">, name: string) {
  return {
    name,
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "headers.cookie",
        "headers.authorization",
        'headers["x-api-key"]',
        "cookies",
        "*.cookies",
        "key",
        "apiKey",
        // The CAPTCHA solver's account key, should a provider request body ever be logged.
        "clientKey",
        "*.clientKey",
      ],
      censor: "[redacted]",
    },
    serializers: {
      req: (req: LoggedRequest) => ({
        method: req.method,
        url: typeof req.url === "string" ? hideSignatures(req.url) : req.url,
        version: typeof req.headers?.["accept-version"] === "string" ? req.headers["accept-version"] : undefined,
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  };
}
