/** `count` paragraphs of plain news prose: enough text for a page to be read as an article. */
export function prose(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `<p>Paragraph ${i + 1}: the harbour council approved the new budget after a long debate about the ferry timetable, and residents had asked for more frequent crossings in winter, when the coastal road is often closed.</p>`,
  ).join("\n");
}

/** A whole HTML document with this title and body. */
export const page = (title: string, body: string): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;
