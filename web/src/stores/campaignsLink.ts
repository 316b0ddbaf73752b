// Wires the console to the server: the list over REST at every (re)connect, then the leader's
// `campaign` pushes on the console's own /campaigns socket (campaigns/pushes.py: a running or paused
// campaign whenever its figures change, at most every 2 s, and once more when it ends). While
// the socket is down the page polls the REST campaign (state and progress) of the live campaigns every 2 s instead,
// so the figures never freeze silently (the red banner says the link is down). A live campaign
// nothing was pushed for in QUIET_MS is polled too: pushes come only from the process holding
// the PBX lease, and a campaign waiting on its retries pushes nothing for minutes.
import { effect } from "@preact/signals";
import { campaignsApi, openCampaignSocket, type CampaignSocket } from "../api/campaigns";
import { applyFetched, applyPush, clearCampaigns, liveIds, selectedId } from "./campaigns";
import { reloadList } from "./campaignsActions";
import { link, serverError } from "./connection";
import { keepLinked } from "./link";
import { token } from "./session";
import { t } from "../locale";

export const POLL_MS = 2000;
export const QUIET_MS = 6000;

const heard = new Map<number, number>(); // campaign id -> when the last push came (ms)

function attach(socket: CampaignSocket): void {
  // Pushes only say what changed from now on: at every connect, catch up on what happened.
  keepLinked(socket, t.campaigns.notASupervisor, () => void reloadList());
  socket.on("campaign", (p) => {
    heard.set(p.campaign.id, Date.now());
    applyPush(p.campaign);
  });
  socket.on("error", (e) => (serverError.value = `${e.error_id}: ${e.message}`));
}

/** Which campaigns to poll now: all live ones and the one shown while the link is down;
 * else only the live ones no push was heard for in QUIET_MS. */
export function toPoll(linked: boolean, live: number[], shown: number | null, lastHeard: ReadonlyMap<number, number>,
  at: number): number[] {
  if (!linked) return [...new Set(shown === null ? live : [...live, shown])];
  return live.filter((id) => at - (lastHeard.get(id) ?? 0) >= QUIET_MS);
}

/** One round of the fallback: the REST progress of the campaigns toPoll picks. */
export async function pollOnce(tok: string, linked: boolean): Promise<void> {
  const at = Date.now();
  const ids = toPoll(linked, liveIds(), selectedId.value, heard, at);
  ids.forEach((id) => heard.set(id, at));
  await Promise.all(ids.map(async (id) => {
    try {
      applyFetched(await campaignsApi.get(tok, id));
    } catch {
      // The link is down anyway; the banner says so and the next round tries again.
    }
  }));
}

export function startCampaigns(): void {
  effect(() => {
    const current = token.value;
    if (!current) {
      clearCampaigns();
      return;
    }
    link.value = "connecting";
    const socket = openCampaignSocket(current);
    attach(socket);
    void reloadList();
    const poll = setInterval(() => void pollOnce(current, link.value === "connected"), POLL_MS);
    return () => {
      clearInterval(poll);
      heard.clear();
      socket.removeAllListeners();
      socket.disconnect();
    };
  });
}
