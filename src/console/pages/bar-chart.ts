import { html, type Html } from '../html.js';

/**
 * A horizontal bar chart as inline SVG, rendered on the server (no chart
 * library, no CDN, no script): one labelled bar per item, with its value,
 * and a text alternative for screen readers.
 */
export function barChart(title: string, items: ReadonlyArray<{ label: string; value: number; tone?: 'ok' | 'warn' | 'bad' | 'info' }>): Html {
  const colours = { ok: '#116329', warn: '#7a4a00', bad: '#a40e26', info: '#0b5cad' };
  const max = Math.max(1, ...items.map((i) => i.value));
  const row = 28;
  // Wide enough for the longest label (rule ids run to 30-odd characters at 14px).
  const labelWidth = Math.max(180, Math.min(320, 16 + Math.max(0, ...items.map((i) => i.label.length)) * 8));
  const barWidth = 300;
  const height = items.length * row + 8;
  return html`<figure><svg class="chart" role="img" aria-labelledby="chart-${title.replace(/\W+/g, '-')}" viewBox="0 0 ${labelWidth + barWidth + 60} ${height}" width="${labelWidth + barWidth + 60}" height="${height}" xmlns="http://www.w3.org/2000/svg">
<title id="chart-${title.replace(/\W+/g, '-')}">${title}: ${items.map((i) => `${i.label} ${i.value}`).join(', ')}</title>
${items.map((item, n) => {
  const y = n * row + 4;
  const w = Math.round((item.value / max) * barWidth);
  return html`<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end" font-size="14" fill="#1b1f24">${item.label}</text><rect x="${labelWidth}" y="${y + 2}" width="${Math.max(w, 1)}" height="20" fill="${colours[item.tone ?? 'info']}"></rect><text x="${labelWidth + Math.max(w, 1) + 6}" y="${y + 17}" font-size="14" fill="#1b1f24">${item.value}</text>`;
})}
</svg><figcaption>${title}</figcaption></figure>`;
}
