// Public surface of the LLM module (model client, content extraction, option choice).
export { createLlm, OPENAI_BASE_URL } from "./llm-client.ts";
export type { CreateLlmOptions } from "./llm-client.ts";
export type { Llm, LlmJsonRequest, LlmLog, LlmTextRequest, LlmUsage } from "./llm-types.ts";
export { classifyLlmError, LlmDeadlineError, LlmInvalidJsonError, LlmTruncatedError } from "./llm-errors.ts";
export type { LlmErrorClass } from "./llm-errors.ts";
export {
  DEFAULT_INPUT_BUDGET_TOKENS,
  DEFAULT_MAX_CHUNKS,
  extractContent,
  extractionAsksModel,
  joinPagesMarkdown,
} from "./extract-content.ts";
export type {
  ExtractContentOptions,
  ExtractionFailureReason,
  ExtractionOutcome,
  ExtractionPage,
} from "./extract-content.ts";
export type { OutputMode } from "./build-extraction-prompt.ts";
export { chooseOption, MAX_CHOICE_OPTIONS, MAX_OPTION_CHARS } from "./choose-element.ts";
export type { ChooseOptionOptions } from "./choose-element.ts";
export { chooseLinks, DEFAULT_LINK_BATCH_SIZE } from "./choose-links.ts";
export type { ChooseLinksFailure, ChooseLinksOptions, ChooseLinksOutcome, LinkCandidate } from "./choose-links.ts";
