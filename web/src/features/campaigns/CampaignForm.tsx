// A new campaign: a template (the debt scenario's stages, an outage alert, a routine notice),
// the selection conditions (the CRM's «Условия отбора»), then schedule, pacing, retries and the
// listener's keys with the server's defaults filled in. Templates, open outages, cities and
// the city's streets are the server's (pickers, not typed numbers). "Предпросмотр" asks the server how many
// would be called and who would be skipped, and why; "Создать" stores it (not started yet).
import type { ComponentChildren } from "preact";
import { t, label } from "../../locale";
import { dateTime } from "../../format";
import {
  RETRY_RESULTS, type AccountStatus, type CampaignTemplate, type Key, type ServiceCode, type ServiceStatus,
} from "../../api/campaigns";
import { message, templates, withTemplate, type CampaignForm as Form, type HasPhone } from "../../stores/campaignsForm";
import {
  busy, choices, createFromForm, form, formErrors, loadStreets, preview, previewForm, previewOf, streets,
} from "../../stores/campaignsActions";
import { PreviewView } from "./PreviewView";

const STATUSES: AccountStatus[] = ["active", "suspended", "closed"];
const SERVICES: ServiceCode[] = ["electricity", "heating", "hot_water", "cold_water"];
const SERVICE_STATUSES: ServiceStatus[] = ["active", "restricted", "suspended", "disconnected"];
const KEYS: Key[] = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"];

function set(patch: Partial<Form>): void {
  form.value = { ...form.value, ...patch };
}

function toggle<T>(list: T[], item: T, on: boolean): T[] {
  return on ? (list.includes(item) ? list : [...list, item]) : list.filter((x) => x !== item);
}

function Field({ name, text, hint, children }: { name: string; text: string; hint?: string; children: ComponentChildren }) {
  const error = formErrors.value[name];
  return (
    <label class={`field${error ? " invalid" : ""}`} data-field={name}>
      <span class="label">{text}</span>
      {children}
      {hint && <span class="hint">{hint}</span>}
      {error && <span class="error">{label(t.campaigns.formErrors, error)}</span>}
    </label>
  );
}

function Text({ name, value, text, hint, type = "text", placeholder, list, onChange }: {
  name: keyof Form; value: string; text: string; hint?: string; type?: string; placeholder?: string;
  list?: string; onChange?: (value: string) => void;
}) {
  return (
    <Field name={name} text={text} hint={hint}>
      <input name={name} type={type} value={value} placeholder={placeholder} list={list}
        onInput={(e) => set({ [name]: e.currentTarget.value } as Partial<Form>)}
        onChange={onChange ? (e) => onChange(e.currentTarget.value) : undefined} />
    </Field>
  );
}

/** A template's name: the debt stages from their own conditions, the rest from the locale. */
export function templateName(x: CampaignTemplate): string {
  if (x.stage != null && x.target.min_debt != null && x.target.min_months_overdue != null) {
    return t.campaigns.form.debtStage(x.stage, Number(x.target.min_debt).toLocaleString("ru-RU"), x.target.min_months_overdue);
  }
  return label(t.campaigns.templates, x.id);
}

function OutagePicker({ f }: { f: Form }) {
  const L = t.campaigns.form;
  const open = choices.value?.outages ?? [];
  return (
    <Field name="outageId" text={L.outageId} hint={L.outageHint}>
      <select name="outageId" data-testid="outage-pick" value={f.outageId}
        onChange={(e) => set({ outageId: e.currentTarget.value })}>
        <option value="">{L.outageNone}</option>
        {open.map((o) => (
          <option key={o.id} value={String(o.id)}>
            {L.outageOption(o.id, o.description, o.addresses, Math.max(0, o.address_count - 3), dateTime(o.started_at))}
          </option>
        ))}
      </select>
    </Field>
  );
}

function KeySelect({ name, value, text }: { name: "confirmKey" | "operatorKey" | "optOutKey"; value: Key | ""; text: string }) {
  return (
    <Field name={name} text={text}>
      <select name={name} value={value} onChange={(e) => set({ [name]: e.currentTarget.value as Key | "" } as Partial<Form>)}>
        <option value="">{t.campaigns.form.keyOff}</option>
        {KEYS.map((k) => <option key={k} value={k}>{k}</option>)}
      </select>
    </Field>
  );
}

