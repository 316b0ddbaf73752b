// The Socket.IO connection to namespace /agent, typed by the contract. socket.io-client
// reconnects by itself (with backoff); the server sends the whole state again at each connect,
// so the page catches up without a refresh.
import { io, type Socket } from "socket.io-client";
import type { Ack, ClientToServerEvents, ServerToClientEvents } from "./contract";

export type DeskSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export function openDeskSocket(token: string): DeskSocket {
  return io("/agent", {
    auth: { token },
    path: "/socket.io",
    transports: ["websocket", "polling"],
    reconnectionDelay: 500,
    reconnectionDelayMax: 5000,
  });
}

export class AckError extends Error {
  constructor(
    readonly errorId: string,
    message: string,
  ) {
    super(message);
  }
}

/** Resolves with the ack when it says ok, rejects with the server's reason or a timeout. */
export function ackOk(reply: Ack): Record<string, unknown> {
  if (reply.ok) return reply;
  throw new AckError(reply.error_id, reply.message);
}

export const ACK_TIMEOUT_MS = 10_000;
