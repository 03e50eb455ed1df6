import { afterAll } from "vitest";
import { transportConformance } from "../../conformance/transportConformance.js";
import { KafkaTestContext } from "./kafkaHarness.js";

const context = new KafkaTestContext();
afterAll(() => context.close(), 60_000);

transportConformance("KafkaTransport", () => Promise.resolve(context.harness()));
