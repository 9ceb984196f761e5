/**
 * Stable error codes and their HTTP status (one catalog; the gateway's error handler and the worker
 * both use it). `code` is sent to clients only where the contract names one, where a client must tell
 * one 403 from another (not enough credits vs. an invalid key), or for a behaviour of Orbweaver's own
 * beyond the contract (`Idempotency-Key`) (`exposeCode`).
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: { status: 400, exposeCode: false },
  SCHEMA_INVALID: { status: 422, exposeCode: false },
  IDEMPOTENCY_KEY_REUSED: { status: 422, exposeCode: true },
  UNAUTHENTICATED: { status: 401, exposeCode: false },
  INVALID_API_KEY: { status: 403, exposeCode: false },
  INSUFFICIENT_CREDITS: { status: 403, exposeCode: true },
  PAYMENT_OVERDUE: { status: 402, exposeCode: true },
  NOT_FOUND: { status: 404, exposeCode: false },
  ALREADY_TERMINAL: { status: 409, exposeCode: true },
  PAYLOAD_TOO_LARGE: { status: 413, exposeCode: false },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exposeCode: false },
  RATE_LIMITED: { status: 429, exposeCode: false },
  TOO_MANY_PENDING_JOBS: { status: 429, exposeCode: true },
  SERVICE_BUSY: { status: 503, exposeCode: true },
  INTERNAL: { status: 500, exposeCode: false },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
