// SPDX-License-Identifier: MIT
// backlog: the Crash backlog page. GET /api/v1/spool (counts, bytes, oldest age, dead letters,
// the forwarder's upstream states), GET /api/v1/spool/crashes (the first waiting crashes),
// GET /api/v1/spool/deadletter (list) and /deadletter/ID (show), POST .../requeue, DELETE (purge),
// and GET /api/v1/stats/timeseries for the chart and the delivery rate. Refreshed every 5 s while
// visible; tables are rebuilt only when their data changed, so keyboard focus is not lost.
import {json} from './api.js';
import {h, fill, $, table, formatBytes, formatAge, timeEl, openDialog, confirmDialog, announce} from './dom.js';
import {minuteChart} from './chart.js';

let report = (e) => console.error(e);
const last = {}; // section -> JSON text last rendered

function changed(section, data) {
  const text = JSON.stringify(data);
  if (last[section] === text) return false;
  last[section] = text;
  return true;
}

function card(label, value, id, bad) {
  return h('div', {id}, h('dt', null, label), h('dd', {class: bad ? 'bad' : null}, value));
}

/** Deliveries per minute over the last 5 complete minutes (plus the running one, pro rata). */
function deliveryRate(series) {
  const minutes = series.minutes || [];
  const recent = minutes.slice(-6);
  if (!recent.length) return 0;
  const now = series.now || Date.now() / 1000;
  let count = 0, span = 0;
  for (const m of recent) {
    count += m.delivered;
    span += m.partial ? Math.max(1, now - m.t) / 60 : 1;
  }
  return span > 0 ? count / span : 0;
}

function renderSummary(spool, series) {
  const dl = spool.dead_letters || {};
  const rate = deliveryRate(series);
  fill($('#backlog-summary'),
    card('Pending crashes', String(spool.count), 'card-pending'),
    card('Pending bytes', formatBytes(spool.bytes), 'card-bytes'),
    card('Oldest waiting', spool.count ? formatAge(spool.oldest_age_seconds) : '-', 'card-oldest', spool.oldest_age_seconds > 3600),
    card('Delivery rate', `${rate.toFixed(rate < 10 ? 1 : 0)} / min`, 'card-rate'),
    card('Dead letters', `${dl.count} (${formatBytes(dl.bytes)})`, 'card-dead', dl.count > 0),
    card('Spool map', `${formatBytes(spool.map_used)} of ${formatBytes(spool.map_size)}`, 'card-map', spool.full),
    spool.last_error ? card('Last spool error', spool.last_error, 'card-error', true) : null);
}

function renderUpstreams(upstreams) {
  if (!changed('upstreams', upstreams)) return;
  fill($('#upstreams'), upstreams.length
    ? table('Upstreams of the forwarder', ['Name', 'Kind', 'URL', 'State', 'Pending', 'Delivered', 'Retries', 'Dead letters',
      'In flight', 'Paused', 'Last error'], upstreams.map((u) => h('tr', null,
      h('th', {scope: 'row'}, u.name),
      h('td', null, u.kind),
      h('td', {class: 'url'}, u.url || ''),
      h('td', null, h('span', {class: u.state === 'ok' ? 'badge ok' : 'badge bad'}, u.state)),
      h('td', {class: 'num'}, String(u.pending ?? '-')),
      h('td', {class: 'num'}, String(u.delivered ?? '-')),
      h('td', {class: 'num'}, String(u.retries ?? '-')),
      h('td', {class: 'num'}, String(u.dead_letters ?? '-')),
      h('td', {class: 'num'}, String(u.in_flight ?? '-')),
      h('td', null, u.paused_for_ms ? formatAge(u.paused_for_ms / 1000) : '-'),
      h('td', {class: 'reason'}, u.last_error || '')))
    , 'upstreams')
    : h('p', {class: 'muted'}, 'No upstream configured: crashes stay in the spool.'));
}

function renderWaiting(crashes) {
  if (!changed('waiting', crashes)) return;
  fill($('#waiting'), crashes.length
    ? table('First waiting crashes', ['Crash ID', 'Received', 'Attempts', 'Next attempt', 'Size', 'Last error'], crashes.map((c) => h('tr', null,
      h('th', {scope: 'row'}, h('code', null, c.crash_id)),
      h('td', null, timeEl(c.received_ms, 'ms')),
      h('td', {class: 'num'}, String(c.attempts)),
      h('td', null, timeEl(c.next_attempt_ms, 'ms')),
      h('td', {class: 'num'}, formatBytes(c.size)),
      h('td', {class: 'reason'}, c.last_error || ''))), 'waiting')
    : h('p', {class: 'muted'}, 'Nothing waiting.'));
}

