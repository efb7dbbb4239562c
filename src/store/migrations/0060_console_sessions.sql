-- The web console (src/console). People sign in with their tenant's IdP;
-- Warden keeps their sessions here so every replica knows them and a
-- sign-out ends them everywhere. Only a SHA-256 of the session id (the
-- cookie) is stored: a copy of this table does not let anyone sign in.
CREATE TABLE console_sessions (
  id_hash        text PRIMARY KEY,
  tenant         text NOT NULL REFERENCES tenants (id),
  subject        text NOT NULL,
  person         jsonb NOT NULL,
  csrf_token     text NOT NULL,
  created_at     timestamptz NOT NULL,
  last_seen_at   timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  ended_at       timestamptz
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- A sign-in (or step-up) in progress: the OIDC state, nonce and PKCE
-- verifier, bound to the browser's pre-login cookie (its hash), used once.
CREATE TABLE console_logins (
  state_hash     text PRIMARY KEY,
  browser_hash   text NOT NULL,
  tenant         text NOT NULL REFERENCES tenants (id),
  purpose        text NOT NULL CHECK (purpose IN ('sign_in', 'step_up')),
  nonce          text NOT NULL,
  code_verifier  text NOT NULL,
  return_to      text NOT NULL,
  session_hash   text,
  created_at     timestamptz NOT NULL,
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz
);
CREATE INDEX console_logins_expires ON console_logins (expires_at);
