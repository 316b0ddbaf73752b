-- The supervisor board's list of today's abandoned callers (features/supervisor/abandoned.py)
-- is read again whenever a call is abandoned or answered: up to a few times a second under
-- load. Through queue_calls_entered_idx it walked every call of the day to keep the few
-- abandoned ones (50-150 ms a read with 100,000 calls of the day, PostgreSQL's CPU taken from
-- the server on the same machine); this index holds the abandoned calls only.
-- depends: 0010_campaign_operator_requests

CREATE INDEX queue_calls_abandoned_idx ON queue_calls (entered_at) WHERE outcome = 'abandoned';
