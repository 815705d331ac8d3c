// jellyguard: the challenge page asks for the authenticator app's code or,
// for someone without their phone, a recovery code. A recovery code has
// letters, so phones show a full keyboard for it; the label, the hint and
// the switch follow the mode, and the switch leads back as well. The mode
// goes with the form, so a wrong code brings the same form back.
(function () {
  'use strict';
  var toggle = document.getElementById('switch-mode');
  var input = document.getElementById('code');
  var mode = document.getElementById('mode');
  var label = document.getElementById('code-label');
  var hint = document.getElementById('code-hint');
  if (!toggle || !input || !mode) return;

  function set(next) {
    var recovery = next === 'recovery';
    mode.value = recovery ? 'recovery' : 'app';
    input.setAttribute('inputmode', recovery ? 'text' : 'numeric');
    input.setAttribute('autocomplete', recovery ? 'off' : 'one-time-code');
    input.className = recovery ? 'code recovery' : 'code';
    var key = recovery ? 'recovery' : 'app';
    if (label && label.dataset[key]) label.textContent = label.dataset[key];
    if (hint && hint.dataset[key]) hint.textContent = hint.dataset[key];
    if (toggle.dataset[key]) toggle.textContent = toggle.dataset[key];
  }

  toggle.hidden = false;
  toggle.addEventListener('click', function () {
    set(mode.value === 'recovery' ? 'app' : 'recovery');
    input.value = '';
    input.focus();
  });
})();
