/**
 * The key of a source for detection's per-source watermarks
 * (src/detect/source-watermarks.ts): the IdP and the way its records reach
 * Warden, `okta/hook`, `okta/poll`, `entra/poll`, `m365/poll`, `api/api`.
 *
 * Office 365 Management Activity records are normalized as Entra changes
 * (`source.idp: 'entra'`: containment acts on the person's Entra account),
 * but they are their own stream, 60–90 minutes late, read by their own
 * poller: their key is `m365/<via>`, told by the `o365:` prefix their raw
 * type (a change) or event type (an inbox entry) carries.
 *
 * @example
 * detectionSource('entra', 'poll', 'o365:New-InboxRule') // 'm365/poll'
 * detectionSource('entra', 'poll', 'Reset user password') // 'entra/poll'
 */
export function detectionSource(idp: string, via: string, rawType?: string): string {
  if (rawType?.startsWith('o365:')) return `m365/${via}`;
  return `${idp}/${via}`;
}
