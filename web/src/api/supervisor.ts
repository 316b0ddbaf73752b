// The supervisor's side of the wire: the /supervisor Socket.IO namespace (the board and its
// pushes) and the REST actions of the board (features/supervisor/http.py). Every action is
// audited by the server; the page only asks, and shows the result when the board's pushes say so.
import { io, type Socket } from "socket.io-client";
import { call } from "./http";
import type { Board, CallIdReply, ForcedReadiness, SpyMode, SupervisorServerEvents } from "./contract";

export type BoardSocket = Socket<SupervisorServerEvents, Record<string, never>>;

export function openBoardSocket(token: string): BoardSocket {
  return io("/supervisor", {
    auth: { token },
    path: "/socket.io",
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

const agentPath = (agentId: number) => `/api/supervisor/agents/${encodeURIComponent(String(agentId))}`;

export const supervisorApi = {
  board: (token: string) => call<Board>("GET", "/api/supervisor/board", token),
  forceReadiness: (token: string, agentId: number, body: ForcedReadiness) =>
    call<unknown>("PUT", `${agentPath(agentId)}/readiness`, token, body),
  spy: (token: string, agentId: number, mode: SpyMode) =>
    call<CallIdReply>("POST", `${agentPath(agentId)}/spy`, token, { mode }),
  callBackAbandoned: (token: string, recordId: number) =>
    call<CallIdReply>("POST", `/api/supervisor/abandoned/${encodeURIComponent(String(recordId))}/callback`, token),
};
