// Tests for static/handoff.js: storing the session the way jellyfin-web does.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(path.join(__dirname, '..', '..', 'static', 'handoff.js'), 'utf8');
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

// run executes handoff.js with the data attributes in data and resolves when
// it has navigated (or given up).
function run(data, storage, { fetchId = 'fetched-id', origin = ORIGIN, failStore = false } = {}) {
  return new Promise((resolve) => {
    const status = { textContent: '' };
    const replaced = [];
    const dataset = Object.assign({
      serverId: 'srv1', userId: 'u1', token: 'tok-abc', deviceId: 'dev-1',
      address: ORIGIN + '/jellyfin', base: '/jellyfin', target: '/jellyfin/web/',
    }, data);
    const storageUsed = failStore ? { getItem: () => null, setItem: () => { throw new Error('quota'); } } : storage;
    const ctx = vm.createContext({
      document: { getElementById: (id) => (id === 'handoff' ? { dataset } : id === 'handoff-status' ? status : null) },
      localStorage: storageUsed,
      location: { origin, replace(u) { replaced.push(u); resolve({ replaced, status }); } },
      fetch: (url) => Promise.resolve({ json: () => Promise.resolve({ Id: fetchId, url }) }),
      URL,
    });
    vm.runInContext(source, ctx);
    setTimeout(() => resolve({ replaced, status }), 200);
  });
}

const creds = (s) => JSON.parse(s.getItem('jellyfin_credentials'));

test('writes a fresh entry the way jellyfin-web does', async () => {
  const s = fakeStorage();
  const before = Date.now();
  const { replaced } = await run({}, s);
  assert.deepEqual(replaced, ['/jellyfin/web/']);
  const c = creds(s);
  assert.equal(c.Servers.length, 1);
  const e = c.Servers[0];
  assert.equal(typeof e.DateLastAccessed, 'number');
  assert.ok(e.DateLastAccessed >= before);
  delete e.DateLastAccessed;
  assert.deepEqual(e, {
    ManualAddress: ORIGIN + '/jellyfin', manualAddressOnly: true, LastConnectionMode: 2,
    Id: 'srv1', UserId: 'u1', AccessToken: 'tok-abc',
  });
  assert.equal(s.getItem('enableAutoLogin'), 'true');
  assert.equal(s.getItem('_deviceId2'), 'dev-1');
});

test('replaces the entry for this server and keeps the others', async () => {
  const other = { Id: 'other', ManualAddress: 'https://friend.example', AccessToken: 'x', UserId: 'y' };
  const s = fakeStorage({
    jellyfin_credentials: JSON.stringify({
      Servers: [
        other,
        { Id: 'SRV1', ManualAddress: 'https://old.example', AccessToken: 'old', UserId: 'old' },
        { Id: 'stale', ManualAddress: ORIGIN + '/Jellyfin/', AccessToken: 'stale' },
      ],
      Extra: 1,
    }),
    enableAutoLogin: 'false',
    _deviceId2: 'old-device',
  });
  await run({}, s);
  const c = creds(s);
  assert.equal(c.Extra, 1, 'other keys are kept');
  assert.deepEqual(c.Servers.map((e) => e.Id), ['other', 'srv1'], 'an old entry for the same address is dropped');
  assert.deepEqual(c.Servers[0], other);
  assert.equal(c.Servers[1].AccessToken, 'tok-abc');
  assert.equal(s.getItem('enableAutoLogin'), 'true');
  assert.equal(s.getItem('_deviceId2'), 'dev-1');
});

test('survives damaged storage', async () => {
  for (const bad of ['not json', '[]', 'null', '{"Servers":"x"}', '{"Servers":[null,1,"x"]}']) {
    const s = fakeStorage({ jellyfin_credentials: bad });
    const { replaced } = await run({}, s);
    assert.deepEqual(replaced, ['/jellyfin/web/'], bad);
    assert.deepEqual(creds(s).Servers.map((e) => e.Id), ['srv1'], bad);
  }
});

test('keeps the device id when none is given', async () => {
  const s = fakeStorage({ _deviceId2: 'mine' });
  await run({ deviceId: '' }, s);
  assert.equal(s.getItem('_deviceId2'), 'mine');
});

test('uses the page origin when the server saw another host', async () => {
  const s = fakeStorage();
  await run({ address: 'http://internal:8096/jellyfin' }, s);
  assert.equal(creds(s).Servers[0].ManualAddress, ORIGIN + '/jellyfin');
  const s2 = fakeStorage();
  await run({ address: '', base: '' }, s2);
  assert.equal(creds(s2).Servers[0].ManualAddress, ORIGIN);
});

test('asks the server for its id when the page has none', async () => {
  const s = fakeStorage();
  const { replaced } = await run({ serverId: '' }, s, { fetchId: 'from-server' });
  assert.deepEqual(replaced, ['/jellyfin/web/']);
  assert.equal(creds(s).Servers[0].Id, 'from-server');
});

test('says so when storage is refused', async () => {
  const { replaced, status } = await run({}, null, { failStore: true });
  assert.deepEqual(replaced, []);
  assert.match(status.textContent, /store data/);
});
