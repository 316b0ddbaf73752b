import { label, t } from "../../locale";
import { money } from "../../format";
import type { CardSummary } from "../../api/contract";

export function SummaryList({ items, onOpen }: { items: CardSummary[]; onOpen: (account: string) => void }) {
  return (
    <table class="grid summaries">
      <thead>
        <tr>
          <th>{t.search.account}</th>
          <th>{t.search.consumer}</th>
          <th>{t.search.address}</th>
          <th>{t.search.status}</th>
          <th class="num">{t.search.debt}</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {items.map((s) => (
          <tr key={s.account}>
            <td class="mono">{s.account}</td>
            <td>{s.consumer_name}</td>
            <td>{s.address}</td>
            <td>{label(t.card.accountStatus, s.status)}</td>
            <td class="num">{money(s.total_debt)}</td>
            <td>
              <button type="button" onClick={() => onOpen(s.account)}>{t.search.open}</button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
