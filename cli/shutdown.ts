/**
 * Graceful shutdown of long-running commands (workers): the first SIGINT or SIGTERM starts a drain,
 * a second one ends the process at once — the usual contract of a terminal program, so a person
 * pressing Ctrl-C twice is never stuck behind a slow node call.
 *
 * @module
 */
import { EXIT } from "./cliError.js";

/**
 * Resolves with the first SIGINT or SIGTERM. From then on, another one writes a line and exits
 * with code 130 without waiting for the drain.
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      process.removeListener("SIGINT", first);
      process.removeListener("SIGTERM", first);
      const again = (): void => {
        process.stderr.write("second signal: exiting without waiting for the drain\n");
        process.exit(EXIT.interrupted);
      };
      process.once("SIGINT", again);
      process.once("SIGTERM", again);
      resolve(signal);
    };
    process.on("SIGINT", first);
    process.on("SIGTERM", first);
  });
}
