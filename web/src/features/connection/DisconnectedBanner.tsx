// Shown for as long as the socket is down: the page may be stale, and the agent must know.
// It has no close button on purpose; it goes away only when the link is back.
import { t } from "../../locale";
import { link, serverError } from "../../stores/connection";

export function DisconnectedBanner() {
  return (
    <>
      {link.value !== "connected" && (
        <div class="banner banner-down" role="alert" data-testid="disconnected">{t.connection.lost}</div>
      )}
      {serverError.value && <div class="banner banner-warn" role="status">{t.errors.generic(serverError.value)}</div>}
    </>
  );
}
