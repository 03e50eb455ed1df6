/**
 * `negotiationNode(options)`: a LangGraph node that runs a negotiation among participants and
 * writes the outcome to the graph state.
 *
 * Durability: the session id is derived from the node call's idempotency key — (thread_id,
 * checkpoint_ns, task id) — which LangGraph keeps across retries and resumes of one task. A re-run
 * of the same task (a retry, a resume after `interrupt()`, a replacement process after a crash)
 * therefore finds its session in the store and resumes it — answers already recorded are kept,
 * only missing participants are asked, the original deadline holds — instead of negotiating again.
 * That survives a process crash when the store does (pass a `RedisStateStore`); the embedded
 * default keeps sessions in this process's memory.
 *
 * Three ways to reach the participants:
 *
 * - `coordinator`: a shared {@link NegotiationCoordinator} (its store and channel);
 * - `channel` (+ `store`): participants served through that channel (local handlers, or replicas
 *   through a remote adapter);
 * - neither: the embedded default — each participant answers with its own signal from the state
 *   (`signals`), so the node fuses the agents' signals with conflict detection in one round.
 *
 * In a graph compiled from `fabric.distribute(builder, …)`, the fabric binds the node: sessions
 * go to the fabric's state store (so, distributed, they are in Redis and survive the runner's
 * crash) unless the node was given a `store` or `coordinator`, and with `remote: true` the
 * participants are asked where they are served (`fabric.serveParticipants`, in any process).
 *
 * @module
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import { ConfigurationError, NoProposalError } from "../errors.js";
import { getIdempotencyKey } from "../nodes/idempotencyKey.js";
import type { Logger } from "../observability/logger.js";
import { InMemoryStateStore } from "../state/InMemoryStateStore.js";
import type { StateStore } from "../state/StateStore.js";
import type { Contribution, FusionStrategy } from "./strategies/FusionStrategy.js";
import { LocalParticipants } from "./LocalParticipants.js";
import { NegotiationCoordinator } from "./NegotiationCoordinator.js";
import { signalSchema, type JsonValue, type NegotiationOutcome, type Signal } from "./NegotiationSession.js";
import type { NegotiationTypeHandler } from "./NegotiationType.js";
import type { ParticipantChannel } from "./ParticipantChannel.js";

/** Options of {@link negotiationNode}. `S` is the graph state, `U` the update the node returns. */
export interface NegotiationNodeOptions<S, U> {
  /** Who negotiates: fixed names, or read from the state. */
  participants: readonly string[] | ((state: S) => readonly string[]);
  /** How answers are fused. */
  strategy: FusionStrategy;
  /** Negotiation type under which the node registers its strategy and hooks. Default `"negotiation:<node name>"`. */
  type?: string;
  /** Hooks of the type besides the strategy (`toContribution`, `converged`, `nextProposal`, `fuseOptions`). */
  hooks?: Omit<NegotiationTypeHandler, "strategy">;
  /** What it is about. Default: the node's name. */
  topic?: (state: S) => string;
  /** The opening proposal. Default: the strategy's fusion of the participants' `signals`. */
  proposal?: (state: S) => Signal;
  /** Each participant's signal, by name. Default: `state.signals` when it is an object. */
  signals?: (state: S) => Readonly<Record<string, Signal>> | undefined;
  /** JSON the participants see with the proposal (prices, the task…). Default `null`. */
  context?: (state: S) => JsonValue;
  /** Weight per participant for the strategy. Default 1 each. */
  weights?: Readonly<Record<string, number>>;
  /** Answers that close a round early. Default: all participants. */
  quorum?: number;
  /** Time from the first run of the task to the deadline, in ms. Default 30 000. */
  deadlineMs?: number;
  /** Most rounds. Default 1. */
  maxRounds?: number;
  /** Fewest answers for the deadline to finalize rather than expire. Default 1. */
  minAnswers?: number;
  /** The state update made of the outcome. Default `{ negotiation: outcome }`. */
  output?: (outcome: NegotiationOutcome, state: S) => U | Promise<U>;
  /** The coordinator to run sessions on. Not together with `store`/`channel`. */
  coordinator?: NegotiationCoordinator;
  /** Where sessions live when no coordinator is given. Default: a store in this process's memory, private to this node. */
  store?: StateStore;
  /** How participants are asked when no coordinator is given. Default: answers from their signals in the state. */
  channel?: ParticipantChannel;
  /**
   * Ask the participants served with `fabric.serveParticipants` (in any process), who may counter
   * the proposal, instead of answering from their signals in the state. Needs the fabric: compile
   * the graph from `fabric.distribute(…)`. Not together with `channel` or `coordinator`. Default false.
   */
  remote?: boolean;
  /** Initiator name of sessions started without a coordinator. Default `"negotiation-node"`. */
  initiator?: string;
  /** Logger of the coordinator this node creates. */
  logger?: Logger;
}

