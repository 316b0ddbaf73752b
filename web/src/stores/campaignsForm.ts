// The new-campaign form: its fields as typed (strings, like the inputs hold them), the
// templates it starts from (the server's), and the one conversion to the server's spec (campaigns/models.py).
// The server validates everything again; here only what a person would want flagged before
// sending, each as an error code the locale names.
import type {
  AccountStatus,
  CampaignSpec,
  Key,
  MessagePart,
  RetryResult,
  ServiceCode,
  ServiceStatus,
  TargetFilter,
} from "../api/campaigns";
import { signal } from "@preact/signals";
import { RETRY_RESULTS, type CampaignTemplate } from "../api/campaigns";

export type TemplateId = string;

/** The templates the server offers (GET /api/campaigns/templates: the debt scenario's robocall
 * stages as campaigns/scenarios.py has them, an outage alert, a routine notice), loaded when
 * the console opens; stage 3 of the scenario is an operator callback list made from stage 2
 * with "next stage", not a template. */
export const templates = signal<CampaignTemplate[]>([]);

export type HasPhone = "yes" | "no" | "any";

export interface RetryField {
  delay: string;
  max: string;
}

export interface CampaignForm {
  template: TemplateId;
  name: string;
  // target
  city: string;
  street: string;
  house: string;
  apartmentFrom: string;
  apartmentTo: string;
  hasPhone: HasPhone;
  accountStatus: AccountStatus[];
  service: ServiceCode | "";
  serviceStatus: ServiceStatus[];
  minDebt: string;
  minMonths: string;
  noPaymentSince: string;
  outageId: string;
  // the message
  messageDate: string; // a date the message names (its validity): "" for none
  // schedule
  start: string; // datetime-local, the browser's zone
  end: string;
  windowStart: string; // HH:MM
  windowEnd: string;
  timezone: string;
  onWindowEnd: "pause" | "continue";
  // pacing
  mode: "agentless" | "progressive";
  maxChannels: string;
  callsPerSecond: string;
  targetQueue: string;
  callsPerReadyAgent: string;
  // retries
  retries: Record<RetryResult, RetryField>;
  maxDials: string;
  // listener options ("" = off)
  confirmKey: Key | "";
  operatorKey: Key | "";
  optOutKey: Key | "";
}

export function template(id: TemplateId): CampaignTemplate | null {
  return templates.value.find((x) => x.id === id) ?? null;
}

/** The template's default conditions as the form's fields. */
function conditions(tpl: CampaignTemplate | null): Pick<CampaignForm, "minDebt" | "minMonths" | "hasPhone" | "accountStatus"> {
  const t = tpl?.target ?? {};
  return {
    minDebt: t.min_debt ?? "",
    minMonths: t.min_months_overdue == null ? "" : String(t.min_months_overdue),
    hasPhone: t.has_phone === false ? "no" : t.has_phone === null ? "any" : "yes",
    accountStatus: t.account_status ? [...t.account_status] : [],
  };
}

/** The server's defaults (campaigns/models.py) with the template's selection; without an id,
 * the first template the server offers. */
export function newForm(id?: TemplateId): CampaignForm {
  const tpl = id === undefined ? templates.value[0] ?? null : template(id);
  return {
    template: id ?? tpl?.id ?? "", name: "",
    city: "", street: "", house: "", apartmentFrom: "", apartmentTo: "",
    service: "", serviceStatus: [], ...conditions(tpl), noPaymentSince: "", outageId: "",
    messageDate: "",
    start: "", end: "", windowStart: "", windowEnd: "", timezone: "", onWindowEnd: "pause",
    mode: "agentless", maxChannels: "30", callsPerSecond: "5", targetQueue: "", callsPerReadyAgent: "1",
    retries: {
      busy: { delay: "30", max: "3" },
      no_answer: { delay: "120", max: "2" },
      congestion: { delay: "10", max: "3" },
      failed: { delay: "30", max: "1" },
      machine: { delay: "240", max: "1" },
      hung_up: { delay: "240", max: "0" },
    },
    maxDials: "6",
    confirmKey: "1", operatorKey: "", optOutKey: "9",
  };
}

/** Switching templates changes the message and the debt conditions; the address stays. */
export function withTemplate(form: CampaignForm, id: TemplateId): CampaignForm {
  const { minDebt, minMonths } = conditions(template(id));
  return { ...form, template: id, minDebt, minMonths };
}

export type FormErrors = Partial<Record<string, string>>;

function list(text: string): string[] | null {
  const items = text.split(/[;,\n]/).map((s) => s.trim()).filter(Boolean);
  return items.length ? items : null;
}

function whole(text: string, field: string, errors: FormErrors, min = 0): number | null {
  const s = text.trim();
  if (!s) return null;
  if (!/^\d+$/.test(s) || Number(s) < min) {
    errors[field] = "wholeNumber";
    return null;
  }
  return Number(s);
}

