// The supervisor's actions from the board, each a REST call (audited by the server). The note
// beside the button says what was asked and whether the server took it; the board itself
// changes only when the server's pushes say so (the PBX confirmed), never by guess.
import { signal } from "@preact/signals";
import { ApiError } from "../api/http";
import { supervisorApi } from "../api/supervisor";
import type { AgentRow, SpyMode } from "../api/contract";
import { label, t } from "../locale";
import { agents } from "./board";
import { authed } from "./requests";

export type NoteKind = "busy" | "done" | "failed";

export interface ActionNote {
  kind: NoteKind;
  text: string;
  // The agent state (and reason) that, once pushed, confirms the request (the note then goes).
  wants?: Wanted;
}

interface Wanted {
  agentId: number;
  state: string;
  reason?: string;
}

const reached = (row: AgentRow, w: Wanted) =>
  row.agent_id === w.agentId && row.state === w.state && (w.reason === undefined || row.reason === w.reason);

export const notes = signal<Record<string, ActionNote>>({});

/** An agent's pushed row: a note waiting for exactly that state has said its part. */
export function settle(row: AgentRow): void {
  const key = agentKey(row.agent_id);
  const current = notes.value[key];
  if (current?.kind === "done" && current.wants && reached(row, current.wants)) note(key, null);
}

export const agentKey = (agentId: number) => `agent:${agentId}`;
export const abandonedKey = (recordId: number) => `abandoned:${recordId}`;

const NOTE_MS = 10_000;

function note(key: string, value: ActionNote | null): void {
  const next = { ...notes.value };
  if (value) next[key] = value;
  else delete next[key];
  notes.value = next;
}

/** The server's reason in the page's words when the locale knows its error id. */
export function explain(exc: unknown): string {
  if (exc instanceof ApiError) {
    if (exc.status === 0) return t.errors.network;
    return label(t.board.errors, exc.errorId, exc.message);
  }
  return exc instanceof Error ? exc.message : String(exc);
}

async function run(
  key: string,
  busy: string,
  done: string,
  work: (token: string) => Promise<unknown>,
  wants?: Wanted,
): Promise<boolean> {
  note(key, { kind: "busy", text: busy });
  try {
    await authed(work);
  } catch (exc) {
    note(key, { kind: "failed", text: t.board.actionFailed(explain(exc)) });
    return false;
  }
  // The push may have beaten the REST answer: then the board already shows it done.
  if (wants && agents.value.some((row) => reached(row, wants))) {
    note(key, null);
    return true;
  }
  const shown: ActionNote = { kind: "done", text: done, wants };
  note(key, shown);
  setTimeout(() => {
    if (notes.value[key] === shown) note(key, null);
  }, NOTE_MS);
  return true;
}

export const forceNotReady = (agentId: number, reason: string) =>
  run(
    agentKey(agentId),
    t.board.asking,
    t.board.forcedNotReady(label(t.reasons, reason)),
    (tok) => supervisorApi.forceReadiness(tok, agentId, { state: "not_ready", reason }),
    { agentId, state: "not_ready", reason },
  );

export const forceLogout = (agentId: number) =>
  run(
    agentKey(agentId),
    t.board.asking,
    t.board.forcedLogout,
    (tok) => supervisorApi.forceReadiness(tok, agentId, { state: "logged_out" }),
    { agentId, state: "logged_out" },
  );

export const spy = (agentId: number, mode: SpyMode) =>
  run(agentKey(agentId), t.board.asking, t.board.spyStarted(t.board.spyModes[mode] ?? mode), (tok) =>
    supervisorApi.spy(tok, agentId, mode),
  );

export const callBackAbandoned = (recordId: number) =>
  run(abandonedKey(recordId), t.board.dialling, t.board.dialStarted, (tok) => supervisorApi.callBackAbandoned(tok, recordId));

