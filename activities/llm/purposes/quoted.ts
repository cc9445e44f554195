/** User text reaches a model delimited and numbered, so the prompt can call it data, not instructions. */
export function quoted(messages: string[]): string {
  return messages.map((m, i) => `<message index="${i + 1}">\n${m}\n</message>`).join('\n');
}

export interface QuotedItem {
  text: string;
  /** Our own labels (a signal's type, an item's kind), shown as attributes. */
  attributes?: Record<string, string>;
}

const attributeValue = (value: string) => value.replace(/[<>"&]/g, ' ');

/**
 * Items of one kind (`evidence`, `candidate`, `signal`), numbered from 1 in `<tag>` elements.
 * A closing tag of the same name inside a text is defused (`</tag` → `< /tag`), so a text
 * cannot end its own quote and pose as instructions.
 */
export function quotedItems(tag: string, items: QuotedItem[]): string {
  const closing = new RegExp(`</(${tag})`, 'gi');
  return items
    .map((item, i) => {
      const attributes = Object.entries(item.attributes ?? {}).map(([k, v]) => ` ${k}="${attributeValue(v)}"`).join('');
      return `<${tag} index="${i + 1}"${attributes}>\n${item.text.replace(closing, '< /$1')}\n</${tag}>`;
    })
    .join('\n');
}
