// compose.yaml cannot be run here (no Docker), so its structure is checked instead: every service
// has a pinned public image, depends_on and healthchecks hold together, the workers get the
// connection, the signing keys (required) and the metrics port that Prometheus scrapes, the
// dashboard listens where it is published, published ports bind loopback, and every file mounted
// from the repository exists.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const root = fileURLToPath(new URL("../../..", import.meta.url));

interface Service {
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number>;
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  deploy?: { replicas?: string | number };
}

// `merge: true`: the file shares settings through YAML merge keys (<<), as Compose reads them.
const compose = parse(readFileSync(`${root}compose.yaml`, "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const service = (name: string): Service => {
  const s = services[name];
  if (s === undefined) throw new Error(`compose.yaml has no service ${name}`);
  return s;
};
const commandOf = (s: Service): string => (Array.isArray(s.command) ? s.command.join(" ") : (s.command ?? ""));

describe("compose.yaml", () => {
  it("has Kafka, Redis, the workers, the dashboard, Prometheus, Grafana and Jaeger, each on a pinned public image", () => {
    expect(Object.keys(services).sort()).toEqual(["dashboard", "grafana", "jaeger", "kafka", "prometheus", "redis", "worker"]);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9][A-Za-z0-9._-]*$/);
      expect(s.image, `${name} pins a version`).not.toMatch(/:latest$/);
    }
  });

  it("depends only on services that exist, and waits for health only where a healthcheck is defined", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
        expect(["service_started", "service_healthy", "service_completed_successfully"]).toContain(condition);
        if (condition === "service_healthy") expect(service(dep).healthcheck?.test.length, `${dep} has a healthcheck`).toBeGreaterThan(0);
      }
      if (s.healthcheck !== undefined) expect(["CMD", "CMD-SHELL"]).toContain(s.healthcheck.test[0]);
    }
    for (const name of ["worker", "dashboard"]) {
      expect(service(name).depends_on).toMatchObject({ kafka: { condition: "service_healthy" }, redis: { condition: "service_healthy" } });
    }
  });

  it("runs Kafka as a single KRaft broker and controller that the workers reach by its advertised name", () => {
    const env = service("kafka").environment ?? {};
    expect(String(env.KAFKA_PROCESS_ROLES).split(",").sort()).toEqual(["broker", "controller"]);
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${env.KAFKA_NODE_ID}@kafka:9093`);
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe("PLAINTEXT://kafka:9092");
    for (const k of [
      "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
      "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
      "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ])
      expect(env[k], k).toBe(1);
    expect(env.KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS).toBe(0);
  });

  it("starts N workers with the CLI, the connection, the signing keys (required) and /metrics on 9464", () => {
    const worker = service("worker");
    expect(commandOf(worker)).toMatch(/langgraph-fabric worker "\$\$GRAPH_MODULE" --nodes "\$\$NODES" .*--metrics-port 9464/);
    expect(worker.environment).toMatchObject({ KAFKA_BROKERS: "kafka:9092", REDIS_URL: "redis://redis:6379" });
    // `${VAR:?message}`: Compose refuses to start without the keys instead of running unsigned.
    expect(worker.environment?.FABRIC_SIGNING_KEYS).toMatch(/^\$\{FABRIC_SIGNING_KEYS:\?.+\}$/);
    expect(worker.environment?.NODES).toMatch(/^\$\{NODES:\?.+\}$/);
    expect(String(worker.deploy?.replicas)).toMatch(/^\$\{WORKERS:-\d+\}$/);
    expect(worker.expose).toContain("9464");
    expect(worker.ports, "workers are reached through Kafka, not published").toBeUndefined();
  });

  it("serves the dashboard on every interface inside its container, published on the host's loopback", () => {
    const dashboard = service("dashboard");
    expect(commandOf(dashboard)).toBe("npx --no-install langgraph-fabric dashboard --host 0.0.0.0 --port 8080");
    expect(dashboard.environment).toMatchObject({ KAFKA_BROKERS: "kafka:9092", REDIS_URL: "redis://redis:6379" });
    expect(dashboard.ports).toEqual(["127.0.0.1:8080:8080"]);
    expect(dashboard.healthcheck?.test.join(" ")).toContain("http://127.0.0.1:8080/healthz");
  });

  it("publishes ports on the host's loopback only", () => {
    for (const [name, s] of Object.entries(services)) for (const p of s.ports ?? []) expect(p, name).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it("has Prometheus scrape every worker replica on the port the workers serve /metrics on", () => {
    const config = parse(readFileSync(`${root}deploy/prometheus.yml`, "utf8")) as {
      scrape_configs: { job_name: string; dns_sd_configs: { names: string[]; type: string; port: number }[] }[];
    };
    const sd = config.scrape_configs.flatMap((c) => c.dns_sd_configs);
    expect(sd).toEqual([expect.objectContaining({ names: ["worker"], type: "A", port: 9464 })]);
    const grafana = parse(readFileSync(`${root}deploy/grafana/provisioning/datasources/prometheus.yml`, "utf8")) as {
      datasources: { type: string; url: string }[];
    };
    expect(grafana.datasources).toEqual([expect.objectContaining({ type: "prometheus", url: "http://prometheus:9090" })]);
    expect(service("worker").environment?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe("http://jaeger:4318");
    expect(service("jaeger").expose).toEqual(expect.arrayContaining(["4317", "4318"]));
  });

  it("mounts only files that exist and volumes that are declared", () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const [from] = v.split(":");
        if (from === undefined) continue;
        if (from.startsWith(".")) expect(existsSync(`${root}${from}`), `${name} mounts ${from}`).toBe(true);
        else expect(Object.keys(compose.volumes), `${name} uses volume ${from}`).toContain(from);
      }
    }
  });
});
