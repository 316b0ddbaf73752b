// Where a queue tile's figures turn amber and red: at the thresholds the server sends with
// each tile (QueueTile.colours, from its settings: the 80/20 service level standard by
// default, amber from 3 callers waiting and red from 6, the longest wait amber past the
// queue's own service level threshold and red at three times it). The page guesses none.
import type { QueueTile } from "../api/contract";

export type Colour = "ok" | "warn" | "alarm" | "none";

function level(value: number, warn: number, alarm: number): Colour {
  if (value >= alarm) return "alarm";
  if (value >= warn) return "warn";
  return "ok";
}

export function waitingColour(tile: QueueTile): Colour {
  return level(tile.waiting, tile.colours.waiting_amber, tile.colours.waiting_red);
}

/** The longest wait's colour at `seconds` (it changes with the clock, not only with pushes). */
export function waitColour(tile: QueueTile, seconds: number): Colour {
  if (tile.waiting <= 0) return "ok";
  return level(seconds, tile.colours.wait_amber, tile.colours.wait_red);
}

/** Service level against the queue's target; "none" when there is nothing to measure yet. */
export function slColour(tile: QueueTile, share: number | null): Colour {
  if (share === null || share === undefined) return "none";
  if (share >= tile.colours.sl_target) return "ok";
  if (share >= tile.colours.sl_red_below) return "warn";
  return "alarm";
}
