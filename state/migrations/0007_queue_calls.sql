-- One row per queue leg (a caller's visit to one queue), written when the leg ends: the one
-- source of queue history (features/supervisor/records.py writes it; the board's figures of
-- today and every report are computed from these rows with the same formulas).
-- A transfer or a move to another queue makes a new leg of the same call (prev_leg links it).
-- depends: 0005_card_actions

CREATE TABLE queue_calls (
    id               bigserial PRIMARY KEY,
    call_id          text NOT NULL,
    leg              int NOT NULL CHECK (leg >= 1),
    prev_leg         int,
    queue            text NOT NULL,
    caller_number    text NOT NULL DEFAULT '',
    account_id       bigint REFERENCES accounts (id) ON DELETE SET NULL,
    ivr_path         jsonb NOT NULL DEFAULT '{}'::jsonb,
    entered_at       timestamptz NOT NULL,
    answered_at      timestamptz,
    left_at          timestamptz NOT NULL,
    ended_at         timestamptz,
    agent_id         bigint REFERENCES agents (id) ON DELETE SET NULL,
    interface        text NOT NULL DEFAULT '',
    outcome          text NOT NULL CHECK (outcome IN ('answered', 'abandoned', 'timeout',
                                                      'transferred', 'redirected')),
    wait_seconds     double precision NOT NULL CHECK (wait_seconds >= 0),
    talk_seconds     double precision NOT NULL DEFAULT 0 CHECK (talk_seconds >= 0),
    wrapup_seconds   double precision CHECK (wrapup_seconds >= 0),
    transfer_how     text,
    transfer_target  text,
    -- false when the leg's end was not seen (the server was down when it ended): its end and
    -- talk time are the best estimate the recorder had when it found the call gone
    end_seen         boolean NOT NULL DEFAULT true,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (call_id, leg),
    CHECK (answered_at IS NOT NULL OR outcome IN ('abandoned', 'timeout', 'redirected'))
);
CREATE INDEX queue_calls_entered_idx ON queue_calls (entered_at);
CREATE INDEX queue_calls_queue_idx ON queue_calls (queue, entered_at);
CREATE INDEX queue_calls_agent_idx ON queue_calls (agent_id, entered_at);
CREATE INDEX queue_calls_caller_idx ON queue_calls (caller_number, entered_at);
