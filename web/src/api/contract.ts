// The wire contract with the server (REST bodies and Socket.IO events), as TypeScript types.
// Mirrors the pydantic models: state/models.py (ConsumerCard and its parts),
// features/agents/schemas.py (AgentView) and features/agents/pop_schemas.py (Pop, card actions).
// Money arrives as a string with two decimals ("36201.67"): never a float, so no kopeck is lost.

export type Iso = string;
export type MoneyText = string;
export type DecimalText = string | number;

export type Role = "agent" | "supervisor" | "admin";
export type Readiness = "logged_out" | "ready" | "not_ready" | "ringing" | "on_call" | "wrap_up";
export type WantedReadiness = "ready" | "not_ready" | "logged_out";

export interface AgentIdentity {
  id: number;
  login: string;
  full_name: string;
  role: Role;
  interface: string | null;
}

export interface PendingChange {
  state: Readiness;
  reason: string | null;
  since: Iso;
}

export interface FailedChange {
  state: Readiness;
  reason: string | null;
  error: string;
  message: string;
  at: Iso;
}

export interface AgentView {
  agent_id: number;
  state: Readiness;
  reason: string | null;
  since: Iso;
  queues: string[];
  pending: PendingChange | null;
  failed: FailedChange | null;
  wrapup_until: Iso | null;
  wrapup_extended: boolean;
  call_id: string | null;
}

// Pause reasons and dispositions are codes; the label the server sends is a fallback, the
// locale file (locale/ru.ts) names the known ones.
export interface Choice {
  code: string;
  label?: string | null;
}

// --- the consumer card (state/models.py: ConsumerCard) ---

export interface Consumer {
  id: number;
  kind: "person" | "organisation";
  full_name: string;
  inn?: string | null;
}

export interface Account {
  id: number;
  number: string;
  consumer_id: number;
  status: "active" | "suspended" | "closed";
  city: string;
  street: string;
  house: string;
  apartment?: string | null;
  timezone?: string;
  opened_on?: string | null;
}

export interface AccountPhone {
  e164: string;
  kind: "mobile" | "home" | "work";
}

export interface ServiceStatus {
  service: string;
  status: "active" | "restricted" | "suspended" | "disconnected";
  tariff?: string | null;
  unit?: string | null;
}

export interface Balance {
  service: string;
  period: string;
  balance: MoneyText;
  debt: MoneyText;
  penalty: MoneyText;
  months_overdue: number;
}

export interface Charge {
  service: string;
  period: string;
  amount: MoneyText;
  volume?: DecimalText | null;
}

export interface Payment {
  id: number;
  service?: string | null;
  paid_on: string;
  amount: MoneyText;
  channel: string;
}

export interface Reading {
  id: number;
  meter_id: number;
  zone: string;
  period: string;
  value: DecimalText;
  source: string;
  status: string;
  created_at: Iso;
}

export interface Meter {
  id: number;
  account_id: number;
  service: string;
  serial: string;
  zones: string[];
  digits: number;
  decimals?: number;
  verification_due?: string | null;
  last_readings: Record<string, Reading>;
}

export type AppealPriority = "low" | "normal" | "high" | "urgent";

export interface Appeal {
  id: number;
  account_id?: number | null;
  type: string;
  topic: string;
  priority: AppealPriority;
  status: string;
  channel: string;
  summary?: string | null;
  created_at: Iso;
  due_at?: Iso | null;
  is_open?: boolean;
}

export interface Interaction {
  id: number;
  call_id: string;
  direction: "inbound" | "outbound";
  phone?: string | null;
  started_at: Iso;
  answered_at?: Iso | null;
  ended_at?: Iso | null;
  outcome?: string | null;
}

export interface Outage {
  id: number;
  service: string;
  kind: "emergency" | "planned";
  description: string;
  started_at: Iso;
  expected_restoration_at?: Iso | null;
  restored_at?: Iso | null;
}

