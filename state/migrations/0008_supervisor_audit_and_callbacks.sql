-- The supervisor's actions (each one audited) and the agents' callback commitments.
-- depends: 0005_card_actions

-- Who did what to whom and how it went: forced readiness, listen / whisper / barge, callbacks
-- of abandoned callers. Written after the action ran (its result is part of the row).
CREATE TABLE supervisor_audit (
    id              bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor_id        bigint REFERENCES agents (id) ON DELETE SET NULL,
    actor_login     text NOT NULL,
    action          text NOT NULL,
    target_agent_id bigint,  -- no foreign key: a refused action on an unknown id is audited too
    target          text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    result          text NOT NULL,
    message         text
);
CREATE INDEX supervisor_audit_at_idx ON supervisor_audit (at);

-- A promise made to a caller during a call: "we will call you back with the answer" (the
-- service standard's 4 hours by default). Open until an outcome is set; kept in time when the
-- first call back (or, without one, the closing) came no later than due_at.
CREATE TABLE callbacks (
    id              bigserial PRIMARY KEY,
    phone           text NOT NULL,
    account_id      bigint REFERENCES accounts (id) ON DELETE SET NULL,
    call_id         text,
    agent_id        bigint REFERENCES agents (id) ON DELETE SET NULL,
    note            text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    dialled_at      timestamptz,
    dial_call_id    text,
    outcome         text,
    outcome_comment text,
    closed_at       timestamptz,
    closed_by       bigint REFERENCES agents (id) ON DELETE SET NULL,
    CHECK ((status = 'done') = (closed_at IS NOT NULL AND outcome IS NOT NULL))
);
CREATE INDEX callbacks_open_due_idx ON callbacks (due_at) WHERE status = 'open';
CREATE INDEX callbacks_created_idx ON callbacks (created_at);
CREATE INDEX callbacks_agent_idx ON callbacks (agent_id, created_at);

-- "Has anyone called this abandoned caller back since?" (features/supervisor/abandoned.py):
-- outbound calls by number and time, without reading every interaction.
CREATE INDEX interactions_outbound_phone_idx ON interactions (phone, started_at)
    WHERE direction = 'outbound';
