// The campaign console's side of the wire: the REST of robocall campaigns (campaigns/http.py,
// supervisors and admins only) and the `campaign` pushes on the console's own Socket.IO
// namespace /campaigns (campaigns/sockets.py, campaigns/pushes.py). The types mirror campaigns/models.py (the spec), store.py (Campaign,
// Progress) and selection.py (Preview). Money in a filter is a decimal string of rubles.
import { io, type Socket } from "socket.io-client";
import { ApiError, call } from "./http";
import type { Iso } from "./contract";

export type CampaignType = "debt_reminder" | "outage_alert" | "routine_notice";
export type CampaignState = "created" | "running" | "paused" | "stopped" | "finished" | "expired";
export type AccountStatus = "active" | "suspended" | "closed";
export type ServiceCode = "electricity" | "heating" | "hot_water" | "cold_water";
export type ServiceStatus = "active" | "restricted" | "suspended" | "disconnected";
export type Key = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";

export type MessagePart =
  | { kind: "prompt"; name: string }
  | { kind: "amount"; service?: ServiceCode | null }
  | { kind: "date"; value: string }
  | { kind: "address" };

export interface TargetFilter {
  city?: string[] | null;
  street?: string[] | null;
  house?: string[] | null;
  apartment_from?: number | null;
  apartment_to?: number | null;
  has_phone?: boolean | null;
  account_status?: AccountStatus[] | null;
  service?: ServiceCode | null;
  service_status?: ServiceStatus[] | null;
  min_debt?: string | null;
  min_months_overdue?: number | null;
  no_payment_since?: string | null;
  outage_id?: number | null;
  from_campaign?: number | null;
  from_outcomes?: string[] | null;
}

export interface Schedule {
  start?: Iso | null;
  end?: Iso | null;
  window_start?: string | null;
  window_end?: string | null;
  timezone?: string | null;
  on_window_end?: "pause" | "continue";
}

export interface Pacing {
  mode: "agentless" | "progressive";
  max_channels: number;
  calls_per_second: number;
  target_queue?: string | null;
  calls_per_ready_agent?: number;
}

export interface RetryRule {
  delay_minutes: number;
  max_retries: number;
}

export const RETRY_RESULTS = ["busy", "no_answer", "congestion", "failed", "machine", "hung_up"] as const;
export type RetryResult = (typeof RETRY_RESULTS)[number];

export type RetryRules = Record<RetryResult, RetryRule> & { max_dials: number };

export interface ListenerOptions {
  confirm_key: Key | null;
  operator_key: Key | null;
  opt_out_key: Key | null;
}

export interface CampaignSpec {
  name: string;
  type: CampaignType;
  message: MessagePart[];
  target: TargetFilter;
  schedule: Schedule;
  pacing: Pacing;
  retries: RetryRules;
  options: ListenerOptions;
  outage_id?: number | null;
  scenario?: string | null;
  stage?: number | null;
}

