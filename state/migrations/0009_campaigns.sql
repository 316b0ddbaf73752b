-- Robocall campaigns (campaigns/): the campaigns, their attempts (one per account, frozen at
-- start), the log of every dial that the contact rules count across campaigns, the opt-out
-- list every campaign honours, protected consumers, and the run-time kill switch.
-- depends: 0005_card_actions

CREATE TABLE campaigns (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL,
    type          text NOT NULL CHECK (type IN ('debt_reminder', 'outage_alert', 'routine_notice')),
    state         text NOT NULL DEFAULT 'created'
                  CHECK (state IN ('created', 'running', 'paused', 'stopped', 'finished', 'expired')),
    state_reason  text,
    spec          jsonb NOT NULL,            -- campaigns.models.Campaign
    outage_id     bigint REFERENCES outages (id),
    scenario      text,
    stage         integer,
    created_by    bigint REFERENCES agents (id) ON DELETE SET NULL,
    cloned_from   bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- When it reached its current state (the console's status date); the trigger below keeps
    -- it right for every writer, store.set_state sets it to the change's own moment.
    state_since   timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    -- When it last started or resumed: a campaign that pauses at its window's end runs only
    -- within the day of this moment (no stale message the next morning, campaigns/rules.py).
    run_since     timestamptz,
    finished_at   timestamptz
);
CREATE INDEX campaigns_state_idx ON campaigns (state) WHERE state IN ('running', 'paused');

CREATE FUNCTION campaigns_state_since() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NEW.state_since IS NOT DISTINCT FROM OLD.state_since
    THEN
        NEW.state_since := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER campaigns_state_since BEFORE UPDATE OF state ON campaigns
    FOR EACH ROW EXECUTE FUNCTION campaigns_state_since();

-- Lifecycle: queued -> dialing -> answered -> done | retry_wait -> queued; skipped; cancelled.
-- Each change is one transaction with its timestamp (campaigns/attempts.py).
-- account_id and consumer_id carry no foreign key: attempts are frozen from a join of those
-- tables in one statement (100,000 rows at a start), where a key check per row would lock
-- every account and consumer row and cost more than the insert itself; accounts are closed,
-- not deleted.
CREATE TABLE campaign_attempts (
    id             bigserial PRIMARY KEY,
    campaign_id    bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    account_id     bigint NOT NULL,
    consumer_id    bigint NOT NULL,
    phones         text[] NOT NULL,          -- best first, the rest fallbacks (E.164)
    phone_index    integer NOT NULL DEFAULT 0,
    state          text NOT NULL DEFAULT 'queued'
                   CHECK (state IN ('queued', 'dialing', 'answered', 'retry_wait', 'done',
                                    'skipped', 'cancelled')),
    tries          integer NOT NULL DEFAULT 0,
    action_id      text,
    dialled_at     timestamptz,
    answered_at    timestamptz,
    finished_at    timestamptz,
    next_at        timestamptz,
    last_result    text,                     -- busy / no_answer / congestion / failed / ...
    outcome        text CHECK (outcome IN ('confirmed', 'operator', 'opted_out', 'heard',
                                           'hung_up', 'machine', 'busy', 'no_answer',
                                           'congestion', 'failed')),
    skip_reason    text,
    key_pressed    text,
    params         jsonb NOT NULL DEFAULT '{}'::jsonb,  -- personalised parts frozen at start
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, account_id),
    CHECK ((state = 'skipped') = (skip_reason IS NOT NULL))
);
CREATE INDEX campaign_attempts_due_idx ON campaign_attempts (campaign_id, next_at, id)
    WHERE state IN ('queued', 'retry_wait');
CREATE INDEX campaign_attempts_inflight_idx ON campaign_attempts (campaign_id)
    WHERE state IN ('dialing', 'answered');
CREATE INDEX campaign_attempts_action_idx ON campaign_attempts (action_id)
    WHERE action_id IS NOT NULL;
CREATE INDEX campaign_attempts_account_idx ON campaign_attempts (account_id);

-- Every dial, written in the dial's own transaction; the caps and the minimum gap count these
-- rows per consumer across all campaigns. `result` is filled when the dial's fate is known
-- (null: unknown, which always counts). Written at the dialling rate: only the account has a
-- foreign key (the rest are copies of the attempt's, checked when it was frozen).
CREATE TABLE contact_log (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    consumer_id  bigint NOT NULL,
    phone        text NOT NULL,
    campaign_id  bigint,
    attempt_id   bigint,
    dialled_at   timestamptz NOT NULL,
    result       text CHECK (result IN ('answered', 'busy', 'no_answer', 'congestion', 'failed',
                                        'machine'))
);
CREATE INDEX contact_log_consumer_idx ON contact_log (consumer_id, dialled_at DESC);
CREATE INDEX contact_log_phone_idx ON contact_log (phone, dialled_at DESC);
CREATE INDEX contact_log_attempt_idx ON contact_log (attempt_id);
-- The preview reads the last month's dials of a whole selection at once.
CREATE INDEX contact_log_dialled_idx ON contact_log (dialled_at);

-- The dialler need not know the consumer: the row takes it from the account.
CREATE FUNCTION contact_log_consumer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.consumer_id IS NULL THEN
        SELECT consumer_id INTO NEW.consumer_id FROM accounts WHERE id = NEW.account_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER contact_log_consumer BEFORE INSERT ON contact_log
    FOR EACH ROW EXECUTE FUNCTION contact_log_consumer();

-- "Don't call me": by consumer (every phone of theirs) or by phone (whoever it belongs to).
-- scope 'all' is honoured by every campaign; a campaign type limits it to that type.
CREATE TABLE opt_outs (
    id           bigserial PRIMARY KEY,
    consumer_id  bigint REFERENCES consumers (id) ON DELETE CASCADE,
    phone        text,
    scope        text NOT NULL DEFAULT 'all'
                 CHECK (scope IN ('all', 'debt_reminder', 'outage_alert', 'routine_notice')),
    source       text NOT NULL CHECK (source IN ('robocall', 'agent', 'admin', 'import')),
    campaign_id  bigint REFERENCES campaigns (id) ON DELETE SET NULL,
    created_by   bigint REFERENCES agents (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (consumer_id IS NOT NULL OR phone IS NOT NULL)
);
CREATE INDEX opt_outs_consumer_idx ON opt_outs (consumer_id) WHERE consumer_id IS NOT NULL;
CREATE INDEX opt_outs_phone_idx ON opt_outs (phone) WHERE phone IS NOT NULL;

-- Protected categories (230-FZ art. 7: e.g. disabled of group I, in hospital, bankrupt under
-- procedure, minors): flagged on an account; the consumer holding it is never called.
CREATE TABLE account_protection (
    account_id  bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    category    text NOT NULL CHECK (category IN ('disabled_group_1', 'in_hospital', 'bankrupt',
                                                  'minor', 'deceased', 'other')),
    note        text,
    set_by      bigint REFERENCES agents (id) ON DELETE SET NULL,
    set_at      timestamptz NOT NULL DEFAULT now()
);

-- The run-time kill switch: one row; the rules read it in the dial's own transaction.
CREATE TABLE campaign_kill_switch (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    engaged     boolean NOT NULL DEFAULT false,
    reason      text,
    changed_by  bigint REFERENCES agents (id) ON DELETE SET NULL,
    changed_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO campaign_kill_switch (id, engaged) VALUES (true, false);

-- Selection: "no payment since" and the debt conditions.
CREATE INDEX IF NOT EXISTS balances_account_debt_idx ON balances (account_id) WHERE debt > 0;
