import { render } from "preact";
import { App, BoardApp, CampaignsApp, isBoardPath, isCampaignsPath } from "./app";
import { startClock } from "./stores/clock";
import { startDesk } from "./stores/desk";
import { startBoard } from "./stores/boardLink";
import { startCampaigns } from "./stores/campaignsLink";
import { t } from "./locale";
import "./styles.css";

// One build, two pages: the agent desk (/, /desk/) and the supervisor board (/board/). Each
// opens only its own socket (/agent or /supervisor).
const onBoard = isBoardPath(window.location.pathname);
const onCampaigns = isCampaignsPath(window.location.pathname);
document.title = onBoard ? t.board.appTitle : onCampaigns ? t.campaigns.appTitle : t.appTitle;
startClock();
if (onBoard) startBoard();
else if (onCampaigns) startCampaigns(); // the campaign console (/campaigns/): socket /supervisor
else startDesk();
render(onBoard ? <BoardApp /> : onCampaigns ? <CampaignsApp /> : <App />, document.getElementById("app")!);
