import { t } from "../../locale";
import { phone } from "../../format";
import { idleCard, pops, selectedCallId, selectedPop } from "../../stores/pops";
import { PopView } from "./PopView";
import { CardPicker } from "./CardPicker";

export function PopArea() {
  const list = pops.value;
  const current = selectedPop.value;
  return (
    <div class="pop-area">
      {list.length > 1 && (
        <nav class="pop-tabs">
          {list.map((p) => (
            <button type="button" key={p.call_id} class={p.call_id === current?.call_id ? "tab active" : "tab"}
              onClick={() => (selectedCallId.value = p.call_id)}>
              {phone(p.caller_number) || t.pop.withheld} · {t.pop.status[p.status]}
            </button>
          ))}
        </nav>
      )}
      {current ? (
        <PopView key={current.call_id} pop={current} />
      ) : (
        <section class="idle" data-testid="idle">
          <p class="hint">{t.pop.none}</p>
          <CardPicker callId={null} card={idleCard.value} candidates={[]} />
        </section>
      )}
    </div>
  );
}
