// Who is signed in: the token (kept in sessionStorage, so reloading the tab keeps the session
// and closing it ends it) and the agent the server named at login.
import { signal } from "@preact/signals";
import { api, ApiError } from "../api/http";
import type { AgentIdentity } from "../api/contract";

const KEY = "ccs.desk.session";

interface Saved {
  token: string;
  agent: AgentIdentity;
}

function load(): Saved | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Saved) : null;
  } catch {
    return null;
  }
}

const saved = load();
export const token = signal<string | null>(saved?.token ?? null);
export const me = signal<AgentIdentity | null>(saved?.agent ?? null);
// Why the last session ended when the server ended it (revoked token, deactivation).
export const endedBecause = signal<string | null>(null);

export async function signIn(login: string, password: string): Promise<void> {
  const reply = await api.login(login, password);
  sessionStorage.setItem(KEY, JSON.stringify({ token: reply.token, agent: reply.agent }));
  endedBecause.value = null;
  me.value = reply.agent;
  token.value = reply.token;
}

export function forget(reason: string | null = null): void {
  sessionStorage.removeItem(KEY);
  endedBecause.value = reason;
  token.value = null;
  me.value = null;
}

export async function signOut(): Promise<void> {
  const current = token.value;
  forget();
  if (current) {
    try {
      await api.logout(current);
    } catch (exc) {
      if (!(exc instanceof ApiError)) throw exc;
    }
  }
}
