// Open callback commitments (the 4-hour promise of the service standard), the soonest due
// first; those past due are marked, and turn so by the clock without waiting for a push.
import { t } from "../../locale";
import { date, dateTime, phone, time } from "../../format";
import { now } from "../../stores/clock";
import { agents, callbacks, openCallbacks } from "../../stores/board";

// A time of today alone, an earlier day's with its date.
function when(iso: string, at: number): string {
  return date(iso) === date(new Date(at).toISOString()) ? time(iso) : dateTime(iso);
}

export function CallbacksList() {
  const at = now.value;
  const list = openCallbacks(callbacks.value, at);
  const names = new Map(agents.value.map((a) => [a.agent_id, a.full_name]));
  const overdue = list.filter((c) => c.overdueNow).length;
  return (
    <section class="callbacks" data-testid="callbacks">
      <h3>
        {t.board.callbacks.title} <span class="count">{list.length}</span>
        {overdue > 0 && <span class="overdue-count"> {t.board.callbacks.overdue}: {overdue}</span>}
      </h3>
      {list.length === 0 ? (
        <p class="muted">{t.board.callbacks.none}</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>{t.board.callbacks.due}</th>
              <th>{t.board.callbacks.account}</th>
              <th>{t.board.callbacks.phone}</th>
              <th>{t.board.callbacks.agent}</th>
              <th>{t.board.callbacks.note}</th>
              <th>{t.board.callbacks.created}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((c) => (
              <tr key={c.id} data-testid="callback-row" data-callback={c.id} data-overdue={String(c.overdueNow)}
                class={c.overdueNow ? "overdue" : ""}>
                <td class="mono">
                  {dateTime(c.due_at)}
                  {c.overdueNow && <span class="overdue-mark"> {t.board.callbacks.overdue}</span>}
                </td>
                <td>{c.account ?? ""}</td>
                <td class="mono">{phone(c.phone)}</td>
                <td>{c.agent_id === null ? "" : names.get(c.agent_id) ?? `#${c.agent_id}`}</td>
                <td>{c.note}</td>
                <td class="mono">{when(c.created_at, at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
