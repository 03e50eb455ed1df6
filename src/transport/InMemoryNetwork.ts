/**
 * What a Kafka cluster is to `KafkaTransport`, for {@link InMemoryTransport}s in one process:
 * routes requests to replicas, replies to callers and notices to subscribers, holds requests for
 * a node nobody serves yet, and records dead letters.
 *
 * @module
 */
import type { Frame } from "./envelope.js";

/** A message a transport could not accept, kept for inspection (the in-memory dead-letter topic). */
export interface DeadLetter {
  /** Why: an `EnvelopeError` reason (`malformed`, `schema`, `version`, `signature`, `too_large`) or `wrong_node`, `unexpected_kind`. */
  readonly reason: string;
  /** The error message. */
  readonly error: string;
  /** Who rejected it, e.g. `replica r1 of node "echo"` or `caller c1`. */
  readonly source: string;
  /** The frame as it arrived. */
  readonly raw: Uint8Array;
  /** The signature that travelled with it, if any. */
  readonly signature: string | undefined;
}

/** @internal A frame on its way to a replica of `node`, with the routing facts Kafka keeps outside the value. */
export interface Parcel {
  readonly frame: Frame;
  readonly node: string;
  /** The replica the caller chose; another one serves it when that one is gone. */
  readonly replicaId: string | undefined;
  /** Caller and correlation id (`callKey`), so a cancel can find where its request is. Absent for raw injected frames. */
  readonly id: string | undefined;
  /** Epoch ms after which nobody waits for it; absent for raw injected frames. */
  readonly deadline: number | undefined;
  /** True for a cancel (routed to wherever its request is). */
  readonly cancel: boolean;
}

/** @internal What the network needs of a replica. */
export interface ReplicaEndpoint {
  readonly replicaId: string;
  readonly node: string;
  /** False while draining: new requests go elsewhere. */
  readonly accepting: boolean;
  /** Requests queued or running. */
  load(): number;
  /** True when it holds (arriving, queued or running) the call with this `callKey`. */
  holds(key: string): boolean;
  /** Takes a parcel; must not call back synchronously. */
  accept(parcel: Parcel): void;
}

/** @internal Receives frames addressed to one caller or notice subscriber. */
export type FrameSink = (frame: Frame) => void;

/**
 * The shared medium of {@link InMemoryTransport}s. Give several transports the same network to
 * run a "caller process" and "replica processes" in one test; by default each transport has its
 * own.
 */
export class InMemoryNetwork {
  /** Messages rejected by any transport on this network, oldest first. */
  readonly deadLetters: DeadLetter[] = [];
  private readonly replicas = new Map<string, Set<ReplicaEndpoint>>();
  private readonly waiting = new Map<string, Parcel[]>();
  private readonly callers = new Map<string, FrameSink>();
  private readonly subscribers = new Set<FrameSink>();

  /**
   * @param now - clock in epoch milliseconds, used to drop held requests whose deadline passed.
   *   Default `Date.now`.
   */
  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Test hook: delivers raw bytes to a replica of `node` as if a client had produced them to the
   * node's request topic. Whatever the replica cannot accept lands in {@link deadLetters}.
   */
  injectRaw(node: string, bytes: Uint8Array, signature?: string): void {
    const value = Buffer.from(bytes);
    this.route({
      frame: signature === undefined ? { value } : { value, signature },
      node,
      replicaId: undefined,
      id: undefined,
      deadline: undefined,
      cancel: false,
    });
  }

  /** Test hook: delivers raw bytes to the caller whose return address is `replyTo` (a forged reply). */
  injectReply(replyTo: string, bytes: Uint8Array, signature?: string): void {
    const value = Buffer.from(bytes);
    this.deliverToCaller(replyTo, signature === undefined ? { value } : { value, signature });
  }

  /** @internal Records a dead letter. */
  deadLetter(letter: DeadLetter): void {
    this.deadLetters.push(letter);
  }

