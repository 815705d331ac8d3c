// Tests for static/challenge.js: the switch between the authenticator
// app's code and a recovery code, against the ids of templates/challenge.html.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { pageDocument } = require('./fakedom.js');

const dir = path.join(__dirname, '..', '..');
const source = fs.readFileSync(path.join(dir, 'static', 'challenge.js'), 'utf8');
const html = fs.readFileSync(path.join(dir, 'templates', 'challenge.html'), 'utf8');

// dataOf reads the data-app and data-recovery texts of the element with id
// from the template, as the browser would give them to the script.
function dataOf(id) {
  const m = new RegExp('<\\w+[^>]*\\sid="' + id + '"[^>]*>').exec(html.replace(/\s+/g, ' '));
  assert.ok(m, id + ' is in the template');
  const get = (k) => (new RegExp('\\sdata-' + k + '="([^"]*)"').exec(m[0]) || [])[1];
  return { app: get('app'), recovery: get('recovery') };
}

function open() {
  const page = pageDocument(html);
  const $ = (id) => page.byId.get(id);
  for (const id of ['code-label', 'code-hint', 'switch-mode']) $(id).dataset = dataOf(id);
  $('mode').value = 'app';
  $('code').className = 'code';
  $('code-label').textContent = $('code-label').dataset.app;
  $('code-hint').textContent = $('code-hint').dataset.app;
  $('switch-mode').textContent = $('switch-mode').dataset.app;
  vm.runInContext(source, vm.createContext({ document: page.document }));
  return $;
}

test('the switch appears once the script runs', () => {
  const $ = open();
  assert.equal($('switch-mode').hidden, false);
  assert.match($('switch-mode').textContent, /recovery code/);
});

test('recovery mode says recovery code everywhere, takes letters and goes with the form', async () => {
  const $ = open();
  $('code').value = '12';
  await $('switch-mode').click();
  assert.equal($('mode').value, 'recovery', 'the form says which mode it was in');
  assert.equal($('code-label').textContent, 'Recovery code');
  assert.doesNotMatch($('code-hint').textContent, /6-digit/, 'the hint follows the mode');
  assert.match($('code-hint').textContent, /recovery codes/);
  assert.equal($('code').getAttribute('inputmode'), 'text', 'phones show letters');
  assert.equal($('code').getAttribute('autocomplete'), 'off');
  assert.equal($('code').className, 'code recovery');
  assert.equal($('code').value, '', 'what was typed for the other mode is cleared');
  assert.equal($('switch-mode').hidden, false, 'there is a way back');
  assert.match($('switch-mode').textContent, /authenticator app/);
});

test('the way back restores the authenticator mode', async () => {
  const $ = open();
  await $('switch-mode').click();
  await $('switch-mode').click();
  assert.equal($('mode').value, 'app');
  assert.equal($('code-label').textContent, 'Code from your authenticator app');
  assert.match($('code-hint').textContent, /6-digit/);
  assert.equal($('code').getAttribute('inputmode'), 'numeric');
  assert.equal($('code').getAttribute('autocomplete'), 'one-time-code');
  assert.equal($('code').className, 'code');
  assert.match($('switch-mode').textContent, /recovery code/);
});
