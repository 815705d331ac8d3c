// Tests for static/setup.js against the ids of templates/setup.html, a fake
// DOM, a fake localStorage and a fake gateway API.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { El, pageDocument } = require('./fakedom.js');

const dir = path.join(__dirname, '..', '..');
const source = fs.readFileSync(path.join(dir, 'static', 'setup.js'), 'utf8');
const html = fs.readFileSync(path.join(dir, 'templates', 'setup.html'), 'utf8');
const ORIGIN = 'https://media.example.com';
const TOKEN = '0123456789abcdef0123456789abcdef';
const API = '/jellyfin/jellyguard/api/';

// promptTemplate mirrors <template id="code-prompt">, or with type
// 'password' <template id="password-prompt">.
function promptTemplate(type = 'text') {
  const form = new El('form', { className: 'prompt stack' });
  const label = new El('label');
  label.append(new El('span', { className: 'prompt-label' }), new El('input', { type }));
  const row = new El('div', { className: 'row' });
  const cancel = new El('button', { type: 'button' });
  cancel.dataset.cancel = '';
  row.append(new El('button', { type: 'submit' }), cancel);
  form.append(label, new El('p', { className: 'alert', hidden: true }), row);
  const content = new El('fragment');
  content.append(form);
  return content;
}

function json(status, data) {
  return { ok: status >= 200 && status < 300, status, json: async () => data };
}

// PASSWORD is the user's password in the fake; the space is part of it.
const PASSWORD = 'open sesame ';

// fakeAPI answers like the gateway for one user. stale: the session signed
// in too long ago to set up a first authenticator without the password.
function fakeAPI({ enrolled = false, serverId = 'srv1', stale = false } = {}) {
  const calls = [];
  const state = { enrolled };
  const bad = json(400, { error: 'bad_code', message: "That code didn't work." });
  const fetch = async (url, init = {}) => {
    const method = init.method || 'GET';
    const body = init.body ? JSON.parse(init.body) : undefined;
    const auth = init.headers && init.headers.Authorization;
    calls.push({ url, method, body, auth });
    if (url === '/jellyfin/System/Info/Public') return serverId ? json(200, { Id: serverId }) : json(500, {});
    const token = /(?:^MediaBrowser |, )Token="([^"]*)"$/.exec(auth || '');
    if (!token || token[1] !== TOKEN) return json(401, { error: 'unauthorized', message: 'Sign in to Jellyfin first.' });
    const ok = (code, then) => (code === '123456' ? then() : bad);
    switch (method + ' ' + url.slice(API.length)) {
      case 'GET account':
        return json(200, {
          userId: 'u1', userName: 'alice', enrolled: state.enrolled, required: true,
          graceUntil: '2030-01-02T03:04:05Z', recoveryLeft: state.enrolled ? 2 : 0,
          browsers: state.untrusted ? [] : [{ id: 'b1', userAgent: 'Mozilla/5.0 (Android 14) Firefox/140.0', ip: '192.0.2.1', current: true }],
          devices: state.approved || state.removed ? [] : [{ id: 'd1', client: 'Findroid', deviceName: 'Pixel 8', ip: '192.0.2.2', state: 'pending' }],
        });
      case 'POST totp/begin':
        if (state.enrolled && body.code !== '123456') return json(403, { error: 'code_required', message: 'Enter a code.' });
        if (!state.enrolled && stale && !body.password) {
          return json(403, { error: 'password_required', message: 'Enter your password to set up two-step verification.' });
        }
        if (!state.enrolled && stale && body.password !== PASSWORD) {
          return json(400, { error: 'bad_password', message: "That password didn't work. Check it and try again." });
        }
        return json(200, { secret: 'JBSWY3DPEHPK3PXP', uri: 'otpauth://totp/x:alice', qr: 'data:image/svg+xml;base64,PHN2Zy8+', issuer: 'Living Room' });
      case 'POST totp/confirm':
        return ok(body.code, () => { state.enrolled = true; return json(200, { recoveryCodes: ['aaaa-bbbb', 'cccc-dddd'] }); });
      case 'POST recovery/regenerate':
        return ok(body.code, () => json(200, { recoveryCodes: ['eeee-ffff'] }));
      case 'POST totp/disable':
        return ok(body.code, () => { state.enrolled = false; return json(200, { ok: true }); });
      case 'POST devices/approve':
        return ok(body.code, () => { state.approved = body.id; return json(200, { ok: true }); });
      case 'POST devices/revoke':
        return ok(body.code, () => { state.removed = body.id; return json(200, { ok: true }); });
      case 'POST browsers/revoke':
        return ok(body.code, () => { state.untrusted = body.id; return json(200, { ok: true }); });
    }
    return json(404, { error: 'not_found', message: 'nothing' });
  };
  return { fetch, calls, state };
}

