/**
 * Loads the graph module a worker serves: a file path (relative to the working directory) whose
 * module exports the graph builder as `builder` (or as its default export, or under a chosen name),
 * the same module the graph's runner imports. Every way this can go wrong is a {@link CliError}
 * saying which: no such file, the module threw while loading, no such export, or an export that is
 * not a graph builder.
 *
 * @module
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { CliError, EXIT } from "./cliError.js";

/** A graph builder as far as serving is concerned: named nodes. */
export interface LoadedBuilder {
  nodes: Record<string, unknown>;
}

/** A loaded graph module. */
export interface GraphModule {
  /** The absolute path loaded. */
  file: string;
  /** The export used (`"builder"`, `"default"` or the requested name). */
  exportName: string;
  /** The builder. */
  builder: LoadedBuilder;
  /** Its node names (LangGraph's internal `__start__`/`__end__` left out). */
  nodes: string[];
}

const TYPESCRIPT = /\.(c|m)?tsx?$/;

/**
 * Imports `specifier` (a path) and finds its builder: `exportName` when given, else `builder`,
 * else the default export.
 *
 * @throws CliError (exit code 2) for a missing file, a module that fails to load, a missing export
 *   or an export that is not a graph builder.
 */
export async function loadGraphModule(specifier: string, exportName?: string): Promise<GraphModule> {
  const file = path.resolve(specifier);
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new CliError(`unknown module: ${specifier} (no such file: ${file})`, {
      hint: "pass the path of the graph module that exports the builder, e.g. examples/signal-fusion/graph.ts",
      exitCode: EXIT.usage,
    });
  }
  const mod = await importFile(file, specifier);
  const candidates = exportName === undefined ? ["builder", "default"] : [exportName];
  const found = candidates.find((name) => mod[name] !== undefined);
  const available = Object.keys(mod).filter((k) => k !== "__esModule");
  if (found === undefined) {
    throw new CliError(`module ${specifier} has no export ${candidates.map((c) => `"${c}"`).join(" or ")}`, {
      hint: `export the graph builder as \`export const builder = new StateGraph(…)\`${exportName === undefined ? " (or pass --export <name>)" : ""}; its exports: ${available.join(", ") || "(none)"}`,
      exitCode: EXIT.usage,
    });
  }
  const builder = mod[found];
  if (!isBuilder(builder)) {
    throw new CliError(`export "${found}" of ${specifier} is not a graph builder (it is ${describe(builder)})`, {
      hint: "export the StateGraph builder itself (before .compile()): the fabric serves nodes of builders",
      exitCode: EXIT.usage,
    });
  }
  return { file, exportName: found, builder, nodes: Object.keys(builder.nodes).filter((n) => !n.startsWith("__")) };
}

async function importFile(file: string, specifier: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    if (TYPESCRIPT.test(file) && errorCode(e) === "ERR_UNKNOWN_FILE_EXTENSION") return importWithTsx(url, specifier);
    throw loadError(e, specifier);
  }
}

/**
 * A built CLI runs on plain Node, which cannot load TypeScript: load the module through tsx's
 * `tsImport` when the project has tsx (a second plain `import()` of the same URL would only repeat
 * the cached failure).
 */
async function importWithTsx(url: string, specifier: string): Promise<Record<string, unknown>> {
  const name = "tsx/esm/api"; // a variable, so that bundlers leave this optional dependency alone
  let tsImport: ((specifier: string, parentURL: string) => Promise<unknown>) | undefined;
  try {
    tsImport = ((await import(name)) as { tsImport?: typeof tsImport }).tsImport;
  } catch {
    tsImport = undefined;
  }
  if (typeof tsImport !== "function") {
    throw new CliError(`cannot load ${specifier}: Node cannot run TypeScript by itself`, {
      hint: "install tsx (npm i -D tsx) or run the CLI as `node --import tsx …`, or point it at the compiled .js module",
      exitCode: EXIT.usage,
    });
  }
  try {
    return (await tsImport(url, pathToFileURL(`${process.cwd()}${path.sep}`).href)) as Record<string, unknown>;
  } catch (e) {
    throw loadError(e, specifier);
  }
}

function loadError(e: unknown, specifier: string): CliError {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new CliError(`module ${specifier} failed to load: ${message}`, {
    hint: "fix the error above; the worker imports the module exactly as the graph's runner does",
    exitCode: EXIT.usage,
    cause: e,
  });
}

function isBuilder(value: unknown): value is LoadedBuilder {
  if (typeof value !== "object" || value === null) return false;
  const { nodes, invoke } = value as { nodes?: unknown; invoke?: unknown };
  // A compiled graph has nodes too, but wrapped for execution; only the builder's can be served.
  return typeof nodes === "object" && nodes !== null && typeof invoke !== "function";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "function") return "a function";
  if (typeof value !== "object") return `a ${typeof value}`;
  if (typeof (value as { invoke?: unknown }).invoke === "function") return "a compiled graph or a runnable";
  return "an object without nodes";
}

function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}
