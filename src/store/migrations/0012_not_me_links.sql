-- "This wasn't me" links (src/requests/not-me): each link sent to an affected
-- person is stored so that it works once. The link itself is signed (HMAC) and
-- carries this id; the row binds it to the person and to the request or
-- change it is about, and records when and how it was used.

CREATE TABLE not_me_links (
  id            text NOT NULL,
  tenant        text NOT NULL REFERENCES tenants (id),
  person_id     text NOT NULL,
  subject_kind  text NOT NULL CHECK (subject_kind IN ('request', 'change')),
  subject_id    text NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  outcome       text CHECK (outcome IN ('not_me', 'was_me')),
  PRIMARY KEY (tenant, id)
);
CREATE INDEX not_me_links_person ON not_me_links (tenant, person_id, created_at);

-- "It was me" is kept as evidence on the request, of its own kind: it never counts as proofing.
ALTER TABLE request_evidence DROP CONSTRAINT request_evidence_kind_check;
ALTER TABLE request_evidence ADD CONSTRAINT request_evidence_kind_check CHECK (kind IN ('proofing', 'ticket', 'affected_person'));
