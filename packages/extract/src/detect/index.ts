// Public surface of block detection (challenge / CAPTCHA / login wall / error / empty pages).
export { detectBlock } from "./detect-block.ts";
export type { BlockKind, BlockVerdict, DetectBlockInput } from "./detect-block.ts";
