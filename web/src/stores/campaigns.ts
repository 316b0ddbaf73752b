// The campaigns the console shows: the list from REST, then each campaign replaced by what the
// server last said about it (a REST reply or a `campaign` push), its progress kept as a short
// history for the chart. Pause and stop show at once: the campaign is marked so on the click
// and a push still saying "running" does not undo it while the request is out; the server's
// reply settles it (or puts the old state back, with the refusal). The list's counts come with
// the list (`summary`); a campaign's full progress with its own reply or a push.
import { computed, signal } from "@preact/signals";
import type { Campaign, CampaignPush, CampaignSpec, CampaignState, CampaignType, Control, Progress, Summary } from "../api/campaigns";

export interface Sample {
  at: number; // ms epoch
  total: number;
  dialled: number;
  answered: number;
  confirmed: number;
  failed: number;
  remaining: number;
}

export interface CampaignView {
  id: number;
  name: string;
  type: CampaignType;
  state: CampaignState;
  stateReason: string | null;
  stateSince: string | null; // when it reached this state (the server's state_since)
  spec: CampaignSpec | null; // pushes carry no spec
  createdAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  clonedFrom: number | null;
  progress: Progress | null;
  summary: Summary | null; // the list's counts (progress, when known, is newer)
  pending: Control | "start" | null; // a request of ours still out
  history: Sample[];
}

export const HISTORY_KEPT = 360; // samples per campaign (12 minutes of 2-second pushes)
const FINAL: ReadonlySet<CampaignState> = new Set(["stopped", "finished", "expired"]);

export const campaigns = signal<ReadonlyMap<number, CampaignView>>(new Map());
export const selectedId = signal<number | null>(null);

export const campaignsInOrder = computed(() => [...campaigns.value.values()].sort((a, b) => b.id - a.id));
export const selected = computed(() => (selectedId.value === null ? null : campaigns.value.get(selectedId.value) ?? null));

export function isFinal(state: CampaignState): boolean {
  return FINAL.has(state);
}

/** The counts the list shows: the progress when the page has it, else the list's summary. */
export function counts(v: CampaignView): Summary | null {
  return v.progress ?? v.summary;
}

/** The date shown beside the status: when it reached that state, as well as known. */
export function stateDate(v: CampaignView): string | null {
  if (v.stateSince) return v.stateSince;
  if (isFinal(v.state)) return v.finishedAt ?? v.startedAt ?? v.createdAt;
  if (v.state === "created") return v.createdAt;
  return v.startedAt ?? v.createdAt;
}

function sampleOf(p: Progress, at: number): Sample {
  return {
    at, total: p.total, dialled: p.dialled, answered: p.answered, confirmed: p.confirmed,
    failed: p.failed, remaining: p.remaining,
  };
}

function sameFigures(a: Sample, b: Sample): boolean {
  return a.total === b.total && a.dialled === b.dialled && a.answered === b.answered &&
    a.confirmed === b.confirmed && a.failed === b.failed && a.remaining === b.remaining;
}

/** Adds a sample when the figures moved (a repeat of the same figures adds nothing). */
export function withSample(history: Sample[], p: Progress, at: number): Sample[] {
  const next = sampleOf(p, at);
  const last = history[history.length - 1];
  if (last && (sameFigures(last, next) || next.at < last.at)) return history;
  const out = [...history, next];
  return out.length > HISTORY_KEPT ? out.slice(out.length - HISTORY_KEPT) : out;
}

function put(view: CampaignView): void {
  const next = new Map(campaigns.value);
  next.set(view.id, view);
  campaigns.value = next;
}

function blank(id: number, name: string, type: CampaignType, state: CampaignState): CampaignView {
  return {
    id, name, type, state, stateReason: null, stateSince: null, spec: null, createdAt: null, startedAt: null,
    finishedAt: null, clonedFrom: null, progress: null, summary: null, pending: null, history: [],
  };
}

/** A state change the page made before the server said so (a click): the old date no longer
 * applies; the server's state_since replaces it when its reply comes. */
function moved(old: CampaignView | undefined, state: CampaignState, at: number): string | null {
  if (!old) return null;
  return old.state === state ? old.stateSince : new Date(at).toISOString();
}

/** The server's date when it says the state shown, else what the page had. */
function since(old: CampaignView | undefined, state: CampaignState, serverState: CampaignState,
  serverSince: string | undefined, at: number): string | null {
  if (serverSince && state === serverState) return serverSince;
  return moved(old, state, at);
}

