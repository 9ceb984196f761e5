/**
 * proxy-chain (the egress proxy, and many upstream proxies) answers a hop it could not make with a
 * status of its own in 590–599 (and 504 for a timeout), which no real site sends. Read as the page's
 * status it would say "The page answered HTTP 594"; this says what happened instead.
 */
const HOP_FAILURES: Record<number, string> = {
  590: "the upstream proxy answered with an error",
  592: "the upstream proxy answered with an invalid status",
  593: "the host name could not be resolved",
  594: "the connection was refused",
  595: "the connection was reset",
  596: "the connection broke",
  597: "the upstream proxy refused its credentials",
  599: "the upstream proxy failed",
};

/** What a proxy-chain hop status (590–599) means, or undefined for a status a site may send. */
export function describeHopFailure(status: number): string | undefined {
  if (status < 590 || status > 599) return undefined;
  return HOP_FAILURES[status] ?? "the connection failed";
}
