// The agent's callback commitments over REST (features/supervisor/http.py): an agent sees,
// dials and closes only their own. The server pushes the list to supervisors only, so the desk
// asks for it (stores/callbacks.ts says when).
import { call } from "./http";
import type { Callback, CallbackIn, CallbackList, CallbackOutcomeIn, CallIdReply } from "./contract";

const one = (id: number) => `/api/callbacks/${encodeURIComponent(String(id))}`;

export const callbacksApi = {
  create: (token: string, body: CallbackIn) => call<Callback>("POST", "/api/callbacks", token, body),
  open: (token: string) => call<CallbackList>("GET", "/api/callbacks?status=open", token),
  dial: (token: string, id: number) => call<CallIdReply>("POST", `${one(id)}/dial`, token),
  close: (token: string, id: number, body: CallbackOutcomeIn) =>
    call<Callback>("PUT", `${one(id)}/outcome`, token, body),
};
