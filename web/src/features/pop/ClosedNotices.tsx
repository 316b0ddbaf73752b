import { t } from "../../locale";
import { notices } from "../../stores/pops";

export function ClosedNotices() {
  const list = notices.value;
  if (list.length === 0) return null;
  return (
    <ul class="notices" role="status">
      {list.map((n) => (
        <li key={n.call_id}>{t.pop.closed[n.reason] ?? n.reason}</li>
      ))}
    </ul>
  );
}
