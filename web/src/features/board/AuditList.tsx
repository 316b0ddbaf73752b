// The supervisors' actions seen since this page connected (the full log: GET /api/supervisor/audit).
import { label, t } from "../../locale";
import { time } from "../../format";
import { agents, audit } from "../../stores/board";

export function AuditList() {
  const list = audit.value;
  if (list.length === 0) return null;
  const names = new Map(agents.value.map((a) => [a.agent_id, a.full_name]));
  return (
    <section class="audit" data-testid="audit">
      <h3>{t.board.audit.title}</h3>
      <ul>
        {list.map((e) => (
          <li key={e.id} data-action={e.action} data-result={e.result} class={e.result === "ok" ? "" : "error"}>
            <span class="mono">{time(e.at, true)}</span> {e.actor_login} {label(t.board.audit.actions, e.action)}
            {e.target_agent_id !== null && <> {names.get(e.target_agent_id) ?? `#${e.target_agent_id}`}</>}
            {e.result !== "ok" && <> {t.board.audit.failed(label(t.board.errors, e.result, e.message))}</>}
          </li>
        ))}
      </ul>
    </section>
  );
}
