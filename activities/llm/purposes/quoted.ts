/** User text reaches a model delimited and numbered, so the prompt can call it data, not instructions. */
export function quoted(messages: string[]): string {
  return messages.map((m, i) => `<message index="${i + 1}">\n${m}\n</message>`).join('\n');
}
