/**
 * Cuts `text` to `max` characters keeping its head and its tail: a stack trace's first lines say
 * what failed and its last lines where it started; a list of findings is most severe first.
 */
export function cutMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = (n: number) => `\n[… ${n} characters cut …]\n`;
  const room = Math.max(0, max - marker(text.length).length);
  const head = Math.ceil(room / 2);
  const tail = room - head;
  return `${text.slice(0, head)}${marker(text.length - head - tail)}${tail > 0 ? text.slice(-tail) : ''}`;
}
