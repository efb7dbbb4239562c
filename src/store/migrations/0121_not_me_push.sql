-- "This wasn't me" through an Okta Verify push (src/requests/not-me,
-- docs/notifications.md): a link may also be answered by a "was this you?"
-- push sent through the Okta proofer. push_state: waiting (sent, polled),
-- approved ("it was me"), rejected ("not me"), timeout (unanswered),
-- skipped (not sent: the change is to the push factor, no usable factor),
-- failed (Okta refused the call). push_transaction is the proofer's id
-- to poll; push_note says why it was skipped or failed.
ALTER TABLE not_me_links ADD COLUMN push_state text CHECK (push_state IN ('waiting', 'approved', 'rejected', 'timeout', 'skipped', 'failed'));
ALTER TABLE not_me_links ADD COLUMN push_transaction text;
ALTER TABLE not_me_links ADD COLUMN push_note text;
CREATE INDEX not_me_links_push_waiting ON not_me_links (expires_at) WHERE push_state = 'waiting';