function Target({ f }: { f: Form }) {
  const L = t.campaigns.form;
  return (
    <fieldset>
      <legend>{L.target}</legend>
      <div class="row3">
        <Text name="city" value={f.city} text={L.city} hint={L.listHint} list="campaign-cities"
          onChange={(v) => void loadStreets(v)} />
        <Text name="street" value={f.street} text={L.street} hint={L.listHint} list="campaign-streets" />
        <Text name="house" value={f.house} text={L.house} hint={L.listHint} />
      </div>
      <div class="row4">
        <Text name="apartmentFrom" value={f.apartmentFrom} text={L.apartmentFrom} type="number" />
        <Text name="apartmentTo" value={f.apartmentTo} text={L.apartmentTo} type="number" />
        <Field name="hasPhone" text={L.hasPhone}>
          <select name="hasPhone" value={f.hasPhone} onChange={(e) => set({ hasPhone: e.currentTarget.value as HasPhone })}>
            {(["yes", "no", "any"] as HasPhone[]).map((v) => <option key={v} value={v}>{L.hasPhoneValues[v]}</option>)}
          </select>
        </Field>
        <Field name="accountStatus" text={L.accountStatus}>
          <span class="checks">
            {STATUSES.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" name={`status-${s}`} checked={f.accountStatus.includes(s)}
                  onChange={(e) => set({ accountStatus: toggle(f.accountStatus, s, e.currentTarget.checked) })} />
                {label(t.campaigns.accountStatuses, s)}
              </label>
            ))}
          </span>
        </Field>
      </div>
      <div class="row4">
        <Field name="service" text={L.service}>
          <select name="service" value={f.service} onChange={(e) => set({ service: e.currentTarget.value as ServiceCode | "" })}>
            <option value="">{L.anyService}</option>
            {SERVICES.map((s) => <option key={s} value={s}>{label(t.campaigns.services, s)}</option>)}
          </select>
        </Field>
        <Field name="serviceStatus" text={L.serviceStatus}>
          <span class="checks">
            {SERVICE_STATUSES.map((s) => (
              <label key={s} class="check">
                <input type="checkbox" name={`service-status-${s}`} checked={f.serviceStatus.includes(s)} disabled={!f.service}
                  onChange={(e) => set({ serviceStatus: toggle(f.serviceStatus, s, e.currentTarget.checked) })} />
                {label(t.campaigns.serviceStatuses, s)}
              </label>
            ))}
          </span>
        </Field>
        <Text name="minDebt" value={f.minDebt} text={L.minDebt} placeholder="1000,00" />
        <Text name="minMonths" value={f.minMonths} text={L.minMonths} type="number" />
      </div>
      <div class="row4">
        <Text name="noPaymentSince" value={f.noPaymentSince} text={L.noPaymentSince} type="date" />
        <OutagePicker f={f} />
      </div>
      <datalist id="campaign-cities">
        {(choices.value?.cities ?? []).map((c) => <option key={c} value={c} />)}
      </datalist>
      <datalist id="campaign-streets">
        {(streets.value?.streets ?? []).map((s) => <option key={s} value={s} />)}
      </datalist>
    </fieldset>
  );
}

function Schedule({ f }: { f: Form }) {
  const L = t.campaigns.form;
  return (
    <fieldset>
      <legend>{L.schedule}</legend>
      <div class="row4">
        <Text name="start" value={f.start} text={L.start} type="datetime-local" hint={L.startHint} />
        <Text name="end" value={f.end} text={L.end} type="datetime-local" hint={L.endHint} />
        <Text name="windowStart" value={f.windowStart} text={L.windowStart} type="time" />
        <Text name="windowEnd" value={f.windowEnd} text={L.windowEnd} type="time" hint={L.windowHint} />
      </div>
      <div class="row4">
        <Text name="timezone" value={f.timezone} text={L.timezone} placeholder="Europe/Moscow" />
        <Field name="onWindowEnd" text={L.onWindowEnd}>
          <select name="onWindowEnd" value={f.onWindowEnd}
            onChange={(e) => set({ onWindowEnd: e.currentTarget.value as Form["onWindowEnd"] })}>
            <option value="pause">{L.onWindowEndPause}</option>
            <option value="continue">{L.onWindowEndContinue}</option>
          </select>
        </Field>
      </div>
    </fieldset>
  );
}