/** The update {@link negotiationNode} returns by default. */
export interface NegotiationUpdate {
  negotiation: NegotiationOutcome;
}

/** The node function: `(state, config) => update`. */
export type NegotiationNodeFunction<S, U> = (state: S, config?: RunnableConfig) => Promise<U>;

/** What a fabric lends a negotiation node it binds (see {@link bindNegotiationNode}). */
export interface NegotiationNodeFabric {
  /** The fabric's state store: where the bound node keeps its sessions (unless it has its own). */
  readonly state: StateStore;
  /** Participants served with `fabric.serveParticipants`, for `remote: true`. */
  participants(): ParticipantChannel;
  /** The fabric's logger. */
  readonly logger: Logger;
}

const BIND = Symbol.for("langgraph-fabric:bind-negotiation-node");

type Bindable<S, U> = NegotiationNodeFunction<S, U> & { [BIND]?: (fabric: NegotiationNodeFabric) => NegotiationNodeFunction<S, U> };

/**
 * The node function `fn` bound to `fabric` when it was made by {@link negotiationNode}, else
 * `undefined`. `fabric.distribute` binds every negotiation node of the graph it distributes.
 */
export function bindNegotiationNode(fn: unknown, fabric: NegotiationNodeFabric): NegotiationNodeFunction<unknown, unknown> | undefined {
  const bind = typeof fn === "function" ? (fn as Bindable<unknown, unknown>)[BIND] : undefined;
  return bind?.(fabric);
}

const DEFAULT_INITIATOR = "negotiation-node";

/**
 * A LangGraph node running a negotiation; see the module comment.
 *
 * @throws RangeError at construction when `participants` or `strategy` is missing or `coordinator`
 *   comes with `store`/`channel`. Calls throw the negotiation's errors (`NoProposalError`,
 *   `NegotiationCancelledError`, …) and the abort reason of `config.signal`.
 */
export function negotiationNode<S = Record<string, unknown>, U = NegotiationUpdate>(
  options: NegotiationNodeOptions<S, U>,
): NegotiationNodeFunction<S, U> {
  const node: Bindable<S, U> = makeNode(options, undefined);
  node[BIND] = (fabric) => makeNode(options, fabric);
  return node;
}

/** The node function of `options`, bound to `fabric` when given. */
function makeNode<S, U>(options: NegotiationNodeOptions<S, U>, fabric: NegotiationNodeFabric | undefined): NegotiationNodeFunction<S, U> {
  const given: unknown = options.participants;
  if (!Array.isArray(given) && typeof given !== "function")
    throw new RangeError(`participants must be an array of names or a function of the state (got ${typeof given})`);
  if (typeof (options.strategy as Partial<FusionStrategy> | undefined)?.fuse !== "function") {
    throw new RangeError(`strategy must be a FusionStrategy (got ${typeof options.strategy})`);
  }
  if (options.coordinator !== undefined && (options.store !== undefined || options.channel !== undefined)) {
    throw new RangeError("coordinator must not be given together with store or channel (got both): the coordinator has its own");
  }
  if (options.remote !== undefined && typeof options.remote !== "boolean")
    throw new RangeError(`remote must be a boolean (got ${JSON.stringify(options.remote)})`);
  if (options.remote === true && (options.channel !== undefined || options.coordinator !== undefined)) {
    throw new RangeError("remote must not be given together with channel or coordinator (got both): remote asks the fabric's participants");
  }
  const handler: NegotiationTypeHandler = { ...options.hooks, strategy: options.strategy };
  const initiator = options.initiator ?? DEFAULT_INITIATOR;
  let store: StateStore | undefined = options.store ?? (options.coordinator === undefined ? fabric?.state : undefined);
  const channel = options.channel ?? (options.remote === true ? fabric?.participants() : undefined);
  const logger = options.logger ?? fabric?.logger;
  let channelCoordinator: NegotiationCoordinator | undefined;
  const storeOf = (): StateStore => (store ??= new InMemoryStateStore());
  const coordinatorFor = (
    signals: Readonly<Record<string, Signal>> | undefined,
    participants: readonly string[],
  ): NegotiationCoordinator => {
    if (options.coordinator !== undefined) return options.coordinator;
    const coordinatorOptions = { store: storeOf(), initiator, ...(logger ? { logger } : {}) };
    if (channel !== undefined) return (channelCoordinator ??= new NegotiationCoordinator({ ...coordinatorOptions, channel }));
    if (options.remote === true) {
      throw new ConfigurationError("negotiationNode with remote: true runs outside a fabric", {
        hint: "compile the graph from fabric.distribute(builder, { nodes }) so the fabric can lend its participants, or pass a channel",
      });
    }
    // Answers come from this call's state, so each call gets its own (cheap, I/O-free) coordinator.
    return new NegotiationCoordinator({ ...coordinatorOptions, channel: LocalParticipants.fromSignals(signals ?? {}, participants) });
  };

  return async (state: S, config: RunnableConfig = {}): Promise<U> => {
    const node = nodeNameOf(config);
    const type = options.type ?? `negotiation:${node}`;
    const topic = options.topic ? options.topic(state) : node;
    const participants = typeof options.participants === "function" ? options.participants(state) : options.participants;
    const signals = validSignals((options.signals ?? defaultSignals)(state));
    const proposal = options.proposal ? options.proposal(state) : proposalFrom(signals, participants, options, topic);
    const coordinator = coordinatorFor(signals, participants);
    if (coordinator.typeHandler(type) !== handler) coordinator.registerType(type, handler);
    const id = negotiationSessionId(config);
    await coordinator.start({
      id,
      type,
      topic,
      participants,
      proposal,
      ...(options.context ? { context: options.context(state) } : {}),
      ...definedOnly({
        weights: options.weights,
        quorum: options.quorum,
        deadlineMs: options.deadlineMs,
        maxRounds: options.maxRounds,
        minAnswers: options.minAnswers,
      }),
    });
    const outcome = await coordinator.run(id, config.signal);
    return options.output ? options.output(outcome, state) : ({ negotiation: outcome } as U);
  };
}

