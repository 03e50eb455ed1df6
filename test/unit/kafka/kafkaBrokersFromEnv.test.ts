import { describe, expect, it } from "vitest";
import { kafkaBrokersFromEnv } from "../../../adapters/kafka/kafkaBrokersFromEnv.js";
import { isConfigurationError } from "../../../src/errors.js";

describe("kafkaBrokersFromEnv", () => {
  it("reads a comma-separated list and trims it", () => {
    expect(kafkaBrokersFromEnv({ KAFKA_BROKERS: " 127.0.0.1:9092, kafka-2:9094 ," })).toEqual(["127.0.0.1:9092", "kafka-2:9094"]);
  });
  it("is undefined when unset or blank", () => {
    expect(kafkaBrokersFromEnv({})).toBeUndefined();
    expect(kafkaBrokersFromEnv({ KAFKA_BROKERS: "  " })).toBeUndefined();
  });
  it("rejects entries without a valid port with a ConfigurationError", () => {
    for (const bad of ["localhost", "host:0", "host:70000", ":9092x"]) {
      let caught: unknown;
      try {
        kafkaBrokersFromEnv({ KAFKA_BROKERS: bad });
      } catch (e) {
        caught = e;
      }
      expect(isConfigurationError(caught)).toBe(true);
    }
  });
});
