import { Type } from "@sinclair/typebox";

export const UsageRangeQuery = Type.Object({ range: Type.Optional(Type.String()) }, { additionalProperties: true });

/** One chart row (§10): integer requests, crawls, tokens and captchas (the Go SDK decodes ints). */
export const UsageRow = Type.Object({
  label: Type.String(),
  date: Type.String(),
  requests: Type.Integer(),
  crawls: Type.Integer(),
  tokens: Type.Integer(),
  captchas: Type.Integer(),
  latency: Type.Number(),
  credits: Type.Number(),
  /** Not in the Spidra contract (an extra field clients ignore): bytes through upstream proxies. */
  proxyBytes: Type.Integer(),
});

export const UsageResponse = Type.Object({ status: Type.Literal("success"), data: Type.Array(UsageRow) });
