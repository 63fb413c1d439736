/**
 * A hand-written SVG line plot: latency (ms, log scale) against sequence length (log₂ scale), one line
 * per series (engine · backend · threads · batch). No dependencies: just coordinates and text.
 */
export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

const COLORS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencyPlot(series: Series[], title: string): string {
  const W = 760,
    H = 440,
    left = 70,
    right = 230,
    top = 40,
    bottom = 50;
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0)
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="80">` + '<text x="10" y="40">no data</text></svg>\n'
    );
  const xs = pts.map((p) => Math.log2(p.x)),
    ys = pts.map((p) => Math.log10(p.y));
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
  if (x1 === x0) {
    x0 -= 1;
    x1 += 1;
  }
  if (y1 === y0) y1 += 1;
  const px = (x: number) => left + ((Math.log2(x) - x0) / (x1 - x0)) * (W - left - right);
  const py = (y: number) => top + (1 - (Math.log10(y) - y0) / (y1 - y0)) * (H - top - bottom);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`);
  // grid and axes
  for (let e = y0; e <= y1; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (Math.log10(v) > y1 + 1e-9) continue;
      const y = py(v).toFixed(1);
      out.push(`<line x1="${left}" x2="${W - right}" y1="${y}" y2="${y}" stroke="${m === 1 ? '#ccc' : '#eee'}"/>`);
      out.push(
        `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">` +
          `${v >= 1 ? v : v.toPrecision(1)}</text>`,
      );
    }
  }
  const seqs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  for (const s of seqs) {
    const x = px(s).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${H - bottom}" stroke="#eee"/>`);
    out.push(`<text x="${x}" y="${H - bottom + 16}" text-anchor="middle">${s}</text>`);
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#444"/>`,
  );
  out.push(`<text x="${(left + W - right) / 2}" y="${H - 12}" text-anchor="middle">sequence length (tokens)</text>`);
  out.push(
    `<text transform="translate(16 ${(top + H - bottom) / 2}) rotate(-90)" text-anchor="middle">` +
      'median latency (ms)</text>',
  );
  // series
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const dash = s.label.startsWith('onnxruntime') ? ' stroke-dasharray="6 4"' : '';
    const points = sorted.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dash} points="${points}"/>`);
    for (const p of sorted)
      out.push(
        `<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="${color}">` +
          `<title>${esc(s.label)}: seq ${p.x}, ${p.y.toFixed(1)} ms</title></circle>`,
      );
    const ly = top + 10 + i * 18;
    out.push(
      `<line x1="${W - right + 12}" x2="${W - right + 36}" y1="${ly}" y2="${ly}" ` +
        `stroke="${color}" stroke-width="2"${dash}/>`,
    );
    out.push(`<text x="${W - right + 42}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
