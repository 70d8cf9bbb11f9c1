// SPDX-License-Identifier: MIT
// mirrors: the Mirrors page. Reads GET /api/v1/mirrors (catalog mirrors with health counts, plus
// the health checker's status with each mirror's last reason); writes with POST /api/v1/mirrors,
// PATCH and DELETE /api/v1/mirrors/NAME. The server validates; its "$.field: reason" errors are
// shown next to the field they name.
import {json, ApiError} from './api.js';
import {h, fill, $, table, timeEl, openDialog, confirmDialog, announce, clearErrors, showError} from './dom.js';

let editing = null; // the mirror being edited, or null when adding
let mirrors = [];
let report = (e) => console.error(e);

function scheme(url) {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url || '');
  return m ? m[1].toLowerCase() : '?';
}

function codes(list) {
  return list && list.length ? list.join(', ') : h('span', {class: 'muted'}, 'any');
}

function healthCell(m) {
  const hs = m.health || {};
  return h('td', {class: 'health'},
    h('span', {class: 'badge ok', title: 'locations found healthy'}, `${hs.healthy ?? 0} healthy`), ' ',
    h('span', {class: hs.unhealthy ? 'badge bad' : 'badge off', title: 'locations unhealthy'}, `${hs.unhealthy ?? 0} unhealthy`), ' ',
    h('span', {class: hs.absent ? 'badge bad' : 'badge off', title: 'locations absent (404)'}, `${hs.absent ?? 0} absent`));
}

function row(m, checker) {
  const status = checker && checker.mirrors ? checker.mirrors[m.name] : null;
  const hs = m.health || {};
  const last = status && status.last_check ? status.last_check : hs.last_check;
  return h('tr', {dataset: {mirror: m.name}},
    h('th', {scope: 'row'}, m.name),
    h('td', {class: 'url'}, m.base_url),
    h('td', null, scheme(m.base_url)),
    h('td', {class: 'num'}, String(m.weight)),
    h('td', null, m.enabled ? h('span', {class: 'badge ok'}, 'enabled') : h('span', {class: 'badge off'}, 'disabled')),
    h('td', null, codes(m.countries)),
    h('td', null, codes(m.continents)),
    healthCell(m),
    h('td', null, timeEl(last)),
    h('td', {class: 'reason'}, status && status.last_reason ? status.last_reason : h('span', {class: 'muted'}, '-')),
    h('td', {class: 'actions'},
      h('button', {type: 'button', onclick: () => openEdit(m), 'aria-label': `Edit ${m.name}`}, 'Edit'),
      h('button', {type: 'button', onclick: () => toggle(m).catch(report), 'aria-label': `${m.enabled ? 'Disable' : 'Enable'} ${m.name}`},
        m.enabled ? 'Disable' : 'Enable'),
      h('button', {type: 'button', class: 'danger', onclick: () => remove(m).catch(report), 'aria-label': `Delete ${m.name}`}, 'Delete')));
}

export async function load() {
  const data = await json('GET', '/api/v1/mirrors');
  mirrors = data.mirrors || [];
  const checker = data.health_check;
  if (checker && typeof checker === 'object') {
    const parts = [`Health checks ${checker.enabled ? 'enabled' : 'disabled'}`];
    if (checker.enabled) parts.push(`${checker.rounds ?? 0} rounds, ${checker.checks ?? 0} checks`);
    if (checker.last_round_end) parts.push(`last round ended ${new Date(checker.last_round_end * 1000).toLocaleString()}`);
    if (checker.skipped_reason) parts.push(`last round skipped: ${checker.skipped_reason}`);
    fill($('#checker'), parts.join('; ') + '.');
  } else {
    fill($('#checker'), 'Health checker status unavailable.');
  }
  fill($('#mirrors-table'), mirrors.length
    ? table('Mirrors of the catalog', ['Name', 'Base URL', 'Scheme', 'Weight', 'State', 'Countries', 'Continents', 'Health',
      'Last check', 'Last reason', 'Actions'], mirrors.map((m) => row(m, checker)), 'mirrors')
    : h('p', null, 'No mirrors in the catalog.'));
}

