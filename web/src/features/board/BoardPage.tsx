// The supervisor's board: queue tiles across the top, the agents, then today's abandoned
// callers and the open callback commitments. Everything arrives over the /supervisor socket.
import { t } from "../../locale";
import { date } from "../../format";
import { me, signOut } from "../../stores/session";
import { meta, queues } from "../../stores/board";
import { DisconnectedBanner } from "../connection/DisconnectedBanner";
import { QueueTileView } from "./QueueTileView";
import { AgentsTable } from "./AgentsTable";
import { AbandonedList } from "./AbandonedList";
import { CallbacksList } from "./CallbacksList";
import { AuditList } from "./AuditList";
import "./board.css";

export function BoardPage() {
  const user = me.value;
  const m = meta.value;
  return (
    <div class="board" data-testid="board" data-day={m?.day ?? ""}>
      <DisconnectedBanner />
      <header class="topbar">
        <span class="brand">{t.board.appTitle}</span>
        {m && <span class="day">{t.board.day(date(m.day))}</span>}
        {user && <span class="who">{t.session.agent(user.full_name, user.login)}</span>}
        <button type="button" class="link" onClick={() => void signOut()}>{t.session.signOut}</button>
      </header>
      {!m ? (
        <p class="loading muted">{t.board.loading}</p>
      ) : (
        <main class="board-body">
          <div class="tiles" data-testid="queues">
            {queues.value.length === 0 && <p class="muted">{t.board.noQueues}</p>}
            {queues.value.map((q) => <QueueTileView key={q.name} tile={q} />)}
          </div>
          <AgentsTable />
          <div class="lists">
            <AbandonedList />
            <CallbacksList />
          </div>
          <AuditList />
        </main>
      )}
    </div>
  );
}
