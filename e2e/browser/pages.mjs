// Walks every state of jellyguard's own pages in headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core), as a phone
// (390x844, touch, a phone's user agent) and as a desktop (1280x800), and
// takes a screenshot of each:
//
//   signin-error       the sign-in page after a wrong password
//   setup-before       Setup of a user with no second factor
//   setup-enrolling    Setup showing the QR code and the key
//   setup-codes        Setup showing the new recovery codes
//   setup-enrolled     Setup of an enrolled user: a device waiting for
//                      approval and this browser, trusted, marked as such
//   setup-grace        Setup, opened by itself after a sign-in on the
//                      grace period of a user who must set one up
//   challenge          the challenge page asking for the app's code
//   challenge-recovery the challenge page asking for a recovery code
//   challenge-wrong    the challenge page after a wrong recovery code
//   challenge-burned   the page after the last wrong code
//
// For each picture it checks, in the page, what a person would see: the
// page is no wider than the window (no sideways scrolling on a phone) and
// the elements that make the state are visible (and those that must not be
// there are not). It also checks the "Two-step verification" entry the
// gateway's script adds to jellyfin-web's settings menu, and that the pages
// are dark unless the browser asks for light.
//
//   node pages.mjs '<json>'
//
// where <json> is {"gateway":"http://127.0.0.1:…","chromium":"/usr/bin/chromium",
// "screenshots":"<dir>","timeoutMs":150000,"grace":{"name","password"},
// "runs":{"phone":{"setup":{"name","password"},"challenge":{"name","password","secret"}},
// "desktop":{…}}}. The setup users have no second factor; the challenge
// users are enrolled with the given base32 secret; the grace user must set
// one up and is still in the grace period.
//
// Prints one JSON line, {"ok":…,"shots":[{"name","size","path","scrollWidth",
// "width","problems":[…]}],"menu":{…},"scheme":{…},"problems":[…]}, and exits
// 0 when every step could be taken (the checks' problems are for the Go test
// to judge); exits 1 with the failing step on stderr otherwise.

import { createHmac } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const cfg = JSON.parse(process.argv[2] || '{}');
for (const k of ['gateway', 'chromium', 'screenshots']) {
    if (typeof cfg[k] !== 'string' || cfg[k] === '') {
        process.stderr.write(`pages.mjs: missing "${k}" in the JSON argument\n`);
        process.exit(2);
    }
}
const STEP_MS = 15000;
const base = new URL(cfg.gateway).origin;

const CHROMIUM_ARGS = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
];

const PHONE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Mobile Safari/537.36';
const SIZES = {
    phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, userAgent: PHONE_UA },
    desktop: { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false },
};

const result = { ok: false, shots: [], menu: {}, scheme: {}, problems: [], timings: {} };
let phase = 'start';
let browser;
const started = Date.now();
const log = (msg) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}\n`);

const watchdog = setTimeout(() => {
    process.stderr.write(`pages.mjs: the whole walk took longer than ${cfg.timeoutMs} ms (phase ${phase})\n`);
    process.stdout.write(JSON.stringify(result) + '\n');
    const stop = browser ? browser.close() : Promise.resolve();
    stop.catch(() => {}).finally(() => process.exit(1));
}, cfg.timeoutMs || 150000);

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

function totpAt(secret, step) {
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(step));
    const mac = createHmac('sha1', base32(secret)).update(counter).digest();
    const offset = mac[mac.length - 1] & 0x0f;
    return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1000000).padStart(6, '0');
}

const stepNow = () => Math.floor(Date.now() / 30000);
const lastStep = new Map();

// freshCode returns a code for a step not used before with this secret:
// the gateway takes each step once, and accepts one step either side of
// now. It waits for the clock when the next unused step is too far ahead.
async function freshCode(secret) {
    for (;;) {
        const cur = stepNow();
        const step = Math.max((lastStep.get(secret) ?? -Infinity) + 1, cur);
        if (step <= cur + 1) {
            lastStep.set(secret, step);
            return totpAt(secret, step);
        }
        await new Promise((r) => setTimeout(r, 1000));
    }
}

// wrongCode is six digits no step near now answers to.
function wrongCode(secret) {
    const cur = stepNow();
    const near = new Set([-2, -1, 0, 1, 2].map((d) => totpAt(secret, cur + d)));
    for (let n = 0; ; n++) {
        const c = String((123457 + n * 7919) % 1000000).padStart(6, '0');
        if (!near.has(c)) return c;
    }
}

// --- the pages ----------------------------------------------------------

async function settle(page) {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

// shoot takes the picture of the state the page is in and records what
// check (run in the page) found wrong with it.
async function shoot(page, kind, name, check) {
    phase = `${kind}: ${name}`;
    await settle(page);
    const size = SIZES[kind].viewport;
    const path = join(cfg.screenshots, `${name}-${size.width}.png`);
    await page.screenshot({ path, fullPage: true });
    const seen = await page.evaluate(() => ({
        scrollWidth: document.scrollingElement.scrollWidth,
        width: window.innerWidth,
        path: location.pathname,
    }));
    const problems = [];
    if (seen.scrollWidth > size.width) problems.push(`the page is ${seen.scrollWidth} px wide in a ${size.width} px window`);
    problems.push(...(await page.evaluate(check, kind)));
    result.shots.push({ name, size: `${size.width}x${size.height}`, path, scrollWidth: seen.scrollWidth, width: seen.width, at: seen.path, problems });
    log(`${name} at ${size.width}: ${problems.length ? problems.join('; ') : 'looks right'}`);
}

// In-page helpers, shared by the checks (serialised into each).
const PAGE_HELPERS = `
    const $ = (s) => document.querySelector(s);
    const visible = (s) => { const e = typeof s === 'string' ? $(s) : s; if (!e) return false;
        const r = e.getBoundingClientRect(); const st = getComputedStyle(e);
        return r.width > 0 && r.height > 0 && st.visibility !== 'hidden' && st.display !== 'none'; };
    const text = (s) => { const e = $(s); return e ? e.textContent.replace(/\\s+/g, ' ').trim() : ''; };
    const problems = [];
    const want = (ok, why) => { if (!ok) problems.push(why); };
