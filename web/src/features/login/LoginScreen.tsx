import { useState } from "preact/hooks";
import { t } from "../../locale";
import { ApiError } from "../../api/http";
import { endedBecause, signIn } from "../../stores/session";

function explain(exc: unknown): string {
  if (exc instanceof ApiError) {
    if (exc.status === 401) return t.login.badCredentials;
    if (exc.status === 429) return t.login.tooMany;
    if (exc.status === 0) return t.errors.network;
    return t.login.failed(exc.message);
  }
  return t.login.failed(String(exc));
}

// The same login for the desk and the board; each page names itself.
export function LoginScreen({ title = t.appTitle, heading = t.login.title }: { title?: string; heading?: string }) {
  const [login, setLogin] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(login.trim(), password);
    } catch (exc) {
      setError(explain(exc));
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form class="login-box" onSubmit={submit} data-testid="login-form">
        <h1>{title}</h1>
        <h2>{heading}</h2>
        {endedBecause.value && (
          <p class="notice" role="status">{t.connection.sessionEnded} ({endedBecause.value})</p>
        )}
        <label>
          {t.login.login}
          <input name="login" autoComplete="username" required value={login}
            onInput={(e) => setLogin(e.currentTarget.value)} />
        </label>
        <label>
          {t.login.password}
          <input name="password" type="password" autoComplete="current-password" required value={password}
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy}>{busy ? t.login.busy : t.login.submit}</button>
      </form>
    </main>
  );
}