async function settle() {
  for (let i = 0; i < 30; i++) await new Promise((r) => setImmediate(r));
}

const DESKTOP = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';

// open runs setup.js on a fresh page and waits until it has loaded. coarse
// is what the '(pointer: coarse)' media query answers (undefined: the
// browser has no matchMedia); ua is the user agent.
async function open(api, stored, { coarse = false, ua = DESKTOP, touchPoints = 0 } = {}) {
  const page = pageDocument(html);
  page.byId.get('setup').dataset = { base: '/jellyfin', api: API, web: '/jellyfin/web/' };
  page.byId.get('code-prompt').content = promptTemplate();
  page.byId.get('password-prompt').content = promptTemplate('password');
  const storage = new Map(Object.entries(stored || {}));
  const copied = [];
  vm.runInContext(source, vm.createContext({
    document: page.document,
    localStorage: { getItem: (k) => (storage.has(k) ? storage.get(k) : null), setItem: (k, v) => storage.set(k, v) },
    location: { origin: ORIGIN, host: 'media.example.com' },
    window: {
      confirm: () => true,
      addEventListener() {},
      matchMedia: coarse === undefined ? undefined : (q) => ({ matches: q === '(pointer: coarse)' && coarse }),
    },
    navigator: { userAgent: ua, maxTouchPoints: touchPoints, clipboard: { writeText: async (t) => { copied.push(t); } } },
    fetch: api.fetch,
    setTimeout: () => 0,
    URL,
    Blob,
  }));
  await settle();
  const $ = (id) => page.byId.get(id);
  return { page, $, copied, visible: (id) => !$(id).hidden };
}

// assertSecret checks the key on the page: groups of four, each an element
// of its own that the stylesheet keeps whole when the line wraps, read out
// with spaces.
function assertSecret($) {
  const groups = $('secret').children;
  assert.deepEqual(groups.map((g) => g.textContent), ['JBSW', 'Y3DP', 'EHPK', '3PXP']);
  assert.ok(groups.every((g) => g.tagName === 'SPAN' && g.className === 'secret-group'));
  assert.equal($('secret').getAttribute('aria-label'), 'JBSW Y3DP EHPK 3PXP');
}

const saved = (servers) => ({ jellyfin_credentials: JSON.stringify({ Servers: servers }) });
const mine = saved([
  { Id: 'other', ManualAddress: 'https://friend.example', AccessToken: 'nope' },
  { Id: 'srv1', ManualAddress: ORIGIN + '/jellyfin', AccessToken: TOKEN, UserId: 'u1' },
]);

test('asks to sign in when there is no session', async () => {
  for (const stored of [undefined, saved([]), saved([{ Id: 'other', ManualAddress: 'https://x.example', AccessToken: 'nope' }]), { jellyfin_credentials: '{bad' }]) {
    const api = fakeAPI();
    const { visible } = await open(api, stored);
    assert.ok(visible('signin'));
    assert.ok(!visible('loading') && !visible('status') && !visible('enroll'));
    assert.equal(api.calls.filter((c) => c.url.startsWith(API)).length, 0);
  }
});

test('asks to sign in when the token is refused', async () => {
  const api = fakeAPI();
  const { visible } = await open(api, saved([{ Id: 'srv1', AccessToken: 'expired' }]));
  assert.ok(visible('signin'));
});

test('finds the token by address when the server id is unknown', async () => {
  const api = fakeAPI({ serverId: '' });
  const { $, visible } = await open(api, saved([
    { Id: 'x', ManualAddress: 'https://friend.example', AccessToken: 'nope' },
    { Id: 'y', ManualAddress: ORIGIN.toUpperCase() + '/jellyfin/', AccessToken: TOKEN },
  ]));
  assert.ok(visible('status'));
  assert.equal($('status-user').textContent, 'alice');
});

