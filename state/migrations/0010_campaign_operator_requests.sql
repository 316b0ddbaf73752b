-- The progressive pacer's operator requests kept on their attempt row (campaigns/recorder.py),
-- so that a new leader (after a kill -9 or a lease change) reads back the counts behind the
-- abandon brake instead of starting from zero. An attempt whose outcome is 'operator' is one
-- request; `operator_call` is the Linkedid of the call sent to the target queue (written in the
-- outcome's own transaction), `operator_result` how that queue visit ended (set once).
-- depends: 0009_campaigns

ALTER TABLE campaign_attempts
    ADD COLUMN operator_call text,
    ADD COLUMN operator_result text CHECK (operator_result IN ('answered', 'abandoned'));

-- The pacer counts a running campaign's requests every refresh; a new leader loads the
-- requests still waiting for an agent.
CREATE INDEX campaign_attempts_operator_idx ON campaign_attempts (campaign_id)
    WHERE outcome = 'operator';
CREATE INDEX campaign_attempts_operator_waiting_idx ON campaign_attempts (finished_at)
    WHERE outcome = 'operator' AND operator_result IS NULL;
