// jellyguard: the setup page. It finds this browser's Jellyfin session in
// jellyfin-web's saved credentials and manages the second factor, devices
// and trusted browsers through the gateway's API.
(() => {
  'use strict';
  const root = document.getElementById('setup');
  if (!root) return;
  const base = root.dataset.base || '';
  const apiBase = root.dataset.api || base + '/jellyguard/api/';
  const $ = (id) => document.getElementById(id);
  const show = (id, on) => { const e = $(id); if (e) e.hidden = !on; };
  const SECTIONS = ['status', 'enroll', 'codes', 'manage', 'devices', 'browsers'];

  let token = '';
  let account = null;
  let secret = '';
  let codes = [];
  let prompt = null;

  // --- the session -------------------------------------------------------

  // findToken returns the access token jellyfin-web saved for this server:
  // the entry whose Id is this server's, else the one saved for this address.
  async function findToken() {
    let servers = [];
    try {
      const creds = JSON.parse(localStorage.getItem('jellyfin_credentials') || '{}');
      if (creds && Array.isArray(creds.Servers)) servers = creds.Servers.filter((s) => s && s.AccessToken);
    } catch (e) {
      return '';
    }
    if (!servers.length) return '';
    let id = '';
    try {
      const res = await fetch(base + '/System/Info/Public', { headers: { Accept: 'application/json' } });
      if (res.ok) id = String((await res.json()).Id || '').toLowerCase();
    } catch (e) {
      id = '';
    }
    const byId = id && servers.find((s) => String(s.Id || '').toLowerCase() === id);
    if (byId) return byId.AccessToken;
    const here = (location.origin + base).toLowerCase();
    const same = (a) => typeof a === 'string' && a.replace(/\/+$/, '').toLowerCase() === here;
    const byAddress = servers.find((s) => same(s.ManualAddress) || same(s.LocalAddress) || same(s.RemoteAddress));
    return byAddress ? byAddress.AccessToken : '';
  }

  // deviceId is the device id jellyfin-web uses in this browser, sent with
  // every call so that the gateway can tell which trusted browser is this
  // one. A value that could break the header is left out.
  function deviceId() {
    let id = '';
    try { id = localStorage.getItem('_deviceId2') || ''; } catch (e) { id = ''; }
    return /^[\x21-\x7e]{1,200}$/.test(id) && !/["\\,]/.test(id) ? id : '';
  }

  function authorization() {
    const dev = deviceId();
    return 'MediaBrowser ' + (dev ? 'DeviceId="' + dev + '", ' : '') + 'Token="' + token + '"';
  }

  async function api(method, path, body) {
    const headers = { Authorization: authorization(), Accept: 'application/json' };
    if (body) headers['Content-Type'] = 'application/json';
    const res = await fetch(apiBase + path, {
      method,
      headers,
      body: body ? JSON.stringify(body) : undefined,
      credentials: 'same-origin',
      cache: 'no-store',
    });
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (!res.ok) {
      const err = new Error(data.message || 'Something went wrong. Try again in a moment.');
      err.code = data.error || '';
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // --- building blocks ---------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }

  function button(text, cls, onClick) {
    const b = el('button', cls, text);
    b.type = 'button';
    b.addEventListener('click', onClick);
    return b;
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? '' : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function describeBrowser(ua) {
    ua = ua || '';
    const name = /Edg\//.test(ua) ? 'Edge' : /OPR\//.test(ua) ? 'Opera' : /Firefox\//.test(ua) ? 'Firefox'
      : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
    const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad|iPod/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows'
      : /Macintosh|Mac OS X/.test(ua) ? 'macOS' : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : '';
    return os ? name + ' on ' + os : name;
  }

  function flash(text) {
    const f = $('flash');
    f.textContent = text;
    f.hidden = false;
    setTimeout(() => { if (f.textContent === text) f.hidden = true; }, 6000);
  }

  function showError(err) {
    const e = $('error');
    e.textContent = err ? err.message : '';
    e.hidden = !err;
  }

  async function copy(text, btn) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // Plain HTTP has no clipboard API: copy through a selection.
      const ta = el('textarea', 'offscreen');
      ta.value = text;
      ta.setAttribute('readonly', '');
      document.body.append(ta);
      ta.select();
      try { document.execCommand('copy'); } finally { ta.remove(); }
    }
    const old = btn.textContent;
    btn.textContent = 'Copied';
    setTimeout(() => { btn.textContent = old; }, 2000);
  }

  function closePrompt() {
    if (prompt) prompt.remove();
    prompt = null;
  }

  // ask shows a small form for a current code after anchor and runs
  // submit(code); an error stays in the form so the code can be fixed.
  // With password set it asks for the account's password instead, which is
  // sent as typed.
  function ask(anchor, label, submit, password) {
    closePrompt();
    const template = password ? $('password-prompt') : $('code-prompt');
    const form = template.content.firstElementChild.cloneNode(true);
    form.querySelector('.prompt-label').textContent = label;
    const input = form.querySelector('input');
    const alert = form.querySelector('.alert');
    const ok = form.querySelector('button[type="submit"]');
    form.querySelector('[data-cancel]').addEventListener('click', closePrompt);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const value = password ? input.value : input.value.replace(/\s+/g, '');
      if (!value) { input.focus(); return; }
      ok.disabled = true;
      alert.hidden = true;
      try {
        await submit(value);
        closePrompt();
      } catch (err) {
        if (err.status === 401) { closePrompt(); signedOut(); return; }
        alert.textContent = err.message;
        alert.hidden = false;
        input.select();
      } finally {
        ok.disabled = false;
      }
    });
    anchor.after(form);
    prompt = form;
    input.focus();
  }

  // act runs a change that needs no code and reports the outcome.
  async function act(promise, done) {
    showError(null);
    try {
      await promise;
      await load();
      flash(done);
    } catch (err) {
      if (err.status === 401) signedOut(); else showError(err);
    }
  }

  // --- views -------------------------------------------------------------

  function signedOut() {
    show('loading', false);
    SECTIONS.forEach((id) => show(id, false));
    show('signin', true);
  }

  async function load() {
    closePrompt();
    token = await findToken();
    if (!token) { signedOut(); return; }
    try {
      account = await api('GET', 'account');
    } catch (err) {
      if (err.status === 401) { signedOut(); return; }
      show('loading', false);
      showError(err);
      return;
    }
    show('loading', false);
    render();
  }

  // renderStatus shows whether two-step verification is on: exactly one of
  // the two lines, whatever was shown before.
  function renderStatus() {
    const a = account;
    show('status', true);
    $('status-user').textContent = a.userName;
    show('status-on', a.enrolled);
    show('status-off', !a.enrolled);

    const req = $('status-required');
    req.textContent = 'This server requires two-step verification for your account.' +
      (a.graceUntil ? ' Set it up before ' + when(a.graceUntil) + '.' : '');
    req.hidden = !(a.required && !a.enrolled);

    const rec = $('status-recovery');
    rec.textContent = (a.recoveryLeft === 1 ? '1 recovery code left.' : a.recoveryLeft + ' recovery codes left.') +
      (a.recoveryLeft < 3 ? ' Make new ones below.' : '');
    rec.hidden = !a.enrolled;
  }

  function render() {
    const a = account;
    show('signin', false);
    show('codes', false);
    renderStatus();

    show('enroll', !a.enrolled);
    show('enroll-start', true);
    show('enroll-steps', false);
    show('manage', a.enrolled);
    renderDevices(a.devices || []);
    renderBrowsers(a.browsers || []);
  }

  function renderDevices(list) {
    const ul = $('device-list');
    ul.replaceChildren();
    show('devices', list.length > 0);
    for (const d of list) {
      const name = d.deviceName || d.client || 'Unknown device';
      const li = el('li');
      const title = el('div', 'item-title', name);
      if (d.state === 'pending') title.append(el('span', 'badge', 'Waiting for approval'));
      li.append(title);
      const added = d.createdAt ? 'added ' + when(d.createdAt) : '';
      li.append(el('span', 'item-meta', [d.client, d.ip, added].filter(Boolean).join(' · ')));
      const row = el('div', 'row');
      if (d.state === 'pending') {
        row.append(button('Approve', 'button small primary', () => ask(row, 'Code to approve ' + name, async (code) => {
          await api('POST', 'devices/approve', { id: d.id, code });
          await load();
          flash(name + ' can sign in now.');
        })));
      }
      row.append(button('Remove', 'button small danger', () => ask(row, 'Code to remove ' + name, async (code) => {
        await api('POST', 'devices/revoke', { id: d.id, code });
        await load();
        flash(name + ' was removed.');
      })));
      li.append(row);
      ul.append(li);
    }
  }

  function renderBrowsers(list) {
    const ul = $('browser-list');
    ul.replaceChildren();
    show('browsers', list.length > 0);
    for (const b of list) {
      const name = describeBrowser(b.userAgent);
      const li = el('li');
      const title = el('div', 'item-title', name);
      if (b.current) title.append(el('span', 'badge current', 'This browser'));
      li.append(title);
      const used = b.lastUsedAt ? 'last used ' + when(b.lastUsedAt) : '';
      const until = b.expiresAt ? 'trusted until ' + when(b.expiresAt) : '';
      li.append(el('span', 'item-meta', [b.ip, used, until].filter(Boolean).join(' · ')));
      const row = el('div', 'row');
      row.append(button('Revoke', 'button small danger', () => ask(row, 'Code to stop trusting ' + name, async (code) => {
        await api('POST', 'browsers/revoke', { id: b.id, code });
        await load();
        flash(name + ' is no longer trusted.');
      })));
      li.append(row);
      ul.append(li);
    }
  }

  // handheld tells a phone or tablet, where the authenticator app is on the
  // device itself, from a computer, where the app is on another device and
  // a link to it would lead nowhere: the primary pointer is a finger, or
  // the browser says it is a phone or tablet.
  function handheld() {
    try {
      if (window.matchMedia && window.matchMedia('(pointer: coarse)').matches) return true;
    } catch (e) {
      // no media queries: the user agent decides
    }
    const nav = typeof navigator === 'object' && navigator ? navigator : {};
    const ua = String(nav.userAgent || '');
    return /Android|iPhone|iPad|iPod|Mobile/i.test(ua) || (/Macintosh/.test(ua) && nav.maxTouchPoints > 1);
  }

  // showSecret writes the key in groups of four, each kept whole when the
  // line wraps, so that it reads and types the same on a narrow phone.
  function showSecret(key) {
    const groups = key.match(/.{1,4}/g) || [];
    const box = $('secret');
    box.replaceChildren(...groups.map((g) => el('span', 'secret-group', g)));
    box.setAttribute('aria-label', groups.join(' '));
  }

  // startEnroll shows a new secret and waits for its first code.
  function startEnroll(e) {
    secret = String(e.secret || '').replace(/\s+/g, '');
    showSecret(secret);
    const issuer = String(e.issuer || root.dataset.issuer || '');
    $('issuer').textContent = issuer;
    show('issuer-note', issuer !== '');
    const qr = $('qr');
    const image = /^data:image\//.test(e.qr || '');
    qr.hidden = !image;
    if (image) qr.src = e.qr;
    const link = $('otpauth');
    const app = /^otpauth:/i.test(e.uri || '') && handheld();
    show('otpauth-row', app);
    if (app) link.href = e.uri;
    $('confirm-code').value = '';
    show('confirm-error', false);
    show('manage', false);
    show('enroll', true);
    show('enroll-start', false);
    show('enroll-steps', true);
    $('enroll').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function showCodes(list) {
    codes = list || [];
    const ol = $('codes-list');
    ol.replaceChildren(...codes.map((c) => el('li', '', c)));
    ['enroll', 'manage', 'devices', 'browsers'].forEach((id) => show(id, false));
    show('codes', true);
    $('codes').scrollIntoView({ behavior: 'smooth', block: 'start' });
  }

  function downloadCodes() {
    const text = 'Recovery codes for ' + (account ? account.userName : '') + ' on ' + location.host + '\n' +
      'Each code signs you in once. Keep them somewhere safe.\n\n' + codes.join('\n') + '\n';
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    const a = el('a');
    a.href = url;
    a.download = 'recovery-codes.txt';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // --- wiring ------------------------------------------------------------

  // A first authenticator needs more than the session's token: when the
  // session signed in too long ago, the gateway asks for the password.
  $('enroll-begin').addEventListener('click', async (ev) => {
    const btn = ev.currentTarget;
    btn.disabled = true;
    showError(null);
    closePrompt();
    try {
      startEnroll(await api('POST', 'totp/begin', {}));
    } catch (err) {
      if (err.status === 401) signedOut();
      else if (err.code === 'password_required') askPassword(btn);
      else showError(err);
    } finally {
      btn.disabled = false;
    }
  });

  function askPassword(anchor) {
    ask(anchor, 'Your password, to set up two-step verification', async (password) => {
      startEnroll(await api('POST', 'totp/begin', { password }));
    }, true);
  }

  $('enroll-cancel').addEventListener('click', () => { load(); });

  $('confirm-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $('confirm-code');
    const alert = $('confirm-error');
    const code = input.value.replace(/\s+/g, '');
    if (!code) { input.focus(); return; }
    alert.hidden = true;
    try {
      const res = await api('POST', 'totp/confirm', { code });
      account.enrolled = true;
      account.recoveryLeft = (res.recoveryCodes || []).length;
      renderStatus();
      showCodes(res.recoveryCodes);
    } catch (err) {
      if (err.status === 401) { signedOut(); return; }
      alert.textContent = err.message;
      alert.hidden = false;
      input.select();
    }
  });

  $('copy-secret').addEventListener('click', (ev) => copy(secret, ev.currentTarget));
  $('codes-download').addEventListener('click', downloadCodes);
  $('codes-copy').addEventListener('click', (ev) => copy(codes.join('\n'), ev.currentTarget));
  $('codes-done').addEventListener('click', () => {
    codes = [];
    $('codes-list').replaceChildren();
    load();
  });

  $('regenerate').addEventListener('click', (ev) => ask(ev.currentTarget.parentElement,
    'Current code, to make new recovery codes', async (code) => {
      const res = await api('POST', 'recovery/regenerate', { code });
      showCodes(res.recoveryCodes);
    }));

  $('reenroll').addEventListener('click', (ev) => ask(ev.currentTarget.parentElement,
    'Current code, to move to a new phone or app', async (code) => {
      startEnroll(await api('POST', 'totp/begin', { code }));
    }));

  $('disable').addEventListener('click', (ev) => ask(ev.currentTarget.parentElement,
    'Current code, to turn off two-step verification', async (code) => {
      await api('POST', 'totp/disable', { code });
      await load();
      flash('Your authenticator app was removed.');
    }));

  window.addEventListener('beforeunload', (ev) => {
    if (codes.length) { ev.preventDefault(); ev.returnValue = ''; }
  });

  load();
})();