`;
const check = (body) => new Function('kind', PAGE_HELPERS + body + '\nreturn problems;');

// state reads the stand-in app's data-state, or '' while a page loads.
async function appState(page) {
    try {
        return await page.evaluate(() => (document.body && document.body.dataset.state) || '');
    } catch {
        return '';
    }
}

// until waits until the browser is on /web/ in one of the app's states,
// or on one of the gateway's pages (named by the last path segment).
async function until(page, ...wanted) {
    const deadline = Date.now() + STEP_MS;
    for (;;) {
        const path = new URL(page.url()).pathname.toLowerCase();
        const at = path.startsWith('/web/') ? (await appState(page)) || 'loading' : path.replace(/^.*\/jellyguard\//, '');
        if (wanted.includes(at)) return at;
        if (Date.now() > deadline) throw new Error(`${phase}: wanted ${wanted.join(' or ')} within ${STEP_MS} ms, but the browser is at ${page.url()} (${at})`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

// signOut forgets the session the way jellyfin-web does when it signs out
// (the token leaves localStorage; cookies stay) and shows the login form.
async function signOut(page) {
    await page.goto(`${base}/web/`);
    await until(page, 'signed-in', 'signed-out');
    await page.evaluate(() => {
        const creds = JSON.parse(localStorage.getItem('jellyfin_credentials') || '{}');
        for (const s of creds.Servers || []) if (s) delete s.AccessToken;
        localStorage.setItem('jellyfin_credentials', JSON.stringify(creds));
    });
    await page.reload();
    await until(page, 'signed-out');
}

async function signInWeb(page, user) {
    await signOut(page);
    await page.fill('#username', user.name);
    await page.fill('#password', user.password);
    await page.click('#login');
}

// submit clicks a form's button and waits for the page it posts to.
async function submit(page, selector) {
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

async function openSetup(page) {
    await page.goto(`${base}/jellyguard/setup`);
    await page.waitForSelector('#loading', { state: 'hidden' });
    await page.waitForSelector('#status:not([hidden])');
}

// nativeSignIn signs in as an app without a second-factor screen would: for
// an enrolled user the device then waits for approval on Setup.
async function nativeSignIn(user, deviceId) {
    const res = await fetch(`${base}/Users/AuthenticateByName`, {
        method: 'POST',
        headers: {
            'Content-Type': 'application/json',
            Authorization: `MediaBrowser Client="Findroid", Device="Pixel 8", DeviceId="${deviceId}", Version="0.15.2"`,
        },
        body: JSON.stringify({ Username: user.name, Pw: user.password }),
    });
    return res.status;
}

// --- one walk, as a phone or as a desktop ---------------------------------

async function walk(kind) {
    const run = cfg.runs[kind];
    const s = SIZES[kind];
    const context = await browser.newContext({
        viewport: s.viewport, isMobile: s.isMobile, hasTouch: s.hasTouch, userAgent: s.userAgent,
        deviceScaleFactor: 1, colorScheme: 'dark',
    });
    context.setDefaultTimeout(STEP_MS);
    context.setDefaultNavigationTimeout(STEP_MS);
    const page = await context.newPage();
    const setupUser = run.setup;
    const chUser = run.challenge;

    // The sign-in page with a wrong password.
    phase = `${kind}: sign-in page`;
    await page.goto(`${base}/jellyguard/login`);
    await page.fill('#username', setupUser.name);
    await page.fill('#password', setupUser.password + '-wrong');
    await submit(page, 'button[type="submit"]');
    await page.waitForSelector('.alert');
    await shoot(page, kind, 'signin-error', check(`
        want(visible('.alert') && /didn.t work/.test(text('.alert')), 'no visible error saying it did not work');
        want(visible('#username') && $('#username').value !== '', 'the username is not kept');
        want(visible('button[type="submit"]'), 'no sign-in button');
    `));

    // Setup before a second factor.
    phase = `${kind}: setup before`;
    await signInWeb(page, setupUser);
    await until(page, 'signed-in');
    await openSetup(page);
    await shoot(page, kind, 'setup-before', check(`
        want(visible('#status-off') && !visible('#status-on'), 'the status is not "off" alone');
        want(visible('#enroll-begin'), 'no button to set up an authenticator app');
        want(!visible('#manage'), 'changes are offered without a factor');
        want(text('#status-user') !== '', 'the user is not named');
    `));

    // Enrolling: the QR code and the key.
    phase = `${kind}: enrolling`;
    await page.click('#enroll-begin');
    await page.waitForSelector('#enroll-steps:not([hidden])');
    await page.waitForSelector('#qr');
    await page.waitForFunction(() => document.querySelector('#qr').complete);
    await shoot(page, kind, 'setup-enrolling', check(`
        want(visible('#qr') && $('#qr').naturalWidth > 0, 'no QR code');
        want(visible('#secret'), 'no key to type');
        const groups = [...document.querySelectorAll('#secret .secret-group')];
        want(groups.length >= 6 && groups.every((g) => g.textContent.length <= 4), 'the key is not in groups of four');
        want(groups.every((g) => g.getClientRects().length === 1 && g.getBoundingClientRect().height < 40),
            'a group of the key breaks across lines');
        want(groups.every((g) => g.getBoundingClientRect().right <= window.innerWidth), 'the key runs off the screen');
        const app = visible('#otpauth');
        want(kind === 'phone' ? app : !app, kind === 'phone' ? 'a phone gets no button to open the app' : 'a desktop is offered to open an app it does not have');
        want(visible('#issuer') && text('#issuer') !== '' && text('#issuer') !== 'jellyguard', 'the page does not say which name the app lists');
        want(visible('#confirm-code'), 'no field for the first code');
    `));
    const secret = (await page.getAttribute('#secret', 'aria-label') || '').replace(/\s+/g, '');
    result.issuer = await page.textContent('#issuer');

    // The recovery codes, right after the first code.
    phase = `${kind}: recovery codes`;
    await page.fill('#confirm-code', await freshCode(secret));
    await page.click('#confirm-form button[type="submit"]');
    await page.waitForSelector('#codes:not([hidden])');
    await shoot(page, kind, 'setup-codes', check(`
        want(document.querySelectorAll('#codes-list li').length === 10, 'not ten recovery codes');
        want([...document.querySelectorAll('#codes-list li')].every((li) => li.getClientRects().length === 1), 'a recovery code breaks across lines');
        want(visible('#status-on') && !visible('#status-off'), '"on" and "off" are not shown exactly as "on"');
        want(!(visible('#flash') && /is (on|off)/.test(text('#flash'))), 'a second status line');
        want(visible('#codes-done') && visible('#codes-download'), 'no way to save the codes or go on');
    `));
    await page.click('#codes-done');
    await page.waitForSelector('#manage:not([hidden])');

    // An app that cannot show a code now waits for approval, and this
    // browser becomes trusted through the challenge.
    phase = `${kind}: enrolled`;
    const native = await nativeSignIn(setupUser, `findroid-${kind}`);
    if (native !== 401) result.problems.push(`${kind}: an app's sign-in of an enrolled user answered ${native}, want 401`);
    await signInWeb(page, setupUser);
    await until(page, 'challenge');
    await page.check('input[name="remember"]');
    await page.fill('#code', await freshCode(secret));
    await page.click('#challenge-form button[type="submit"]');
    await until(page, 'signed-in');
    await openSetup(page);
    await page.waitForSelector('#browsers:not([hidden])');
    await shoot(page, kind, 'setup-enrolled', check(`
        want(visible('#status-on') && !visible('#status-off'), 'the status is not "on" alone');
        want(visible('#manage'), 'no changes offered');
        const current = [...document.querySelectorAll('#browser-list .badge.current')];
        want(current.length === 1 && visible(current[0]) && current[0].textContent === 'This browser', 'this browser is not marked "This browser"');
        want(/Waiting for approval/.test(text('#device-list')), 'the app waiting for approval is not listed');
        want(visible('#enroll') === false, 'setting up is offered again');
    `));

    // The entry in jellyfin-web's settings menu (desktop once is enough:
    // the script is the same).
    if (kind === 'desktop') await menu(page);

    // The challenge: the app's code, a recovery code, a wrong one, the end.
    phase = `${kind}: challenge`;
    await signInWeb(page, chUser);
    await until(page, 'challenge');
    await shoot(page, kind, 'challenge', check(`
        want(visible('#code'), 'no code field');
        want(text('#code-label') === 'Code from your authenticator app', 'the label does not ask for the app\\'s code');
        want(/6-digit/.test(text('#code-hint')), 'the hint does not describe the app\\'s code');
        want(visible('#switch-mode') && /recovery code/.test(text('#switch-mode')), 'no way to use a recovery code');
        want(/attempts? left/.test(text('#challenge-meta')), 'the attempts left are not shown');
    `));
    await page.click('#switch-mode');
    await shoot(page, kind, 'challenge-recovery', check(`
        want(text('#code-label') === 'Recovery code', 'the label does not ask for a recovery code');
        want(!/6-digit/.test(text('#code-hint')) && /recovery code/.test(text('#code-hint')), 'the hint still describes the app\\'s code');
        want(visible('#switch-mode') && /authenticator app/.test(text('#switch-mode')), 'no way back to the app\\'s code');
        want($('#code').getAttribute('inputmode') === 'text', 'a phone would show digits only');
    `));
    await page.fill('#code', 'AAAAA-BBBBB');
    await submit(page, '#challenge-form button[type="submit"]');
    await page.waitForSelector('.alert');
    await shoot(page, kind, 'challenge-wrong', check(`
        want(visible('.alert') && /didn.t work/.test(text('.alert')), 'no error for the wrong code');
        want(text('#code-label') === 'Recovery code', 'the wrong recovery code did not keep recovery mode');
        want(/4 attempts left/.test(text('#challenge-meta')), 'the attempts left are not 4');
    `));
    for (let i = 0; i < 4; i++) {
        await page.fill('#code', wrongCode(chUser.secret));
        await submit(page, '#challenge-form button[type="submit"]');
        if (!(await page.$('#code'))) break;
    }
    await page.waitForSelector('h1');
    await shoot(page, kind, 'challenge-burned', check(`
        want(text('h1') === 'Too many wrong codes', 'the page does not say the sign-in ended');
        want(!$('#code'), 'a code field is still offered');
        want(visible('a.button.primary'), 'no way back to Jellyfin');
        want(!/attempts? left/.test(document.body.textContent), 'attempts are still counted');
    `));

    // A user in the grace period lands on Setup after signing in.
    phase = `${kind}: grace`;
    await signInWeb(page, cfg.grace);
    await until(page, 'setup');
    await page.waitForSelector('#loading', { state: 'hidden' });
    await page.waitForSelector('#status:not([hidden])');
    await shoot(page, kind, 'setup-grace', check(`
        want(location.pathname.endsWith('/jellyguard/setup'), 'not on the Setup page');
        want(visible('#status-required') && /requires/.test(text('#status-required')), 'Setup does not say it is required');
        want(visible('#enroll-begin'), 'no button to set it up');
    `));

    if (kind === 'desktop') await schemes(page);
    await context.close();
}

