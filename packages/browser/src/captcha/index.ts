// Public surface of CAPTCHA solving: widget detection and token delivery in the page, and a client
// of the createTask/getTaskResult provider API.
export { CAPTCHA_TASK_TYPES, createCaptchaSolver } from "./captcha-solver.ts";
export type { CaptchaSolveResult, CaptchaSolver, CaptchaSolverOptions, CaptchaTask } from "./captcha-solver.ts";
export { findCaptchaWidget, submitCaptchaToken } from "./captcha-widget.ts";
export type { SubmitCaptchaTokenOptions, SubmittedToken } from "./captcha-widget.ts";
export type { CaptchaKind, CaptchaWidget, TokenDelivery } from "./captcha-types.ts";