function positive(text: string, field: string, errors: FormErrors): number | null {
  const s = text.trim().replace(",", ".");
  if (!s) return null;
  const n = Number(s);
  if (!/^\d+(\.\d+)?$/.test(s) || !(n > 0)) {
    errors[field] = "positiveNumber";
    return null;
  }
  return n;
}

/** "1 000,50" -> "1000.50" (rubles as the decimal string the server reads). */
export function rubles(text: string): string | null {
  const s = text.replace(/[\s\u00a0]/g, "").replace(",", ".");
  return /^\d{1,12}(\.\d{1,2})?$/.test(s) ? s : null;
}

/** A datetime-local value (the browser's zone) as an ISO instant with its offset. */
function instant(value: string): string | null {
  if (!value) return null;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

export function target(form: CampaignForm, errors: FormErrors = {}): TargetFilter {
  const t: TargetFilter = {
    city: list(form.city),
    street: list(form.street),
    house: list(form.house),
    apartment_from: whole(form.apartmentFrom, "apartmentFrom", errors),
    apartment_to: whole(form.apartmentTo, "apartmentTo", errors),
    has_phone: form.hasPhone === "yes" ? true : form.hasPhone === "no" ? false : null,
    account_status: form.accountStatus.length ? [...form.accountStatus] : null,
    service: form.service || null,
    service_status: form.serviceStatus.length ? [...form.serviceStatus] : null,
    min_months_overdue: whole(form.minMonths, "minMonths", errors),
    no_payment_since: form.noPaymentSince || null,
    outage_id: whole(form.outageId, "outageId", errors, 1),
  };
  if (form.minDebt.trim()) {
    const debt = rubles(form.minDebt);
    if (debt === null) errors.minDebt = "money";
    t.min_debt = debt;
  }
  if (t.apartment_from != null && t.apartment_to != null && t.apartment_from > t.apartment_to) {
    errors.apartmentTo = "apartmentRange";
  }
  if (t.service_status && !t.service) errors.serviceStatus = "serviceStatusNeedsService";
  return t;
}

export function message(form: CampaignForm): MessagePart[] {
  const parts = (template(form.template)?.message ?? []).map((p) => ({ ...p }));
  if (form.messageDate) parts.push({ kind: "date", value: form.messageDate });
  return parts;
}

/** The form as the server's spec, or the errors (field -> locale code) that keep it from it. */
export function toSpec(form: CampaignForm): { spec: CampaignSpec; errors: FormErrors } {
  const errors: FormErrors = {};
  const tpl = template(form.template);
  if (!tpl) errors.template = "templateMissing";
  if (!form.name.trim()) errors.name = "required";
  const tgt = target(form, errors);
  const type = tpl?.type ?? "routine_notice";
  if (type === "outage_alert" && tgt.outage_id == null && !errors.outageId) errors.outageId = "outageNeeded";
  const start = instant(form.start);
  const end = instant(form.end);
  if (start && end && start >= end) errors.end = "endBeforeStart";
  if (Boolean(form.windowStart) !== Boolean(form.windowEnd)) errors.windowEnd = "windowBoth";
  else if (form.windowStart && form.windowStart >= form.windowEnd) errors.windowEnd = "windowOrder";
  const queue = form.targetQueue.trim() || null;
  if (form.mode === "progressive" && !queue) errors.targetQueue = "queueForProgressive";
  if (form.operatorKey && !queue) errors.targetQueue = "queueForOperator";
  const keys = [form.confirmKey, form.operatorKey, form.optOutKey].filter(Boolean);
  if (new Set(keys).size !== keys.length) errors.optOutKey = "keysDistinct";
  const retries = {} as CampaignSpec["retries"];
  for (const result of RETRY_RESULTS) {
    const r = form.retries[result];
    retries[result] = {
      delay_minutes: whole(r.delay, `retry.${result}.delay`, errors, 1) ?? 1,
      max_retries: whole(r.max, `retry.${result}.max`, errors) ?? 0,
    };
  }
  retries.max_dials = whole(form.maxDials, "maxDials", errors, 1) ?? 6;
  const spec: CampaignSpec = {
    name: form.name.trim(),
    type,
    message: message(form),
    target: tgt,
    schedule: {
      start, end,
      window_start: form.windowStart || null,
      window_end: form.windowEnd || null,
      timezone: form.timezone.trim() || null,
      on_window_end: form.onWindowEnd,
    },
    pacing: {
      mode: form.mode,
      max_channels: whole(form.maxChannels, "maxChannels", errors, 1) ?? 30,
      calls_per_second: positive(form.callsPerSecond, "callsPerSecond", errors) ?? 5,
      target_queue: queue,
      calls_per_ready_agent: positive(form.callsPerReadyAgent, "callsPerReadyAgent", errors) ?? 1,
    },
    retries,
    options: {
      confirm_key: form.confirmKey || null,
      operator_key: form.operatorKey || null,
      opt_out_key: form.optOutKey || null,
    },
    outage_id: type === "outage_alert" ? tgt.outage_id ?? null : null,
    scenario: tpl?.scenario ?? null,
    stage: tpl?.stage ?? null,
  };
  return { spec, errors };
}
