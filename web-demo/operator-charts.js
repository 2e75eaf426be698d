// operator-charts.js — the dashboard's charts: plain inline SVG, no library.
// Every figure comes from the report endpoints; this file only draws.

const NS = 'http://www.w3.org/2000/svg';

// The reports' rate bands, as the core defines them (set from portal.constants() at start).
export const BANDS = { watch: 0, alarm: 0 };
export function setBands({ watch_from: watch, alarm_above: alarm }) { Object.assign(BANDS, { watch, alarm }); }

function el(name, attrs = {}, text) {
  const e = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function titled(node, text) {
  node.appendChild(el('title', {}, text));
  return node;
}

export function pct(rate, digits = 1) {
  return `${(rate * 100).toFixed(digits)} %`;
}

// Horizontal bars, one per row: label on the left, the rate as the bar, band as its colour.
// rows: [{label, rate, band, title}]
export function barChart(rows, { testid = 'bar' } = {}) {
  const rowH = 20;
  const labelW = 150;
  const barW = 300;
  const maxRate = Math.max(BANDS.alarm * 1.2, ...rows.map((r) => r.rate));
  const w = labelW + barW + 60;
  const h = rows.length * rowH + 24;
  const svg = el('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'Return rate bar chart' });
  const x = (rate) => labelW + (rate / maxRate) * barW;
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    svg.appendChild(el('text', { x: labelW - 6, y: y + 13, 'text-anchor': 'end' }, r.label.length > 24 ? r.label.slice(0, 23) + '…' : r.label));
    const rect = el('rect', { x: labelW, y, width: Math.max(1, x(r.rate) - labelW), height: rowH - 6,
                              class: r.band, 'data-testid': testid, 'data-key': r.label });
    svg.appendChild(titled(rect, r.title));
    svg.appendChild(el('text', { x: x(r.rate) + 4, y: y + 13 }, pct(r.rate)));
  });
  const base = rows.length * rowH + 6;
  for (const [band, rate] of Object.entries(BANDS)) {
    svg.appendChild(titled(el('line', { x1: x(rate), x2: x(rate), y1: 0, y2: base, class: `threshold ${band}` }),
                           `${band} from ${pct(rate, 0)}`));
  }
  svg.appendChild(el('line', { x1: labelW, x2: labelW + barW, y1: base, y2: base, class: 'axis' }));
  svg.appendChild(el('text', { x: labelW, y: base + 14 }, '0 %'));
  svg.appendChild(el('text', { x: labelW + barW, y: base + 14, 'text-anchor': 'end' }, pct(maxRate, 0)));
  return svg;
}

// A line over days with one dot per day (coloured by band) and the band thresholds.
// points: [{label, rate, band, title}] in day order.
export function lineChart(points, { testid = 'point' } = {}) {
  const w = 760;
  const h = 220;
  const pad = { l: 44, r: 10, t: 10, b: 28 };
  const maxRate = Math.max(BANDS.alarm * 1.3, ...points.map((p) => p.rate));
  const svg = el('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img', 'aria-label': 'Return rate by day' });
  const n = Math.max(1, points.length - 1);
  const x = (i) => pad.l + (i / n) * (w - pad.l - pad.r);
  const y = (rate) => h - pad.b - (rate / maxRate) * (h - pad.t - pad.b);
  svg.appendChild(el('line', { x1: pad.l, x2: w - pad.r, y1: h - pad.b, y2: h - pad.b, class: 'axis' }));
  svg.appendChild(el('line', { x1: pad.l, x2: pad.l, y1: pad.t, y2: h - pad.b, class: 'axis' }));
  for (const rate of [0, BANDS.watch, BANDS.alarm, maxRate]) {
    svg.appendChild(el('text', { x: pad.l - 4, y: y(rate) + 4, 'text-anchor': 'end' }, pct(rate, 0)));
  }
  for (const [band, rate] of Object.entries(BANDS)) {
    svg.appendChild(el('line', { x1: pad.l, x2: w - pad.r, y1: y(rate), y2: y(rate), class: `threshold ${band}` }));
  }
  if (points.length) {
    svg.appendChild(el('polyline', { class: 'line', points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ') }));
  }
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    svg.appendChild(titled(el('circle', { cx: x(i), cy: y(p.rate), r: 3, class: p.band, 'data-testid': testid }), p.title));
    if (i % every === 0 || i === points.length - 1) {
      svg.appendChild(el('text', { x: x(i), y: h - pad.b + 14, 'text-anchor': 'middle' }, p.label));
    }
  });
  return svg;
}

// Heat-map colour for a return rate: green (0) → amber (watch) → red (alarm and above).
export function heatColor(rate) {
  const t = Math.max(0, Math.min(1, rate / (BANDS.alarm * 1.5)));
  const hue = 130 - 130 * t;
  const light = 88 - 30 * t;
  return `hsl(${hue.toFixed(0)}, 70%, ${light.toFixed(0)}%)`;
}
