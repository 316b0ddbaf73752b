import { t } from "../../locale";
import { phone } from "../../format";
import type { Pop } from "../../api/contract";
import { cardOf, dismiss } from "../../stores/pops";
import { Timeline } from "../calls/Timeline";
import { DispositionSelector } from "../calls/DispositionSelector";
import { IvrPanel } from "./IvrPanel";
import { CardPicker } from "./CardPicker";
import { PromiseCallback } from "../callbacks/PromiseCallback";

export function PopView({ pop }: { pop: Pop }) {
  return (
    <section class={`pop pop-${pop.status}`} data-testid="pop" data-call-id={pop.call_id} data-status={pop.status}>
      <header class="pop-head">
        <div>
          <span class="pop-title">{t.pop.incoming}</span>
          <span class="pop-caller" data-testid="pop-caller">{phone(pop.caller_number) || t.pop.withheld}</span>
          <span class="pop-status">{t.pop.status[pop.status] ?? pop.status}</span>
        </div>
        <div class="pop-meta">
          {pop.queue && <span>{t.pop.queue}: {pop.queue}</span>}
          {pop.transferred_from && <span>{t.pop.transferred(pop.transferred_from)}</span>}
          {pop.status === "ended" && (
            <button type="button" class="link" onClick={() => dismiss(pop.call_id)}>{t.pop.dismiss}</button>
          )}
        </div>
      </header>
      <div class="pop-body">
        <div class="pop-aside">
          <Timeline pop={pop} />
          {pop.ivr && <IvrPanel ivr={pop.ivr} />}
          <DispositionSelector pop={pop} />
          <PromiseCallback pop={pop} />
        </div>
        <div class="pop-main">
          <CardPicker callId={pop.call_id} card={cardOf(pop)} candidates={pop.candidates} />
        </div>
      </div>
    </section>
  );
}
