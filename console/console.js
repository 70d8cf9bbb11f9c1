// SPDX-License-Identifier: MIT
// console: entry point of the admin console. Shows the page named by the URL fragment
// (#mirrors, #products, #backlog), loads it, and refreshes the backlog every 5 s while it is
// visible. Errors from the APIs go to the status line; a 401 is handled in api.js.
import {ApiError} from './api.js';
import {$, announce, wireDialogs} from './dom.js';
import * as mirrors from './mirrors.js';
import * as products from './products.js';
import * as backlog from './backlog.js';

const pages = {mirrors, products, backlog};
const REFRESH_MS = 5000;
let current = null;
let timer = null;

function report(e) {
  if (e instanceof ApiError && e.status === 401) return; // api.js is re-authenticating
  announce(e instanceof ApiError ? `Error ${e.status}: ${e.message}` : `Error: ${e.message || e}`, true);
}

async function refresh() {
  try {
    await pages[current].load();
    document.body.dataset.loaded = current;
    return true;
  } catch (e) {
    report(e);
    return false;
  }
}

function show() {
  const name = (window.location.hash || '#mirrors').slice(1);
  current = Object.hasOwn(pages, name) ? name : 'mirrors';
  for (const key of Object.keys(pages)) {
    $(`#page-${key}`).hidden = key !== current;
    const link = $(`#nav-${key}`);
    if (key === current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${$(`#nav-${current}`).textContent} · edge console`;
  delete document.body.dataset.loaded;
  announce('');
  clearInterval(timer);
  timer = current === 'backlog' ? setInterval(() => {
    if (!document.hidden && !document.querySelector('dialog[open]')) refresh();
  }, REFRESH_MS) : null;
  return refresh();
}

function start() {
  wireDialogs();
  for (const page of Object.values(pages)) page.init(report);
  $('#refresh').addEventListener('click', () => refresh().then((ok) => ok && announce('Refreshed.')));
  window.addEventListener('hashchange', () => {
    show();
    $('#main').focus();
  });
  window.addEventListener('unhandledrejection', (event) => {
    report(event.reason);
    event.preventDefault();
  });
  show();
}

start();
