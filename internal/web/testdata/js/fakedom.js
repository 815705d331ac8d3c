// A very small fake DOM for the page scripts: flat elements built from the
// ids in a page template, enough for the scripts' own calls.
'use strict';

class El {
  constructor(tag, props = {}) {
    this.tagName = tag.toUpperCase();
    this.children = [];
    this.parentElement = null;
    this.listeners = {};
    this.dataset = {};
    this.attrs = {};
    this.hidden = false;
    this.disabled = false;
    this.textContent = '';
    this.className = '';
    this.value = '';
    this.type = '';
    Object.assign(this, props);
  }

  append(...nodes) {
    for (const n of nodes) {
      if (n.parentElement) n.remove();
      n.parentElement = this;
      this.children.push(n);
    }
  }

  replaceChildren(...nodes) {
    for (const c of this.children) c.parentElement = null;
    this.children = [];
    this.append(...nodes);
  }

  after(node) {
    const p = this.parentElement;
    if (node.parentElement) node.remove();
    node.parentElement = p;
    p.children.splice(p.children.indexOf(this) + 1, 0, node);
  }

  remove() {
    const p = this.parentElement;
    if (!p) return;
    p.children.splice(p.children.indexOf(this), 1);
    this.parentElement = null;
  }

  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }

  // fire calls the listeners for type and waits for them.
  async fire(type) {
    const ev = { type, target: this, currentTarget: this, defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    for (const fn of this.listeners[type] || []) await fn(ev);
    return ev;
  }

  click() { return this.fire('click'); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  focus() {}
  select() {}
  scrollIntoView() {}
  get firstElementChild() { return this.children[0] || null; }
  get classList() {
    const self = this;
    return {
      contains: (c) => self.className.split(/\s+/).includes(c),
      remove: (c) => { self.className = self.className.split(/\s+/).filter((x) => x !== c).join(' '); },
      add: (c) => { self.className = (self.className + ' ' + c).trim(); },
    };
  }

  cloneNode() {
    const c = new El(this.tagName, { className: this.className, type: this.type, textContent: this.textContent, hidden: this.hidden });
    c.dataset = { ...this.dataset };
    c.attrs = { ...this.attrs };
    for (const k of this.children) c.append(k.cloneNode());
    return c;
  }

  matches(sel) {
    if (sel.startsWith('.')) return this.classList.contains(sel.slice(1));
    if (sel === '[data-cancel]') return 'cancel' in this.dataset;
    const m = /^(\w+)(?:\[type="(\w+)"\])?$/.exec(sel);
    return !!m && this.tagName === m[1].toUpperCase() && (!m[2] || this.type === m[2]);
  }

  * walk() {
    for (const c of this.children) {
      yield c;
      yield* c.walk();
    }
  }

  querySelector(sel) {
    for (const e of this.walk()) if (e.matches(sel)) return e;
    return null;
  }

  querySelectorAll(sel) { return [...this.walk()].filter((e) => e.matches(sel)); }

  // text is the text of the element and everything in it.
  text() { return [this.textContent, ...this.children.map((c) => c.text())].join(' ').trim(); }
}

// pageDocument builds a document with one element for every id="…" in html,
// with the tag and the hidden attribute of the markup. Each sits in a
// wrapper of its own under body, so that it has a parent to insert next to.
function pageDocument(html) {
  const body = new El('body');
  const byId = new Map();
  for (const m of html.matchAll(/<(\w+)\b([^>]*?)\sid="([^"]+)"([^>]*)>/g)) {
    const attrs = m[2] + ' ' + m[4];
    const typ = /\stype="(\w+)"/.exec(attrs);
    const e = new El(m[1], { id: m[3], hidden: /\shidden\b/.test(attrs), type: typ ? typ[1] : '' });
    byId.set(m[3], e);
    const wrapper = new El('div');
    wrapper.append(e);
    body.append(wrapper);
  }
  const created = [];
  const document = {
    body,
    getElementById: (id) => byId.get(id) || null,
    createElement: (tag) => { const e = new El(tag); created.push(e); return e; },
    execCommand: () => true,
  };
  return { document, byId, created, El };
}

module.exports = { El, pageDocument };
