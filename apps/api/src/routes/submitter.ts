import type { FastifyRequest } from "fastify";

/** What a submit use case takes from its request: the caller's account and limits, the body, the logger. */
export function submitter<B>(request: FastifyRequest & { body: B }) {
  return {
    accountId: request.account.accountId,
    limits: request.account.limits,
    body: request.body,
    log: request.log,
  };
}
