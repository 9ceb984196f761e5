import { ERROR_CODES, type ErrorCode } from "@orbweaver/contract";

/** The one error type routes throw; the error handler turns it into the contract's envelope. */
export class AppError extends Error {
  override name = "AppError";
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { errors?: string[]; retryAfter?: number } = {},
  ) {
    super(message);
    this.statusCode = ERROR_CODES[code].status;
  }
}

export interface ErrorBody {
  status: "error";
  message: string;
  error: string;
  code?: string;
  errors?: string[];
  retry_after?: number;
}

export function errorBody(
  message: string,
  opts: { code?: string | undefined; errors?: string[] | undefined; retryAfter?: number | undefined } = {},
): ErrorBody {
  const body: ErrorBody = { status: "error", message, error: message };
  if (opts.code) body.code = opts.code;
  if (opts.errors && opts.errors.length > 0) body.errors = opts.errors;
  if (opts.retryAfter !== undefined) body.retry_after = opts.retryAfter;
  return body;
}
