// What the console asks the server: preview, create, start, pause/resume/stop, clone, the next
// stage of the debt scenario, the results CSV. Each request's outcome is a message the page
// shows until the next one (refusals in the server's words or the locale's for known ids).
// The form's templates and pickers (open outages, cities, a city's streets) come from the
// server too.
import { signal } from "@preact/signals";
import { ApiError } from "../api/http";
import {
  campaignsApi, fetchResults, type CampaignSpec, type Choices, type Control, type KillSwitch, type Preview,
  type StageCounts,
} from "../api/campaigns";
import { applyCampaign, applyFetched, applyList, markPending, revert, selectedId, settle } from "./campaigns";
import { newForm, templates, toSpec, type CampaignForm, type FormErrors } from "./campaignsForm";
import { token } from "./session";

export type Notice = { kind: "ok" | "error"; code: string; detail?: string } | null;

export const form = signal<CampaignForm>(newForm());
export const formErrors = signal<FormErrors>({});
export const creating = signal(false); // the form is open instead of a campaign
export const preview = signal<Preview | null>(null);
export const previewOf = signal<number | "new" | null>(null);
export const stageCounts = signal<StageCounts | null>(null);
export const busy = signal<string | null>(null); // the request out, by name
export const notice = signal<Notice>(null);
export const killSwitch = signal<KillSwitch | null>(null);
export const choices = signal<Choices | null>(null); // open outages and cities
export const streets = signal<{ city: string; streets: string[] } | null>(null);

function failed(exc: unknown): Notice {
  if (exc instanceof ApiError) return { kind: "error", code: exc.errorId, detail: exc.message };
  return { kind: "error", code: "generic", detail: String(exc) };
}

async function run<T>(name: string, work: (tok: string) => Promise<T>): Promise<T | undefined> {
  const tok = token.value;
  if (!tok) return undefined;
  busy.value = name;
  notice.value = null;
  try {
    return await work(tok);
  } catch (exc) {
    notice.value = failed(exc);
    return undefined;
  } finally {
    if (busy.value === name) busy.value = null;
  }
}

export async function reloadList(): Promise<void> {
  const tok = token.value;
  if (!tok) return;
  try {
    void loadKillSwitch(tok);
    if (templates.value.length === 0) void loadTemplates(tok);
    // The list carries each campaign's counts (summary): no request per campaign.
    applyList((await campaignsApi.list(tok)).campaigns);
    const id = selectedId.value;
    if (id !== null) applyFetched(await campaignsApi.get(tok, id));
  } catch (exc) {
    notice.value = failed(exc);
  }
}

async function loadTemplates(tok: string): Promise<void> {
  try {
    templates.value = (await campaignsApi.templates(tok)).templates;
    // A form opened before they came starts from the first one now.
    if (!templates.value.some((x) => x.id === form.value.template)) form.value = newForm();
  } catch (exc) {
    notice.value = failed(exc);
  }
}

/** The pickers' choices: open outages and cities (when the form opens). */
export async function loadChoices(): Promise<void> {
  const tok = token.value;
  if (!tok) return;
  try {
    choices.value = await campaignsApi.choices(tok);
  } catch {
    choices.value = null; // the fields stay plain inputs
  }
}

/** The streets of the one city typed (a list of several cities offers none). */
export async function loadStreets(cityField: string): Promise<void> {
  const tok = token.value;
  const city = cityField.trim();
  if (!tok || !city || /[;,\n]/.test(city)) {
    streets.value = null;
    return;
  }
  if (streets.value?.city === city) return;
  try {
    const reply = await campaignsApi.choices(tok, city);
    if (form.value.city.trim() === city) streets.value = { city, streets: reply.streets ?? [] };
  } catch {
    streets.value = null;
  }
}

export function openNew(): void {
  creating.value = true;
  selectedId.value = null;
  preview.value = null;
  previewOf.value = null;
  stageCounts.value = null;
  notice.value = null;
  if (!templates.value.some((x) => x.id === form.value.template)) form.value = newForm();
  void loadChoices();
}

