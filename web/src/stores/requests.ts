// REST calls made on the agent's behalf: the session's token added, a 401 ends the session.
import { ApiError } from "../api/http";
import { forget, token } from "./session";

export async function authed<T>(run: (token: string) => Promise<T>): Promise<T> {
  const current = token.value;
  if (!current) throw new ApiError(401, "unauthorized", "no session");
  try {
    return await run(current);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) forget(exc.message);
    throw exc;
  }
}

export function messageOf(exc: unknown): string {
  return exc instanceof Error ? exc.message : String(exc);
}
