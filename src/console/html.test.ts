import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.js';

describe('html', () => {
  it('escapes interpolated text, in content and attributes', () => {
    const name = `<script>alert("x")</script>' onmouseover='x`;
    const out = html`<p title="${name}">${name}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).toBe(`<p title="${escapeHtml(name)}">${escapeHtml(name)}</p>`);
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;x');
  });

  it('keeps markup of nested templates, joins arrays, prints nothing for absent values', () => {
    const items = ['a&b', 'c'].map((t) => html`<li>${t}</li>`);
    expect(html`<ul>${items}</ul>${undefined}${null}${false}`.value).toBe('<ul><li>a&amp;b</li><li>c</li></ul>');
  });

  it('does not trust strings that look like markup', () => {
    expect(html`${'<b>bold</b>'}`.value).toBe('&lt;b&gt;bold&lt;/b&gt;');
  });
});
