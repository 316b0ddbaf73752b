-- Every change of an agent that decides who a ringing phone pops at (its interface, whether it
-- is active, its role, its name shown as "transferred from") notifies channel
-- 'ccs_agent_changed' with the agent's id, so the pop path keeps interface -> agent in memory
-- (features/agents/interface_map.py) instead of asking PostgreSQL at every ring. Writers cannot
-- forget: the trigger is on the table, whatever writes it (REST, the CLI, plain SQL).
-- depends: 0005_card_actions

CREATE FUNCTION agent_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('ccs_agent_changed', '*');
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('ccs_agent_changed', OLD.id::text);
    ELSE
        PERFORM pg_notify('ccs_agent_changed', NEW.id::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agents_changed_notify
    AFTER INSERT OR DELETE OR UPDATE OF interface, active, role, full_name ON agents
    FOR EACH ROW EXECUTE FUNCTION agent_changed_notify();

CREATE TRIGGER agents_truncated_notify
    AFTER TRUNCATE ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION agent_changed_notify();
