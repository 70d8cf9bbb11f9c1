// SPDX-License-Identifier: MIT
// products: the Products page. Reads GET /api/v1/products?q= (products with languages, locations
// and aliases) and the uptake of each product from the tuxedo XML endpoint /api/uptake (there is
// no JSON uptake). Most writes go through the tuxedo endpoints: product_add / product_delete,
// product_language_add / product_language_delete, location_add / location_modify / location_delete,
// create_update_alias (their <error number> maps to a field). The flags (HTTPS only, active) use
// PATCH /api/v1/products/NAME and alias deletion DELETE /api/v1/aliases/NAME (JSON API).
import {json, tuxedo, ApiError} from './api.js';
import {h, fill, $, table, openDialog, confirmDialog, announce, clearErrors, showError} from './dom.js';

let report = (e) => console.error(e);
let query = '';
let pending = null; // what the open dialog saves: async (form) => message

function splitLanguages(text) {
  return text.split(/[\s,]+/).filter((s) => s !== '');
}

/** Uptake items of one product: [{os, available, total}] (none when the API finds nothing). */
async function uptake(product) {
  try {
    const doc = await tuxedo('GET', 'uptake', {product});
    return [...doc.getElementsByTagName('item')].map((item) => ({
      os: item.getElementsByTagName('os')[0]?.textContent ?? '',
      available: Number(item.getElementsByTagName('available')[0]?.textContent ?? 0),
      total: Number(item.getElementsByTagName('total')[0]?.textContent ?? 0),
    }));
  } catch (e) {
    if (e instanceof ApiError && e.status === 400) return []; // 102: no location yet
    throw e;
  }
}

function uptakeBar(u) {
  const pct = u.total > 0 ? Math.round((100 * u.available) / u.total) : 0;
  const level = pct < 50 ? 'low' : pct < 90 ? 'mid' : '';
  const fillBar = h('span');
  fillBar.style.width = `${pct}%`; // CSSOM, not a style attribute: the page's CSP has no 'unsafe-inline'
  return h('div', {class: 'uptake'},
    h('div', {class: `bar ${level}`, role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': u.total, 'aria-valuenow': u.available,
      'aria-label': `uptake ${u.os}`}, fillBar),
    h('span', null, `${pct}% (${u.available} / ${u.total} weight)`));
}

/** A labelled checkbox for one product flag; changing it PATCHes the product at once. */
function flagBox(p, flag, label) {
  const id = `product-${p.id}-${flag}`;
  return h('label', {class: 'flag', for: id},
    h('input', {type: 'checkbox', id, checked: p[flag] === true, 'aria-label': `${label}: ${p.name}`,
      onchange: (e) => setFlag(p, flag, label, e.target).catch(report)}),
    ' ', label);
}

async function setFlag(p, flag, label, box) {
  const value = box.checked;
  box.disabled = true;
  try {
    await json('PATCH', `/api/v1/products/${encodeURIComponent(p.name)}`, {[flag]: value});
  } catch (e) {
    box.checked = !value;
    box.disabled = false;
    throw e;
  }
  announce(`${p.name}: ${label} ${value ? 'on' : 'off'}.`);
  await load();
  document.getElementById(`product-${p.id}-${flag}`)?.focus();
}

function aliasChip(p, a) {
  return h('li', null, a, ' ',
    h('button', {type: 'button', class: 'chip-delete', title: `Delete alias ${a}`, 'aria-label': `Delete alias ${a}`,
      onclick: () => deleteAlias(p, a).catch(report)}, '×'));
}