function withProgress(view: CampaignView, progress: Progress | undefined | null, at: number): CampaignView {
  if (!progress) return view;
  let history = view.history;
  // A campaign's chart starts at zero when it started.
  if (history.length === 0 && view.startedAt) {
    const started = Date.parse(view.startedAt);
    if (!Number.isNaN(started) && started < at) {
      history = [{ at: started, total: progress.total, dialled: 0, answered: 0, confirmed: 0, failed: 0, remaining: progress.total }];
    }
  }
  return { ...view, progress, history: withSample(history, progress, at) };
}

/** A whole campaign from REST (list, get, create, start, control replies). */
export function applyCampaign(c: Campaign, at = Date.now()): void {
  const old = campaigns.value.get(c.id);
  let view: CampaignView = {
    ...(old ?? blank(c.id, c.spec.name, c.spec.type, c.state)),
    name: c.spec.name, type: c.spec.type, state: c.state, stateReason: c.state_reason,
    stateSince: since(old, c.state, c.state, c.state_since, at), spec: c.spec, createdAt: c.created_at,
    startedAt: c.started_at, finishedAt: c.finished_at, clonedFrom: c.cloned_from,
    summary: c.summary ?? old?.summary ?? null,
  };
  view = withProgress(view, c.progress, at);
  put(view);
}

/** The list from REST: every campaign listed replaces its own; campaigns gone from it stay
 * only if the page is showing them. */
export function applyList(list: Campaign[], at = Date.now()): void {
  const listed = new Set(list.map((c) => c.id));
  const keep = new Map<number, CampaignView>();
  for (const [id, view] of campaigns.value) {
    if (listed.has(id) || id === selectedId.value) keep.set(id, view);
  }
  campaigns.value = keep;
  for (const c of list) applyFetched(c, at);
}

/** A campaign fetched (the list, a poll): a request of ours still out wins over what was read
 * before it landed, unless the server reached a final state by itself. */
export function applyFetched(c: Campaign, at = Date.now()): void {
  const old = campaigns.value.get(c.id);
  if (old?.pending && !isFinal(c.state)) {
    applyCampaign({ ...c, state: old.state, state_reason: old.stateReason, state_since: old.stateSince ?? c.state_since }, at);
  }
  else applyCampaign(c, at);
}

/** A `campaign` push: state and progress (no spec). */
export function applyPush(p: CampaignPush, at = Date.now()): void {
  const old = campaigns.value.get(p.id);
  // While our pause/stop is out, a push from before it landed must not show "running" again;
  // a final state the server reached by itself (finished, expired) is shown.
  const state = old?.pending && !isFinal(p.state) ? old.state : p.state;
  let view: CampaignView = {
    ...(old ?? blank(p.id, p.name, p.type, state)),
    name: p.name, type: p.type, state, stateReason: old?.pending ? old.stateReason : p.state_reason,
    stateSince: since(old, state, p.state, p.state_since, at),
  };
  view = withProgress(view, p.progress, at);
  put(view);
}

const AT_ONCE: Partial<Record<Control | "start", CampaignState>> = { pause: "paused", stop: "stopped" };

/** Marks a request as out; pause and stop show their state at once. Returns the view before,
 * to put back if the server refuses. */
export function markPending(id: number, action: Control | "start", at = Date.now()): CampaignView | null {
  const old = campaigns.value.get(id);
  if (!old) return null;
  const state = AT_ONCE[action] ?? old.state;
  put({ ...old, pending: action, state, stateSince: moved(old, state, at) });
  return old;
}

/** The server answered our request: its campaign is the truth. */
export function settle(c: Campaign, at = Date.now()): void {
  const old = campaigns.value.get(c.id);
  if (old) put({ ...old, pending: null });
  applyCampaign(c, at);
}

/** The server refused: back to what it was (keeping any progress that came meanwhile). */
export function revert(before: CampaignView): void {
  const now = campaigns.value.get(before.id);
  put({ ...before, pending: null, progress: now?.progress ?? before.progress, history: now?.history ?? before.history });
}

export function clearCampaigns(): void {
  campaigns.value = new Map();
  selectedId.value = null;
}

/** Campaigns whose figures still move: the ones polled when pushes do not come. */
export function liveIds(): number[] {
  return [...campaigns.value.values()].filter((v) => v.state === "running" || v.state === "paused").map((v) => v.id);
}