test('shows the account', async () => {
  const api = fakeAPI();
  const { $, visible } = await open(api, mine);
  const account = api.calls.find((c) => c.url === API + 'account');
  assert.equal(account.auth, 'MediaBrowser Token="' + TOKEN + '"');
  assert.ok(!visible('loading') && !visible('signin'));
  assert.ok(visible('status-off') && !visible('status-on'));
  assert.ok(visible('status-required'));
  assert.match($('status-required').textContent, /requires/);
  assert.ok(visible('enroll') && visible('enroll-start') && !visible('enroll-steps'));
  assert.ok(!visible('manage'));
  assert.ok(visible('devices') && visible('browsers'));
  const device = $('device-list').children[0];
  assert.match(device.text(), /Pixel 8.*Waiting for approval/);
  assert.match($('browser-list').children[0].text(), /Firefox on Android.*This browser/);
});

test('sets up an authenticator app and shows the recovery codes once', async () => {
  const api = fakeAPI();
  const { page, $, visible, copied } = await open(api, mine);
  await $('enroll-begin').click();
  await settle();
  assert.deepEqual(api.calls.at(-1).body, {});
  assert.ok(visible('enroll-steps') && !visible('enroll-start'));
  assertSecret($);
  assert.equal($('qr').src, 'data:image/svg+xml;base64,PHN2Zy8+');
  assert.ok(!visible('otpauth-row'), 'a computer gets no link to an app on another device');
  assert.ok(visible('issuer-note'));
  assert.equal($('issuer').textContent, 'Living Room', 'the page names the account as the app lists it');
  await $('copy-secret').click();
  assert.deepEqual(copied, ['JBSWY3DPEHPK3PXP']);

  $('confirm-code').value = '000000';
  await $('confirm-form').fire('submit');
  assert.ok(visible('confirm-error'));
  assert.match($('confirm-error').textContent, /didn't work/);

  $('confirm-code').value = '123 456';
  const ev = await $('confirm-form').fire('submit');
  assert.ok(ev.defaultPrevented);
  assert.deepEqual(api.calls.at(-1).body, { code: '123456' });
  assert.ok(visible('codes') && !visible('enroll') && !visible('manage'));
  // Right after the first code the page says it is on, once, and no
  // longer that it is off or required.
  assert.ok(visible('status-on'), 'the status says it is on');
  assert.ok(!visible('status-off'), '"on" and "off" are never shown together');
  assert.ok(!visible('status-required'));
  assert.ok(!/is on|is off/.test($('flash').hidden ? '' : $('flash').textContent), 'no second status line');
  assert.deepEqual($('codes-list').children.map((li) => li.textContent), ['aaaa-bbbb', 'cccc-dddd']);
  await $('codes-copy').click();
  assert.equal(copied.at(-1), 'aaaa-bbbb\ncccc-dddd');
  await $('codes-download').click();
  const a = page.created.find((e) => e.tagName === 'A');
  assert.ok(a, 'a download link is made');
  assert.equal(a.download, 'recovery-codes.txt');
  assert.match(a.href, /^blob:/);
  assert.equal(a.parentElement, null, 'and removed again');

  await $('codes-done').click();
  await settle();
  assert.ok(!visible('codes') && visible('status-on') && visible('manage') && !visible('enroll'));
  assert.equal($('codes-list').children.length, 0, 'the codes are gone from the page');
});

test('approves a pending device with a current code', async () => {
  const api = fakeAPI({ enrolled: true });
  const { $, visible } = await open(api, mine);
  const item = $('device-list').children[0];
  const approve = item.querySelectorAll('button').find((b) => b.textContent === 'Approve');
  await approve.click();
  const form = item.querySelector('form');
  assert.ok(form, 'a code prompt opens under the device');
  assert.match(form.querySelector('.prompt-label').textContent, /Pixel 8/);

  form.querySelector('input').value = '111111';
  await form.fire('submit');
  assert.ok(!form.querySelector('.alert').hidden, 'a wrong code is shown in the prompt');
  assert.ok(form.parentElement, 'the prompt stays open');

  form.querySelector('input').value = '123456';
  await form.fire('submit');
  await settle();
  assert.deepEqual(api.calls.filter((c) => c.url === API + 'devices/approve').at(-1).body, { id: 'd1', code: '123456' });
  assert.equal(api.state.approved, 'd1');
  assert.ok(!visible('devices'), 'the list is reloaded');
  assert.match($('flash').textContent, /Pixel 8 can sign in/);
});

test('asks for a code before removing a device or revoking a browser', async () => {
  for (const [list, label, name, call, flashed] of [
    ['device-list', 'Remove', 'Pixel 8', 'devices/revoke', /Pixel 8 was removed/],
    ['browser-list', 'Revoke', 'Firefox on Android', 'browsers/revoke', /Firefox on Android is no longer trusted/],
  ]) {
    const api = fakeAPI({ enrolled: true });
    const { $, visible } = await open(api, mine);
    const item = $(list).children[0];
    await item.querySelectorAll('button').find((b) => b.textContent === label).click();
    await settle();
    assert.ok(!api.calls.some((c) => c.url === API + call), call + ': nothing is sent before the code');
    const form = item.querySelector('form');
    assert.ok(form, call + ': a code prompt opens under ' + name);
    assert.match(form.querySelector('.prompt-label').textContent, new RegExp(name));

    form.querySelector('input').value = '111111';
    await form.fire('submit');
    assert.ok(!form.querySelector('.alert').hidden, call + ': a wrong code is shown in the prompt');
    assert.ok(form.parentElement, call + ': the prompt stays open');
    assert.equal(api.state.removed || api.state.untrusted, undefined, call + ': nothing changed');

    form.querySelector('input').value = ' 123 456 ';
    await form.fire('submit');
    await settle();
    const id = list === 'device-list' ? 'd1' : 'b1';
    assert.deepEqual(api.calls.filter((c) => c.url === API + call).at(-1).body, { id, code: '123456' });
    assert.ok(!visible(list === 'device-list' ? 'devices' : 'browsers'), call + ': the list is reloaded');
    assert.match($('flash').textContent, flashed);
  }
});

test('asks for a code before new recovery codes, re-enrolling and turning off', async () => {
  const api = fakeAPI({ enrolled: true });
  const { $, visible } = await open(api, mine);
  assert.ok(visible('manage') && !visible('enroll'));
  assert.match($('status-recovery').textContent, /2 recovery codes left/);

  const answer = async (button, code) => {
    await $(button).click();
    const form = $(button).parentElement.parentElement.querySelector('.prompt');
    assert.ok(form, button + ' opens a prompt');
    form.querySelector('input').value = code;
    await form.fire('submit');
    await settle();
  };

  await answer('regenerate', '123456');
  assert.deepEqual(api.calls.at(-1), { url: API + 'recovery/regenerate', method: 'POST', body: { code: '123456' }, auth: 'MediaBrowser Token="' + TOKEN + '"' });
  assert.ok(visible('codes'));
  await $('codes-done').click();
  await settle();

  await answer('reenroll', '123456');
  assert.deepEqual(api.calls.at(-1).body, { code: '123456' });
  assert.ok(visible('enroll-steps'));
  await $('enroll-cancel').click();
  await settle();

  await answer('disable', '123456');
  assert.ok(api.calls.some((c) => c.url === API + 'totp/disable'));
  assert.ok(visible('status-off') && visible('enroll'));
});

test('asks for the password before a first authenticator when the session is old', async () => {
  const api = fakeAPI({ stale: true });
  const { $, visible } = await open(api, mine);
  const begins = () => api.calls.filter((c) => c.url === API + 'totp/begin');

  await $('enroll-begin').click();
  await settle();
  assert.deepEqual(begins().map((c) => c.body), [{}], 'the page tries without a password first');
  assert.ok(!visible('error'), 'asking for the password is no error');
  assert.ok(!visible('enroll-steps'));
  const form = $('enroll-begin').parentElement.querySelector('form');
  assert.ok(form, 'a password prompt opens under the button');
  assert.match(form.querySelector('.prompt-label').textContent, /password/i);
  const input = form.querySelector('input');
  assert.equal(input.type, 'password');

  input.value = 'guess';
  await form.fire('submit');
  await settle();
  assert.deepEqual(begins().at(-1).body, { password: 'guess' });
  assert.ok(!form.querySelector('.alert').hidden, 'a wrong password is shown in the prompt');
  assert.match(form.querySelector('.alert').textContent, /password didn't work/);
  assert.ok(form.parentElement, 'the prompt stays open');
  assert.ok(!visible('enroll-steps'));

  input.value = '';
  await form.fire('submit');
  assert.equal(begins().length, 2, 'an empty password is not sent');

  input.value = PASSWORD;
  const ev = await form.fire('submit');
  await settle();
  assert.ok(ev.defaultPrevented);
  assert.deepEqual(begins().at(-1).body, { password: PASSWORD }, 'the password is sent as typed');
  assert.ok(visible('enroll-steps') && !visible('enroll-start'));
  assertSecret($);
  assert.equal(form.parentElement, null, 'the prompt is gone');

  $('confirm-code').value = '123456';
  await $('confirm-form').fire('submit');
  assert.ok(visible('codes'));
});

test('a password prompt can be cancelled and asked again', async () => {
  const api = fakeAPI({ stale: true });
  const { $ } = await open(api, mine);
  await $('enroll-begin').click();
  await settle();
  const form = $('enroll-begin').parentElement.querySelector('form');
  await form.querySelector('[data-cancel]').click();
  assert.equal(form.parentElement, null, 'cancel closes the prompt');
  await $('enroll-begin').click();
  await settle();
  const again = $('enroll-begin').parentElement.querySelectorAll('form');
  assert.equal(again.length, 1, 'one prompt at a time');
});

test('a fresh session sets up without a password prompt', async () => {
  const api = fakeAPI();
  const { $, visible } = await open(api, mine);
  await $('enroll-begin').click();
  await settle();
  assert.equal($('enroll-begin').parentElement.querySelector('form'), null);
  assert.ok(visible('enroll-steps'));
});

test('offers to open the app only on a phone or tablet', async () => {
  const cases = [
    [{ coarse: true }, true, 'a finger is the pointer'],
    [{ coarse: undefined, ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Mobile/15E148 Safari/604.1' }, true, 'an iPhone'],
    [{ coarse: false, ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/140.0 Mobile Safari/537.36' }, true, 'an Android phone'],
    [{ coarse: false, ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', touchPoints: 5 }, true, 'an iPad asking as a Mac'],
    [{ coarse: false }, false, 'a desktop'],
    [{ coarse: undefined }, false, 'a desktop without media queries'],
    [{ coarse: false, ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15' }, false, 'a Mac'],
  ];
  for (const [opts, want, what] of cases) {
    const api = fakeAPI();
    const { $, visible } = await open(api, mine, opts);
    await $('enroll-begin').click();
    await settle();
    assert.equal(visible('otpauth-row'), want, what);
    if (want) assert.equal($('otpauth').href, 'otpauth://totp/x:alice', what);
  }
});

test("sends this browser's device id, so the gateway can tell which browser is this one", async () => {
  const api = fakeAPI();
  const { $, visible } = await open(api, { ...mine, _deviceId2: 'TW96aWxsYS81LjB8MTcwMDAwMDAwMDAwMA11' });
  assert.ok(visible('status'));
  const calls = api.calls.filter((c) => c.url.startsWith(API));
  assert.ok(calls.length > 0);
  for (const c of calls) {
    assert.equal(c.auth, 'MediaBrowser DeviceId="TW96aWxsYS81LjB8MTcwMDAwMDAwMDAwMA11", Token="' + TOKEN + '"');
  }
  assert.match($('browser-list').children[0].text(), /This browser/);

  // A stored value that would break the header is left out.
  for (const bad of ['a"b', 'a,b', 'x'.repeat(201), 'a b']) {
    const api2 = fakeAPI();
    await open(api2, { ...mine, _deviceId2: bad });
    const c = api2.calls.find((x) => x.url === API + 'account');
    assert.equal(c.auth, 'MediaBrowser Token="' + TOKEN + '"', JSON.stringify(bad));
  }
});