  /** @internal Registers a replica; requests held for its node go to it. */
  attach(endpoint: ReplicaEndpoint): void {
    let set = this.replicas.get(endpoint.node);
    if (!set) this.replicas.set(endpoint.node, (set = new Set()));
    for (const other of this.replicas.values()) {
      for (const e of other)
        if (e.replicaId === endpoint.replicaId) throw new Error(`replica id "${endpoint.replicaId}" is already serving on this network`);
    }
    set.add(endpoint);
    this.release(endpoint.node);
  }

  /** @internal Unregisters a replica (stopped). */
  detach(endpoint: ReplicaEndpoint): void {
    const set = this.replicas.get(endpoint.node);
    set?.delete(endpoint);
    if (set?.size === 0) this.replicas.delete(endpoint.node);
  }

  /** @internal Requests held for `node` are routed again (a replica started accepting). */
  release(node: string): void {
    const held = this.waiting.get(node);
    if (!held) return;
    this.waiting.delete(node);
    for (const parcel of held) this.route(parcel);
  }

  /**
   * @internal Routes a request (or cancel) to the chosen replica when it is accepting, else to the
   * least loaded accepting replica of the node, else holds it until one appears or its deadline passes.
   */
  route(parcel: Parcel): void {
    const set = this.replicas.get(parcel.node);
    if (parcel.cancel) {
      this.routeCancel(parcel, set);
      return;
    }
    let best: ReplicaEndpoint | undefined;
    for (const e of set ?? []) {
      if (!e.accepting) continue;
      if (e.replicaId === parcel.replicaId) {
        best = e;
        break;
      }
      if (!best || e.load() < best.load()) best = e;
    }
    if (best) {
      best.accept(parcel);
      return;
    }
    const now = this.now();
    const held = (this.waiting.get(parcel.node) ?? []).filter((p) => p.deadline === undefined || p.deadline > now);
    if (parcel.deadline === undefined || parcel.deadline > now) held.push(parcel);
    if (held.length > 0) this.waiting.set(parcel.node, held);
    else this.waiting.delete(parcel.node);
  }

  /** @internal Delivers a reply or event frame to the caller listening at `replyTo`; dropped if none (caller gone). */
  deliverToCaller(replyTo: string, frame: Frame): boolean {
    const sink = this.callers.get(replyTo);
    if (!sink) return false;
    setImmediate(() => {
      sink(frame);
    });
    return true;
  }

  /** @internal Listens for frames sent to `replyTo`. */
  listen(replyTo: string, sink: FrameSink): void {
    if (this.callers.has(replyTo)) throw new Error(`a caller already listens at "${replyTo}" on this network`);
    this.callers.set(replyTo, sink);
  }

  /** @internal Stops listening at `replyTo`. */
  unlisten(replyTo: string, sink: FrameSink): void {
    if (this.callers.get(replyTo) === sink) this.callers.delete(replyTo);
  }

  /** @internal Sends a notice frame to every subscribed transport (the publisher's too). */
  broadcast(frame: Frame): void {
    for (const sink of this.subscribers) {
      setImmediate(() => {
        sink(frame);
      });
    }
  }

  /** @internal Adds or removes a notice subscriber. */
  subscribe(sink: FrameSink, on: boolean): void {
    if (on) this.subscribers.add(sink);
    else this.subscribers.delete(sink);
  }

  private routeCancel(parcel: Parcel, set: Set<ReplicaEndpoint> | undefined): void {
    if (parcel.id === undefined) return;
    for (const e of set ?? []) {
      if (e.holds(parcel.id)) {
        e.accept(parcel);
        return;
      }
    }
    // Still held for lack of a replica: withdrawing it is the whole cancel.
    const held = this.waiting.get(parcel.node);
    if (held) {
      const rest = held.filter((p) => p.id !== parcel.id);
      if (rest.length > 0) this.waiting.set(parcel.node, rest);
      else this.waiting.delete(parcel.node);
    }
  }
}
