/**
 * The agents' side of emergency broadcasts: a process that registers agents listens on the
 * emergency channel of the transport; each broadcast that names one of its agents runs that
 * agent's handlers, records the acknowledgement in the state store and announces it on the
 * acknowledgement channel.
 *
 * Idempotent per (broadcast id, agent): a repeated notice (a re-broadcast, a redelivery) does not
 * run handlers that already succeeded — the recorded acknowledgement is announced again instead,
 * so a broadcaster that lost the first announcement still collects it. Handlers that failed run
 * again. Runs for one (broadcast, agent) are serialized.
 *
 * @module
 */
import type { Logger } from "../observability/logger.js";
import type { StateStore } from "../state/StateStore.js";
import type { Notice, Transport } from "../transport/Transport.js";
import type { AgentDirectory, LocalAgent } from "./AgentDirectory.js";
import {
  ackKey,
  decodeNotice,
  EMERGENCY_CHANNELS,
  EMERGENCY_NAMESPACE,
  encodeNotice,
  parseAck,
  parseBroadcast,
  type AckRecord,
  type BroadcastRecord,
} from "./emergencyMessages.js";
import { errorText } from "./validation.js";

/** What an {@link EmergencyReceiver} works with. */
export interface EmergencyReceiverParts {
  transport: Transport;
  store: StateStore;
  directory: AgentDirectory;
  logger: Logger;
  /** Caller id of this process (recorded as `by`). */
  owner: string;
  now: () => number;
  /** How long acknowledgements are kept, in ms. */
  retentionMs: number;
}

/** How many (broadcast, agent) runs are remembered in memory; older ones fall back to the store record. */
const REMEMBERED_RUNS = 1_000;

/** Receives emergencies for the agents of this process; see the module comment. */
export class EmergencyReceiver {
  private subscribing: Promise<() => Promise<void>> | undefined;
  private readonly runs = new Map<string, Promise<AckRecord | undefined>>();
  private stopped = false;

  constructor(private readonly p: EmergencyReceiverParts) {}

  /** Subscribes to the emergency channel (once); resolves when subscribed, so a broadcast sent after it reaches this process. */
  async listen(): Promise<void> {
    this.subscribing ??= this.p.transport
      .subscribe(EMERGENCY_CHANNELS.broadcast, (notice) => {
        this.receive(notice);
      })
      .catch((e: unknown) => {
        this.subscribing = undefined;
        throw e;
      });
    await this.subscribing;
  }

  /** Unsubscribes. Runs in progress finish; their acknowledgements are still recorded when the store allows. */
  async stop(): Promise<void> {
    this.stopped = true;
    const unsubscribe = await this.subscribing?.catch(() => undefined);
    this.subscribing = undefined;
    await unsubscribe?.().catch((e: unknown) => this.p.logger.debug("emergency: unsubscribing failed", { error: errorText(e) }));
  }

  private receive(notice: Notice): void {
    if (this.stopped) return;
    const broadcast = parseBroadcast(decodeNotice(notice.payload));
    if (broadcast === undefined) {
      this.p.logger.warn("emergency: ignoring a malformed broadcast notice", { sender: notice.sender });
      return;
    }
    const targets = new Set(broadcast.targets);
    for (const agent of this.p.directory.localAgents()) {
      if (targets.has(agent.agentId)) this.deliver(broadcast, agent);
    }
  }

  /** Queues the run of `agent`'s handlers for `broadcast` behind any earlier run of the same pair. */
  private deliver(broadcast: BroadcastRecord, agent: LocalAgent): void {
    const key = `${broadcast.id}\u0000${agent.agentId}`;
    const prior = this.runs.get(key) ?? Promise.resolve(undefined);
    const run = prior.then(async (previous) => {
      if (previous?.ok === true) {
        await this.announce(previous);
        return previous;
      }
      return this.run(broadcast, agent, previous === undefined);
    });
    this.runs.delete(key); // re-inserted last: the map's order is the forgetting order
    this.runs.set(key, run);
    if (this.runs.size > REMEMBERED_RUNS) {
      const oldest = this.runs.keys().next();
      if (oldest.done !== true) this.runs.delete(oldest.value);
    }
    run.catch((e: unknown) =>
      this.p.logger.error("emergency: delivering to an agent failed", { id: broadcast.id, agentId: agent.agentId, error: errorText(e) }),
    );
  }

  private async run(broadcast: BroadcastRecord, agent: LocalAgent, checkStore: boolean): Promise<AckRecord> {
    const acks = this.p.store.namespace(...EMERGENCY_NAMESPACE, broadcast.id);
    if (checkStore) {
      // A run remembered by an earlier incarnation of this process (or forgotten from memory).
      const stored = parseAck(await acks.get(ackKey(agent.agentId)).catch(() => undefined));
      if (stored?.ok === true) {
        await this.announce(stored);
        return stored;
      }
    }
    const emergency = { id: broadcast.id, message: broadcast.message, from: broadcast.from, at: broadcast.at };
    const info = agent.info;
    const results = await Promise.allSettled(agent.emergencyHandlers().map(async (handler) => handler(emergency, info)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    const ack: AckRecord = {
      id: broadcast.id,
      agentId: agent.agentId,
      ok: failure === undefined,
      ...(failure === undefined ? {} : { error: errorText(failure.reason) }),
      at: this.p.now(),
      by: this.p.owner,
      ...(broadcast.attempt === undefined ? {} : { attempt: broadcast.attempt }),
    };
    if (failure !== undefined) {
      this.p.logger.warn("emergency: an agent's handler failed", { id: ack.id, agentId: ack.agentId, error: ack.error });
    }
    try {
      await acks.set(ackKey(agent.agentId), ack, { ttlMs: this.p.retentionMs });
    } catch (e) {
      // The notice below still reaches a listening broadcaster; only its store poll misses it.
      this.p.logger.warn("emergency: recording an acknowledgement failed", { id: ack.id, agentId: ack.agentId, error: errorText(e) });
    }
    await this.announce(ack);
    return ack;
  }

  private async announce(ack: AckRecord): Promise<void> {
    try {
      await this.p.transport.publish(EMERGENCY_CHANNELS.ack, encodeNotice(ack));
    } catch (e) {
      this.p.logger.warn("emergency: announcing an acknowledgement failed; the broadcaster reads it from the store", {
        id: ack.id,
        agentId: ack.agentId,
        error: errorText(e),
      });
    }
  }
}
