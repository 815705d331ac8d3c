// Signs a user in to the stand-in jellyfin-web through jellyguard in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core) and signs
// out again with the page's "Sign out" link, as a person trying the demo
// would.
//
//   node signout.mjs '<json>'
//
// where <json> is {"gateway":"http://127.0.0.1:…","username":…,"password":…,
// "chromium":"/usr/bin/chromium","timeoutMs":60000}.
//
// Prints one JSON line with what it saw and exits 0 when the flow went
// through, 1 with the reason on stderr when a step did not happen in time.

import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
for (const k of ['gateway', 'username', 'password', 'chromium']) {
    if (typeof cfg[k] !== 'string' || cfg[k] === '') {
        process.stderr.write(`signout.mjs: missing "${k}" in the JSON argument\n`);
        process.exit(2);
    }
}
const STEP_MS = 15000;
const base = new URL(cfg.gateway).origin;
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const result = {
    ok: false,
    token: '',           // the stored AccessToken once signed in
    linkBefore: false,   // the link was visible while signed in
    linkSignedOut: true, // the link was visible on the login page
    formAfter: false,    // the login form showed after signing out
    tokenAfter: '',      // the stored AccessToken after signing out
    logoutStatus: 0,     // the gateway's answer to POST /Sessions/Logout
};
let browser;

const watchdog = setTimeout(() => {
    process.stderr.write(`signout.mjs: the flow took longer than ${cfg.timeoutMs} ms\n`);
    const stop = browser ? browser.close() : Promise.resolve();
    stop.catch(() => {}).finally(() => process.exit(1));
}, cfg.timeoutMs || 60000);

const storedToken = (page) => page.evaluate(() => {
    let creds = {};
    try { creds = JSON.parse(localStorage.getItem('jellyfin_credentials') || '{}') || {}; } catch { creds = {}; }
    return (creds.Servers || []).map((s) => (s && s.AccessToken) || '').join('');
});

const state = (page, want) => page.waitForSelector(`body[data-state="${want}"]`, { timeout: STEP_MS });

async function run() {
    browser = await chromium.launch({ executablePath: cfg.chromium, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
    const page = await browser.newPage();
    page.setDefaultTimeout(STEP_MS);
    page.on('response', (res) => {
        const u = new URL(res.url());
        if (u.origin === base && u.pathname.toLowerCase() === '/sessions/logout') result.logoutStatus = res.status();
    });
    await page.goto(`${base}/web/`);
    await state(page, 'signed-out');
    result.linkSignedOut = await page.isVisible('#signOut');
    await page.fill('#username', cfg.username);
    await page.fill('#password', cfg.password);
    await page.click('#login');
    await state(page, 'signed-in');
    result.token = await storedToken(page);
    result.linkBefore = await page.isVisible('#signOut');
    await page.click('#signOut');
    await state(page, 'signed-out');
    result.formAfter = await page.isVisible('#loginForm');
    result.tokenAfter = await storedToken(page);
    result.ok = true;
}

try {
    await run();
} catch (err) {
    process.stderr.write(`signout.mjs: ${err && err.stack ? err.stack : err}\n`);
} finally {
    clearTimeout(watchdog);
    if (browser) await browser.close().catch(() => {});
}
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.ok ? 0 : 1);
