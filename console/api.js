// SPDX-License-Identifier: MIT
// api: every request the console makes. The JSON admin APIs (and the bouncer's tuxedo XML API)
// are the authority; this file only speaks to them, on the same origin, with the HTTP Basic
// credentials the browser already holds for the console page.
//
// 401: fetch() never shows the browser's credential prompt, so a 401 from any API call makes the
// page navigate to itself (a full, protected navigation): the browser then gets the 401 with
// WWW-Authenticate and asks for credentials again. A marker in sessionStorage stops a reload loop
// (a second 401 within 30 s shows a message with a link instead).

export class ApiError extends Error {
  constructor(status, message, number) {
    super(message);
    this.status = status;
    this.number = number; // tuxedo error number, if any
  }
}

const RELOAD_KEY = 'edge-console-401';

export function reauthenticate() {
  const last = Number(sessionStorage.getItem(RELOAD_KEY) || 0);
  if (Date.now() - last > 30000) {
    sessionStorage.setItem(RELOAD_KEY, String(Date.now()));
    window.location.reload();
  } else {
    const status = document.getElementById('status');
    status.classList.add('error');
    status.replaceChildren('The admin API refused the credentials (401). ',
      Object.assign(document.createElement('a'), {href: window.location.pathname, textContent: 'Sign in again'}));
  }
  return new ApiError(401, 'authentication required');
}

async function send(method, path, init) {
  const res = await fetch(path, {method, credentials: 'same-origin', cache: 'no-store', ...init});
  if (res.status === 401) throw reauthenticate();
  return res;
}

/** JSON API call. Resolves with the parsed answer; rejects with ApiError (message: the API's "error"). */
export async function json(method, path, body) {
  const init = {headers: {Accept: 'application/json'}};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await send(method, path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!res.ok) {
    const message = data && typeof data.error === 'string' ? data.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return data;
}

/**
 * Tuxedo XML API call (/api/<endpoint>): GET with params in the query, POST as a form.
 * Resolves with the parsed XML Document; rejects with ApiError carrying the <error number>.
 */
export async function tuxedo(method, endpoint, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
  }
  const path = '/api/' + endpoint;
  const res = method === 'GET' ? await send('GET', `${path}?${query}`, {}) : await send('POST', path, {body: query});
  const text = await res.text();
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  const root = doc.documentElement;
  if (!res.ok || root.nodeName === 'error' || root.nodeName === 'parsererror') {
    const number = root.nodeName === 'error' ? Number(root.getAttribute('number')) : undefined;
    const message = root.nodeName === 'error' ? root.textContent : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message, number);
  }
  return doc;
}