function splitCodes(text) {
  return text.split(/[\s,]+/).filter((s) => s !== '').map((s) => s.toUpperCase());
}

function openAdd() {
  editing = null;
  const form = $('#mirror-form');
  form.reset();
  clearErrors(form);
  fill($('#mirror-dialog-title'), 'Add mirror');
  $('#mirror-name').disabled = false;
  $('#mirror-weight').value = '100';
  $('#mirror-enabled').checked = true;
  openDialog($('#mirror-dialog'), $('#mirror-name'));
}

function openEdit(m) {
  editing = m;
  const form = $('#mirror-form');
  form.reset();
  clearErrors(form);
  fill($('#mirror-dialog-title'), `Edit mirror ${m.name}`);
  $('#mirror-name').value = m.name;
  $('#mirror-name').disabled = true;
  $('#mirror-base_url').value = m.base_url;
  $('#mirror-weight').value = String(m.weight);
  $('#mirror-enabled').checked = !!m.enabled;
  $('#mirror-countries').value = (m.countries || []).join(', ');
  $('#mirror-continents').value = (m.continents || []).join(', ');
  openDialog($('#mirror-dialog'), $('#mirror-weight'));
}

/** "$.weight: must be ..." or "mirrors[0].base_url: ..." -> "weight" / "base_url". */
function fieldOf(message) {
  const m = /^[^:\s]*?\.([a-z_]+)(\[\d+\])?:/.exec(message);
  return m ? m[1] : null;
}

async function save(event) {
  event.preventDefault();
  const form = $('#mirror-form');
  clearErrors(form);
  const weightText = $('#mirror-weight').value.trim();
  const body = {
    base_url: $('#mirror-base_url').value.trim(),
    // a non-number goes to the server as typed, so its validation message is the one shown
    weight: /^\d+$/.test(weightText) ? Number(weightText) : weightText,
    enabled: $('#mirror-enabled').checked,
    countries: splitCodes($('#mirror-countries').value),
    continents: splitCodes($('#mirror-continents').value),
  };
  const name = editing ? editing.name : $('#mirror-name').value.trim();
  try {
    if (editing) {
      await json('PATCH', `/api/v1/mirrors/${encodeURIComponent(name)}`, body);
    } else {
      await json('POST', '/api/v1/mirrors', {name, ...body});
    }
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 401) throw e;
    let field = fieldOf(e.message);
    if (!field && e.status === 409) field = 'name';
    showError(form, 'mirror', field, e.message);
    return;
  }
  $('#mirror-dialog').close();
  announce(editing ? `Mirror ${name} saved.` : `Mirror ${name} added.`);
  await load();
}

async function toggle(m) {
  await json('PATCH', `/api/v1/mirrors/${encodeURIComponent(m.name)}`, {enabled: !m.enabled});
  announce(`Mirror ${m.name} ${m.enabled ? 'disabled' : 'enabled'}.`);
  await load();
  const again = document.querySelector(`#mirrors-table tr[data-mirror="${CSS.escape(m.name)}"] td.actions button:nth-child(2)`);
  if (again) again.focus();
}

async function remove(m) {
  const ok = await confirmDialog(`Delete mirror ${m.name}?`,
    `Redirects stop using ${m.base_url} at once, and its health history is lost. This cannot be undone.`, 'Delete mirror');
  if (!ok) return;
  await json('DELETE', `/api/v1/mirrors/${encodeURIComponent(m.name)}`);
  announce(`Mirror ${m.name} deleted.`);
  await load();
  $('#mirror-add').focus();
}

export function init(onError) {
  report = onError;
  $('#mirror-add').addEventListener('click', openAdd);
  $('#mirror-form').addEventListener('submit', (e) => save(e).catch(report));
}
