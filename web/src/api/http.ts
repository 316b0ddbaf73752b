// REST calls to the server: JSON in and out, the session token as a Bearer header, every
// failure turned into an ApiError carrying the server's error_id and message.
import type {
  Appeal,
  AppealIn,
  ApiErrorBody,
  ConsumerCard,
  LoginReply,
  OutboundReply,
  SearchReply,
} from "./contract";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorId: string,
    message: string,
  ) {
    super(message);
  }
}

type Method = "GET" | "POST" | "PUT";

export async function call<T>(method: Method, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new ApiError(0, "network", exc instanceof Error ? exc.message : String(exc));
  }
  const text = await response.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!response.ok) {
    const error = (parsed ?? {}) as Partial<ApiErrorBody>;
    throw new ApiError(response.status, error.error_id ?? `http_${response.status}`, error.message ?? response.statusText);
  }
  return parsed as T;
}

export const api = {
  login: (login: string, password: string) =>
    call<LoginReply>("POST", "/api/login", null, { login, password }),
  logout: (token: string) => call<unknown>("POST", "/api/logout", token),
  cardByAccount: (token: string, number: string) =>
    call<ConsumerCard>("GET", `/api/cards/account/${encodeURIComponent(number)}`, token),
  search: (token: string, q: string) =>
    call<SearchReply>("GET", `/api/cards/search?q=${encodeURIComponent(q)}`, token),
  registerAppeal: (token: string, appeal: AppealIn) => call<Appeal>("POST", "/api/appeals", token, appeal),
  setDisposition: (token: string, callId: string, disposition: string, comment?: string) =>
    call<unknown>("PUT", `/api/calls/${encodeURIComponent(callId)}/disposition`, token, {
      disposition,
      ...(comment ? { comment } : {}),
    }),
  callOut: (token: string, phone: string, account?: string) =>
    call<OutboundReply>("POST", "/api/calls/outbound", token, { phone, ...(account ? { account } : {}) }),
};
