import { describe, expect, it } from 'vitest';
import { entraFixture } from '../../test/helpers/entra-audit-records.js';
import { GraphNotificationCollection, isNotificationCollection, notificationEventId } from './notification-receiver.js';

/** The receiver's in-place check of a delivery agrees with the documented schema, on Microsoft's examples and on every way to break them. */
describe('isNotificationCollection', () => {
  const webhook = entraFixture<{ value: Array<Record<string, unknown>> }>('graph/graph-change-notification-webhook-message.json');
  const lifecycle = entraFixture<{ value: Array<Record<string, unknown>> }>('graph/graph-lifecycle-notification.json');
  const eventGrid = entraFixture<{ data: Record<string, unknown> }>('graph/eventgrid-entra-user-updated.json');
  const item = webhook.value[0]!;
  const cases: Array<[string, unknown]> = [
    ['the webhook example', webhook],
    ['the lifecycle example', lifecycle],
    ["a /users notification (the Event Grid example's data)", { value: [eventGrid.data] }],
    ['with validationTokens', { ...webhook, validationTokens: ['eyJ0eXAi'] }],
    ['no value', {}],
    ['an empty value', { value: [] }],
    ['value not a list', { value: item }],
    ['over 1000 notifications', { value: Array.from({ length: 1001 }, () => item) }],
    ['a notification that is a list', { value: [[item]] }],
    ['no subscriptionId', { value: [{ ...item, subscriptionId: undefined }] }],
    ['an empty subscriptionId', { value: [{ ...item, subscriptionId: '' }] }],
    ['a long subscriptionId', { value: [{ ...item, subscriptionId: 'x'.repeat(129) }] }],
    ['a numeric tenantId', { value: [{ ...item, tenantId: 42 }] }],
    ['a null clientState', { value: [{ ...item, clientState: null }] }],
    ['a numeric clientState', { value: [{ ...item, clientState: 7 }] }],
    ['resourceData a list', { value: [{ ...item, resourceData: [] }] }],
    ['resourceData null', { value: [{ ...item, resourceData: null }] }],
    ['a numeric id', { value: [{ ...item, id: 1 }] }],
    ['a numeric lifecycleEvent', { value: [{ ...lifecycle.value[0], lifecycleEvent: 1 }] }],
    ['validationTokens with a number', { ...webhook, validationTokens: [1] }],
    ['a string body', 'value'],
    ['null', null],
  ];
  for (const [name, body] of cases)
    it(name, () => {
      expect(isNotificationCollection(body)).toBe(GraphNotificationCollection.safeParse(body).success);
    });

  it('keys a notification by its id, else by a digest of it, and a lifecycle event by its digest', () => {
    const n = GraphNotificationCollection.parse(webhook).value[0]!;
    expect(notificationEventId('notification', n)).toBe('notification:{subscription_guid}:lsgTZMr9KwAAA');
    const { id: _id, ...anonymous } = n;
    expect(notificationEventId('notification', anonymous)).toMatch(/^notification:\{subscription_guid\}:[0-9a-f]{40}$/);
    expect(notificationEventId('notification', anonymous)).toBe(notificationEventId('notification', { ...anonymous }));
    const l = GraphNotificationCollection.parse(lifecycle).value[0]!;
    expect(notificationEventId('lifecycle', l)).toMatch(
      /^lifecycle:<subscription_guid>:subscriptionRemoved or missed or reauthorizationRequired:[0-9a-f]{40}$/,
    );
  });
});
