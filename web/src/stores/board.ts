// The supervisor board as the server pushes it: the whole Board at every connect (the truth,
// replacing what we had), then one queue tile, one agent row, or the whole abandoned / callback
// list at a time. Everything that moves with the clock (longest wait, time in state, overdue)
// is computed here from stamps and `now`, never frozen at the last push.
import { computed, signal } from "@preact/signals";
import type {
  AbandonedCall,
  AgentRow,
  AuditEntry,
  Board,
  Callback,
  Choice,
  QueueTile,
} from "../api/contract";
import { learnSkew } from "./clock";

export interface BoardMeta {
  generatedAt: string;
  day: string;
  timezone: string;
  shortAbandonSeconds: number;
  pauseReasons: Choice[];
}

export const AUDIT_KEPT = 50;

export const meta = signal<BoardMeta | null>(null);
export const queues = signal<QueueTile[]>([]);
export const agents = signal<AgentRow[]>([]);
export const abandoned = signal<AbandonedCall[]>([]);
export const callbacks = signal<Callback[]>([]);
// The latest supervisor actions, newest first (only those seen since the page connected).
export const audit = signal<AuditEntry[]>([]);

export function applyBoard(board: Board): void {
  learnSkew(board.generated_at);
  meta.value = {
    generatedAt: board.generated_at,
    day: board.day,
    timezone: board.timezone,
    shortAbandonSeconds: board.short_abandon_seconds,
    pauseReasons: board.pause_reasons,
  };
  queues.value = board.queues;
  agents.value = board.agents;
  abandoned.value = board.abandoned;
  callbacks.value = board.callbacks;
}

/** A queue's tile replaces the one of the same name (a queue new to us goes last). */
export const applyQueue = (tile: QueueTile): void => applyQueues([tile]);

/** An agent's row replaces the one with the same id (an agent new to us goes last). */
export const applyAgent = (row: AgentRow): void => applyAgents([row]);

/** Many tiles at once (pushes coalesced): one new list, each tile replacing its namesake. */
export function applyQueues(tiles: QueueTile[]): void {
  if (tiles.length === 0) return;
  const byName = new Map(tiles.map((q) => [q.name, q]));
  const next = queues.value.map((q) => {
    const fresh = byName.get(q.name);
    if (fresh) byName.delete(q.name);
    return fresh ?? q;
  });
  queues.value = [...next, ...byName.values()];
}

/** Many agent rows at once (pushes coalesced): one new list, each row replacing its own. */
export function applyAgents(rows: AgentRow[]): void {
  if (rows.length === 0) return;
  const byId = new Map(rows.map((r) => [r.agent_id, r]));
  const next = agents.value.map((a) => {
    const fresh = byId.get(a.agent_id);
    if (!fresh) return a;
    byId.delete(a.agent_id);
    if (fresh.since && fresh.since !== a.since) learnSkew(fresh.since);
    return fresh;
  });
  for (const fresh of byId.values()) if (fresh.since) learnSkew(fresh.since);
  agents.value = [...next, ...byId.values()];
}

export function applyAbandoned(list: AbandonedCall[]): void {
  abandoned.value = list;
}

export function applyCallbacks(list: Callback[]): void {
  callbacks.value = list;
}

export function applyAudit(entry: AuditEntry): void {
  audit.value = [entry, ...audit.value].slice(0, AUDIT_KEPT);
}

export function clearBoard(): void {
  meta.value = null;
  queues.value = [];
  agents.value = [];
  abandoned.value = [];
  callbacks.value = [];
  audit.value = [];
}

// --- what moves with the clock (now: milliseconds since the epoch, server time) ---

/** Seconds the longest-waiting caller has waited by `now`; 0 when nobody waits. */
export function longestWait(tile: QueueTile, now: number): number {
  if (tile.waiting <= 0) return 0;
  if (tile.longest_wait_since === null || tile.longest_wait_since === undefined) return tile.longest_wait;
  return Math.max(0, now / 1000 - tile.longest_wait_since);
}

/** Seconds an agent has been in their state by `now`; null when the server does not know since when. */
export function secondsInState(row: AgentRow, now: number): number | null {
  const since = row.since ? Date.parse(row.since) : NaN;
  return Number.isNaN(since) ? null : Math.max(0, (now - since) / 1000);
}

export interface DueCallback extends Callback {
  overdueNow: boolean;
}

/** Open commitments, the soonest due first; overdue by the server's word or by the clock. */
export function openCallbacks(list: Callback[], now: number): DueCallback[] {
  return list
    .filter((c) => c.status === "open")
    .map((c) => ({ ...c, overdueNow: c.overdue || Date.parse(c.due_at) <= now }))
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at) || a.id - b.id);
}

/** Today's abandoned calls: those nobody called back yet first, each part newest first. */
export function abandonedInOrder(list: AbandonedCall[]): AbandonedCall[] {
  return [...list].sort(
    (a, b) => Number(a.called_back) - Number(b.called_back) || Date.parse(b.abandoned_at) - Date.parse(a.abandoned_at),
  );
}

const byName = new Intl.Collator("ru");

/** Agents by name, logged-out ones last. */
export function agentsInOrder(list: AgentRow[]): AgentRow[] {
  const out = (a: AgentRow) => Number(a.state === "logged_out");
  return [...list].sort((a, b) => out(a) - out(b) || byName.compare(a.full_name, b.full_name) || a.agent_id - b.agent_id);
}

// Sorted once per change of the list, not once per render (the clock re-renders every second).
export const agentsSorted = computed(() => agentsInOrder(agents.value));
