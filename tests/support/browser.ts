/**
 * A real browser for the web page's tests: Debian's Chromium, headless, driven by
 * playwright-core (which downloads no browser of its own). Tests skip, saying so, where
 * Chromium is missing; `.ci/run` installs it.
 * @module
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium (`apt-get install chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Whether Chromium is installed; tests that need it are ignored (with a message) otherwise. */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    console.warn(`${CHROMIUM} not found: the browser tests are skipped (apt-get install chromium)`);
    return false;
  }
})();

/**
 * Flags for a sandboxed build machine: no sandbox (root in a container), no GPU, and nothing
 * that calls out to Google's services (the machine's closed network refuses those, and each
 * refusal is noise in the log). Playwright adds `--headless` and the user data dir.
 */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser with a fresh profile, and a folder for the test's screenshots. */
export interface TestBrowser {
  context: BrowserContext;
  /** Where {@linkcode TestBrowser.screenshot} saves: a temporary folder kept after the test. */
  screenshots: string;
  /** A new tab whose console errors and uncaught exceptions are collected. */
  page(): Promise<WatchedPage>;
  /**
   * Saves `page` as `<name>.png` in {@linkcode TestBrowser.screenshots}, and in
   * `$WEB_SCREENSHOTS_DIR` as `web-<name>.png` when it is set (how `docs/` is refreshed).
   */
  screenshot(page: Page, name: string): Promise<void>;
}

/** A tab and what went wrong in it. */
export interface WatchedPage {
  page: Page;
  /** Console errors (including failed resource loads) and uncaught exceptions, in order. */
  errors: string[];
}

/**
 * Runs `test` with a headless Chromium on a fresh profile, closed and removed afterwards. The
 * screenshots stay, for a person to look at; their folder is printed.
 */
export async function withBrowser(
  name: string,
  test: (browser: TestBrowser) => Promise<void>,
): Promise<void> {
  const profile = await Deno.makeTempDir({ prefix: "gitfaas-browser-" });
  const screenshots = await Deno.makeTempDir({ prefix: `gitfaas-screenshots-${name}-` });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    // Dates on the page are written in the browser's time zone and language.
    locale: "en-GB",
    timezoneId: "UTC",
  });
  const copyTo = Deno.env.get("WEB_SCREENSHOTS_DIR");
  try {
    await test({
      context,
      screenshots,
      async page() {
        const page = await context.newPage();
        const errors: string[] = [];
        page.on("console", (message) => {
          if (message.type() === "error") errors.push(message.text());
        });
        page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
        return { page, errors };
      },
      async screenshot(page, name) {
        const path = `${screenshots}/${name}.png`;
        await page.screenshot({ path, fullPage: true });
        if (copyTo) await Deno.copyFile(path, `${copyTo}/web-${name}.png`);
      },
    });
  } finally {
    await context.close();
    await Deno.remove(profile, { recursive: true }).catch(() => undefined);
    console.log(`screenshots: ${screenshots}`);
  }
}