function productCard(p, ups) {
  const byOs = new Map(ups.map((u) => [u.os.toLowerCase(), u]));
  const locRows = (p.locations || []).map((l) => h('tr', null,
    h('th', {scope: 'row'}, l.os),
    h('td', {class: 'url'}, l.path),
    h('td', null, byOs.has(l.os.toLowerCase()) ? uptakeBar(byOs.get(l.os.toLowerCase())) : h('span', {class: 'muted'}, 'n/a')),
    h('td', {class: 'actions'},
      h('button', {type: 'button', onclick: () => editLocation(p, l), 'aria-label': `Edit location ${p.name} ${l.os}`}, 'Edit'),
      h('button', {type: 'button', class: 'danger', onclick: () => deleteLocation(p, l).catch(report),
        'aria-label': `Delete location ${p.name} ${l.os}`}, 'Delete'))));
  return h('article', {class: 'product', 'aria-labelledby': `product-${p.id}`, dataset: {product: p.name}},
    h('div', {class: 'page-head'},
      h('h3', {id: `product-${p.id}`}, p.name),
      h('button', {type: 'button', class: 'secondary', onclick: () => editLanguages(p), 'aria-label': `Edit languages of ${p.name}`},
        'Edit languages'),
      h('button', {type: 'button', class: 'secondary', onclick: () => addLocation(p), 'aria-label': `Add location to ${p.name}`},
        'Add location'),
      h('button', {type: 'button', class: 'secondary', onclick: () => addAlias(p), 'aria-label': `Add alias for ${p.name}`},
        'Add alias'),
      h('button', {type: 'button', class: 'danger', onclick: () => deleteProduct(p).catch(report), 'aria-label': `Delete product ${p.name}`},
        'Delete')),
    h('p', {class: 'meta'}, flagBox(p, 'ssl_only', 'HTTPS mirrors only'), ' ', flagBox(p, 'active', 'Active'),
      p.active ? null : h('span', {class: 'muted'}, ' (redirects answer 404)')),
    h('dl', null,
      h('dt', null, 'Languages'),
      h('dd', null, p.languages && p.languages.length ? h('ul', {class: 'chips'}, p.languages.map((l) => h('li', null, l)))
        : h('span', {class: 'muted'}, 'any')),
      h('dt', null, 'Aliases'),
      h('dd', null, p.aliases && p.aliases.length ? h('ul', {class: 'chips'}, p.aliases.map((a) => aliasChip(p, a)))
        : h('span', {class: 'muted'}, 'none'))),
    locRows.length ? table(`Locations of ${p.name}`, ['OS', 'Path', 'Uptake (available / total weight)', 'Actions'], locRows, 'locations')
      : h('p', {class: 'muted'}, 'No locations.'));
}

export async function load() {
  const data = await json('GET', '/api/v1/products' + (query ? `?q=${encodeURIComponent(query)}` : ''));
  const products = data.products || [];
  const ups = await Promise.all(products.map((p) => ((p.locations || []).length ? uptake(p.name) : Promise.resolve([]))));
  const list = $('#products-list');
  fill(list, products.length ? products.map((p, i) => productCard(p, ups[i]))
    : h('p', null, query ? `No product matches "${query}".` : 'No products in the catalog.'));
}

/* ---- dialogs ---- */

function open(dialogId, title, prepare, save) {
  const dialog = $(`#${dialogId}`);
  const form = dialog.querySelector('form');
  form.reset();
  clearErrors(form);
  fill(dialog.querySelector('h2'), title);
  const focus = prepare(form);
  pending = {dialog, form, save};
  openDialog(dialog, focus);
}

async function submit(event) {
  event.preventDefault();
  if (!pending || pending.form !== event.target) return;
  const {dialog, form, save} = pending;
  clearErrors(form);
  let message;
  try {
    message = await save(form);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status === 401) throw e;
    const [prefix, fieldFor] = form.dataset.errors.split(':');
    const map = Object.fromEntries(fieldFor.split(',').map((pair) => pair.split('=')));
    showError(form, prefix, map[e.number] || null, e.message);
    return;
  }
  dialog.close();
  announce(message);
  await load();
}

function addProduct() {
  open('product-dialog', 'Add product', (form) => {
    form.dataset.errors = 'product:103=languages,104=name';
    $('#product-name').disabled = false;
    $('#product-ssl-field').hidden = false;
    return $('#product-name');
  }, async () => {
    const name = $('#product-name').value.trim();
    await tuxedo('POST', 'product_add', {product: name, languages: splitLanguages($('#product-languages').value),
      ssl_only: $('#product-ssl').checked ? 'true' : 'false'});
    return `Product ${name} added.`;
  });
}

