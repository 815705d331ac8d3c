// Stand-in for jellyfin-web 10.11.11, served by the emulator as
// /web/standin.js. It does what the real app does at the two moments a
// gateway in front of Jellyfin cares about (reference/jellyfin-api.md §10):
//
//   - on load (§10.2): it looks for this server's entry in localStorage
//     "jellyfin_credentials"; when that entry holds an AccessToken it checks
//     the token with GET /System/Info and shows who is signed in (from
//     GET /Users/{UserId}); when the check fails it clears the token, as the
//     app does, and shows the login form;
//   - on sign-in (§10.3): it sends jellyfin-apiclient's fetch, stores the
//     answer the way the app stores it and reloads;
//   - on "Sign out": like the app's user menu, it ends the session at the
//     server (POST /Sessions/Logout with the token), forgets the token and
//     the user id of this server's entry, and shows the login form — also
//     when the server could not be reached, as the app does.
//
// The fetch is looked up on window at the moment of each call, as the app's
// is, so a script loaded later that wraps window.fetch sees every request.
(function () {
  'use strict';

  var CREDENTIALS = 'jellyfin_credentials';
  var CLIENT = 'Jellyfin Web';
  var DEVICE = 'Chrome';
  var VERSION = '10.11.11';
  var MESSAGES = {
    401: 'Invalid username or password.',
    403: 'You are not authorized to access the server at this time. Please contact your server administrator for more information.',
    other: "We're unable to connect to the selected server right now. Please ensure it is running and try again."
  };

  var $ = function (id) { return document.getElementById(id); };

  // The server address is the page URL up to the last /web (§10.2 step 1).
  function serverAddress() {
    var path = location.pathname;
    var i = path.toLowerCase().lastIndexOf('/web');
    return location.origin + (i >= 0 ? path.slice(0, i) : '');
  }

  // The device id jellyfin-web keeps in _deviceId2: base64 of
  // "userAgent|timestamp" with "=" replaced by "1" (§10.2).
  function deviceId() {
    var id = localStorage.getItem('_deviceId2');
    if (!id) {
      id = btoa([navigator.userAgent, Date.now()].join('|')).replace(/=/g, '1');
      localStorage.setItem('_deviceId2', id);
    }
    return id;
  }

  // jellyfin-apiclient's header: raw values, Token only when there is one.
  function authorization(token) {
    var parts = ['Client="' + CLIENT + '"', 'Device="' + DEVICE + '"', 'DeviceId="' + deviceId() + '"', 'Version="' + VERSION + '"'];
    if (token) parts.push('Token="' + token + '"');
    return 'MediaBrowser ' + parts.join(', ');
  }

  function request(method, path, token, body) {
    var init = {
      method: method,
      headers: { Authorization: authorization(token), accept: 'application/json' },
      credentials: 'same-origin'
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return window.fetch(serverAddress() + path, init);
  }

  function getJSON(path, token) {
    return request('GET', path, token).then(function (res) {
      if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
      return res.json();
    });
  }

  function readCredentials() {
    var creds = null;
    try { creds = JSON.parse(localStorage.getItem(CREDENTIALS) || 'null'); } catch (e) { creds = null; }
    if (!creds || typeof creds !== 'object' || Array.isArray(creds)) creds = {};
    if (!Array.isArray(creds.Servers)) creds.Servers = [];
    return creds;
  }

  function writeCredentials(creds) {
    localStorage.setItem(CREDENTIALS, JSON.stringify(creds));
  }

  function sameId(a, b) {
    return typeof a === 'string' && typeof b === 'string' && a !== '' && a.toLowerCase() === b.toLowerCase();
  }

  function entryFor(creds, serverId) {
    for (var i = 0; i < creds.Servers.length; i++) {
      var s = creds.Servers[i];
      if (s && typeof s === 'object' && sameId(s.Id, serverId)) return s;
    }
    return null;
  }

  function setState(state) {
    document.body.setAttribute('data-state', state);
  }

  function showError(text) {
    var el = $('error');
    el.textContent = text;
    el.hidden = !text;
  }

  function showSignedIn(name) {
    $('status').textContent = 'Signed in as ' + name;
    $('loginForm').hidden = true;
    $('signOut').hidden = false;
    setState('signed-in');
  }

  function showLogin() {
    $('status').textContent = '';
    $('signOut').hidden = true;
    $('loginForm').hidden = false;
    setState('signed-out');
  }

  // forget removes the token and the user id from this server's entry.
  function forget(info) {
    var creds = readCredentials();
    var entry = entryFor(creds, info.Id);
    if (entry) {
      delete entry.AccessToken;
      delete entry.UserId;
      writeCredentials(creds);
    }
  }

  // signOut is the user menu's "Sign out": the session ends at the server,
  // and the browser forgets it whatever the server answered.
  function signOut(info) {
    var entry = entryFor(readCredentials(), info.Id);
    var token = entry && entry.AccessToken;
    setState('signing-out');
    var done = function () {
      forget(info);
      showLogin();
    };
    if (!token) {
      done();
      return;
    }
    request('POST', '/Sessions/Logout', token).then(done, done);
  }

  // start is the app's startup (§10.2 steps 2–6).
  function start(info) {
    var creds = readCredentials();
    var entry = entryFor(creds, info.Id);
    if (!entry || !entry.AccessToken || localStorage.getItem('enableAutoLogin') === 'false') {
      showLogin();
      return Promise.resolve();
    }
    var token = entry.AccessToken;
    return getJSON('/System/Info', token)
      .then(function () { return getJSON('/Users/' + encodeURIComponent(entry.UserId || ''), token); })
      .then(function (user) { showSignedIn(String(user.Name || '')); })
      .catch(function () {
        // Any failure signs the browser out of this server.
        delete entry.AccessToken;
        delete entry.UserId;
        writeCredentials(creds);
        showLogin();
      });
  }

  // store saves a sign-in the way jellyfin-apiclient's Credentials do.
  function store(info, result) {
    var creds = readCredentials();
    var entry = entryFor(creds, info.Id);
    if (!entry) {
      entry = {};
      creds.Servers.push(entry);
    }
    entry.ManualAddress = serverAddress();
    entry.manualAddressOnly = true;
    entry.LastConnectionMode = 2;
    entry.DateLastAccessed = Date.now();
    entry.Name = info.ServerName;
    entry.Id = info.Id;
    if (info.LocalAddress) entry.LocalAddress = info.LocalAddress;
    entry.UserId = result.User.Id;
    entry.AccessToken = result.AccessToken;
    writeCredentials(creds);
    localStorage.setItem('enableAutoLogin', 'true');
    localStorage.setItem('user-' + result.User.Id + '-' + info.Id, JSON.stringify(result.User));
  }

  function signIn(info) {
    var button = $('login');
    button.disabled = true;
    showError('');
    setState('signing-in');
    // jellyfin-apiclient's authenticateUserByName.
    request('POST', '/Users/authenticatebyname', '', { Username: $('username').value, Pw: $('password').value })
      .then(function (res) {
        if (res.status === 200) {
          return res.json().then(function (result) {
            if (!result || !result.AccessToken || !result.User) throw new Error('no AccessToken');
            store(info, result);
            setState('signed-in-reloading');
            location.reload();
          });
        }
        showError(MESSAGES[res.status] || MESSAGES.other);
        setState('signed-out');
      })
      .catch(function () {
        showError(MESSAGES.other);
        setState('signed-out');
      })
      .then(function () { button.disabled = false; });
  }

  function init() {
    setState('loading');
    deviceId();
    fetch(serverAddress() + '/System/Info/Public', { headers: { accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (info) {
        $('loginForm').addEventListener('submit', function (ev) {
          ev.preventDefault();
          signIn(info);
        });
        $('signOut').addEventListener('click', function (ev) {
          ev.preventDefault();
          signOut(info);
        });
        return start(info);
      })
      .catch(function () {
        $('status').textContent = '';
        showError(MESSAGES.other);
        setState('unreachable');
      });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
