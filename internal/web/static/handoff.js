// jellyguard: hands the session over to jellyfin-web. jellyfin-web reads
// its saved servers from localStorage when it starts, so the entry for this
// server is written here, the way the app writes it after a normal sign-in,
// and then the app is opened.
(function () {
  'use strict';
  var el = document.getElementById('handoff');
  if (!el) return;
  var d = el.dataset;
  var KEY = 'jellyfin_credentials';

  // The address jellyfin-web compares with its own: the URL up to /web.
  var address = d.address || '';
  try {
    if (new URL(address).origin !== location.origin) address = location.origin + (d.base || '');
  } catch (e) {
    address = location.origin + (d.base || '');
  }
  address = address.replace(/\/+$/, '');

  function store(serverId) {
    var creds = null;
    try { creds = JSON.parse(localStorage.getItem(KEY) || 'null'); } catch (e) { creds = null; }
    if (!creds || typeof creds !== 'object' || Array.isArray(creds)) creds = {};
    var servers = Array.isArray(creds.Servers) ? creds.Servers : [];

    var entry = {
      ManualAddress: address,
      manualAddressOnly: true,
      LastConnectionMode: 2,
      DateLastAccessed: Date.now(),
      Id: serverId,
      UserId: d.userId,
      AccessToken: d.token
    };
    var lower = function (v) { return typeof v === 'string' ? v.replace(/\/+$/, '').toLowerCase() : ''; };
    var placed = false;
    var next = [];
    for (var i = 0; i < servers.length; i++) {
      var s = servers[i];
      if (!s || typeof s !== 'object') continue;
      if (String(s.Id || '').toLowerCase() === String(serverId).toLowerCase()) {
        if (!placed) { next.push(entry); placed = true; }
      } else if (lower(s.ManualAddress) !== lower(address)) {
        next.push(s); // another server; an old entry for this address would shadow ours
      }
    }
    if (!placed) next.push(entry);
    creds.Servers = next;

    try {
      localStorage.setItem(KEY, JSON.stringify(creds));
      localStorage.setItem('enableAutoLogin', 'true');
      if (d.deviceId) localStorage.setItem('_deviceId2', d.deviceId);
    } catch (e) {
      var status = document.getElementById('handoff-status');
      if (status) status.textContent = 'This browser does not allow this site to store data, so it cannot stay signed in. Allow site data and sign in again.';
      return;
    }
    location.replace(d.target || ((d.base || '') + '/web/'));
  }

  if (d.serverId) {
    store(d.serverId);
  } else {
    // Ask the server for its id, as jellyfin-web does.
    fetch((d.base || '') + '/System/Info/Public', { headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (info) { store(String(info.Id || '')); })
      .catch(function () { store(''); });
  }
})();
