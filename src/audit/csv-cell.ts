/**
 * One CSV field per RFC 4180 §2, made safe to open in a spreadsheet: a value
 * starting with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with
 * `'` so it is never read as a formula (OWASP "CSV Injection"); a value
 * holding `"`, `,`, CR or LF is enclosed in double quotes with inner quotes
 * doubled.
 *
 * @example csvCell('=HYPERLINK("x")') // → `"'=HYPERLINK(""x"")"`
 * @see https://www.rfc-editor.org/rfc/rfc4180#section-2
 */
export function csvCell(value: unknown): string {
  let s = value === undefined || value === null ? '' : typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** One CSV record: fields joined by commas, ended by CRLF (RFC 4180 §2.1). */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvCell).join(',') + '\r\n';
}
