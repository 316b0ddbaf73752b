// Wires the socket to the feature stores: one place that knows which event feeds which store.
import { effect } from "@preact/signals";
import { openDeskSocket, type DeskSocket } from "../api/socket";
import type { StateEvent } from "../api/contract";
import { link, serverError } from "./connection";
import { keepLinked } from "./link";
import { applyView, bindReadiness, noteWrapup, pauseReasons } from "./readiness";
import { close, dispositions, pops, replaceAll, update, upsert } from "./pops";
import { me, token } from "./session";
import { t } from "../locale";

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
  keepLinked(socket, t.connection.notAnAgent);
  socket.on("state", onState);
  socket.on("screen_pop", (pop) => upsert(pop, true));
  socket.on("pop_update", update);
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
