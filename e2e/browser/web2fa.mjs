// Signs a TOTP user in to jellyfin-web through jellyguard in headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser
// download), the way a person would:
//
//   1. open <gateway>/web/ and sign in on the login page with username and
//      password; the gateway withholds the session and the script it
//      injected sends the browser to /jellyguard/challenge;
//   2. enter the current TOTP code, tick "trust this browser", submit; the
//      browser lands on /web/ signed in;
//   3. open the Setup page while signed in;
//   4. sign out the way jellyfin-web does (the token leaves localStorage,
//      cookies stay) and sign in again: the trusted browser skips the
//      challenge.
//
// Every response of the gateway with status 401 is recorded, with the phase
// it came in. Screenshots of the challenge and Setup pages are saved at
// phone (390x844) and desktop (1280x800) size.
//
//   node web2fa.mjs '<json>'
//
// where <json> is {"gateway":"http://127.0.0.1:…","username":…,"password":…,
// "secret":"<base32 TOTP secret>","artifacts":"<dir>","userDataDir":"<fresh dir>",
// "chromium":"/usr/bin/chromium","timeoutMs":90000}.
//
// Prints one JSON line with what it saw and exits 0 when the flow went
// through; exits 1 with the reason on stderr (and failure.png in the
// artifacts directory) when a step did not happen in time.

import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
for (const k of ['gateway', 'username', 'password', 'secret', 'artifacts', 'userDataDir', 'chromium']) {
    if (typeof cfg[k] !== 'string' || cfg[k] === '') {
        process.stderr.write(`web2fa.mjs: missing "${k}" in the JSON argument\n`);
        process.exit(2);
    }
}
const STEP_MS = 15000; // one page step: a navigation, a selector, a click
const gateway = new URL(cfg.gateway);
const base = gateway.origin;

// The flags these machines need for Debian's chromium; playwright adds
// --headless for headless: true.
const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

// --- RFC 6238 TOTP (SHA-1, 6 digits, 30 s) ------------------------------

