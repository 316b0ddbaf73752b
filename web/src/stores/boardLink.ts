// Wires the /supervisor socket to the board store: the one place that knows which event feeds
// which part. The server sends the whole board at every connect, so after any reconnect the
// page is right again without a refresh; the banner shows while the link is down.
import { effect } from "@preact/signals";
import { openBoardSocket, type BoardSocket } from "../api/supervisor";
import { t } from "../locale";
import { applyAudit, clearBoard } from "./board";
import { PushCoalescer } from "./boardPushes";
import { settle } from "./boardActions";
import { link, serverError } from "./connection";
import { keepLinked, refusedConnect } from "./link";
import { token } from "./session";

// The board's words for a refused connect (stores/link.ts).
export const refusalOf = (text: string) => refusedConnect(text, t.board.notASupervisor);

function attach(socket: BoardSocket, pushes: PushCoalescer): void {
  keepLinked(socket, t.board.notASupervisor);
  socket.on("board", (b) => pushes.board(b));
  socket.on("queues", (p) => pushes.queueBatch(p.queues));
  socket.on("agents", (p) => pushes.agentBatch(p.agents));
  socket.on("abandoned", (p) => pushes.abandonedList(p.abandoned));
  socket.on("callbacks", (p) => pushes.callbackList(p.callbacks));
  socket.on("audit", (p) => applyAudit(p.entry));
  socket.on("error", (e) => (serverError.value = `${e.error_id}: ${e.message}`));
}

/** Opens the socket whenever there is a token and closes it when the session ends. */
export function startBoard(): void {
  effect(() => {
    const current = token.value;
    if (!current) {
      clearBoard();
      return;
    }
    link.value = "connecting";
    // The PBX confirmed what the supervisor asked: the "waiting for the PBX" notes go.
    const pushes = new PushCoalescer((rows) => rows.forEach(settle));
    const socket = openBoardSocket(current);
    attach(socket, pushes);
    // A hidden tab's timers are slowed (to once a minute after a while): when the supervisor
    // comes back to the tab, what arrived meanwhile is drawn at once.
    const onVisible = () => {
      if (!document.hidden) pushes.flush();
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      document.removeEventListener("visibilitychange", onVisible);
      pushes.drop();
      socket.removeAllListeners();
      socket.disconnect();
    };
  });
}
