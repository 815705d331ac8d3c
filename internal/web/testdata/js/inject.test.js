// Tests for static/inject.js: the fetch wrapper loaded into jellyfin-web.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(path.join(__dirname, '..', '..', 'static', 'inject.js'), 'utf8');
const ORIGIN = 'https://media.example.com';

function fakeStorage(initial = {}) {
  const m = new Map(Object.entries(initial));
  return {
    map: m,
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => { m.set(k, String(v)); },
    removeItem: (k) => { m.delete(k); },
  };
}

// load runs inject.js in a fake window whose fetch answers with respond;
// local and session are the window's storages.
function load(respond, { scriptSrc = ORIGIN + '/jellyfin/jellyguard/static/inject.0123456789ab.js', times = 1, local, session } = {}) {
  const calls = [];
  const assigned = [];
  const realFetch = function (input, init) {
    calls.push({ input, init, self: this });
    return new Promise((resolve) => resolve(respond(input, init)));
  };
  const location = {
    href: ORIGIN + '/jellyfin/web/#/login',
    origin: ORIGIN,
    assign(u) { assigned.push(u); },
  };
  const window = { fetch: realFetch, localStorage: local, sessionStorage: session };
  const document = { currentScript: scriptSrc ? { src: scriptSrc } : null };
  const ctx = vm.createContext({ window, document, location, URL, Headers, Request, Response, setInterval, clearInterval, setTimeout });
  for (let i = 0; i < times; i++) vm.runInContext(source, ctx);
  return { window, calls, assigned, realFetch };
}

const ok = () => new Response('{}', { status: 200 });
const challenge = (to) => () => new Response(null, { status: 401, headers: { 'X-Jellyguard-Challenge': to } });
const login = ORIGIN + '/jellyfin/Users/AuthenticateByName';
const loginInit = () => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: 'MediaBrowser Client="Jellyfin Web"' },
  body: '{"Username":"alice","Pw":"x"}',
  credentials: 'same-origin',
});

test('exports the setup address from its own URL', () => {
  assert.equal(load(ok).window.jellyguard.setup, '/jellyfin/jellyguard/setup');
  assert.equal(load(ok, { scriptSrc: ORIGIN + '/jellyguard/static/inject.js' }).window.jellyguard.setup, '/jellyguard/setup');
  assert.equal(load(ok, { scriptSrc: null }).window.jellyguard.setup, '/jellyguard/setup');
});

test('marks the password sign-in and keeps its headers and options', async () => {
  const { window, calls } = load(ok);
  const init = loginInit();
  await window.fetch(login, init);
  assert.equal(calls.length, 1);
  const got = calls[0].init;
  assert.equal(got.headers.get('X-Jellyguard-Web'), '1');
  assert.equal(got.headers.get('Content-Type'), 'application/json');
  assert.equal(got.headers.get('Authorization'), 'MediaBrowser Client="Jellyfin Web"');
  assert.equal(got.method, 'POST');
  assert.equal(got.body, init.body);
  assert.equal(got.credentials, 'same-origin');
  assert.equal(init.headers['X-Jellyguard-Web'], undefined, 'the caller\'s object is not changed');
  assert.equal(calls[0].self, window, 'fetch is called on window');
});

test('matches the path in any case, relative, with a query or a trailing slash', async () => {
  for (const url of ['/jellyfin/users/authenticatebyname', '/jellyfin/USERS/AUTHENTICATEBYNAME/', login + '?x=1', '/emby/Users/AuthenticateByName']) {
    const { window, calls } = load(ok);
    await window.fetch(url, loginInit());
    assert.equal(calls[0].init.headers.get('X-Jellyguard-Web'), '1', url);
  }
});

