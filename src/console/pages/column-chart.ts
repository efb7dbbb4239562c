import { html, type Html } from '../html.js';

/** One series of a stacked column chart: its name, colour and a value per column. */
export interface ColumnSeries {
  name: string;
  colour: string;
  values: readonly number[];
}

/**
 * A stacked column chart as inline SVG, rendered on the server (no chart
 * library, no CDN, no script): one column per label, one coloured segment
 * per series, a legend, and two text alternatives: the SVG's title (read by
 * screen readers) and the same numbers as a table under *Show the data*.
 */
export function columnChart(id: string, title: string, labels: readonly string[], series: readonly ColumnSeries[]): Html {
  const totals = labels.map((_, i) => series.reduce((sum, s) => sum + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const left = 36;
  const top = 12;
  const plot = 160;
  const col = Math.max(18, Math.floor(560 / Math.max(1, labels.length)));
  const width = left + col * labels.length + 8;
  const height = top + plot + 40;
  const bar = Math.round(col * 0.6);
  const y = (v: number) => top + plot - Math.round((v / max) * plot);
  const ticks = [0, Math.round(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const summary = `${title}: ${labels.map((l, i) => `${l}: ${series.map((s) => `${s.values[i] ?? 0} ${s.name}`).join(', ')}`).join('; ')}`;
  return html`<figure class="chart-figure"><svg class="chart" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title id="${id}-title">${summary}</title>
${ticks.map((t) => html`<line x1="${left}" x2="${width - 4}" y1="${y(t)}" y2="${y(t)}" stroke="#c9ced6"></line><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="12" fill="#3d4550">${t}</text>`)}
${labels.map((label, i) => {
  const x = left + i * col + Math.round((col - bar) / 2);
  let base = 0;
  const segments = series.map((s) => {
    const v = s.values[i] ?? 0;
    if (v === 0) return html``;
    const y0 = y(base + v);
    const h = y(base) - y0;
    base += v;
    return html`<rect x="${x}" y="${y0}" width="${bar}" height="${Math.max(h, 1)}" fill="${s.colour}"><title>${label}: ${v} ${s.name}</title></rect>`;
  });
  const shown = labels.length <= 8 || i % Math.ceil(labels.length / 7) === 0 || i === labels.length - 1;
  return html`${segments}${shown ? html`<text x="${x + bar / 2}" y="${top + plot + 16}" text-anchor="middle" font-size="12" fill="#3d4550">${label}</text>` : ''}`;
})}
</svg>
<figcaption>${title}</figcaption>
<ul class="legend">${series.map((s) => html`<li><span class="swatch" data-colour="${s.colour}"><svg width="12" height="12" aria-hidden="true" focusable="false"><rect width="12" height="12" fill="${s.colour}"></rect></svg></span>${s.name}: ${s.values.reduce((a, b) => a + b, 0)}</li>`)}</ul>
<details><summary>Show the data as a table</summary><div class="table-wrap"><table><caption>${title}</caption><thead><tr><th scope="col">Day</th>${series.map((s) => html`<th scope="col">${s.name}</th>`)}</tr></thead><tbody>
${labels.map((label, i) => html`<tr><th scope="row">${label}</th>${series.map((s) => html`<td>${s.values[i] ?? 0}</td>`)}</tr>`)}
</tbody></table></div></details></figure>`;
}