function Pacing({ f }: { f: Form }) {
  const L = t.campaigns.form;
  return (
    <fieldset>
      <legend>{L.pacing}</legend>
      <div class="row4">
        <Field name="mode" text={L.mode}>
          <select name="mode" value={f.mode} onChange={(e) => set({ mode: e.currentTarget.value as Form["mode"] })}>
            <option value="agentless">{L.modeAgentless}</option>
            <option value="progressive">{L.modeProgressive}</option>
          </select>
        </Field>
        <Text name="maxChannels" value={f.maxChannels} text={L.maxChannels} type="number" />
        <Text name="callsPerSecond" value={f.callsPerSecond} text={L.callsPerSecond} />
        <Text name="targetQueue" value={f.targetQueue} text={L.targetQueue} hint={L.targetQueueHint} />
      </div>
      {f.mode === "progressive" && (
        <div class="row4">
          <Text name="callsPerReadyAgent" value={f.callsPerReadyAgent} text={L.callsPerReadyAgent} />
        </div>
      )}
    </fieldset>
  );
}

function Retries({ f }: { f: Form }) {
  const L = t.campaigns.form;
  const setRetry = (result: (typeof RETRY_RESULTS)[number], part: "delay" | "max", value: string) =>
    set({ retries: { ...f.retries, [result]: { ...f.retries[result], [part]: value } } });
  return (
    <fieldset>
      <legend>{L.retries}</legend>
      <table class="grid retries">
        <thead>
          <tr><th>{L.retryResult}</th><th>{L.retryDelay}</th><th>{L.retryMax}</th></tr>
        </thead>
        <tbody>
          {RETRY_RESULTS.map((r) => (
            <tr key={r}>
              <td>{label(t.campaigns.outcomes, r)}</td>
              <td class={formErrors.value[`retry.${r}.delay`] ? "invalid" : ""}>
                <input name={`retry-${r}-delay`} type="number" min="1" value={f.retries[r].delay}
                  onInput={(e) => setRetry(r, "delay", e.currentTarget.value)} />
              </td>
              <td class={formErrors.value[`retry.${r}.max`] ? "invalid" : ""}>
                <input name={`retry-${r}-max`} type="number" min="0" value={f.retries[r].max}
                  onInput={(e) => setRetry(r, "max", e.currentTarget.value)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row4">
        <Text name="maxDials" value={f.maxDials} text={L.maxDials} type="number" />
      </div>
    </fieldset>
  );
}

export function CampaignForm() {
  const f = form.value;
  const L = t.campaigns.form;
  const busyNow = busy.value;
  return (
    <section class="campaign-form" data-testid="campaign-form">
      <h2>{L.title}</h2>
      <div class="row3">
        <Field name="template" text={L.template}>
          <select name="template" data-testid="template" value={f.template}
            onChange={(e) => (form.value = withTemplate(f, e.currentTarget.value))}>
            {templates.value.length === 0 && <option value="">{L.noTemplates}</option>}
            {templates.value.map((x) => <option key={x.id} value={x.id}>{templateName(x)}</option>)}
          </select>
        </Field>
        <Text name="name" value={f.name} text={L.name} />
        <Text name="messageDate" value={f.messageDate} text={L.messageDate} type="date" hint={L.messageDateHint} />
      </div>
      <p class="hint message-parts">
        {L.message}: {message(f).map((p) => (p.kind === "prompt" ? `«${p.name}»` : label(L.parts, p.kind))).join(" + ")}
      </p>
      <Target f={f} />
      <Schedule f={f} />
      <Pacing f={f} />
      <Retries f={f} />
      <fieldset>
        <legend>{L.options}</legend>
        <div class="row4">
          <KeySelect name="confirmKey" value={f.confirmKey} text={L.confirmKey} />
          <KeySelect name="operatorKey" value={f.operatorKey} text={L.operatorKey} />
          <KeySelect name="optOutKey" value={f.optOutKey} text={L.optOutKey} />
        </div>
      </fieldset>
      <div class="form-actions">
        <button type="button" data-testid="preview" disabled={busyNow !== null} onClick={() => void previewForm()}>
          {busyNow === "preview" ? L.previewing : L.preview}
        </button>
        <button type="button" class="primary" data-testid="create" disabled={busyNow !== null} onClick={() => void createFromForm()}>
          {busyNow === "create" ? L.creating : L.create}
        </button>
      </div>
      {preview.value && previewOf.value === "new" && <PreviewView result={preview.value} />}
    </section>
  );
}
