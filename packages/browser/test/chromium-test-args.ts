/** Flags the browser tests launch Chromium with: no sandbox (root in containers), no background traffic. */
export const TEST_CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
