-- Changes Warden itself makes in an IdP (enforcement actions, brokered
-- resets), so a connector recognises them when the IdP reports them back and
-- never re-judges its own work. `ref` is unique per tenant and connector
-- (`action:<id>`, `broker:<requestId>`); `result` is set once the change is done.

CREATE TABLE own_changes (
  tenant       text NOT NULL REFERENCES tenants (id),
  connector    text NOT NULL,
  ref          text NOT NULL,
  target_id    text NOT NULL,
  event_types  jsonb NOT NULL,
  at           timestamptz NOT NULL,
  result       jsonb,
  PRIMARY KEY (tenant, connector, ref)
);
CREATE INDEX own_changes_target ON own_changes (tenant, connector, target_id, at);
