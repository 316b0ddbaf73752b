// Today's abandoned callers, so someone calls them back: number, account, how long they waited,
// whether anyone has called back since; one click dials them (the supervisor's phone first).
// A caller who got through later leaves the list by the server's push.
import { t } from "../../locale";
import { duration, phone, time } from "../../format";
import { link } from "../../stores/connection";
import { abandoned, abandonedInOrder } from "../../stores/board";
import { abandonedKey, callBackAbandoned, notes } from "../../stores/boardActions";

export function AbandonedList() {
  const list = abandonedInOrder(abandoned.value);
  const offline = link.value !== "connected";
  return (
    <section class="abandoned" data-testid="abandoned">
      <h3>{t.board.abandoned.title} <span class="count">{list.filter((a) => !a.called_back).length}</span></h3>
      {list.length === 0 ? (
        <p class="muted">{t.board.abandoned.none}</p>
      ) : (
        <table class="grid">
          <thead>
            <tr>
              <th>{t.board.abandoned.at}</th>
              <th>{t.board.abandoned.number}</th>
              <th>{t.board.abandoned.account}</th>
              <th>{t.board.abandoned.queue}</th>
              <th class="num">{t.board.abandoned.waited}</th>
              <th>{t.board.abandoned.calledBack}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((a) => {
              const note = notes.value[abandonedKey(a.record_id)];
              return (
                <tr key={a.record_id} data-testid="abandoned-row" data-record={a.record_id}
                  class={a.called_back ? "called-back" : "not-called-back"}>
                  <td class="mono">{time(a.abandoned_at)}</td>
                  <td class="mono">{a.caller_number ? phone(a.caller_number) : t.board.abandoned.withheld}</td>
                  <td>{a.account ?? ""}</td>
                  <td>{a.queue}</td>
                  <td class="num mono">{duration(a.waited)}</td>
                  <td>{a.called_back ? t.board.abandoned.yesAt(time(a.called_back_at)) : t.board.abandoned.no}</td>
                  <td>
                    <button type="button" class="small" data-testid="call-back"
                      disabled={offline || !a.caller_number || note?.kind === "busy"}
                      onClick={() => void callBackAbandoned(a.record_id)}>
                      ☎ {t.board.abandoned.callBack}
                    </button>
                    {note && <span class={`action-note note-${note.kind}`} role="status">{note.text}</span>}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