// menu checks the entry the gateway's script adds to jellyfin-web's
// settings menu: the stand-in app draws the menu the way jellyfin-web
// 10.11 does (its markup, trimmed), and the entry must come after Quick
// Connect and lead to Setup. Without that markup, a floating link stands
// in on the menu's route.
async function menu(page) {
    phase = 'settings menu';
    await page.goto(`${base}/web/#/mypreferencesmenu`);
    await until(page, 'signed-in');
    await page.evaluate(() => {
        const item = (cls, icon, label) => `<a is="emby-linkbutton" data-ripple="false" href="#" style="display:block;padding:0;margin:0;" class="${cls} listItem-border">
            <div class="listItem"><span class="material-icons listItemIcon listItemIcon-transparent ${icon}" aria-hidden="true"></span>
            <div class="listItemBody"><div class="listItemBodyText">${label}</div></div></div></a>`;
        const page = document.createElement('div');
        page.id = 'myPreferencesMenuPage';
        page.className = 'page libraryPage userPreferencesPage';
        page.innerHTML = `<div class="verticalSection">
            ${item('lnkMyProfile', 'person', 'Profile')}${item('lnkDisplayPreferences', 'tv', 'Display')}
            ${item('lnkQuickConnectPreferences', 'tap_and_play', 'Quick Connect')}${item('clientSettings hide', 'devices_other', 'Client settings')}
            </div>`;
        document.body.appendChild(page);
    });
    await page.waitForSelector('.jellyguardSetupEntry', { timeout: 5000 }).catch(() => {});
    result.menu = await page.evaluate(() => {
        const entries = [...document.querySelectorAll('#myPreferencesMenuPage .jellyguardSetupEntry')];
        const e = entries[0];
        const prev = e && e.previousElementSibling;
        return {
            entries: entries.length,
            text: e ? (e.querySelector('.listItemBodyText') || e).textContent.replace(/\s+/g, ' ').trim() : '',
            href: e ? new URL(e.getAttribute('href'), location.href).pathname : '',
            after: prev ? prev.className : '',
            looksLikeItsNeighbours: !!(e && e.querySelector('.listItem .listItemBodyText') && e.classList.contains('listItem-border')),
        };
    });
    // Drawn again (jellyfin-web keeps pages and redraws them): still one.
    await page.evaluate(() => document.querySelector('#myPreferencesMenuPage .verticalSection').appendChild(document.createElement('span')));
    await new Promise((r) => setTimeout(r, 300));
    result.menu.entriesAfterRedraw = await page.locator('#myPreferencesMenuPage .jellyguardSetupEntry').count();

    // Markup the script does not know: the floating link.
    await page.evaluate(() => document.getElementById('myPreferencesMenuPage').remove());
    await page.waitForSelector('#jellyguardSetupFloat', { timeout: 5000 }).catch(() => {});
    result.menu.floating = await page.evaluate(() => {
        const f = document.getElementById('jellyguardSetupFloat');
        return f ? { text: f.textContent, href: new URL(f.getAttribute('href'), location.href).pathname } : null;
    });
    // Elsewhere in the app there is no floating link.
    await page.evaluate(() => { location.hash = '#/home'; });
    await new Promise((r) => setTimeout(r, 400));
    result.menu.floatingElsewhere = (await page.locator('#jellyguardSetupFloat').count()) > 0;
    // The entry leads to Setup.
    await page.evaluate(() => { location.hash = '#/mypreferencesmenu'; });
    await page.waitForSelector('#jellyguardSetupFloat', { timeout: 5000 }).catch(() => {});
    if (await page.locator('#jellyguardSetupFloat').count()) {
        await page.click('#jellyguardSetupFloat');
        await page.waitForURL(/\/jellyguard\/setup$/);
        await page.waitForSelector('#status:not([hidden])');
        result.menu.opened = new URL(page.url()).pathname;
    }
}