export async function select(id: number): Promise<void> {
  creating.value = false;
  selectedId.value = id;
  if (previewOf.value !== id) {
    preview.value = null;
    previewOf.value = null;
  }
  notice.value = null;
  const tok = token.value;
  if (!tok) return;
  try {
    applyFetched(await campaignsApi.get(tok, id));
  } catch (exc) {
    notice.value = failed(exc);
  }
}

function checked(): CampaignSpec | null {
  const { spec, errors } = toSpec(form.value);
  formErrors.value = errors;
  if (Object.keys(errors).length) {
    notice.value = { kind: "error", code: "form" };
    return null;
  }
  return spec;
}

export async function previewForm(): Promise<void> {
  const spec = checked();
  if (!spec) return;
  await run("preview", async (tok) => {
    const [result, counts] = await Promise.all([
      campaignsApi.previewNew(tok, spec),
      spec.type === "debt_reminder" ? campaignsApi.stageCounts(tok, spec.target) : Promise.resolve(null),
    ]);
    preview.value = result;
    previewOf.value = "new";
    stageCounts.value = counts;
  });
}

export async function createFromForm(): Promise<void> {
  const spec = checked();
  if (!spec) return;
  const made = await run("create", (tok) => campaignsApi.create(tok, spec));
  if (!made) return;
  applyCampaign(made);
  creating.value = false;
  selectedId.value = made.id;
  // The preview just made is the stored campaign's preview too (same spec, same moment).
  if (previewOf.value === "new") previewOf.value = made.id;
  form.value = newForm(form.value.template); // the next new one starts from the defaults again
  formErrors.value = {};
  notice.value = { kind: "ok", code: "created" };
}

export async function previewStored(id: number): Promise<void> {
  await run("preview", async (tok) => {
    preview.value = await campaignsApi.preview(tok, id);
    previewOf.value = id;
  });
}

export async function start(id: number): Promise<void> {
  const before = markPending(id, "start");
  const reply = await run("start", (tok) => campaignsApi.start(tok, id));
  if (reply) {
    settle(reply);
    notice.value = { kind: "ok", code: "started", detail: String(reply.attempts ?? "") };
  } else if (before) revert(before);
}

export async function control(id: number, action: Control): Promise<void> {
  const before = markPending(id, action);
  const reply = await run(action, (tok) => campaignsApi.control(tok, id, action));
  if (reply) settle(reply);
  else if (before) {
    revert(before);
    // A stale resume stopped or expired the campaign on the server: show what it is now.
    await reloadList();
  }
}

export async function clone(id: number): Promise<void> {
  const made = await run("clone", (tok) => campaignsApi.clone(tok, id));
  if (!made) return;
  applyCampaign(made);
  await select(made.id);
  notice.value = { kind: "ok", code: "cloned" };
}

export async function nextStage(id: number): Promise<void> {
  const reply = await run("next", (tok) => campaignsApi.nextStage(tok, id));
  if (!reply) return;
  if ("callbacks" in reply) {
    notice.value = { kind: "ok", code: "callbacks", detail: String(reply.callbacks) };
    return;
  }
  applyCampaign(reply);
  await select(reply.id);
  notice.value = { kind: "ok", code: "nextStage" };
}

export async function downloadResults(id: number): Promise<void> {
  const blob = await run("csv", (tok) => fetchResults(tok, id));
  if (!blob) return;
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `campaign-${id}.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function loadKillSwitch(tok: string): Promise<void> {
  try {
    killSwitch.value = await campaignsApi.killSwitch(tok);
  } catch {
    killSwitch.value = null; // unknown: the panel says nothing rather than something wrong
  }
}

/** Engage or lift the switch that stops every campaign's dialling at once. */
export async function setKillSwitch(engaged: boolean, reason?: string): Promise<void> {
  const reply = await run("kill", (tok) => campaignsApi.setKillSwitch(tok, engaged, reason));
  if (reply) killSwitch.value = reply;
}
