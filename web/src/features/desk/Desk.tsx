// The agent's screen: state and wrap-up on the left with the call's timeline, the pop (or the
// search between calls) on the right.
import { t } from "../../locale";
import { me, signOut } from "../../stores/session";
import { DisconnectedBanner } from "../connection/DisconnectedBanner";
import { StateControl } from "../readiness/StateControl";
import { WrapUp } from "../readiness/WrapUp";
import { PopArea } from "../pop/PopArea";
import { ClosedNotices } from "../pop/ClosedNotices";
import { CallbacksPanel } from "../callbacks/CallbacksPanel";

export function Desk() {
  const agent = me.value;
  return (
    <div class="desk">
      <DisconnectedBanner />
      <header class="topbar">
        <span class="brand">{t.appTitle}</span>
        {agent && <span class="who">{t.session.agent(agent.full_name, agent.login)}</span>}
        <button type="button" class="link" onClick={() => void signOut()}>{t.session.signOut}</button>
      </header>
      <div class="columns">
        <aside class="side">
          <StateControl />
          <WrapUp />
          <ClosedNotices />
          <CallbacksPanel />
        </aside>
        <main class="work">
          <PopArea />
        </main>
      </div>
    </div>
  );
}
