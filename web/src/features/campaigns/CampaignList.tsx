// The campaigns, newest first, with the columns of the CRM's mass-mailing list: name, type,
// status with the date it reached it, counts (attempts, dialled, confirmed, remaining), all from
// the list's one request.
import { t, label } from "../../locale";
import { dateTime } from "../../format";
import { campaignsInOrder, counts, selectedId, stateDate } from "../../stores/campaigns";
import { select } from "../../stores/campaignsActions";

export function CampaignList() {
  const list = campaignsInOrder.value;
  if (list.length === 0) return <p class="muted">{t.campaigns.none}</p>;
  return (
    <section class="campaign-list">
      <table class="grid">
        <thead>
          <tr>
            <th>{t.campaigns.columns.name}</th>
            <th>{t.campaigns.columns.status}</th>
            <th class="num" title={t.campaigns.columns.countsHint}>{t.campaigns.columns.counts}</th>
          </tr>
        </thead>
        <tbody>
          {list.map((v) => {
            const p = counts(v); // the list's own counts, or the newer progress
            return (
              <tr key={v.id} data-testid="campaign-row" data-id={v.id} data-state={v.state}
                class={v.id === selectedId.value ? "chosen" : ""} onClick={() => void select(v.id)}>
                <td>
                  <span class="campaign-name">{v.name}</span>
                  <span class="label">{label(t.campaigns.types, v.type)} · №{v.id}</span>
                </td>
                <td>
                  <span class={`status-chip st-${v.state}`}>{label(t.campaigns.states, v.state)}</span>
                  <span class="label">{dateTime(stateDate(v))}</span>
                </td>
                <td class="num">
                  {p ? `${p.total} · ${p.dialled} · ${p.confirmed} · ${p.remaining}` : "—"}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
