-- Detection (src/detect/store-detector.ts): each source's event-time progress
-- per tenant, so it survives a restart and is shared by replicas. `at` is the
-- newest event time the source delivered, `seen` the clock when it last
-- delivered one. Both only move forward (writers keep the greater value).
CREATE TABLE detection_sources (
  tenant  text NOT NULL REFERENCES tenants (id),
  source  text NOT NULL,
  at      timestamptz NOT NULL,
  seen    timestamptz NOT NULL,
  PRIMARY KEY (tenant, source)
);