/**
 * The session id a negotiation node uses for the node call `config` belongs to: stable across
 * retries, resumes and replacement processes of one task, new for every other task.
 */
export function negotiationSessionId(config: RunnableConfig): string {
  return `node-${getIdempotencyKey(config)}`;
}

/** The graph node's name: LangGraph's metadata, else the last `checkpoint_ns` segment before its task id. */
function nodeNameOf(config: RunnableConfig): string {
  const fromMetadata = config.metadata?.langgraph_node;
  if (typeof fromMetadata === "string" && fromMetadata) return fromMetadata;
  const ns = config.configurable?.checkpoint_ns as unknown;
  const last = typeof ns === "string" ? (ns.split("|").pop() ?? "") : "";
  const colon = last.lastIndexOf(":");
  return (colon >= 0 ? last.slice(0, colon) : last) || "negotiation";
}

function defaultSignals(state: unknown): Readonly<Record<string, Signal>> | undefined {
  const signals = (state as { signals?: unknown } | undefined)?.signals;
  return typeof signals === "object" && signals !== null && !Array.isArray(signals) ? (signals as Record<string, Signal>) : undefined;
}

/** Checks every signal up front: a malformed one would otherwise surface as a missing answer at the deadline. */
function validSignals(signals: Readonly<Record<string, Signal>> | undefined): Readonly<Record<string, Signal>> | undefined {
  if (signals === undefined) return undefined;
  for (const [participant, signal] of Object.entries(signals)) {
    const parsed = signalSchema.safeParse(signal);
    if (!parsed.success)
      throw new RangeError(`signals.${participant} must be a signal { value, confidence in [0, 1] } (got ${JSON.stringify(signal)})`);
  }
  return signals;
}

/** The default proposal: the strategy's fusion of the participants' signals. */
function proposalFrom<S, U>(
  signals: Readonly<Record<string, Signal>> | undefined,
  participants: readonly string[],
  options: NegotiationNodeOptions<S, U>,
  topic: string,
): Signal {
  const contributions: Contribution[] = [];
  for (const participant of participants) {
    const signal = signals !== undefined && Object.prototype.hasOwnProperty.call(signals, participant) ? signals[participant] : undefined;
    if (signal === undefined) continue;
    contributions.push({ participant, value: signal.value, confidence: signal.confidence, weight: options.weights?.[participant] ?? 1 });
  }
  if (contributions.length === 0) throw new NoProposalError(topic);
  const fused = options.strategy.fuse(contributions, options.hooks?.fuseOptions);
  if (fused.value === null) throw new NoProposalError(topic);
  return { value: fused.value, confidence: fused.confidence, rationale: "fused from the participants' signals" };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
