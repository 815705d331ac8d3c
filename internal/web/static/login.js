// jellyguard: the sign-in form sends the device id jellyfin-web already
// uses in this browser, so the session keeps the same device.
(function () {
  'use strict';
  var field = document.getElementById('device-id');
  if (!field) return;
  try {
    var id = localStorage.getItem('_deviceId2');
    if (id) field.value = id;
  } catch (e) {
    // No storage: the server picks a device id.
  }
})();
