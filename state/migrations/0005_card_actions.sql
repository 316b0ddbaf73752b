-- What the agent does from the card: an appeal tied to the call and the agent who registered
-- it, the call's disposition, and the search of a consumer by address text.
-- depends: 0003_meter_act_readings

ALTER TABLE appeals ADD COLUMN call_id text;
ALTER TABLE appeals ADD COLUMN agent_id bigint REFERENCES agents (id) ON DELETE SET NULL;
ALTER TABLE appeals ADD COLUMN comment text;
CREATE INDEX appeals_call_idx ON appeals (call_id) WHERE call_id IS NOT NULL;

-- The outcome the agent gives the call (disposition codes come from the settings), apart from
-- `outcome`, which the PBX side writes (answered, abandoned, transferred, ...).
ALTER TABLE interactions ADD COLUMN disposition text;
ALTER TABLE interactions ADD COLUMN disposition_comment text;
ALTER TABLE interactions ADD COLUMN disposition_at timestamptz;
CREATE INDEX interactions_agent_idx ON interactions (agent_id, started_at DESC);

-- Address search ("Ленина 5 12"): trigram indexes, so a substring anywhere in the street
-- is an index scan on 2.5 M accounts.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX accounts_street_trgm_idx ON accounts USING gin (street gin_trgm_ops);
