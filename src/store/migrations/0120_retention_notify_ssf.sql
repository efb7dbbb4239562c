-- Retention (src/store: pruneRetained) of the notification and Shared Signals
-- tables (issue 13): expired "this wasn't me" links, SETs delivered by the
-- transmitter, and the jtis the receiver accepted (kept longer than any SET's
-- accepted age, so a replay is still caught). Failed SETs are never pruned:
-- they are what an operator must see. These indexes let the sweep find the
-- rows without a scan.
CREATE INDEX not_me_links_expires ON not_me_links (expires_at);
CREATE INDEX ssf_sets_delivered ON ssf_sets (delivered_at) WHERE state = 'delivered';
CREATE INDEX ssf_received_at ON ssf_received (received_at);
