// jellyguard: lets people switch the code field to a recovery code, which
// has letters, so that phones show a full keyboard.
(function () {
  'use strict';
  var button = document.getElementById('use-recovery');
  var input = document.getElementById('code');
  var label = document.getElementById('code-label');
  if (!button || !input) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    input.setAttribute('inputmode', 'text');
    input.setAttribute('autocomplete', 'off');
    input.classList.remove('code');
    if (label && label.dataset.recoveryLabel) label.textContent = label.dataset.recoveryLabel;
    button.hidden = true;
    input.value = '';
    input.focus();
  });
})();
