// The agent's own open callback commitments ("we will call you back with the answer"), the
// soonest due first. The server pushes the list to supervisors only (/supervisor `callbacks`),
// not on /agent, so the desk asks for it: when the desk opens, after each of its own actions,
// when the socket (re)connects, and every POLL_MS in between (a supervisor may close one). What
// moves with the clock — time left, overdue — is computed at each tick from `due_at`, never
// frozen at the last answer.
import { effect, signal, untracked } from "@preact/signals";
import { callbacksApi } from "../api/callbacks";
import { ApiError } from "../api/http";
import type { Callback, CallbackIn, CallbackOutcomeIn } from "../api/contract";
import { label, t } from "../locale";
import { link } from "./connection";
import { authed } from "./requests";

export const POLL_MS = 30_000;

export const mine = signal<Callback[]>([]);
// Why the last refresh failed (the list shown is then the last one that came).
export const loadError = signal<string | null>(null);

export interface DueCallback extends Callback {
  overdueNow: boolean;
  // Seconds until due (negative once overdue).
  secondsLeft: number;
}

/** Open commitments by due time (then by id); overdue by the server's word or by the clock. */
export function byDue(list: Callback[], now: number): DueCallback[] {
  return list
    .filter((c) => c.status === "open")
    .map((c) => {
      const secondsLeft = (Date.parse(c.due_at) - now) / 1000;
      return { ...c, secondsLeft, overdueNow: c.overdue || secondsLeft <= 0 };
    })
    .sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at) || a.id - b.id);
}

/** The server's reason in the page's words when the locale knows its error id. */
export function explain(exc: unknown): string {
  if (exc instanceof ApiError) {
    if (exc.status === 0) return t.errors.network;
    return label(t.deskCallbacks.errors, exc.errorId, exc.message);
  }
  return exc instanceof Error ? exc.message : String(exc);
}

// Answers can arrive out of order (a poll and an action's refresh): only the latest asked counts.
let asked = 0;

export async function refresh(): Promise<void> {
  const mineAsked = ++asked;
  try {
    const reply = await authed((tok) => callbacksApi.open(tok));
    if (mineAsked !== asked) return;
    mine.value = reply.callbacks;
    loadError.value = null;
  } catch (exc) {
    if (mineAsked === asked) loadError.value = t.deskCallbacks.loadFailed(explain(exc));
  }
}

/** Refreshes now, at each (re)connect of the desk's socket and every POLL_MS, until the
 * returned stop is called (the desk's lifetime). */
export function startPolling(): () => void {
  // Runs at once (the first refresh) and again whenever the link comes back.
  let first = true;
  const unwatch = effect(() => {
    // Only the link is watched (refresh reads the session's token: not a reason to rerun).
    if (link.value === "connected" || first) untracked(() => void refresh());
    first = false;
  });
  const timer = setInterval(() => void refresh(), POLL_MS);
  return () => {
    unwatch();
    clearInterval(timer);
    asked++; // an answer still on its way belongs to the closed desk
    mine.value = [];
    loadError.value = null;
  };
}

/** Records a commitment; the list shows it at once. Throws the server's refusal. */
export async function promise(body: CallbackIn): Promise<Callback> {
  const made = await authed((tok) => callbacksApi.create(tok, body));
  mine.value = [...mine.value.filter((c) => c.id !== made.id), made];
  void refresh();
  return made;
}

// --- the row's actions: a note beside the buttons says what was asked and how it went ---

export type NoteKind = "busy" | "done" | "failed";

export interface RowNote {
  kind: NoteKind;
  text: string;
}

export const notes = signal<Record<number, RowNote>>({});

function note(id: number, value: RowNote | null): void {
  const next = { ...notes.value };
  if (value) next[id] = value;
  else delete next[id];
  notes.value = next;
}

/** Click-to-call: the agent's phone rings first, then the consumer's. */
export async function dial(id: number): Promise<boolean> {
  note(id, { kind: "busy", text: t.deskCallbacks.dialling });
  try {
    await authed((tok) => callbacksApi.dial(tok, id));
  } catch (exc) {
    note(id, { kind: "failed", text: t.deskCallbacks.failed(explain(exc)) });
    void refresh(); // closed meanwhile by a supervisor: the list drops it
    return false;
  }
  note(id, { kind: "done", text: t.deskCallbacks.dialStarted });
  void refresh();
  return true;
}

/** The outcome closes the commitment: it leaves the list. */
export async function close(id: number, body: CallbackOutcomeIn): Promise<boolean> {
  note(id, { kind: "busy", text: t.deskCallbacks.saving });
  try {
    await authed((tok) => callbacksApi.close(tok, id, body));
  } catch (exc) {
    note(id, { kind: "failed", text: t.deskCallbacks.failed(explain(exc)) });
    void refresh();
    return false;
  }
  note(id, null);
  mine.value = mine.value.filter((c) => c.id !== id);
  void refresh();
  return true;
}
