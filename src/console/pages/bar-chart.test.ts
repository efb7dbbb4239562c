import { describe, expect, it } from 'vitest';
import { barChart } from './bar-chart.js';

describe('barChart', () => {
  it('draws one bar per item, scaled to the largest, with a text alternative', () => {
    const svg = barChart('Requests', [
      { label: 'Done', value: 4 },
      { label: 'Waiting', value: 2 },
    ]).value;
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('width="300"');
    expect(svg).toContain('width="150"');
    expect(svg).toContain('<title id="chart-Requests">Requests: Done 4, Waiting 2</title>');
  });

  it('escapes labels', () => {
    expect(barChart('t', [{ label: '<script>x</script>', value: 1 }]).value).not.toContain('<script>');
  });
});
