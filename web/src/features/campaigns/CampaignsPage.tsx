// The campaign console (/campaigns/): the campaigns on the left, on the right either the form
// of a new one (template, selection, schedule, pacing, retries, keys, preview) or the chosen
// campaign with its controls and live progress. Above the list: the switch that stops them all.
import { t } from "../../locale";
import { me, signOut } from "../../stores/session";
import { selected } from "../../stores/campaigns";
import { creating, notice, openNew } from "../../stores/campaignsActions";
import { DisconnectedBanner } from "../connection/DisconnectedBanner";
import { CampaignList } from "./CampaignList";
import { CampaignForm } from "./CampaignForm";
import { CampaignDetail } from "./CampaignDetail";
import { NoticeLine } from "./NoticeLine";
import { KillSwitchPanel } from "./KillSwitch";
import "./campaigns.css";

export function CampaignsPage() {
  const user = me.value;
  const shown = selected.value;
  return (
    <div class="campaigns" data-testid="campaigns">
      <DisconnectedBanner />
      <header class="topbar">
        <span class="brand">{t.campaigns.appTitle}</span>
        <a class="nav" href="/board/">{t.campaigns.toBoard}</a>
        {user && <span class="who">{t.session.agent(user.full_name, user.login)}</span>}
        <button type="button" class="link" onClick={() => void signOut()}>{t.session.signOut}</button>
      </header>
      <main class="campaigns-body">
        <aside class="campaigns-side">
          <button type="button" class="primary" data-testid="new-campaign" onClick={openNew}>{t.campaigns.newCampaign}</button>
          <KillSwitchPanel />
          <CampaignList />
        </aside>
        <div class="campaigns-main">
          {notice.value && <NoticeLine />}
          {creating.value ? (
            <CampaignForm />
          ) : shown ? (
            <CampaignDetail view={shown} />
          ) : (
            <p class="muted">{t.campaigns.pickOne}</p>
          )}
        </div>
      </main>
    </div>
  );
}