export interface ConsumerCard {
  consumer: Consumer;
  account: Account;
  phones: AccountPhone[];
  services: ServiceStatus[];
  balances: Balance[];
  charges: Charge[];
  payments: Payment[];
  meters: Meter[];
  appeals: Appeal[];
  interactions: Interaction[];
  outages: Outage[];
  built_at: Iso;
  total_debt: MoneyText;
  total_penalty: MoneyText;
}

// A line of a choice list (several accounts on one number, a search): pop_schemas.CardSummary.
export interface CardSummary {
  account: string;
  consumer_name: string;
  address: string;
  status: string;
  total_debt: DecimalText;
}

// --- the pop ---

export type PopStatus = "ringing" | "answered" | "ended";

export interface IvrInfo {
  identified_by: string | null;
  account: string | null;
  intent: string | null;
  readings: number;
  balance_heard: boolean;
  outage_heard: boolean;
  summary: string;
}

export interface Pop {
  call_id: string;
  queue: string;
  caller_number: string;
  status: PopStatus;
  ringing_at: Iso;
  answered_at: Iso | null;
  ended_at: Iso | null;
  card: ConsumerCard | null;
  candidates: CardSummary[];
  ivr: IvrInfo | null;
  transferred_from: string | null;
  disposition: string | null;
}

// What pop_update carries: the call and the fields of its pop that changed (the card is not
// sent again).
export type PopChange = Pick<Pop, "call_id"> & Partial<Pop>;

export type PopClosedReason =
  | "answered_elsewhere"
  | "not_answered"
  | "caller_hung_up"
  | "queue_timeout"
  | "moved_elsewhere";

export interface PopClosed {
  call_id: string;
  reason: PopClosedReason;
}

// --- Socket.IO events (namespace /agent) ---

export interface FullState {
  agent: AgentIdentity;
  readiness: AgentView;
  pause_reasons: Choice[];
  dispositions: Choice[];
  pops: Pop[];
}

// The first `state` after connect is whole; later ones carry the readiness only.
export type StateEvent = FullState | { readiness: AgentView };

export type Ack = ({ ok: true } & Record<string, unknown>) | { ok: false; error_id: string; message: string };

export interface ServerError {
  error_id: string;
  message: string;
}

export interface ServerToClientEvents {
  state: (payload: StateEvent) => void;
  screen_pop: (pop: Pop) => void;
  pop_update: (change: PopChange) => void;
  pop_closed: (closed: PopClosed) => void;
  error: (error: ServerError) => void;
}

export interface ClientToServerEvents {
  set_readiness: (body: { state: WantedReadiness; reason?: string }, ack: (reply: Ack) => void) => void;
  end_wrapup: (body: Record<string, never>, ack: (reply: Ack) => void) => void;
  extend_wrapup: (body: { seconds: number }, ack: (reply: Ack) => void) => void;
}

// --- REST ---

export interface LoginReply {
  token: string;
  agent: AgentIdentity;
}

export interface ApiErrorBody {
  error_id: string;
  message: string;
  details?: unknown;
}

export interface AppealIn {
  account: string;
  call_id?: string;
  type: string;
  topic: string;
  comment: string;
  priority: AppealPriority;
}

export interface SearchReply {
  results: CardSummary[];
}

export interface OutboundReply {
  call_id: string;
}

// --- the supervisor board (features/supervisor/board_schemas.py, namespace /supervisor) ---
// Seconds are floats; stamps are ISO text except QueueTile.longest_wait_since, an epoch in
// seconds (the page computes now − since, so the wait advances with the clock between pushes).

export interface Figures {
  offered: number;
  answered: number;
  abandoned: number;
  short_abandoned: number;
  timeout: number;
  transferred: number;
  redirected?: number;
  answered_in_threshold: number;
  service_level: number | null;
  asa: number | null;
  avg_wait: number | null;
  aht: number | null;
  longest_handle: number | null;
  avg_wrapup: number | null;
  abandon_rate: number | null;
}

export interface QueueAgents {
  logged_in: number;
  ready: number;
  ringing: number;
  on_call: number;
  wrap_up: number;
  not_ready: number;
  not_ready_by_reason: Record<string, number>;
}

