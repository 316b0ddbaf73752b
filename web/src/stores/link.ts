// What every page's socket does with its link, in one place: the banner's state, a connect
// again after the server closed the namespace (a restart, a deploy: the client does not retry
// by itself then, and the page must never need a refresh), and a refused connect told apart
// from a network failure (python-socketio refuses with {error_id, message}, which the client
// gets as the connect_error's message, the dict as text).
import type { Socket } from "socket.io-client";
import { link, serverError } from "./connection";
import { forget } from "./session";

export function refusedConnect(text: string, forbidden: string): { sessionOver: boolean; message: string } {
  if (/forbidden/i.test(text)) return { sessionOver: true, message: forbidden };
  const message = /'message': '([^']*)'/.exec(text)?.[1] ?? /"message": ?"([^"]*)"/.exec(text)?.[1] ?? text;
  return { sessionOver: /unauthori[sz]ed|token|session/i.test(text), message };
}

/** ``forbidden``: the page's own words for a role the namespace refuses. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function keepLinked(socket: Socket<any, any>, forbidden: string, onConnect?: () => void): void {
  socket.on("connect", () => {
    link.value = "connected";
    serverError.value = null;
    onConnect?.();
  });
  socket.on("disconnect", (reason: Socket.DisconnectReason) => {
    link.value = "disconnected";
    if (reason === "io server disconnect") setTimeout(() => socket.connect(), 1000);
  });
  socket.on("connect_error", (err: Error) => {
    link.value = "disconnected";
    // A refusal by the server (not a network failure) stops the client's own retries.
    if (!socket.active) {
      const refusal = refusedConnect(err.message, forbidden);
      if (refusal.sessionOver) forget(refusal.message);
      else setTimeout(() => socket.connect(), 3000);
    }
  });
}
