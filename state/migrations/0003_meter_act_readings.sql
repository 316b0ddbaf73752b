-- Readings taken when a meter is installed or removed (the installation and removal acts), per
-- tariff zone: the start of a new or replacement meter's history and the end of the one it
-- replaces. A first reading is measured from the installation reading, never accepted blind.
-- Reading values become unconstrained numeric: every value a caller confirms is kept exactly
-- as given (a rejected 10^11, or a value with more decimals than any meter shows), never
-- rounded or refused by the column. Accepted values stay within the meter's drum.
-- depends: 0001_core

CREATE TABLE meter_act_readings (
    meter_id  bigint NOT NULL REFERENCES meters (id) ON DELETE CASCADE,
    zone      text NOT NULL,
    act       text NOT NULL CHECK (act IN ('installed', 'removed')),
    value     numeric(14, 3) NOT NULL CHECK (value >= 0),
    PRIMARY KEY (meter_id, zone, act)
);

-- From numeric(14, 3) to numeric: PostgreSQL relabels the column without rewriting the table.
ALTER TABLE readings ALTER COLUMN value TYPE numeric;