// Where a tile's figures turn amber and red: the server's settings (CCS_SUPERVISOR__COLOUR_*,
// SL_TARGET*), worked out per queue.
export interface TileColours {
  sl_target: number; // share 0..1: at or above it the service level is green
  sl_red_below: number; // share 0..1: below it red (between: amber)
  waiting_amber: number; // callers waiting: amber from here
  waiting_red: number; // red from here
  wait_amber: number; // longest wait, seconds: amber from here
  wait_red: number; // red from here
}

// One 5-minute bucket of the last hour's chart: the legs that entered the queue in it.
export interface SeriesPoint {
  start: Iso;
  seconds: number;
  offered: number;
  answered: number;
  abandoned: number;
  service_level: number | null;
}

export interface QueueTile {
  name: string;
  title: string | null;
  sl_threshold: number;
  sl_target: number;
  colours: TileColours;
  waiting: number;
  talking: number; // calls being talked now: they join the figures when they end
  longest_wait_since: number | null;
  longest_wait: number;
  agents: QueueAgents;
  today: Figures;
  last_hour: Figures;
  last_hour_series: SeriesPoint[];
}

export interface AgentRow {
  agent_id: number;
  login: string;
  full_name: string;
  state: Readiness;
  reason: string | null;
  since: Iso | null;
  queues: string[];
  calls_today: number;
  aht_today: number | null;
  call_id: string | null;
}

export interface AbandonedCall {
  record_id: number;
  call_id: string;
  queue: string;
  caller_number: string;
  account: string | null;
  waited: number;
  abandoned_at: Iso;
  called_back: boolean;
  called_back_at: Iso | null;
}

export interface Callback {
  id: number;
  account: string | null;
  phone: string;
  agent_id: number | null;
  created_at: Iso;
  due_at: Iso;
  overdue: boolean;
  note: string;
  status: "open" | "done";
  outcome: string | null;
}

export interface Board {
  generated_at: Iso;
  day: string;
  timezone: string;
  formulas: Record<string, string>;
  queues: QueueTile[];
  agents: AgentRow[];
  abandoned: AbandonedCall[];
  callbacks: Callback[];
  short_abandon_seconds: number;
  pause_reasons: Choice[]; // empty: this server process does not know them (the page's list)
}

// An audit line (features/supervisor/audit.py): who did what (force_not_ready,
// force_logged_out, spy_listen…) to whom, when, and how it went (result "ok" or an error id).
export interface AuditEntry {
  id: number;
  at: Iso;
  actor_id: number | null;
  actor_login: string;
  action: string;
  target_agent_id: number | null;
  target: string | null;
  details: Record<string, unknown>;
  result: string;
  message: string | null;
}

export interface SupervisorServerEvents {
  board: (board: Board) => void;
  // One frame per server flush: only the queues and agents that changed since the last one.
  queues: (payload: { queues: QueueTile[] }) => void;
  agents: (payload: { agents: AgentRow[] }) => void;
  abandoned: (payload: { abandoned: AbandonedCall[] }) => void;
  callbacks: (payload: { callbacks: Callback[] }) => void;
  audit: (payload: { entry: AuditEntry }) => void;
  error: (error: ServerError) => void;
}

export type SpyMode = "listen" | "whisper" | "barge";

export interface ForcedReadiness {
  state: "not_ready" | "logged_out";
  reason?: string;
}

export interface CallIdReply {
  call_id: string;
}

// --- the agent's callback commitments (features/supervisor/schemas.py, http.py /api/callbacks) ---

/** POST /api/callbacks: no `due_in_minutes` means the server's default (the 4-hour standard). */
export interface CallbackIn {
  phone: string;
  account?: string;
  call_id?: string;
  note: string;
  due_in_minutes?: number;
}

/** PUT /api/callbacks/{id}/outcome: closes the commitment. */
export interface CallbackOutcomeIn {
  outcome: string;
  comment?: string;
}

export interface CallbackList {
  callbacks: Callback[];
}