export const OUTCOMES = [
  "confirmed", "operator", "opted_out", "heard", "hung_up", "machine", "busy", "no_answer",
  "congestion", "failed",
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Progress {
  total: number;
  by_state: Record<string, number>;
  by_outcome: Record<string, number>;
  skipped: Record<string, number>;
  dialled: number;
  answered: number;
  confirmed: number;
  operator: number;
  opted_out: number;
  failed: number;
  remaining: number;
  done_last_10min: number;
  estimated_finish: Iso | null;
}

/** The list's counts of a campaign (GET /api/campaigns carries them for every campaign). */
export interface Summary {
  total: number;
  dialled: number;
  answered: number;
  confirmed: number;
  operator: number;
  opted_out: number;
  failed: number;
  remaining: number;
}

export interface Campaign {
  id: number;
  state: CampaignState;
  state_reason: string | null;
  state_since: Iso; // when it reached its state
  spec: CampaignSpec;
  created_by: number | null;
  created_at: Iso;
  started_at: Iso | null;
  finished_at: Iso | null;
  cloned_from: number | null;
  progress?: Progress;
  summary?: Summary; // in the list
  attempts?: number; // the start's reply: attempts frozen
}

/** What `campaign` pushes carry: the campaign without its spec. */
export interface CampaignPush {
  id: number;
  name: string;
  type: CampaignType;
  state: CampaignState;
  state_reason: string | null;
  state_since: Iso;
  progress: Progress;
}

/** A campaign to start from (campaigns/templates.py): the debt scenario's robocall stages, an
 * outage alert, a routine notice. */
export interface CampaignTemplate {
  id: string;
  type: CampaignType;
  scenario: string | null;
  stage: number | null;
  message: MessagePart[];
  target: TargetFilter;
}

export interface OutageChoice {
  id: number;
  service: ServiceCode;
  kind: "emergency" | "planned";
  description: string;
  started_at: Iso;
  expected_restoration_at: Iso | null;
  addresses: string; // the first few, "city, street, house; ..."
  address_count: number;
}

/** What the form's pickers offer: open outages, cities, and the streets of the city asked. */
export interface Choices {
  outages: OutageChoice[];
  cities: string[];
  streets?: string[];
  truncated: boolean;
}

export interface PreviewSample {
  account: string;
  city: string;
  street: string;
  house: string;
  apartment: string | null;
  timezone: string;
  debt: string;
  months_overdue: number;
  skip: string | null;
}

export interface Preview {
  matched: number;
  callable_now: number;
  skipped: Record<string, number>;
  by_city: { city: string; total: number; callable: number }[];
  by_overdue: Record<string, number>;
  sample: PreviewSample[];
}

export interface StageCounts {
  scenario: string;
  stages: Record<string, number>;
}

/** The run-time switch that stops every campaign's dialling (campaign_kill_switch), and the
 * deployment's own (a setting: only a restart lifts it). */
export interface KillSwitch {
  engaged: boolean;
  reason: string | null;
  changed_by: number | null;
  changed_at: Iso | null;
  settings_engaged: boolean;
}

export interface CampaignServerEvents {
  campaign: (payload: { campaign: CampaignPush }) => void;
  error: (error: { error_id: string; message: string }) => void;
}

export type CampaignSocket = Socket<CampaignServerEvents, Record<string, never>>;

/** The console's socket: `campaign` pushes only (the board's namespace is not joined). */
export function openCampaignSocket(token: string): CampaignSocket {
  return io("/campaigns", {
    auth: { token },
    path: "/socket.io",
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

const one = (id: number) => `/api/campaigns/${encodeURIComponent(String(id))}`;

export type Control = "pause" | "resume" | "stop";

export const campaignsApi = {
  list: (token: string) => call<{ campaigns: Campaign[] }>("GET", "/api/campaigns", token),
  get: (token: string, id: number) => call<Campaign>("GET", one(id), token),
  templates: (token: string) => call<{ templates: CampaignTemplate[] }>("GET", "/api/campaigns/templates", token),
  choices: (token: string, city?: string) =>
    call<Choices>("GET", city ? `/api/campaigns/choices?city=${encodeURIComponent(city)}` : "/api/campaigns/choices", token),
  create: (token: string, spec: CampaignSpec) => call<Campaign>("POST", "/api/campaigns", token, spec),
  previewNew: (token: string, spec: CampaignSpec) => call<Preview>("POST", "/api/campaigns/preview", token, spec),
  preview: (token: string, id: number) => call<Preview>("POST", `${one(id)}/preview`, token),
  stageCounts: (token: string, target: TargetFilter) =>
    call<StageCounts>("POST", "/api/campaigns/scenario-counts", token, target),
  start: (token: string, id: number) => call<Campaign>("POST", `${one(id)}/start`, token),
  control: (token: string, id: number, action: Control) => call<Campaign>("POST", `${one(id)}/${action}`, token),
  clone: (token: string, id: number, name?: string) =>
    call<Campaign>("POST", `${one(id)}/clone`, token, name ? { name } : {}),
  nextStage: (token: string, id: number) =>
    call<Campaign | { callbacks: number }>("POST", `${one(id)}/next-stage`, token),
  progress: (token: string, id: number) => call<Progress>("GET", `${one(id)}/progress`, token),
  killSwitch: (token: string) => call<KillSwitch>("GET", "/api/campaigns/kill-switch", token),
  setKillSwitch: (token: string, engaged: boolean, reason?: string) =>
    call<KillSwitch>("PUT", "/api/campaigns/kill-switch", token, { engaged, ...(reason ? { reason } : {}) }),
  resultsPath: (id: number) => `${one(id)}/results.csv`,
};

/** The results CSV as a Blob: the API wants the Bearer header, so a bare link cannot fetch it. */
export async function fetchResults(token: string, id: number): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(campaignsApi.resultsPath(id), { headers: { Authorization: `Bearer ${token}` } });
  } catch (exc) {
    throw new ApiError(0, "network", exc instanceof Error ? exc.message : String(exc));
  }
  if (!response.ok) {
    let body: { error_id?: string; message?: string } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      body = {};
    }
    throw new ApiError(response.status, body.error_id ?? `http_${response.status}`, body.message ?? response.statusText);
  }
  return response.blob();
}
