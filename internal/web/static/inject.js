// jellyguard: loaded into jellyfin-web. It marks the app's password sign-in
// so that the gateway can answer it with a second-factor challenge, and
// follows that challenge to the gateway's page. It sends a user who must
// still set up a second factor to the Setup page after signing in, and it
// adds a "Two-step verification" entry to the user's settings menu, so
// that Setup can be found from inside Jellyfin. Every other request passes
// through untouched.
(function () {
  'use strict';
  var script = document.currentScript;
  var base = '';
  if (script && script.src) {
    var p = new URL(script.src, location.href).pathname;
    var i = p.toLowerCase().lastIndexOf('/jellyguard/static/');
    if (i >= 0) base = p.slice(0, i);
  }
  var setupPath = base + '/jellyguard/setup';
  window.jellyguard = { setup: setupPath };

  var realFetch = window.fetch;
  if (typeof realFetch !== 'function' || realFetch.jellyguard) return;

  // --- sign-in -----------------------------------------------------------

  function urlOf(input) {
    if (typeof input === 'string') return input;
    if (input && typeof input.url === 'string') return input.url; // Request
    return String(input); // URL and anything with toString
  }

  // isSignIn tells whether a call is jellyfin-web's password sign-in to
  // this origin.
  function isSignIn(input, init) {
    var method = (init && init.method) || (input && typeof input === 'object' && input.method) || 'GET';
    if (String(method).toUpperCase() !== 'POST') return false;
    var u;
    try { u = new URL(urlOf(input), location.href); } catch (e) { return false; }
    return u.origin === location.origin && /\/users\/authenticatebyname\/?$/i.test(u.pathname);
  }

  // sameOriginPath accepts "/path" but not "//host" or "/\host".
  function sameOriginPath(v) {
    return typeof v === 'string' && v.charAt(0) === '/' && v.charAt(1) !== '/' && v.charAt(1) !== '\\';
  }

  // --- Setup after a sign-in on the grace period ---------------------------
  //
  // The gateway names the Setup page in X-Jellyguard-Setup when a user must
  // still set up a second factor. jellyfin-web stores the new session only
  // after this script has seen the answer, and the Setup page needs that
  // session, so the browser goes there once the session is stored: at once
  // if the app stays on the page, or right after the app reloads.

  var PENDING = 'jellyguard.setup';
  var PENDING_MS = 60000; // a pending visit older than this is dropped

  function storage(kind) {
    try { return window[kind] || null; } catch (e) { return null; }
  }

  // stored tells whether jellyfin-web has saved token for some server.
  function stored(token) {
    var local = storage('localStorage');
    if (!local || !token) return false;
    try {
      var creds = JSON.parse(local.getItem('jellyfin_credentials') || 'null');
      var servers = (creds && Array.isArray(creds.Servers)) ? creds.Servers : [];
      for (var i = 0; i < servers.length; i++) {
        if (servers[i] && servers[i].AccessToken === token) return true;
      }
    } catch (e) {
      return false;
    }
    return false;
  }

  function readPending() {
    var session = storage('sessionStorage');
    if (!session) return null;
    try {
      var v = JSON.parse(session.getItem(PENDING) || 'null');
      if (v && sameOriginPath(v.to) && typeof v.token === 'string' && Date.now() - v.at < PENDING_MS) return v;
    } catch (e) {
      // unreadable: dropped below
    }
    session.removeItem(PENDING);
    return null;
  }

  function goSetup(to) {
    var session = storage('sessionStorage');
    if (session) session.removeItem(PENDING);
    location.assign(to);
  }

  // awaitSession waits (a few seconds at most) until jellyfin-web has
  // stored token, then opens the Setup page.
  function awaitSession(to, token) {
    var session = storage('sessionStorage');
    if (session) {
      try { session.setItem(PENDING, JSON.stringify({ to: to, token: token, at: Date.now() })); } catch (e) { /* no storage: the wait below still works */ }
    }
    var tries = 0;
    var timer = setInterval(function () {
      tries++;
      if (stored(token)) {
        clearInterval(timer);
        goSetup(to);
      } else if (tries > 100) {
        clearInterval(timer);
      }
    }, 100);
  }

  // A visit left pending by the page before the app reloaded.
  var pending = readPending();
  if (pending && stored(pending.token)) goSetup(pending.to);

  function followSetup(res) {
    var to = res.headers && res.headers.get('X-Jellyguard-Setup');
    if (!to || !sameOriginPath(to) || typeof res.clone !== 'function') return;
    res.clone().json().then(function (body) {
      var token = body && (body.AccessToken || body.accessToken);
      if (typeof token === 'string' && token) awaitSession(to, token);
    }).catch(function () { /* not a session: nothing to wait for */ });
  }

  var wrapped = function (input, init) {
    if (!isSignIn(input, init)) return realFetch.apply(window, arguments);
    var fromRequest = input && typeof input === 'object' && typeof input.url === 'string' && input.headers;
    var headers = new Headers((init && init.headers) || (fromRequest ? input.headers : undefined));
    headers.set('X-Jellyguard-Web', '1');
    var next = {};
    for (var k in init) if (Object.prototype.hasOwnProperty.call(init, k)) next[k] = init[k];
    next.headers = headers;
    return realFetch.call(window, input, next).then(function (res) {
      if (!res) return res;
      var to = res.status === 401 && res.headers && res.headers.get('X-Jellyguard-Challenge');
      if (to && sameOriginPath(to)) location.assign(to);
      if (res.ok) followSetup(res);
      return res;
    });
  };
  wrapped.jellyguard = true;
  window.fetch = wrapped;

  // --- the entry in the user's settings menu ------------------------------
  //
  // jellyfin-web's settings menu (#/mypreferencesmenu) lists Profile,
  // Display, Home, Playback, Subtitles, Quick Connect … as links. The entry
  // is built like its neighbours and placed after Quick Connect (or after
  // Profile). It is a plain link: the Setup page is not part of the app's
  // router. When the menu's markup is not found on that route, a small
  // floating link stands in.

  var ENTRY = 'jellyguardSetupEntry';
  var FLOAT = 'jellyguardSetupFloat';
  var LABEL = 'Two-step verification';
  var ANCHORS = '.lnkQuickConnectPreferences, .lnkMyProfile, .lnkUserProfile';

  function buildEntry(like) {
    var a = document.createElement('a');
    a.href = setupPath;
    a.className = 'listItem-border ' + ENTRY;
    if (like.style && like.style.cssText) a.style.cssText = like.style.cssText;
    var item = like.querySelector('.listItem');
    if (item) {
      var inner = item.cloneNode(true);
      var icon = inner.querySelector('.listItemIcon');
      if (icon) {
        icon.className = 'material-icons listItemIcon listItemIcon-transparent';
        icon.setAttribute('aria-hidden', 'true');
        icon.textContent = 'lock';
      }
      var text = inner.querySelector('.listItemBodyText');
      if (text) text.textContent = LABEL;
      else inner.textContent = LABEL;
      a.appendChild(inner);
    } else {
      a.textContent = LABEL;
    }
    return a;
  }

  function onMenuRoute() {
    return /mypreferencesmenu/i.test(location.hash || '') || /mypreferencesmenu/i.test(location.pathname || '');
  }

  function floating(show) {
    var f = document.getElementById(FLOAT);
    if (!show) {
      if (f) f.remove();
      return;
    }
    if (f || !document.body) return;
    f = document.createElement('a');
    f.id = FLOAT;
    f.href = setupPath;
    f.textContent = LABEL;
    var s = f.style;
    s.position = 'fixed';
    s.right = '1em';
    s.bottom = '1em';
    s.zIndex = '1000';
    s.padding = '.75em 1.1em';
    s.borderRadius = '999px';
    s.background = '#00a4dc';
    s.color = '#000';
    s.font = '600 15px/1.2 system-ui, sans-serif';
    s.textDecoration = 'none';
    s.boxShadow = '0 2px 8px rgba(0,0,0,.4)';
    document.body.appendChild(f);
  }

  function placeEntries() {
    var anchors = document.querySelectorAll(ANCHORS);
    var placed = 0;
    var seen = [];
    for (var i = 0; i < anchors.length; i++) {
      var section = anchors[i].parentNode;
      if (!section || seen.indexOf(section) >= 0) continue;
      seen.push(section);
      if (section.querySelector('.' + ENTRY)) {
        placed++;
        continue;
      }
      var after = section.querySelector('.lnkQuickConnectPreferences') || anchors[i];
      after.parentNode.insertBefore(buildEntry(after), after.nextSibling);
      placed++;
    }
    lookedFor(placed === 0 && onMenuRoute());
  }

  // lookedFor shows the floating link once the menu route has shown no
  // menu for a moment: the app draws its pages a little after the route
  // changes.
  var missingSince = 0;
  function lookedFor(missing) {
    if (!missing) {
      missingSince = 0;
      floating(false);
      return;
    }
    var now = Date.now();
    if (!missingSince) missingSince = now;
    if (now - missingSince >= 1500) floating(true);
    else setTimeout(schedule, 1600 - (now - missingSince));
  }

  if (typeof document.querySelectorAll !== 'function' || typeof MutationObserver !== 'function') return;
  var queued = false;
  function schedule() {
    if (queued) return;
    queued = true;
    setTimeout(function () {
      queued = false;
      placeEntries();
    }, 50);
  }
  new MutationObserver(schedule).observe(document.documentElement, { childList: true, subtree: true });
  window.addEventListener('hashchange', schedule);
  schedule();
})();
