import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleAssetsDir } from './console-router.js';

/** WCAG 2.x relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** WCAG contrast ratio of two colours. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

describe('console colours', () => {
  const css = readFileSync(path.join(consoleAssetsDir(), 'console.css'), 'utf8');
  const vars = Object.fromEntries([...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1]!, m[2]!.toLowerCase()]));

  it('reads the palette from the stylesheet', () => {
    expect(Object.keys(vars)).toEqual(
      expect.arrayContaining(['ink', 'muted', 'bg', 'card', 'brand', 'ok', 'warn', 'bad', 'ok-bg', 'warn-bg', 'bad-bg', 'info-bg']),
    );
  });

  it('meets WCAG AA (4.5:1) for text on every background it is used on', () => {
    const pairs: Array<[string, string]> = [
      ['ink', 'bg'],
      ['ink', 'card'],
      ['muted', 'bg'],
      ['muted', 'card'],
      ['brand', 'card'],
      ['brand', 'bg'],
      ['brand', 'info-bg'],
      ['brand-ink', 'brand'],
      ['ok', 'ok-bg'],
      ['warn', 'warn-bg'],
      ['bad', 'bad-bg'],
      ['ink', 'ok-bg'],
      ['ink', 'warn-bg'],
      ['ink', 'bad-bg'],
      ['ink', 'info-bg'],
    ];
    const failing = pairs.map(([fg, bg]) => ({ fg, bg, ratio: contrast(vars[fg]!, vars[bg]!) })).filter((p) => p.ratio < 4.5);
    expect(failing).toEqual([]);
  });

  it('checks what it says: a pale grey on white fails', () => {
    expect(contrast('#999999', '#ffffff')).toBeLessThan(4.5);
    expect(contrast('#000000', '#ffffff')).toBeCloseTo(21, 5);
  });

  it("keeps the chart colours (bars, drawn on white) at 3:1 or more, WCAG's bar for graphics", () => {
    for (const file of ['pages/bar-chart.ts', 'pages/home-page.ts']) {
      const source = readFileSync(path.join(consoleAssetsDir(), '..', file), 'utf8');
      for (const [, colour] of source.matchAll(/'(#[0-9a-f]{6})'/gi))
        expect(contrast(colour!.toLowerCase(), '#ffffff'), `${colour} in ${file}`).toBeGreaterThanOrEqual(3);
    }
  });
});
