// The state of the Socket.IO link, for the banner that says the page is not live.
import { signal } from "@preact/signals";

export type LinkState = "connecting" | "connected" | "disconnected";

export const link = signal<LinkState>("connecting");
// The server's last `error` event (a malformed message of ours): shown, never silently dropped.
export const serverError = signal<string | null>(null);
