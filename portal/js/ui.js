// Small DOM helpers: every text goes in as text (never as HTML), charts are SVG with a text twin.
const SVG = 'http://www.w3.org/2000/svg';

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

function setAttrs(node, attrs) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttrs(node, attrs);
  node.append(...children.flat().filter(Boolean));
  return node;
}

// A problem from the API: what went wrong, the detail, per-row/field errors, correlation id.
export function problemBox(problem) {
  const errors = problem.errors || [];
  return el(
    'div',
    { class: 'problem', role: 'alert' },
    el('p', {}, el('strong', { text: problem.title || 'Something went wrong' }), problem.status ? ` (${problem.status})` : ''),
    problem.detail ? el('p', { text: problem.detail }) : null,
    errors.length
      ? el('ul', {}, errors.map((e) => el('li', { text: [e.row ? `Row ${e.row}` : e.pointer, e.detail || e.message].filter(Boolean).join(': ') })))
      : null,
    problem.correlationId ? el('p', { class: 'cid' }, 'Correlation id: ', el('code', { text: problem.correlationId })) : null,
  );
}

export function status(text) {
  return el('p', { class: 'ok', role: 'status', text });
}

// A requirement's progress: the bar says current/required to a screen reader as well.
export function progressBar(label, current, required) {
  const id = `p-${Math.random().toString(36).slice(2, 10)}`;
  const shown = Number(current).toLocaleString('en');
  const needed = Number(required).toLocaleString('en');
  return el(
    'div',
    { class: 'bar' },
    el('span', { id, class: 'bar-label', text: label }),
    el('progress', { max: required || 1, value: Math.min(current, required || 1), 'aria-labelledby': id, 'aria-valuetext': `${shown} of ${needed}` }),
    el('span', { class: 'bar-figure', text: `${shown} / ${needed}` }),
  );
}

export function table(caption, headers, rows) {
  return el(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: 0 },
    el(
      'table',
      {},
      el('caption', { text: caption }),
      el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
      el('tbody', {}, rows.map((cells) => el('tr', {}, cells.map((c) => el('td', {}, c ?? ''))))),
    ),
  );
}

export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), input);
}

export function today() {
  return new Date().toISOString().slice(0, 10);
}

function days(a, b) {
  return (Date.parse(b) - Date.parse(a)) / 86400000;
}

// When each held level lapses if nothing changes: one row per level on a shared time axis,
// the label above its bar (legible at 360 px, where the 600-unit drawing is shown at 60 %).
export function lapseTimeline(items) {
  const start = today();
  const end = items.reduce((latest, i) => (i.date > latest ? i.date : latest), start);
  const span = Math.max(days(start, end), 30);
  const width = 600;
  const rowHeight = 56;
  const height = items.length * rowHeight + 36;
  const x = (d) => 10 + ((width - 30) * days(start, d)) / span;
  const rows = items.map((item, i) => {
    const y = 50 + i * rowHeight;
    return svg(
      'g',
      {},
      svg('text', { x: 10, y: y - 16, class: 'axis' }, `${item.label}: last day ${item.date}`),
      svg('line', { x1: 10, x2: x(item.date), y1: y, y2: y, class: `span ${item.level}` }),
      svg('circle', { cx: x(item.date), cy: y, r: 9, class: 'lapse' }),
    );
  });
  const axis = [
    svg('text', { x: 10, y: height - 4, class: 'axis' }, `today ${start}`),
    svg('text', { x: width - 10, y: height - 4, class: 'axis', 'text-anchor': 'end' }, end),
  ];
  const description = items.map((i) => `${i.label} held until ${i.date}`).join('; ');
  return svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `When held levels lapse: ${description}`, class: 'chart' }, rows, axis);
}

// Progress over time: each competency's level, night by night (none, silver, gold).
export function historyChart(name, points) {
  const width = 600;
  const height = 150;
  const left = 80;
  const rank = { none: 0, silver: 1, gold: 2 };
  const x = (i) => left + ((width - left - 10) * i) / Math.max(points.length - 1, 1);
  const y = (level) => height - 35 - rank[level] * 45;
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.level)}`).join(' ');
  const changes = points.filter((p, i) => i === 0 || p.level !== points[i - 1].level).map((p) => `${p.date}: ${p.level}`);
  return svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${name} over time: ${changes.join(', ')}`, class: 'chart' },
    ['none', 'silver', 'gold'].map((l) => svg('text', { x: 0, y: y(l) + 4, class: 'axis' }, l)),
    svg('path', { d: path, class: 'history' }),
    points.map((pt, i) => svg('circle', { cx: x(i), cy: y(pt.level), r: 5, class: 'night' })),
    points.length ? svg('text', { x: left, y: height - 4, class: 'axis' }, points[0].date) : null,
    points.length ? svg('text', { x: width - 10, y: height - 4, class: 'axis', 'text-anchor': 'end' }, points[points.length - 1].date) : null,
  );
}
