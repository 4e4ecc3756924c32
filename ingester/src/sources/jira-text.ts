/**
 * Jira descriptions as plain text for the agent: REST v3 sends Atlassian Document Format (a JSON
 * tree), v2 and Data Center send wiki markup. Only what carries meaning is kept; styling is dropped.
 */
export function jiraDescriptionText(description: unknown): string {
  if (typeof description === 'string') return wikiToText(description);
  if (isNode(description)) return adfToText(description);
  return '';
}

interface AdfNode {
  type: string;
  text?: string;
  attrs?: Record<string, unknown>;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
  content?: unknown[];
}

function isNode(value: unknown): value is AdfNode {
  return typeof value === 'object' && value !== null && typeof (value as AdfNode).type === 'string';
}

function children(node: AdfNode): AdfNode[] {
  return Array.isArray(node.content) ? node.content.filter(isNode) : [];
}

function attr(node: AdfNode, name: string): string {
  const value = node.attrs?.[name];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

export function adfToText(doc: AdfNode): string {
  return blocks(children(doc)).trim();
}

function blocks(nodes: AdfNode[]): string {
  return nodes
    .map(block)
    .filter((text) => text !== '')
    .join('\n\n');
}

function block(node: AdfNode): string {
  switch (node.type) {
    case 'paragraph':
    case 'heading':
      return inline(children(node));
    case 'bulletList':
    case 'orderedList':
      return list(node);
    case 'codeBlock': {
      const language = attr(node, 'language');
      return `\`\`\`${language}\n${inline(children(node))}\n\`\`\``;
    }
    case 'blockquote':
      return prefixLines(blocks(children(node)), '> ');
    case 'rule':
      return '---';
    case 'table':
      return children(node)
        .map((row) =>
          children(row)
            .map((cell) => blocks(children(cell)).replace(/\n+/g, ' '))
            .join(' | '),
        )
        .join('\n');
    case 'mediaSingle':
    case 'mediaGroup':
    case 'media':
      return '';
    default:
      // panel, expand, layouts and whatever Atlassian adds next: their text still matters.
      return node.content ? blocks(children(node)) : inline([node]);
  }
}

function list(node: AdfNode): string {
  const ordered = node.type === 'orderedList';
  const start = Number(node.attrs?.order ?? 1);
  return children(node)
    .map((item, index) => {
      const marker = ordered ? `${start + index}. ` : '- ';
      const body = children(item).map(block).filter(Boolean).join('\n');
      return marker + body.replace(/\n/g, `\n${' '.repeat(marker.length)}`);
    })
    .join('\n');
}

function inline(nodes: AdfNode[]): string {
  return nodes.map(inlineText).join('');
}

function inlineText(node: AdfNode): string {
  switch (node.type) {
    case 'text': {
      const text = node.text ?? '';
      const href = node.marks?.find((mark) => mark.type === 'link')?.attrs?.href;
      return typeof href === 'string' && href !== text ? `${text} (${href})` : text;
    }
    case 'hardBreak':
      return '\n';
    case 'mention':
      return attr(node, 'text') || `@${attr(node, 'id')}`;
    case 'emoji':
      return attr(node, 'text') || attr(node, 'shortName');
    case 'inlineCard':
    case 'blockCard':
    case 'embedCard':
      return attr(node, 'url');
    case 'status':
      return `[${attr(node, 'text')}]`;
    case 'date': {
      const ms = Number(attr(node, 'timestamp'));
      return Number.isFinite(ms) ? new Date(ms).toISOString().slice(0, 10) : '';
    }
    default:
      return inline(children(node));
  }
}

function prefixLines(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

const CODE_BLOCK = /\{(code|noformat)(?::([^}]*))?\}([\s\S]*?)\{\1\}/g;

/** Jira wiki markup to text. Code and noformat blocks are kept verbatim (as fences). */
export function wikiToText(markup: string): string {
  const parts: string[] = [];
  let last = 0;
  for (const match of markup.matchAll(CODE_BLOCK)) {
    parts.push(wikiProse(markup.slice(last, match.index)));
    const language = match[1] === 'code' ? (match[2]?.split('|')[0] ?? '') : '';
    parts.push(`\`\`\`${language.includes('=') ? '' : language}\n${(match[3] ?? '').replace(/^\n|\n$/g, '')}\n\`\`\``);
    last = match.index + match[0].length;
  }
  parts.push(wikiProse(markup.slice(last)));
  return parts
    .join('')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

function wikiProse(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .replace(/^h[1-6]\.\s+/gm, '')
    .replace(/^bq\.\s+/gm, '> ')
    .replace(/^[*#-]+[ \t]+/gm, (marker) => `${'  '.repeat(marker.trim().length - 1)}- `)
    .replace(/^\|\|(.*)\|\|\s*$/gm, (_, cells: string) => cells.split('||').join(' | '))
    .replace(/^\|(.*)\|\s*$/gm, (_, cells: string) => cells.split('|').join(' | '))
    .replace(/\{(?:color|quote|panel)(?::[^}]*)?\}/g, '')
    .replace(/\[~([^\]]+)\]/g, '@$1')
    .replace(/\[([^|\]]+)\|([^\]]+)\]/g, '$1 ($2)')
    .replace(/\[((?:https?|mailto):[^\]]+)\]/g, '$1')
    .replace(/^[ \t]*![^!\s|]+(?:\|[^!]*)?![ \t]*(?:\n|$)/gm, '')
    .replace(/![^!\s|]+(?:\|[^!]*)?!/g, '')
    .replace(/\{\{([^}]*)\}\}/g, '$1')
    .replace(/(^|[\s(])([*_+\-^~])(\S(?:[^\n]*?\S)?)\2(?=$|[\s).,:;!?])/gm, '$1$3');
}
