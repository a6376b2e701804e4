/**
 * Text cleaning shared by the data sets: crude but predictable, so the same raw text always cleans the same.
 */

/** Turns HTML line breaks (`<br>`, `<br/>`, `<br />`, any case) into spaces. */
export function replaceLineBreakTags(text: string): string {
  return text.replace(/<br\s*\/?>/gi, ' ');
}

/** Collapses every run of whitespace (spaces, tabs, newlines, NBSP…) into one space and trims the ends. */
export function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', pound: '£',
  euro: '€', eacute: 'é', egrave: 'è', agrave: 'à', ccedil: 'ç', uuml: 'ü', ouml: 'ö', auml: 'ä',
};

/** Decodes numeric entities and a common set of named ones; unknown names stay as written. */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
  });
}

/**
 * Strips HTML crudely: drops `<style>`/`<script>` blocks and comments, turns every tag into a space,
 * then decodes entities. Good enough to get readable text out of HTML e-mail.
 */
export function stripHtml(html: string): string {
  const withoutBlocks = html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(style|script)\b[\s\S]*?<\/\1\s*>/gi, ' ');
  return decodeHtmlEntities(withoutBlocks.replace(/<\/?[a-z!][^>]*>/gi, ' '));
}
