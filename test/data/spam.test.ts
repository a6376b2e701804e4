import { describe, expect, it, beforeAll } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SPAM_ASSASSIN_GROUPS,
  SpamAssassinError,
  loadSpamAssassin,
  messageBody,
  spamAssassinDataDir,
  type SpamMessage,
} from '../../data/spam.ts';

function raw(text: string): Uint8Array {
  return Buffer.from(text.replace(/\n/g, '\r\n'), 'latin1');
}

describe('messageBody', () => {
  it('drops the headers, folded lines included', () => {
    const message = raw('From: a@b.c\nSubject: hello\n  folded subject\nX-Spam: no\n\nThe body\nhas two lines.\n');
    expect(messageBody(message)).toBe('The body has two lines.');
  });

  it('decodes quoted-printable with its charset and soft line breaks', () => {
    const message = raw(
      'Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n' +
        'caf=C3=A9 na=C3=AFve, a soft=\nbreak =3D equals\n',
    );
    expect(messageBody(message)).toBe('café naïve, a softbreak = equals');
  });

  it('decodes latin-1 bytes by the declared charset', () => {
    const message = Buffer.concat([
      Buffer.from('Content-Type: text/plain; charset=iso-8859-1\n\nna', 'latin1'),
      Uint8Array.of(0xef),
      Buffer.from('ve', 'latin1'),
    ]);
    expect(messageBody(message)).toBe('naïve');
  });

  it('prefers the plain part of multipart/alternative and skips attachments in multipart/mixed', () => {
    const message = raw(
      [
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        'preamble is ignored',
        '--outer',
        'Content-Type: multipart/alternative; boundary=inner',
        '',
        '--inner',
        'Content-Type: text/html',
        '',
        '<p>HTML version</p>',
        '--inner',
        'Content-Type: text/plain',
        '',
        'Plain version',
        '--inner--',
        '--outer',
        'Content-Type: image/gif; name="x.gif"',
        'Content-Transfer-Encoding: base64',
        '',
        'R0lGODlhAQABAIAAAP///wAAACwAAAAAAQABAAACAkQBADs=',
        '--outer',
        'Content-Type: text/plain',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('Second text part').toString('base64'),
        '--outer--',
        'epilogue is ignored',
      ].join('\n'),
    );
    expect(messageBody(message)).toBe('Plain version Second text part');
  });

  it('strips HTML tags, styles and comments and decodes entities', () => {
    const message = raw(
      'Content-Type: text/html\n\n<html><head><style>p { color: red }</style></head>' +
        '<body><!-- hidden --><p>Buy&nbsp;now &amp; save <b>50%</b>!</p><br>Caf&#233;</body></html>',
    );
    expect(messageBody(message)).toBe('Buy now & save 50% ! Café');
  });

  it('drops the headers of a forwarded message pasted as the plain body', () => {
    const message = raw('From: a@b.c\nContent-Type: text/plain\n\nReturn-Path: <x@y.z>\nReceived: from here\n  by there\n\nInner text\n');
    expect(messageBody(message)).toBe('Inner text');
  });

  it('gives an empty body for a message without one', () => {
    expect(messageBody(raw('Subject: nothing\n'))).toBe('');
  });
});

describe('loadSpamAssassin on the stdlib corpus', () => {
  let all: SpamMessage[];
  beforeAll(() => {
    all = loadSpamAssassin();
  });

  it('reads at most one non-empty body per raw message of every group', () => {
    const dir = spamAssassinDataDir();
    for (const group of SPAM_ASSASSIN_GROUPS) {
      const files = readdirSync(join(dir, group)).filter((f) => f.endsWith('.txt')).length;
      const loaded = all.filter((m) => m.group === group).length;
      expect(loaded, group).toBeLessThanOrEqual(files);
      expect(loaded, group).toBeGreaterThan(files * 0.95);
    }
    expect(all.every((m) => m.text.length > 0 && m.text === m.text.trim())).toBe(true);
  });

  it('returns bodies without mail headers', () => {
    const withHeaders = all.filter((m) => /^(Received|Return-Path|Delivered-To|Message-Id): /i.test(m.text));
    expect(withHeaders).toEqual([]);
  });

  it('decodes most HTML spam to text without tags', () => {
    const tagged = all.filter((m) => /<(html|body|table|td|font|div)\b/i.test(m.text));
    expect(tagged.length).toBeLessThan(all.length * 0.01);
  });

  it('filters by group and rejects unknown groups', () => {
    const hard = loadSpamAssassin({ groups: ['hard-ham-1'] });
    expect(hard.length).toBe(all.filter((m) => m.group === 'hard-ham-1').length);
    expect(hard.every((m) => m.group === 'hard-ham-1')).toBe(true);
    expect(() => loadSpamAssassin({ groups: ['ham' as never] })).toThrow(SpamAssassinError);
  });
});
