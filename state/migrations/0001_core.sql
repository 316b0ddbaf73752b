-- Core utility domain: consumers, accounts, phones, services, money, meters, readings,
-- appeals, interactions, outages, agents and queues.
-- depends:

CREATE TABLE consumers (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('person', 'organisation')),
    full_name   text NOT NULL,
    inn         text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL UNIQUE CHECK (number ~ '^[0-9]{8,12}$'),
    consumer_id bigint NOT NULL REFERENCES consumers (id),
    status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    city        text NOT NULL,
    street      text NOT NULL,
    house       text NOT NULL,
    apartment   text,
    timezone    text NOT NULL DEFAULT 'Europe/Moscow',
    opened_on   date,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_consumer_idx ON accounts (consumer_id);
CREATE INDEX accounts_address_idx ON accounts (city, street, house);

CREATE TABLE phones (
    id    bigserial PRIMARY KEY,
    e164  text NOT NULL UNIQUE CHECK (e164 ~ '^\+[1-9][0-9]{6,14}$')
);

CREATE TABLE account_phones (
    phone_id    bigint NOT NULL REFERENCES phones (id) ON DELETE CASCADE,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind        text NOT NULL DEFAULT 'mobile' CHECK (kind IN ('mobile', 'home', 'work')),
    PRIMARY KEY (phone_id, account_id)
);
CREATE INDEX account_phones_account_idx ON account_phones (account_id);

CREATE TABLE services (
    code     text PRIMARY KEY,
    unit     text NOT NULL
);
INSERT INTO services (code, unit) VALUES
    ('electricity', 'kWh'), ('heating', 'Gcal'), ('hot_water', 'm3'), ('cold_water', 'm3');

CREATE TABLE account_services (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service     text NOT NULL REFERENCES services (code),
    status      text NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'restricted', 'suspended', 'disconnected')),
    tariff      text,
    PRIMARY KEY (account_id, service)
);

-- Current money position per account and service; positive debt = the consumer owes.
CREATE TABLE balances (
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service         text NOT NULL REFERENCES services (code),
    period          date NOT NULL,
    balance         numeric(14, 2) NOT NULL DEFAULT 0,
    debt            numeric(14, 2) NOT NULL DEFAULT 0,
    penalty         numeric(14, 2) NOT NULL DEFAULT 0,
    months_overdue  integer NOT NULL DEFAULT 0 CHECK (months_overdue >= 0),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, service)
);
CREATE INDEX balances_debt_idx ON balances (months_overdue, debt) WHERE debt > 0;

CREATE TABLE charges (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service     text NOT NULL REFERENCES services (code),
    period      date NOT NULL,
    amount      numeric(14, 2) NOT NULL,
    volume      numeric(14, 3),
    PRIMARY KEY (account_id, service, period)
);

CREATE TABLE payments (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service      text REFERENCES services (code),
    paid_on      date NOT NULL,
    amount       numeric(14, 2) NOT NULL,
    channel      text NOT NULL DEFAULT 'bank',
    external_id  text UNIQUE
);
CREATE INDEX payments_account_idx ON payments (account_id, paid_on DESC);

CREATE TABLE meters (
    id                bigserial PRIMARY KEY,
    account_id        bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service           text NOT NULL REFERENCES services (code),
    serial            text NOT NULL,
    zones             text[] NOT NULL DEFAULT '{total}',
    digits            smallint NOT NULL CHECK (digits BETWEEN 4 AND 9),
    decimals          smallint NOT NULL DEFAULT 0 CHECK (decimals BETWEEN 0 AND 3),
    verification_due date,
    installed_on      date,
    removed_on        date,
    replaces_meter_id bigint REFERENCES meters (id),
    UNIQUE (service, serial)
);
CREATE INDEX meters_account_idx ON meters (account_id);

-- A billing period is open until billing closes it; only open periods accept new readings.
CREATE TABLE billing_periods (
    period     date PRIMARY KEY,
    closed_at  timestamptz
);

CREATE TABLE readings (
    id             bigserial PRIMARY KEY,
    meter_id       bigint NOT NULL REFERENCES meters (id) ON DELETE CASCADE,
    zone           text NOT NULL,
    period         date NOT NULL,
    value          numeric(14, 3) NOT NULL,
    source         text NOT NULL CHECK (source IN ('ivr', 'agent', 'cabinet', 'controller', 'file')),
    status         text NOT NULL CHECK (status IN ('accepted', 'rejected', 'superseded')),
    reject_reason  text,
    entered_by     text,
    call_id        text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'rejected') = (reject_reason IS NOT NULL))
);
CREATE UNIQUE INDEX readings_one_accepted_idx
    ON readings (meter_id, zone, period) WHERE status = 'accepted';
CREATE INDEX readings_meter_idx ON readings (meter_id, zone, period DESC);

CREATE TABLE appeals (
    id              bigserial PRIMARY KEY,
    account_id      bigint REFERENCES accounts (id) ON DELETE SET NULL,
    consumer_id     bigint REFERENCES consumers (id) ON DELETE SET NULL,
    type            text NOT NULL,
    topic           text NOT NULL,
    priority        text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status          text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'in_progress', 'resolved', 'closed', 'rejected')),
    channel         text NOT NULL CHECK (channel IN ('phone', 'ivr', 'cabinet', 'email', 'visit', 'letter', 'robocall')),
    operator_group  text,
    summary         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    due_at          timestamptz,
    closed_at       timestamptz
);
CREATE INDEX appeals_account_idx ON appeals (account_id, created_at DESC);

CREATE TABLE agents (
    id             bigserial PRIMARY KEY,
    login          text NOT NULL UNIQUE,
    full_name      text NOT NULL,
    role           text NOT NULL DEFAULT 'agent' CHECK (role IN ('agent', 'supervisor', 'admin')),
    password_hash  text NOT NULL,
    interface      text UNIQUE,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queues (
    name                  text PRIMARY KEY,
    title                 text NOT NULL,
    service_level_seconds integer NOT NULL DEFAULT 20
);

CREATE TABLE agent_queues (
    agent_id    bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue_name  text NOT NULL REFERENCES queues (name) ON DELETE CASCADE,
    penalty     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (agent_id, queue_name)
);

-- Every call, inbound or outbound, with what happened on it.
CREATE TABLE interactions (
    id           bigserial PRIMARY KEY,
    call_id      text NOT NULL,
    direction    text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    phone        text,
    account_id   bigint REFERENCES accounts (id) ON DELETE SET NULL,
    agent_id     bigint REFERENCES agents (id) ON DELETE SET NULL,
    queue_name   text,
    started_at   timestamptz NOT NULL,
    answered_at  timestamptz,
    ended_at     timestamptz,
    outcome      text,
    ivr_context  jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE UNIQUE INDEX interactions_call_idx ON interactions (call_id, direction);
CREATE INDEX interactions_account_idx ON interactions (account_id, started_at DESC);

CREATE TABLE outages (
    id                       bigserial PRIMARY KEY,
    service                  text NOT NULL REFERENCES services (code),
    kind                     text NOT NULL DEFAULT 'emergency' CHECK (kind IN ('emergency', 'planned')),
    description              text NOT NULL,
    started_at               timestamptz NOT NULL,
    expected_restoration_at  timestamptz,
    restored_at              timestamptz
);

-- A null house means the whole street is affected.
CREATE TABLE outage_addresses (
    outage_id  bigint NOT NULL REFERENCES outages (id) ON DELETE CASCADE,
    city       text NOT NULL,
    street     text NOT NULL,
    house      text
);
CREATE INDEX outage_addresses_idx ON outage_addresses (city, street, house);
