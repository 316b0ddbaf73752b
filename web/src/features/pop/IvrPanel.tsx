// What the caller did in the IVR before the queue.
import { label, t } from "../../locale";
import type { IvrInfo } from "../../api/contract";

export function IvrPanel({ ivr }: { ivr: IvrInfo }) {
  return (
    <section class="ivr" data-testid="ivr">
      <h3>{t.ivr.title}</h3>
      <ul>
        <li>
          {t.ivr.identifiedBy}: {ivr.identified_by ? label(t.ivr.identifiedHow, ivr.identified_by) : t.ivr.notIdentified}
        </li>
        {ivr.intent && <li>{t.ivr.intent}: {label(t.ivr.intents, ivr.intent)}</li>}
        {ivr.readings > 0 && <li>{t.ivr.readings(ivr.readings)}</li>}
        {ivr.balance_heard && <li>{t.ivr.balanceHeard}</li>}
        {ivr.outage_heard && <li>{t.ivr.outageHeard}</li>}
      </ul>
    </section>
  );
}
