// Wires the socket to the feature stores: one place that knows which event feeds which store.
import { effect } from "@preact/signals";
import { openDeskSocket, type DeskSocket } from "../api/socket";
import type { StateEvent } from "../api/contract";
import { link, serverError } from "./connection";
import { applyView, bindReadiness, noteWrapup, pauseReasons } from "./readiness";
import { close, dispositions, pops, replaceAll, upsert } from "./pops";
import { forget, me, token } from "./session";
import { t } from "../locale";

// python-socketio refuses a connect with {error_id, message} (no/bad/revoked token, a role
// without a desktop); the client sees it as connect_error, its message the dict as text.
function refusalOf(text: string): { sessionOver: boolean; message: string } {
  if (/forbidden/i.test(text)) return { sessionOver: true, message: t.connection.notAnAgent };
  const message = /'message': '([^']*)'/.exec(text)?.[1] ?? /"message": ?"([^"]*)"/.exec(text)?.[1] ?? text;
  return { sessionOver: /unauthori[sz]ed|token|session/i.test(text), message };
}

function onState(payload: StateEvent): void {
  if ("agent" in payload) {
    me.value = payload.agent;
    pauseReasons.value = payload.pause_reasons;
    dispositions.value = payload.dispositions;
    replaceAll(payload.pops);
  }
  const view = payload.readiness;
  if (view.state === "wrap_up") {
    // The wrap-up belongs to the call it names, else to the call that just ended — whose
    // "ended" update may come just after this state (they travel separately).
    const callId =
      view.call_id ??
      [...pops.value].reverse().find((p) => p.status === "ended" || p.status === "answered")?.call_id;
    if (callId) noteWrapup(callId, view);
  }
  applyView(view);
}

function attach(socket: DeskSocket): void {
  socket.on("connect", () => {
    link.value = "connected";
    serverError.value = null;
  });
  socket.on("disconnect", (reason) => {
    link.value = "disconnected";
    // The client retries by itself after a network loss, but not after the server closed the
    // namespace (a restart, a deploy): then the page asks again, so it never needs a refresh.
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err) => {
    link.value = "disconnected";
    // A refusal by the server (not a network failure) stops the client's own retries.
    if (!socket.active) {
      const refusal = refusalOf(err.message);
      if (refusal.sessionOver) forget(refusal.message);
      else setTimeout(() => socket.connect(), 3000);
    }
  });
  socket.on("state", onState);
  socket.on("screen_pop", (pop) => upsert(pop, true));
  socket.on("pop_update", (pop) => upsert(pop, false));
  socket.on("pop_closed", close);
  socket.on("error", (e) => (serverError.value = `${e.error_id}: ${e.message}`));
}

/** Opens the socket whenever there is a token and closes it when the session ends. */
export function startDesk(): void {
  effect(() => {
    const current = token.value;
    if (!current) return;
    link.value = "connecting";
    const socket = openDeskSocket(current);
    attach(socket);
    bindReadiness(socket);
    return () => {
      bindReadiness(null);
      socket.removeAllListeners();
      socket.disconnect();
    };
  });
}
