-- Broker mode (Entra connector, issue 5): a change Warden performs itself for
-- an approved change request, e.g. issuing a Temporary Access Pass. One run
-- per request, ever: a second TAP would replace the first, so the run is
-- claimed before the IdP call and recorded after it, without any secret.

CREATE TABLE broker_runs (
  tenant       text NOT NULL REFERENCES tenants (id),
  request_id   text NOT NULL,
  connector    text NOT NULL,
  kind         text NOT NULL,
  state        text NOT NULL CHECK (state IN ('started', 'done')),
  started_at   timestamptz NOT NULL,
  finished_at  timestamptz,
  reference    text,
  expires_at   timestamptz,
  details      jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (tenant, request_id)
);
