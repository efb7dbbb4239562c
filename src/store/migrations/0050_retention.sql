-- Retention (src/store: pruneRetained): raw vendor payloads, Warden's own
-- change records and sent outbound events are deleted once older than the
-- configured retention. These indexes let the sweep find them without a scan.
-- Failed inbox entries are never pruned: they are what an operator must see.
CREATE INDEX inbox_finished ON inbox (processed_at) WHERE state IN ('processed', 'ignored');
CREATE INDEX own_changes_at ON own_changes (at);
CREATE INDEX notify_events_created ON notify_events (created_at);