function editLanguages(p) {
  open('product-dialog', `Languages of ${p.name}`, (form) => {
    form.dataset.errors = 'product:101=languages,103=languages,104=languages';
    $('#product-name').value = p.name;
    $('#product-name').disabled = true;
    $('#product-ssl-field').hidden = true;
    $('#product-languages').value = (p.languages || []).join(' ');
    return $('#product-languages');
  }, async () => {
    const wanted = splitLanguages($('#product-languages').value);
    const have = p.languages || [];
    const lower = (list) => new Set(list.map((s) => s.toLowerCase()));
    const add = wanted.filter((l) => !lower(have).has(l.toLowerCase()));
    const drop = have.filter((l) => !lower(wanted).has(l.toLowerCase()));
    if (add.length) await tuxedo('POST', 'product_language_add', {product: p.name, languages: add});
    if (drop.length) await tuxedo('POST', 'product_language_delete', {product: p.name, languages: drop});
    return `Languages of ${p.name} saved (${add.length} added, ${drop.length} removed).`;
  });
}

function addLocation(p) {
  open('location-dialog', `Add location to ${p.name}`, (form) => {
    form.dataset.errors = 'location:103=path,104=os,106=os';
    $('#location-os').disabled = false;
    return $('#location-os');
  }, async () => {
    const os = $('#location-os').value.trim();
    await tuxedo('POST', 'location_add', {product: p.name, os, path: $('#location-path').value.trim()});
    return `Location ${p.name} / ${os} added.`;
  });
}

function editLocation(p, l) {
  open('location-dialog', `Edit location ${p.name} / ${l.os}`, (form) => {
    form.dataset.errors = 'location:103=path,104=os,106=os';
    $('#location-os').value = l.os;
    $('#location-os').disabled = true;
    $('#location-path').value = l.path;
    return $('#location-path');
  }, async () => {
    await tuxedo('POST', 'location_modify', {product: p.name, os: l.os, path: $('#location-path').value.trim()});
    return `Location ${p.name} / ${l.os} saved.`;
  });
}

function addAlias(p) {
  open('alias-dialog', `Add alias for ${p.name}`, (form) => {
    form.dataset.errors = 'alias:102=name,104=name';
    return $('#alias-name');
  }, async () => {
    const alias = $('#alias-name').value.trim();
    await tuxedo('POST', 'create_update_alias', {alias, related_product: p.name});
    return `Alias ${alias} now points to ${p.name}.`;
  });
}

async function deleteLocation(p, l) {
  const ok = await confirmDialog(`Delete location ${p.name} / ${l.os}?`,
    `Redirects for ${p.name} on ${l.os} will answer 404. Path: ${l.path}`, 'Delete location');
  if (!ok) return;
  await tuxedo('POST', 'location_delete', {location_id: String(l.id)});
  announce(`Location ${p.name} / ${l.os} deleted.`);
  await load();
}

async function deleteAlias(p, a) {
  const ok = await confirmDialog(`Delete alias ${a}?`, `Redirects for ${a} will answer 404; ${p.name} keeps its other names.`,
    'Delete alias');
  if (!ok) return;
  await json('DELETE', `/api/v1/aliases/${encodeURIComponent(a)}`);
  announce(`Alias ${a} deleted.`);
  await load();
  document.querySelector(`article[data-product="${CSS.escape(p.name)}"] button[aria-label="Add alias for ${CSS.escape(p.name)}"]`)?.focus();
}

async function deleteProduct(p) {
  const ok = await confirmDialog(`Delete product ${p.name}?`,
    'Its languages, locations and aliases are deleted with it; redirects for it will answer 404.', 'Delete product');
  if (!ok) return;
  await tuxedo('POST', 'product_delete', {product: p.name});
  announce(`Product ${p.name} deleted.`);
  await load();
  $('#product-add').focus();
}

export function init(onError) {
  report = onError;
  $('#product-add').addEventListener('click', addProduct);
  $('#product-search').addEventListener('submit', (e) => {
    e.preventDefault();
    query = $('#product-q').value.trim();
    load().catch(report);
  });
  for (const id of ['product-form', 'location-form', 'alias-form']) {
    $(`#${id}`).addEventListener('submit', (e) => submit(e).catch(report));
  }
}
