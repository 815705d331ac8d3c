// jellyguard: loaded into jellyfin-web. It marks the app's password sign-in
// so that the gateway can answer it with a second-factor challenge, and
// follows that challenge to the gateway's page. Every other request passes
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
  window.jellyguard = { setup: base + '/jellyguard/setup' };

  var realFetch = window.fetch;
  if (typeof realFetch !== 'function' || realFetch.jellyguard) return;

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

  var wrapped = function (input, init) {
    if (!isSignIn(input, init)) return realFetch.apply(window, arguments);
    var fromRequest = input && typeof input === 'object' && typeof input.url === 'string' && input.headers;
    var headers = new Headers((init && init.headers) || (fromRequest ? input.headers : undefined));
    headers.set('X-Jellyguard-Web', '1');
    var next = {};
    for (var k in init) if (Object.prototype.hasOwnProperty.call(init, k)) next[k] = init[k];
    next.headers = headers;
    return realFetch.call(window, input, next).then(function (res) {
      var to = res && res.status === 401 && res.headers && res.headers.get('X-Jellyguard-Challenge');
      if (to && sameOriginPath(to)) location.assign(to);
      return res;
    });
  };
  wrapped.jellyguard = true;
  window.fetch = wrapped;
})();
