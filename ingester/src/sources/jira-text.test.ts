import { describe, expect, it } from 'vitest';
import { jiraDescriptionText, wikiToText } from './jira-text.ts';

const text = (value: string, marks?: unknown[]) => ({ type: 'text', text: value, ...(marks ? { marks } : {}) });
const paragraph = (...content: unknown[]) => ({ type: 'paragraph', content });
const item = (...content: unknown[]) => ({ type: 'listItem', content });

describe('Atlassian Document Format to text', () => {
  it('keeps paragraphs, headings, lists, code, links, mentions and quotes; drops media', () => {
    const doc = {
      type: 'doc',
      version: 1,
      content: [
        { type: 'heading', attrs: { level: 2 }, content: [text('Steps')] },
        {
          type: 'orderedList',
          attrs: { order: 1 },
          content: [
            item(paragraph(text('Open '), text('checkout', [{ type: 'link', attrs: { href: 'https://shop/x' } }]))),
            item(paragraph(text('Pay')), { type: 'bulletList', content: [item(paragraph(text('with a card')))] }),
          ],
        },
        paragraph(
          text('Seen by '),
          { type: 'mention', attrs: { id: 'abc', text: '@Ana' } },
          { type: 'hardBreak' },
          text('twice'),
        ),
        { type: 'codeBlock', attrs: { language: 'java' }, content: [text('NullPointerException at Cart.total')] },
        { type: 'blockquote', content: [paragraph(text('quoted'))] },
        { type: 'mediaSingle', content: [{ type: 'media', attrs: { id: 'm1', type: 'file' } }] },
        { type: 'panel', attrs: { panelType: 'info' }, content: [paragraph(text('in a panel'))] },
      ],
    };
    expect(jiraDescriptionText(doc)).toBe(
      [
        'Steps',
        '1. Open checkout (https://shop/x)\n2. Pay\n   - with a card',
        'Seen by @Ana\ntwice',
        '```java\nNullPointerException at Cart.total\n```',
        '> quoted',
        'in a panel',
      ].join('\n\n'),
    );
  });

  it('renders tables row by row', () => {
    const cell = (value: string) => ({ type: 'tableCell', content: [paragraph(text(value))] });
    const table = { type: 'table', content: [{ type: 'tableRow', content: [cell('a'), cell('b')] }] };
    expect(jiraDescriptionText({ type: 'doc', content: [table] })).toBe('a | b');
  });

  it('gives empty text for a missing or unknown description', () => {
    expect(jiraDescriptionText(null)).toBe('');
    expect(jiraDescriptionText(undefined)).toBe('');
    expect(jiraDescriptionText(42)).toBe('');
  });
});

describe('wiki markup to text', () => {
  it('strips styling and keeps the words, links and code', () => {
    const markup = [
      'h1. Checkout fails',
      '*Steps* to _reproduce_:',
      '# open [the cart|https://shop/cart]',
      '## pay with {{VISA}}',
      '{color:red}Error{color} seen by [~ana]',
      '{code:java}',
      'int total = price * percent;',
      '{code}',
      '!screenshot.png|thumbnail!',
      '||Field||Value||',
      '|price|100|',
    ].join('\n');
    expect(wikiToText(markup)).toBe(
      [
        'Checkout fails',
        'Steps to reproduce:',
        '- open the cart (https://shop/cart)',
        '  - pay with VISA',
        'Error seen by @ana',
        '```java\nint total = price * percent;\n```',
        'Field | Value',
        'price | 100',
      ].join('\n'),
    );
  });

  it('leaves code untouched, whatever markup it looks like', () => {
    expect(wikiToText('{noformat}*not bold* [x|y]{noformat}')).toBe('```\n*not bold* [x|y]\n```');
  });
});
