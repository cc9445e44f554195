/** The passage rule (activities/evidence/passages.ts): what a document's evidence is made of, and what it never is. */
import { describe, expect, it } from 'vitest';
import { informativeness, PASSAGE_MAX_CHARS, pickPassages, scanPassages, skipReason } from '../../activities/evidence/passages.js';
import { documentSentences, splitSentences } from '../../activities/evidence/sentences.js';

const SURVEY = 'The survey of 40 bakeries in Leeds found that rents near the station averaged 3500 pounds a month in 2024.';
const FLOUR = 'Flour prices rose by 12% between March and June, compared with 4% a year earlier.';
const FOOTFALL = 'Dr. Smith, the author, wrote that footfall is 30 percent higher on Saturdays than on weekdays.';
const ENERGY = 'Energy costs for a deck oven are about 1.20 pounds per hour at current tariffs.';
const FILLER = 'They matter to every bakery that plans ahead and buys well.';

const texts = (text: string, max = 10) => pickPassages(text, max).map((p) => p.text);

describe('sentences', () => {
  it('cut at end marks followed by a capital, a digit or a quote; not after abbreviations, initials or inside numbers', () => {
    expect([...splitSentences('Dr. Smith, e.g. the author, wrote it. Then J. Doe said 3.5 is "fine." 40 came! Why? ok')]).toEqual([
      'Dr. Smith, e.g. the author, wrote it.', 'Then J. Doe said 3.5 is "fine."', '40 came!', 'Why? ok',
    ]);
  });

  it('a paragraph is joined across its line breaks (a PDF wraps lines mid-sentence); headings, navigation and tables are dropped', () => {
    const text = '# Market report\nRents and rates\nThe survey of 40 bakeries in Leeds found that rents\nnear the station averaged 3500 pounds.\n\nHome | About | Contact\n| 12 | 34 | 56 |\n- Energy costs are 1.20 pounds per hour.';
    expect([...documentSentences(text)]).toEqual([
      'The survey of 40 bakeries in Leeds found that rents near the station averaged 3500 pounds.',
      'Energy costs are 1.20 pounds per hour.',
    ]);
  });
});

describe('what the rule picks', () => {
  it('claims with numbers, quantities, dates, comparisons, findings and names, the strongest first when capped, in document order', () => {
    const doc = [SURVEY, FILLER, FLOUR, FILLER, FOOTFALL, `- ${ENERGY}`].join('\n\n');
    expect(texts(doc)).toEqual([SURVEY, FLOUR, FOOTFALL, ENERGY]);
    // Capped: the 2 that score highest, still in the order they appear.
    expect(texts(doc, 2)).toEqual([SURVEY, FLOUR]);
    expect(informativeness(FLOUR)).toBeGreaterThan(informativeness(ENERGY));
  });

  it('a comparison with a finding counts without a number; plain narrative does not', () => {
    const finding = 'The inspection found that the older ovens were slower than the new deck ovens.';
    expect(texts(`${finding} ${FILLER} Deck ovens are the subject of this article.`)).toEqual([finding]);
  });

  it('ties go to the earlier passage', () => {
    const a = 'The first bakery sold 120 loaves on the opening morning of the market.';
    const b = 'The second bakery sold 130 loaves on the opening morning of the market.';
    expect(informativeness(a)).toBe(informativeness(b));
    expect(texts(`${a} ${b}`, 1)).toEqual([a]);
  });

  it('is deterministic, and a zero cap picks nothing', () => {
    const doc = [SURVEY, FLOUR, FOOTFALL].join(' ');
    expect(pickPassages(doc, 5)).toEqual(pickPassages(doc, 5));
    expect(pickPassages(doc, 0)).toEqual([]);
  });
});

describe('what the rule skips', () => {
  it.each([
    ['a question', 'What should a new bakery pay for rent near the station in 2024?'],
    ['too short', 'Rent: 3500 pounds.'],
    ['too few words', 'Rent-and-rates-of-2024: 3500-pounds-per-month.'],
    ['mostly not words', '12.5 | 34.1 | 56.2 | 78.9 | 90.0 | 11.1 | 22.2 pounds.'],
    ['boilerplate', 'Copyright 2024 Bakers Weekly, all rights reserved across 12 countries.'],
    ['boilerplate', 'Subscribe to our newsletter for 10 tips every week, delivered to the inbox.'],
  ])('%s: %s', (reason, sentence) => {
    expect(skipReason(sentence)).toBe(reason);
    expect(texts(sentence)).toEqual([]);
  });

  it('too long: a run-on fragment over the bound', () => {
    const runOn = `In 2024 the ${'bakery sold 3 loaves and '.repeat(20)}more.`;
    expect(runOn.length).toBeGreaterThan(PASSAGE_MAX_CHARS);
    expect(skipReason(runOn)).toBe('too long');
    expect(texts(runOn)).toEqual([]);
  });

  it('duplicates (whitespace and case aside) are one passage', () => {
    expect(texts(`${SURVEY}\n\n${SURVEY.toUpperCase()}\n\n${SURVEY.replace(/ /g, '   ')}`)).toEqual([SURVEY]);
  });

  it('instructions to the reader weigh less than the same claim stated', () => {
    expect(informativeness('You can save 20 percent on your first order of ovens this year.')).toBeLessThan(
      informativeness('Buyers saved 20 percent on their first order of ovens this year.'),
    );
  });
});

describe('cost', () => {
  it('pauses every few thousand sentences, and reads a large document in time linear in its size', () => {
    const unit = `${SURVEY} ${FILLER} ${FLOUR}\n\n`;
    const time = (copies: number) => {
      const text = unit.repeat(copies);
      const started = performance.now();
      let pauses = 0;
      const scan = scanPassages(text, 5);
      while (!scan.next().done) pauses++;
      return { ms: performance.now() - started, pauses };
    };
    time(1_000); // warm up
    const small = time(3_000);
    const large = time(12_000);
    expect(large.pauses).toBeGreaterThan(small.pauses * 3);
    // Four times the text: well under the sixteen times a quadratic pass would take.
    expect(large.ms).toBeLessThan(small.ms * 8 + 50);
  });

  it('pathological shapes (no line breaks, no end marks, nothing but end marks) stay linear', () => {
    for (const text of ['a'.repeat(2_000_000), 'word '.repeat(400_000), '. '.repeat(1_000_000), '\n'.repeat(2_000_000), 'Dr. '.repeat(500_000)]) {
      const started = performance.now();
      expect(pickPassages(text, 5)).toEqual([]);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});