function renderDeadLetters(items) {
  if (!changed('deadletters', items)) return;
  $('#deadletter-purge-all').disabled = items.length === 0;
  fill($('#deadletters'), items.length
    ? table('Dead letters', ['Crash ID', 'Received', 'Dead since', 'Attempts', 'Size', 'Reason', 'Actions'], items.map((d) => h('tr',
      {dataset: {crash: d.crash_id}},
      h('th', {scope: 'row'}, h('code', null, d.crash_id)),
      h('td', null, timeEl(d.received_ms, 'ms')),
      h('td', null, timeEl(d.dead_ms, 'ms')),
      h('td', {class: 'num'}, String(d.attempts)),
      h('td', {class: 'num'}, formatBytes(d.size)),
      h('td', {class: 'reason'}, d.reason || ''),
      h('td', {class: 'actions'},
        h('button', {type: 'button', onclick: () => show(d.crash_id).catch(report), 'aria-label': `Show ${d.crash_id}`}, 'Show'),
        h('button', {type: 'button', onclick: () => requeue(d.crash_id).catch(report), 'aria-label': `Requeue ${d.crash_id}`}, 'Requeue'),
        h('button', {type: 'button', class: 'danger', onclick: () => purge(d.crash_id).catch(report), 'aria-label': `Purge ${d.crash_id}`},
          'Purge')))), 'deadletters')
    : h('p', {class: 'muted'}, 'No dead letters.'));
}

export async function load() {
  const [spool, series, waiting, dead] = await Promise.all([
    json('GET', '/api/v1/spool'),
    json('GET', '/api/v1/stats/timeseries'),
    json('GET', '/api/v1/spool/crashes?limit=20'),
    json('GET', '/api/v1/spool/deadletter?limit=100'),
  ]);
  renderSummary(spool, series);
  fill($('#backlog-chart'), minuteChart(series.minutes || [], series.now));
  renderUpstreams(spool.upstreams || []);
  renderWaiting(waiting.crashes || []);
  renderDeadLetters(dead.dead_letters || []);
}

async function show(id) {
  const d = await json('GET', `/api/v1/spool/deadletter/${encodeURIComponent(id)}`);
  const dialog = $('#deadletter-dialog');
  fill($('#deadletter-dialog-title'), `Dead letter ${id}`);
  fill($('#deadletter-body'),
    h('dl', {class: 'cards'},
      card('Attempts', String(d.attempts)),
      card('Size', formatBytes(d.size)),
      card('Received', timeEl(d.received_ms, 'ms')),
      card('Dead since', timeEl(d.dead_ms, 'ms'))),
    h('h3', null, 'Reason'), h('p', {class: 'reason'}, d.reason || ''),
    h('h3', null, 'Dumps'),
    (d.dumps || []).length ? h('ul', null, d.dumps.map((x) => h('li', null, `${x.name} (${formatBytes(x.size)})`))) : h('p', null, 'none'),
    h('h3', null, 'Raw crash'),
    h('pre', {tabindex: 0, 'aria-label': 'raw crash JSON'}, JSON.stringify(d.raw_crash, null, 2)));
  openDialog(dialog, dialog.querySelector('[data-close]'));
}

async function requeue(id) {
  const r = await json('POST', `/api/v1/spool/deadletter/${encodeURIComponent(id)}/requeue`);
  announce(`Crash ${id} requeued (sequence ${r.seq}).`);
  await load();
  $('#deadletters-title').focus();
}

async function purge(id) {
  const ok = await confirmDialog(`Purge dead letter ${id}?`, 'The crash and its dumps are deleted from the spool for good.', 'Purge');
  if (!ok) return;
  await json('DELETE', `/api/v1/spool/deadletter/${encodeURIComponent(id)}`);
  announce(`Dead letter ${id} purged.`);
  await load();
}

async function purgeAll() {
  const ok = await confirmDialog('Purge every dead letter?', 'Every crash in the dead-letter table is deleted for good.', 'Purge all');
  if (!ok) return;
  const r = await json('DELETE', '/api/v1/spool/deadletter');
  announce(`${r.purged} dead letters purged.`);
  await load();
}

export function init(onError) {
  report = onError;
  $('#deadletter-purge-all').addEventListener('click', () => purgeAll().catch(report));
}
