// SPDX-License-Identifier: MIT
// dom: the console's only way to build HTML. Every string becomes a text node or an attribute
// value (never markup), so catalog and crash data always render as text. Also small formatting
// helpers and the dialog helpers (native <dialog>: modal focus trap, Escape; focus returns to the
// element that opened it).

/** h('tag', {attr: value, onclick: fn, class: 'x'}, child, ...): children are nodes, strings, arrays, null. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces every child of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** A table with a caption (for screen readers) and header cells with scope=col. */
export function table(caption, headers, rows, cls) {
  return h('table', {class: cls},
    h('caption', {class: 'visually-hidden'}, caption),
    h('thead', null, h('tr', null, headers.map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', null, rows));
}

export function formatBytes(n) {
  if (n === null || n === undefined) return '-';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return (i === 0 ? String(v) : v.toFixed(v < 10 ? 1 : 0)) + ' ' + units[i];
}

export function formatAge(seconds) {
  if (seconds === null || seconds === undefined) return '-';
  let s = Math.max(0, Math.round(Number(seconds)));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  if (d) return `${d}d ${hh}h`;
  if (hh) return `${hh}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** A <time> element for a unix time in seconds or milliseconds. */
export function timeEl(value, unit = 's') {
  if (value === null || value === undefined || value === 0) return h('span', {class: 'muted'}, 'never');
  const date = new Date(unit === 'ms' ? Number(value) : Number(value) * 1000);
  const iso = date.toISOString();
  return h('time', {datetime: iso, title: iso}, date.toLocaleString());
}

/** Opens a modal dialog; focus goes to `focus` (or the first field) and back to the opener on close. */
export function openDialog(dialog, focus) {
  const opener = document.activeElement;
  dialog.addEventListener('close', () => {
    if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
    else $('#main').focus();
  }, {once: true});
  dialog.showModal();
  const target = focus || dialog.querySelector('input:not([disabled]), select, textarea, button');
  if (target) target.focus();
}

/**
 * Asks a yes/no question in the shared confirmation dialog. Resolves true when confirmed.
 * The safe answer (Cancel) has the initial focus.
 */
export function confirmDialog(title, message, confirmLabel) {
  const dialog = $('#confirm-dialog');
  fill($('#confirm-title', dialog), title);
  fill($('#confirm-message', dialog), message);
  const ok = $('#confirm-ok', dialog);
  fill(ok, confirmLabel);
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), {once: true});
    dialog.returnValue = '';
    openDialog(dialog, $('#confirm-cancel', dialog));
  });
}

/** Shows a message in the page's live region (errors stay until the next message). */
export function announce(message, isError = false) {
  const status = $('#status');
  status.classList.toggle('error', isError);
  fill(status, message);
}

/** Clears every field and form error of a dialog form. */
export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error, .form-error')) el.replaceChildren();
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

/**
 * Shows an error next to the field `${prefix}-${field}` when it exists (marking the input invalid and
 * focusing it), otherwise at the top of the form. Returns the element that got the message.
 */
export function showError(form, prefix, field, message) {
  const input = field ? form.querySelector(`#${prefix}-${field}`) : null;
  const slot = field ? form.querySelector(`#${prefix}-${field}-error`) : null;
  if (input && slot) {
    input.setAttribute('aria-invalid', 'true');
    fill(slot, message);
    input.focus();
    return slot;
  }
  const top = form.querySelector('.form-error');
  fill(top, message);
  return top;
}

/** Wires the [data-close] buttons of every dialog. */
export function wireDialogs() {
  for (const button of document.querySelectorAll('dialog [data-close]')) {
    button.addEventListener('click', () => button.closest('dialog').close());
  }
}