// schemes checks the colours: dark by default and when asked for, light
// only when the browser asks for it.
async function schemes(page) {
    phase = 'colour schemes';
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const accent = () => page.evaluate(() => getComputedStyle(document.querySelector('.button.primary, a.button')).backgroundColor);
    for (const scheme of ['dark', 'light']) {
        await page.emulateMedia({ colorScheme: scheme });
        await settle(page);
        result.scheme[scheme] = { background: await background(), accent: await accent() };
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await page.screenshot({ path: join(cfg.screenshots, 'setup-grace-light-1280.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
}

async function main() {
    mkdirSync(cfg.screenshots, { recursive: true });
    browser = await chromium.launch({ executablePath: cfg.chromium, headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
    for (const kind of ['phone', 'desktop']) {
        const t = Date.now();
        await walk(kind);
        result.timings[kind] = Date.now() - t;
    }
    result.ok = true;
}

try {
    await main();
} catch (err) {
    process.stderr.write(`pages.mjs: ${phase}: ${err && err.stack ? err.stack : err}\n`);
    if (browser) {
        for (const c of browser.contexts()) {
            for (const p of c.pages()) await p.screenshot({ path: join(cfg.screenshots, 'failure.png'), fullPage: true }).catch(() => {});
        }
    }
}
if (browser) await browser.close().catch(() => {});
clearTimeout(watchdog);
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.ok ? 0 : 1);
