import { token } from "./stores/session";
import { LoginScreen } from "./features/login/LoginScreen";
import { Desk } from "./features/desk/Desk";
import { BoardPage } from "./features/board/BoardPage";
import { CampaignsPage } from "./features/campaigns/CampaignsPage";
import { t } from "./locale";

/** The server serves the same page at / and /desk/ (the agent desk) and at /board/. */
export function isBoardPath(pathname: string): boolean {
  return pathname === "/board" || pathname.startsWith("/board/");
}

/** The campaign console: /campaigns/. */
export function isCampaignsPath(pathname: string): boolean {
  return pathname === "/campaigns" || pathname.startsWith("/campaigns/");
}

export function App() {
  return token.value ? <Desk /> : <LoginScreen />;
}

export function BoardApp() {
  return token.value ? <BoardPage /> : <LoginScreen title={t.board.appTitle} heading={t.board.loginTitle} />;
}

export function CampaignsApp() {
  return token.value ? <CampaignsPage /> : <LoginScreen title={t.campaigns.appTitle} heading={t.campaigns.loginTitle} />;
}
