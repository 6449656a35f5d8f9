// Headless Chromium for the console's browser tests: Debian's `chromium` package driven by
// playwright-core (which downloads no browser of its own). Tests skip with this reason without it.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** The `skip` option of a browser test: false when Chromium is installed, else why the test skips. */
export const SKIP_WITHOUT_BROWSER: false | string = CHROMIUM
  ? false
  : "no Chromium: install Debian's chromium package (apt-get install chromium; .ci/run does) to run the console's browser tests";

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}
