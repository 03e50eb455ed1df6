/**
 * Bridges kafkajs's logging to the fabric {@link Logger}.
 *
 * @module
 */
import { logLevel, type logCreator } from "kafkajs";
import type { Logger } from "../../src/observability/logger.js";

/**
 * kafkajs messages that are routine for this transport: it leaves and joins groups constantly,
 * pauses partitions, and its callers' short-lived groups are expected to rebalance on restart.
 */
const ROUTINE = [/^The group is rebalancing, re-joining/, /^Pausing fetching/, /^Resuming fetching/];

/**
 * kafkajs logs every error response of the broker at ERROR from its connection ("Response
 * CreateTopics …", "Response Heartbeat …") and then throws it to the code that made the request,
 * which handles it (a topic that already exists, a rebalance) or reports it. Logged once, there.
 */
const RESPONSE_ERROR = /^Response \w+\(key: \d+/;

/**
 * A kafkajs `logCreator` writing to `logger`: ERROR → error (broker error responses → debug),
 * WARN → warn (routine ones → debug), INFO and DEBUG → debug, so kafkajs's chatty INFO stays out
 * of the default `warn` output.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      const text = `kafkajs${namespace ? ` ${namespace}` : ""}: ${message}`;
      if (level === logLevel.ERROR && !RESPONSE_ERROR.test(message)) logger.error(text, fields);
      else if (level === logLevel.WARN && !ROUTINE.some((r) => r.test(message))) logger.warn(text, fields);
      else logger.debug(text, fields);
    };
}