function base32(s) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = 0, value = 0;
    const out = [];
    for (const c of s.replace(/=+$/, '').toUpperCase()) {
        const i = alphabet.indexOf(c);
        if (i < 0) throw new Error(`not base32: ${JSON.stringify(c)}`);
        value = (value << 5) | i;
        bits += 5;
        if (bits >= 8) {
            out.push((value >>> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return Buffer.from(out);
}

function totp(secret, now = Date.now()) {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(Math.floor(now / 30000)));
    const mac = createHmac('sha1', base32(secret)).update(counter).digest();
    const offset = mac[mac.length - 1] & 0x0f;
    return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

// --- the run ------------------------------------------------------------

const result = {
    ok: false,
    injected: false,
    serverId: '',
    userId: '',
    firstToken: '',
    secondToken: '',
    firstStatus: '',
    secondStatus: '',
    challengeUrl: '',
    secondLandedOn: '',
    secondVisitedChallenge: false,
    usersMeInPage: 0,
    setupUser: '',
    cookies: [],
    count401: 0,
    responses401: [],
    navigations: [],
    screenshots: [],
    timings: {},
};
let phase = 'start';
let context;

const started = Date.now();
const mark = (name) => { result.timings[name] = Date.now() - started; };
const log = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

const watchdog = setTimeout(() => {
    process.stderr.write(`web2fa.mjs: the whole flow took longer than ${cfg.timeoutMs} ms (phase ${phase})\n`);
    const stop = context ? context.close() : Promise.resolve();
    stop.catch(() => {}).finally(() => process.exit(1));
}, cfg.timeoutMs || 90000);

async function shoot(page, name, size) {
    await page.setViewportSize(size);
    // Let layout settle at the new width before the picture.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const path = join(cfg.artifacts, `${name}-${size.width}x${size.height}.png`);
    await page.screenshot({ path, fullPage: true });
    result.screenshots.push(path);
}

// state reads the stand-in app's data-state, or '' while a page loads.
async function state(page) {
    try {
        return await page.evaluate(() => (document.body && document.body.dataset.state) || '');
    } catch {
        return ''; // the page navigated while we asked
    }
}

// where tells where the browser is: 'challenge' on the challenge page, the
// stand-in app's state on /web/ ('signed-in', 'signed-out', 'loading', …),
// or the path elsewhere.
async function where(page) {
    const path = new URL(page.url()).pathname.toLowerCase();
    if (path.endsWith('/jellyguard/challenge')) return 'challenge';
    if (path.startsWith('/web/')) return (await state(page)) || 'loading';
    return path;
}

// until waits until the browser is in one of the wanted places (see where)
// and returns it. While a sign-in is under way the page briefly shows
// intermediate states (an error line before the script follows the
// challenge, the old page before a form post lands), so only the wanted
// places end the wait; anything else is reported when time runs out.
async function until(page, ...wanted) {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
        const at = await where(page);
        if (wanted.includes(at)) {
            if (at === 'challenge') await page.waitForSelector('#code', { timeout: STEP_MS });
            return at;
        }
        if (Date.now() > deadline) {
            const alert = await page.evaluate(() => {
                const el = document.querySelector('#error:not([hidden]), .alert');
                return el ? el.textContent.trim() : '';
            }).catch(() => '');
            throw new Error(`${phase}: wanted ${wanted.join(' or ')} within ${STEP_MS} ms, but the browser is at ${page.url()} (${at})` +
                (alert ? `, showing ${JSON.stringify(alert)}` : ''));
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

// savedEntry reads jellyfin-web's saved server entry for serverId.
async function savedEntry(page, serverId) {
    return page.evaluate((id) => {
        const creds = JSON.parse(localStorage.getItem('jellyfin_credentials') || '{}');
        const servers = (creds && Array.isArray(creds.Servers)) ? creds.Servers : [];
        return servers.find((s) => s && String(s.Id || '').toLowerCase() === id.toLowerCase()) || null;
    }, serverId);
}

async function signIn(page) {
    await page.fill('#username', cfg.username);
    await page.fill('#password', cfg.password);
    await page.click('#login');
}

async function run() {
    mkdirSync(cfg.artifacts, { recursive: true });
    context = await chromium.launchPersistentContext(cfg.userDataDir, {
        executablePath: cfg.chromium,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: DESKTOP,
        timeout: 30000,
    });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    context.on('response', (res) => {
        let u;
        try { u = new URL(res.url()); } catch { return; }
        if (u.origin !== base || res.status() !== 401) return;
        result.count401++;
        result.responses401.push({ phase, method: res.request().method(), path: u.pathname, challenge: res.headers()['x-jellyguard-challenge'] || '' });
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('framenavigated', (frame) => {
        if (frame === page.mainFrame()) result.navigations.push({ phase, url: frame.url() });
    });

    // 1. The login page, with the gateway's script in it.
    phase = 'first sign-in';
    log(`open ${base}/web/`);
    await page.goto(`${base}/web/`);
    await until(page, 'signed-out');
    result.injected = await page.evaluate(() => Boolean(window.fetch && window.fetch.jellyguard));
    const info = await page.evaluate(async () => (await fetch('/System/Info/Public')).json());
    result.serverId = String(info.Id || '');
    mark('loginPage');

    await signIn(page);
    await until(page, 'challenge');
    result.challengeUrl = page.url();
    mark('challengePage');
    log(`challenge page: ${page.url()}`);

    // 2. The challenge: pictures first, then the code.
    await shoot(page, 'challenge', PHONE);
    await shoot(page, 'challenge', DESKTOP);
    const remember = page.locator('input[name="remember"]');
    await remember.check();
    await page.fill('#code', totp(cfg.secret));
    await page.click('form button[type="submit"]');
    await until(page, 'signed-in');
    mark('signedIn');
    result.firstStatus = (await page.textContent('#status')) || '';
    const first = await savedEntry(page, result.serverId);
    result.firstToken = (first && first.AccessToken) || '';
    result.userId = (first && first.UserId) || '';
    result.usersMeInPage = await page.evaluate(async (token) => {
        const res = await fetch('/Users/Me', { headers: { Authorization: `MediaBrowser Token="${token}"` } });
        return res.status;
    }, result.firstToken);
    log(`signed in: ${result.firstStatus}`);

    // 3. The Setup page, reached while signed in.
    phase = 'setup page';
    await page.goto(`${base}/jellyguard/setup`);
    await page.waitForSelector('#status:not([hidden])');
    await page.waitForSelector('#loading', { state: 'hidden' });
    result.setupUser = (await page.textContent('#status-user')) || '';
    await shoot(page, 'setup', PHONE);
    await shoot(page, 'setup', DESKTOP);
    mark('setupPage');

    // 4. Sign out (only the token leaves localStorage) and sign in again.
    phase = 'second sign-in';
    await page.goto(`${base}/web/`);
    await until(page, 'signed-in');
    await page.evaluate((id) => {
        const creds = JSON.parse(localStorage.getItem('jellyfin_credentials') || '{}');
        for (const s of creds.Servers || []) {
            if (s && String(s.Id || '').toLowerCase() === id.toLowerCase()) delete s.AccessToken;
        }
        localStorage.setItem('jellyfin_credentials', JSON.stringify(creds));
    }, result.serverId);
    await page.reload();
    await until(page, 'signed-out');
    await signIn(page);
    result.secondLandedOn = await until(page, 'signed-in', 'challenge');
    result.secondVisitedChallenge = result.navigations.some((n) => n.phase === phase && /\/jellyguard\/challenge/i.test(n.url));
    if (result.secondLandedOn === 'signed-in') {
        result.secondStatus = (await page.textContent('#status')) || '';
        const second = await savedEntry(page, result.serverId);
        result.secondToken = (second && second.AccessToken) || '';
    }
    mark('secondSignIn');
    log(`second sign-in: ${result.secondLandedOn} ${result.secondStatus}`);

    result.cookies = (await context.cookies(base)).map((c) => ({ name: c.name, path: c.path, httpOnly: c.httpOnly, sameSite: c.sameSite }));
    result.ok = true;
}

try {
    await run();
} catch (err) {
    process.stderr.write(`web2fa.mjs: ${err && err.stack ? err.stack : err}\n`);
    if (context) {
        const page = context.pages()[0];
        if (page) await page.screenshot({ path: join(cfg.artifacts, 'failure.png'), fullPage: true }).catch(() => {});
    }
}
if (context) await context.close().catch(() => {});
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.ok ? 0 : 1);
