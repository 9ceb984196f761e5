// Local models in json_object mode (and any model in fallback mode) often wrap
// their JSON in Markdown fences or a sentence; recover the JSON when it is
// unambiguous, otherwise report failure.

const FENCE = /^```[a-zA-Z0-9_-]*\s*\n?([\s\S]*?)\n?```$/;

function tryParse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Parses a model reply as JSON: verbatim, then without code fences, then the outermost {…} or […] span. */
export function parseJsonReply(text: string): { ok: true; value: unknown } | { ok: false } {
  const trimmed = text.trim();
  if (!trimmed) return { ok: false };
  const direct = tryParse(trimmed);
  if (direct.ok) return direct;

  const fenced = FENCE.exec(trimmed);
  if (fenced?.[1] !== undefined) {
    const inner = tryParse(fenced[1].trim());
    if (inner.ok) return inner;
  }

  for (const [open, close] of [
    ["{", "}"],
    ["[", "]"],
  ] as const) {
    const start = trimmed.indexOf(open);
    const end = trimmed.lastIndexOf(close);
    if (start >= 0 && end > start) {
      const span = tryParse(trimmed.slice(start, end + 1));
      if (span.ok) return span;
    }
  }
  return { ok: false };
}
