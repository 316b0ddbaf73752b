// Coalesces the board's pushes before they reach the page. With hundreds of agents and calls
// a second, the server sends several `agents` and `queues` batches each second; drawing the
// board for every one of them would keep the supervisor's PC busy. Pushes are kept by key (the
// last row per agent, the last tile per queue, the last whole list) and applied together at most
// every FLUSH_MS, in one batch, so the page draws once per flush. A whole `board` (a connect)
// is the truth: pushes that arrived before it are older than it and are dropped.
import { batch } from "@preact/signals";
import type { AbandonedCall, AgentRow, Board, Callback, QueueTile } from "../api/contract";
import { applyAbandoned, applyAgents, applyBoard, applyCallbacks, applyQueues } from "./board";

export const FLUSH_MS = 150;

type Schedule = (run: () => void, ms: number) => unknown;

export class PushCoalescer {
  private queues = new Map<string, QueueTile>();
  private agents = new Map<number, AgentRow>();
  private abandoned: AbandonedCall[] | null = null;
  private callbacks: Callback[] | null = null;
  private armed = false;

  constructor(
    private readonly onAgents: (rows: AgentRow[]) => void = () => {},
    private readonly schedule: Schedule = (run, ms) => setTimeout(run, ms),
    private readonly delayMs = FLUSH_MS,
  ) {}

  board(board: Board): void {
    this.drop();
    applyBoard(board);
  }

  /** A `queues` batch: the tiles that changed (a later batch overrides an earlier one). */
  queueBatch(tiles: QueueTile[]): void {
    for (const tile of tiles) this.queues.set(tile.name, tile);
    if (tiles.length) this.arm();
  }

  /** An `agents` batch: the rows that changed. */
  agentBatch(rows: AgentRow[]): void {
    for (const row of rows) this.agents.set(row.agent_id, row);
    if (rows.length) this.arm();
  }

  abandonedList(list: AbandonedCall[]): void {
    this.abandoned = list;
    this.arm();
  }

  callbackList(list: Callback[]): void {
    this.callbacks = list;
    this.arm();
  }

  /** Applies everything pending now, in one batch (one drawing of the page). */
  flush(): void {
    this.armed = false;
    const queues = [...this.queues.values()];
    const agents = [...this.agents.values()];
    const abandoned = this.abandoned;
    const callbacks = this.callbacks;
    this.drop();
    batch(() => {
      applyQueues(queues);
      applyAgents(agents);
      if (abandoned) applyAbandoned(abandoned);
      if (callbacks) applyCallbacks(callbacks);
      if (agents.length) this.onAgents(agents);
    });
  }

  /** Forgets what is pending (a new board is coming, or the session ended). */
  drop(): void {
    this.queues.clear();
    this.agents.clear();
    this.abandoned = null;
    this.callbacks = null;
  }

  private arm(): void {
    if (this.armed) return;
    this.armed = true;
    this.schedule(() => this.flush(), this.delayMs);
  }
}
