/**
 * The console's one way to write HTML: a tagged template that escapes every
 * interpolated value unless it is already {@link Html} (the output of another
 * `html` template). Arrays are joined; `undefined`, `null` and `false` print
 * nothing. Nothing reaches a page unescaped except markup written in these
 * templates themselves.
 *
 * @example
 *   html`<p>${person.name}</p>` // a name like `<b>` shows as text
 */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text made safe for HTML content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** A value as HTML: escaped text, or the markup of an {@link Html}. */
function piece(value: unknown): string {
  if (value === undefined || value === null || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(piece).join('');
  return escapeHtml(String(value));
}

/** The escaping template tag. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1]!;
  return new Html(out);
}
