-- Card cache invalidation by the database itself, and revocable agent tokens.
-- depends: 0001_core

-- Tokens carry the version they were issued under; bumping it (logout, password change,
-- deactivation) revokes every older token of the agent.
ALTER TABLE agents ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- Every write to a table the consumer card reads notifies channel 'ccs_card_changed' with the
-- account numbers whose cards changed (comma-separated), or '*' when too many did or when the
-- change is not tied to accounts (outages, services): the server's listener then drops those
-- cached cards. Writers cannot forget: the triggers are statement-level, with transition tables,
-- so a statement of a million rows costs one notification.
--
-- TG_ARGV[0] is a query over the transition table %I that returns the account numbers, or '*'.
CREATE FUNCTION card_cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    numbers text[] := '{}';
    part text[];
    source text;
    too_many boolean;
BEGIN
    IF TG_ARGV[0] = '*' OR TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('ccs_card_changed', '*');
        RETURN NULL;
    END IF;
    FOREACH source IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new_rows']
                                       WHEN 'DELETE' THEN ARRAY['old_rows']
                                       ELSE ARRAY['new_rows', 'old_rows'] END LOOP
        EXECUTE format('SELECT count(*) > 500 FROM (SELECT 1 FROM %I LIMIT 501) x', source)
            INTO too_many;
        IF too_many THEN
            PERFORM pg_notify('ccs_card_changed', '*');
            RETURN NULL;
        END IF;
        EXECUTE format(TG_ARGV[0], source) INTO part;
        numbers := numbers || coalesce(part, '{}');
    END LOOP;
    IF cardinality(numbers) > 500 THEN
        PERFORM pg_notify('ccs_card_changed', '*');
    ELSIF cardinality(numbers) > 0 THEN
        PERFORM pg_notify('ccs_card_changed',
                          array_to_string(ARRAY(SELECT DISTINCT unnest(numbers)), ','));
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    target record;
    by_account constant text :=
        'SELECT array_agg(DISTINCT a.number) FROM %I r JOIN accounts a ON a.id = r.account_id';
BEGIN
    FOR target IN
        SELECT * FROM (VALUES
            ('accounts', 'SELECT array_agg(DISTINCT r.number) FROM %I r'),
            ('consumers', 'SELECT array_agg(DISTINCT a.number) FROM %I r '
                          'JOIN accounts a ON a.consumer_id = r.id'),
            ('phones', 'SELECT array_agg(DISTINCT a.number) FROM %I r '
                       'JOIN account_phones l ON l.phone_id = r.id '
                       'JOIN accounts a ON a.id = l.account_id'),
            ('account_phones', by_account),
            ('account_services', by_account),
            ('balances', by_account),
            ('charges', by_account),
            ('payments', by_account),
            ('meters', by_account),
            ('readings', 'SELECT array_agg(DISTINCT a.number) FROM %I r '
                         'JOIN meters m ON m.id = r.meter_id '
                         'JOIN accounts a ON a.id = m.account_id'),
            ('appeals', by_account),
            ('interactions', by_account),
            ('services', '*'),
            ('outages', '*'),
            ('outage_addresses', '*')
        ) AS t (tab, numbers_sql)
    LOOP
        EXECUTE format('CREATE TRIGGER card_cache_%s_ins AFTER INSERT ON %I '
                       'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION card_cache_notify(%L)',
                       target.tab, target.tab, target.numbers_sql);
        EXECUTE format('CREATE TRIGGER card_cache_%s_upd AFTER UPDATE ON %I '
                       'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION card_cache_notify(%L)',
                       target.tab, target.tab, target.numbers_sql);
        EXECUTE format('CREATE TRIGGER card_cache_%s_del AFTER DELETE ON %I '
                       'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
                       'EXECUTE FUNCTION card_cache_notify(%L)',
                       target.tab, target.tab, target.numbers_sql);
        EXECUTE format('CREATE TRIGGER card_cache_%s_trunc AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION card_cache_notify(''*'')',
                       target.tab, target.tab);
    END LOOP;
END
$$;
