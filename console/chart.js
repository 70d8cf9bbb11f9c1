// SPDX-License-Identifier: MIT
// chart: a small inline SVG bar chart of per-minute counts (intake and delivery over the last
// hour), drawn with DOM calls only. The figure carries a text summary for screen readers.
import {h} from './dom.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * minutes: [{t, intake, delivered, partial}] oldest first (GET /api/v1/stats/timeseries).
 * Returns [svg, legend, caption] for a <figure>.
 */
export function minuteChart(minutes, nowSeconds) {
  const W = 720, H = 200, L = 44, R = 10, T = 12, B = 28;
  const slots = 60;
  const end = Math.floor((nowSeconds || Date.now() / 1000) / 60) * 60; // start of the running minute
  const byT = new Map(minutes.map((m) => [m.t, m]));
  const data = [];
  for (let i = slots - 1; i >= 0; i--) data.push(byT.get(end - i * 60) || {t: end - i * 60, intake: 0, delivered: 0});
  const busiest = Math.max(0, ...data.map((d) => Math.max(d.intake, d.delivered)));
  const max = Math.max(1, busiest);
  const step = Math.pow(10, Math.floor(Math.log10(max)));
  const top = Math.ceil(max / step) * step;
  const pw = W - L - R, ph = H - T - B, bw = pw / slots;
  const y = (v) => T + ph - (v / top) * ph;

  const total = (key) => data.reduce((a, d) => a + d[key], 0);
  const summary = `Last hour: ${total('intake')} crashes received, ${total('delivered')} delivered; busiest minute ${busiest}.`;
  const svg = s('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': summary});
  svg.appendChild(s('title', {}, summary));
  for (const v of [0, top / 2, top]) {
    svg.appendChild(s('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#d0d7de', 'stroke-width': 1}));
    svg.appendChild(s('text', {x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6470'}, String(v)));
  }
  data.forEach((d, i) => {
    const x = L + i * bw;
    const hIn = y(0) - y(d.intake), hOut = y(0) - y(d.delivered);
    if (d.intake > 0) svg.appendChild(s('rect', {x: x + 1, y: y(d.intake), width: Math.max(1, bw / 2 - 1), height: hIn, fill: '#0b57d0'},
      undefined));
    if (d.delivered > 0) svg.appendChild(s('rect', {x: x + bw / 2, y: y(d.delivered), width: Math.max(1, bw / 2 - 1), height: hOut,
      fill: '#1a7f37'}));
  });
  for (const back of [60, 45, 30, 15, 0]) {
    const i = slots - 1 - back;
    const x = L + Math.max(0, i) * bw + bw / 2;
    svg.appendChild(s('text', {x, y: H - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#5b6470'},
      back === 0 ? 'now' : `-${back} min`));
  }
  const legend = h('div', {class: 'legend'},
    h('span', null, h('span', {class: 'swatch intake', 'aria-hidden': 'true'}), 'crashes received per minute'),
    h('span', null, h('span', {class: 'swatch delivered', 'aria-hidden': 'true'}), 'delivered per minute'));
  return [svg, legend, h('figcaption', null, summary)];
}
