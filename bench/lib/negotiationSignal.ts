/** The negotiation benchmark's agents' own view: a score in [-1, 1] from the agent's name, with a fixed confidence. */
export function agentSignal(name: string): { value: number; confidence: number } {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 1000;
  return { value: Math.round((h / 500 - 1) * 1000) / 1000, confidence: 0.8 };
}
