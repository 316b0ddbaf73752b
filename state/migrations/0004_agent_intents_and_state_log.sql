-- What each agent wants of the PBX (their intended readiness), the wrap-up in progress after a
-- queue call, and the log of every readiness change (time in each state per agent per day).
-- An intent row is written only after the PBX accepted the change (features/agents/intent.py).
-- depends: 0003_meter_act_readings

CREATE TABLE agent_intents (
    agent_id     bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    interface    text NOT NULL,
    state        text NOT NULL CHECK (state IN ('ready', 'not_ready', 'logged_out')),
    reason       text NOT NULL DEFAULT '',
    member_name  text NOT NULL DEFAULT '',
    -- [{"queue": ..., "penalty": ..., "dynamic": true|false, "state_interface": ...}]
    queues       jsonb NOT NULL DEFAULT '[]'::jsonb,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agent_wrapups (
    agent_id     bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    queue        text NOT NULL,
    call_id      text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL,
    until        timestamptz NOT NULL,
    extended     boolean NOT NULL DEFAULT false,
    -- what the agent goes back to when the wrap-up ends (chosen before or during it)
    then_state   text NOT NULL CHECK (then_state IN ('ready', 'not_ready')),
    then_reason  text NOT NULL DEFAULT ''
);

CREATE TABLE agent_state_log (
    id          bigserial PRIMARY KEY,
    agent_id    bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    state       text NOT NULL,
    reason      text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX agent_state_log_agent_idx ON agent_state_log (agent_id, started_at);
-- at most one open row per agent: the state the agent is in now
CREATE UNIQUE INDEX agent_state_log_open_idx ON agent_state_log (agent_id) WHERE ended_at IS NULL;
