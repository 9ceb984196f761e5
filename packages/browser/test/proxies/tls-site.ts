import https from "node:https";
import type { AddressInfo } from "node:net";

/**
 * An https target on 127.0.0.1, so Chromium must CONNECT through the proxy
 * chain. Self-signed test-only certificate (P-256, SAN 127.0.0.1 and
 * localhost, valid until 2126); contexts use ignoreHTTPSErrors.
 */

const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgSlvdfKxb4c/OeDIu
gzHJmU0yAhXhLz0wK6keSKN17jqhRANCAARkTdoR7BJS0n/fFNLnMQdNZbI9iJYk
WX3qKSjmSEiq+HHgSHYGmarZDMabhmdSkuD4ib2IJncsT5D9ocaNmBPw
-----END PRIVATE KEY-----`;

const CERT = `-----BEGIN CERTIFICATE-----
MIIBpTCCAUugAwIBAgIUbZlCbPLX3lv5nchSONnpp/atl04wCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOb3Jid2VhdmVyLXRlc3QwIBcNMjYxMTI5MTcwMzE0WhgPMjEy
NjExMDUxNzAzMTRaMBkxFzAVBgNVBAMMDm9yYndlYXZlci10ZXN0MFkwEwYHKoZI
zj0CAQYIKoZIzj0DAQcDQgAEZE3aEewSUtJ/3xTS5zEHTWWyPYiWJFl96iko5khI
qvhx4Eh2Bpmq2QzGm4ZnUpLg+Im9iCZ3LE+Q/aHGjZgT8KNvMG0wHQYDVR0OBBYE
FK1LBmmU5TWVrFTbqPhjkpVKj7d2MB8GA1UdIwQYMBaAFK1LBmmU5TWVrFTbqPhj
kpVKj7d2MA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYcEfwAAAYIJbG9jYWxo
b3N0MAoGCCqGSM49BAMCA0gAMEUCIQDP9KXoKFZIN+etD1ICtA8msQSQYgcz95qn
GTONRTKSlgIgWIOTxnT80gYsgyivcvK7id2hKWIvQiuEJWy6Kq14a/0=
-----END CERTIFICATE-----`;

export interface TlsSite {
  port: number;
  origin: string;
  requests: number;
  close(): Promise<void>;
}

export async function startTlsSite(): Promise<TlsSite> {
  const server = https.createServer({ key: KEY, cert: CERT }, (_req, res) => {
    site.requests++;
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<title>tls site</title>${"y".repeat(2000)}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const site: TlsSite = {
    port,
    origin: `https://127.0.0.1:${port}`,
    requests: 0,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return site;
}
