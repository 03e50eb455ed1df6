/**
 * Plain-text tables for terminals: padded columns, a rule under the header, numbers right-aligned.
 * No colours and no box drawing around cells, so the output stays readable when piped to a file
 * or pasted into an issue.
 *
 * @module
 */

/** Alignment of a column. */
export type Align = "left" | "right";

/** A column: its header and alignment (default left). */
export interface Column {
  header: string;
  align?: Align;
}

/**
 * `rows` under `columns`, each line indented by `indent`. Cells are strings; a missing cell is
 * empty. Trailing spaces are trimmed.
 */
export function renderTable(columns: readonly (Column | string)[], rows: readonly (readonly string[])[], indent = ""): string {
  const cols = columns.map((c) => (typeof c === "string" ? { header: c } : c));
  const widths = cols.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    (
      indent +
      cols
        .map((c, i) => {
          const cell = cells[i] ?? "";
          const width = widths[i] ?? 0;
          return c.align === "right" ? cell.padStart(width) : cell.padEnd(width);
        })
        .join("  ")
    ).trimEnd();
  const rule = indent + widths.map((w) => "─".repeat(w)).join("  ");
  return [line(cols.map((c) => c.header)), rule, ...rows.map(line)].join("\n");
}

/** A number with a sign (`+0.42`, `-0.10`, ` 0.00` never: zero gets `+`). */
export function signed(x: number, digits = 2): string {
  return `${x >= 0 ? "+" : ""}${x.toFixed(digits)}`;
}

/** Milliseconds for people: `0.4 ms`, `12 ms`, `1.3 s`. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "–";
  if (x < 10) return `${x.toFixed(1)} ms`;
  if (x < 1_000) return `${Math.round(x)} ms`;
  return `${(x / 1_000).toFixed(1)} s`;
}

/** Bytes for people: `512 B`, `85 MB`. */
export function bytes(x: number): string {
  if (x < 1024) return `${Math.round(x)} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = x / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u] ?? "TB"}`;
}

/** A share in [0, 1] as a percentage: `12%`, `0.5%`. */
export function percent(x: number): string {
  const p = x * 100;
  return `${p > 0 && p < 1 ? p.toFixed(1) : Math.round(p)}%`;
}

/** How long ago `at` (epoch ms) was, relative to `now`: `3 s ago`, `2 min ago`. */
export function ago(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