test('accepts Request objects and URLs', async () => {
  let { window, calls } = load(ok);
  const req = new Request(login, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  await window.fetch(req);
  assert.equal(calls[0].input, req);
  assert.equal(calls[0].init.headers.get('X-Jellyguard-Web'), '1');
  assert.equal(calls[0].init.headers.get('Content-Type'), 'application/json', 'the request\'s headers are kept');

  ({ window, calls } = load(ok));
  await window.fetch(new URL(login), loginInit());
  assert.equal(calls[0].init.headers.get('X-Jellyguard-Web'), '1');

  ({ window, calls } = load(ok));
  await window.fetch(new URL(login));
  assert.equal(calls[0].init, undefined, 'a GET passes untouched');
});

test('passes every other call untouched', async () => {
  const cases = [
    [ORIGIN + '/jellyfin/Users/Public', undefined],
    [ORIGIN + '/jellyfin/Users/AuthenticateByName', { method: 'GET' }],
    [ORIGIN + '/jellyfin/Users/AuthenticateWithQuickConnect', { method: 'POST' }],
    [ORIGIN + '/jellyfin/Users/AuthenticateByName/x', { method: 'POST' }],
    ['https://other.example/Users/AuthenticateByName', { method: 'POST', headers: { A: 'b' } }],
    ['::not a url::', { method: 'POST' }],
  ];
  for (const [input, init] of cases) {
    const { window, calls } = load(ok);
    const res = await window.fetch(input, init);
    assert.equal(res.status, 200);
    assert.equal(calls[0].input, input);
    assert.equal(calls[0].init, init, String(input));
  }
});

test('follows a challenge and still returns the 401', async () => {
  const { window, assigned } = load(challenge('/jellyfin/jellyguard/challenge'));
  const res = await window.fetch(login, loginInit());
  assert.equal(res.status, 401);
  assert.deepEqual(assigned, ['/jellyfin/jellyguard/challenge']);
});

test('ignores a challenge header that leaves the origin', async () => {
  for (const to of ['https://evil.example/x', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '']) {
    const { window, assigned } = load(challenge(to));
    const res = await window.fetch(login, loginInit());
    assert.equal(res.status, 401);
    assert.deepEqual(assigned, [], to);
  }
});

test('does not navigate on other answers', async () => {
  for (const respond of [ok, () => new Response(null, { status: 401 }), () => new Response(null, { status: 403, headers: { 'X-Jellyguard-Challenge': '/x' } })]) {
    const { window, assigned } = load(respond);
    await window.fetch(login, loginInit());
    assert.deepEqual(assigned, []);
  }
});

test('passes errors through', async () => {
  const { window } = load(() => { throw new Error('offline'); });
  await assert.rejects(window.fetch(login, loginInit()), /offline/);
});

test('wraps only once when loaded twice', async () => {
  const { window, calls } = load(ok, { times: 2 });
  await window.fetch(login, loginInit());
  assert.equal(calls.length, 1);
  assert.equal(window.fetch.jellyguard, true);
});

// --- Setup after a sign-in on the grace period ------------------------------

const SETUP = '/jellyfin/jellyguard/setup';
const released = (setup, token = 'tok-new') => () => new Response(JSON.stringify({ AccessToken: token, ServerId: 'srv1' }), {
  status: 200, headers: setup ? { 'X-Jellyguard-Setup': setup, 'Content-Type': 'application/json' } : { 'Content-Type': 'application/json' },
});
const credsWith = (token) => JSON.stringify({ Servers: [{ Id: 'srv1', ManualAddress: ORIGIN + '/jellyfin', AccessToken: token }] });
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

test('opens Setup once jellyfin-web has stored the session a grace sign-in gave', async () => {
  const local = fakeStorage();
  const session = fakeStorage();
  const { window, assigned } = load(released(SETUP), { local, session });
  const res = await window.fetch(login, loginInit());
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { AccessToken: 'tok-new', ServerId: 'srv1' }, 'the app still reads the whole answer');
  await wait(250);
  assert.deepEqual(assigned, [], 'Setup waits until the app has stored the session');
  local.setItem('jellyfin_credentials', credsWith('tok-new'));
  await wait(250);
  assert.deepEqual(assigned, [SETUP]);
  assert.equal(session.getItem('jellyguard.setup'), null, 'the pending visit is done');
});

test('opens Setup after the app reloads on sign-in', async () => {
  const local = fakeStorage();
  const session = fakeStorage();
  const first = load(released(SETUP), { local, session });
  await first.window.fetch(login, loginInit());
  await wait(50);
  assert.ok(session.getItem('jellyguard.setup'), 'the visit is remembered for the reloaded page');
  // The app stores the session and reloads: the script runs again.
  local.setItem('jellyfin_credentials', credsWith('tok-new'));
  const second = load(ok, { local, session });
  assert.deepEqual(second.assigned, [SETUP]);
  assert.equal(session.getItem('jellyguard.setup'), null);
});

test('a pending visit for another session, or an old one, is dropped', async () => {
  for (const pending of [
    { to: SETUP, token: 'other', at: Date.now() },
    { to: SETUP, token: 'tok-new', at: Date.now() - 120000 },
    { to: 'https://evil.example/', token: 'tok-new', at: Date.now() },
    'not json',
  ]) {
    const local = fakeStorage({ jellyfin_credentials: credsWith('tok-new') });
    const session = fakeStorage({ 'jellyguard.setup': typeof pending === 'string' ? pending : JSON.stringify(pending) });
    const { assigned } = load(ok, { local, session });
    assert.deepEqual(assigned, [], JSON.stringify(pending));
  }
});

test('goes nowhere without the header, or with one that leaves the origin', async () => {
  for (const setup of ['', 'https://evil.example/setup', '//evil.example/setup']) {
    const local = fakeStorage({ jellyfin_credentials: credsWith('tok-new') });
    const session = fakeStorage();
    const { window, assigned } = load(released(setup), { local, session });
    await window.fetch(login, loginInit());
    await wait(250);
    assert.deepEqual(assigned, [], setup);
    assert.equal(session.getItem('jellyguard.setup'), null, setup);
  }
});
