// The agent's readiness as the server projects it from the PBX (never guessed here): the view,
// the pause reasons offered, and the requests the agent makes (answered by the ack; the state
// itself changes only when the server's `state` event says so).
import { signal } from "@preact/signals";
import type { AgentView, Choice, WantedReadiness } from "../api/contract";
import { AckError, ackOk, ACK_TIMEOUT_MS, type DeskSocket } from "../api/socket";
import { t } from "../locale";
import { learnSkew } from "./clock";

export const view = signal<AgentView | null>(null);
export const pauseReasons = signal<Choice[]>([]);
// Why the last request was refused (an ack with ok: false, or no answer in time).
export const refusal = signal<string | null>(null);

export const EXTEND_SECONDS = 30;

// The wrap-up each call had (start, planned end), kept for its timeline after the wrap-up ends.
export const wrapups = signal<Record<string, { since: string; until: string | null }>>({});

export function noteWrapup(callId: string, next: AgentView): void {
  wrapups.value = { ...wrapups.value, [callId]: { since: next.since, until: next.wrapup_until } };
}

export function applyView(next: AgentView): void {
  const previous = view.value;
  if (!previous || previous.since !== next.since) learnSkew(next.since);
  view.value = next;
}

let socket: DeskSocket | null = null;

export function bindReadiness(s: DeskSocket | null): void {
  socket = s;
}

async function ask(run: (s: DeskSocket) => Promise<unknown>): Promise<void> {
  refusal.value = null;
  if (!socket || !socket.connected) {
    refusal.value = "offline";
    return;
  }
  try {
    await run(socket);
  } catch (exc) {
    const known = exc instanceof AckError ? t.readiness.errors[exc.errorId] : undefined;
    refusal.value = known ?? (exc instanceof Error ? exc.message : String(exc));
  }
}

export const setReadiness = (state: WantedReadiness, reason?: string) =>
  ask(async (s) =>
    ackOk(await s.timeout(ACK_TIMEOUT_MS).emitWithAck("set_readiness", reason ? { state, reason } : { state })),
  );

export const endWrapup = () => ask(async (s) => ackOk(await s.timeout(ACK_TIMEOUT_MS).emitWithAck("end_wrapup", {})));

export const extendWrapup = (seconds = EXTEND_SECONDS) =>
  ask(async (s) => ackOk(await s.timeout(ACK_TIMEOUT_MS).emitWithAck("extend_wrapup", { seconds })));
