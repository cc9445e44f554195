/**
 * A generated corpus for the ingest scenario: documents of about `targetBytes` of varied
 * prose, markdown or plain text, the same for the same seed. Each document draws its
 * sentences from one of a few domains, names its own parties, places and figures, and
 * carries a code word of its own, so the chunks differ as real documents do.
 */
import { seeded } from '../test/helpers/random.js';


const DOMAINS = {
  lease: {
    nouns: ['lease', 'landlord', 'tenant', 'deposit', 'premises', 'rent review', 'break clause', 'service charge', 'dilapidations', 'covenant', 'guarantor', 'fit-out'],
    verbs: ['renegotiate', 'terminate', 'extend', 'assign', 'sublet', 'dispute', 'inspect', 'index'],
  },
  bakery: {
    nouns: ['oven', 'flour price', 'sourdough starter', 'wholesale order', 'delivery van', 'proofing room', 'night shift', 'supplier', 'margin', 'croissant line', 'mixer', 'cold store'],
    verbs: ['replace', 'reprice', 'schedule', 'outsource', 'audit', 'expand', 'consolidate', 'insure'],
  },
  software: {
    nouns: ['migration', 'database cluster', 'release train', 'incident', 'on-call rota', 'latency budget', 'feature flag', 'dependency', 'backlog', 'load balancer', 'schema change', 'runbook'],
    verbs: ['roll back', 'deploy', 'benchmark', 'deprecate', 'refactor', 'monitor', 'shard', 'document'],
  },
  clinic: {
    nouns: ['referral', 'waiting list', 'consent form', 'triage nurse', 'locum', 'prescription audit', 'appointment system', 'care pathway', 'clinical governance', 'patient survey', 'rota gap', 'formulary'],
    verbs: ['review', 'escalate', 'standardise', 'pilot', 'reallocate', 'train', 'benchmark', 'retire'],
  },
  construction: {
    nouns: ['foundation', 'scaffold', 'planning consent', 'subcontractor', 'retention', 'snagging list', 'steel frame', 'variation order', 'site survey', 'drainage', 'crane hire', 'handover'],
    verbs: ['tender', 'resurvey', 'underpin', 'defer', 'reprogramme', 'certify', 'rebid', 'value-engineer'],
  },
  finance: {
    nouns: ['cash flow', 'covenant test', 'overdraft', 'invoice run', 'audit trail', 'forecast', 'hedge', 'working capital', 'credit line', 'write-down', 'budget variance', 'reconciliation'],
    verbs: ['refinance', 'restate', 'hedge', 'accrue', 'defer', 'reforecast', 'consolidate', 'settle'],
  },
} as const;

const PEOPLE = ['Amara', 'Bogdan', 'Chiara', 'Dmitri', 'Esther', 'Farid', 'Greta', 'Hiroshi', 'Ines', 'Jonas', 'Kwame', 'Lucia', 'Mateo', 'Nadia', 'Oskar', 'Priya', 'Quentin', 'Rosa', 'Soren', 'Tamsin'];
const PLACES = ['Leeds', 'Porto', 'Gdansk', 'Lyon', 'Bilbao', 'Tampere', 'Utrecht', 'Graz', 'Cork', 'Brno', 'Turin', 'Malmo'];
const LINKS = ['because', 'although', 'unless', 'so that', 'while', 'even though', 'provided that', 'after'];
const JUDGEMENTS = ['is the main risk', 'looks affordable', 'needs a decision by Friday', 'was underestimated', 'has no owner yet', 'is on track', 'contradicts the earlier estimate', 'depends on the supplier'];
const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tu', 'vos', 'zel', 'qua', 'dri', 'bex', 'nor', 'sil'];

export interface CorpusDocument {
  title: string;
  contentType: 'text/markdown' | 'text/plain';
  content: string;
}

/** `count` documents of about `targetBytes` each (±20 %), every other one markdown. */
export function generateCorpus(count: number, seed: number, targetBytes = 50_000): CorpusDocument[] {
  const rand = seeded(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const domains = Object.entries(DOMAINS);
  return Array.from({ length: count }, (_, index) => {
    const [domainName, domain] = domains[Math.floor(rand() * domains.length)]!;
    const code = Array.from({ length: 3 }, () => pick(SYLLABLES)).join('') + String(index);
    const parties = [pick(PEOPLE), pick(PEOPLE), pick(PEOPLE)];
    const place = pick(PLACES);
    const markdown = index % 2 === 0;
    const size = Math.round(targetBytes * (0.8 + rand() * 0.4));
    const sentence = (): string => {
      const noun = pick(domain.nouns);
      const other = pick(domain.nouns);
      const who = pick(parties);
      const figure = `${Math.floor(rand() * 9000) + 100}`;
      switch (Math.floor(rand() * 5)) {
        case 0: return `${who} wants to ${pick(domain.verbs)} the ${noun} ${pick(LINKS)} the ${other} ${pick(JUDGEMENTS)}.`;
        case 1: return `The ${noun} in ${place} costs ${figure} a month, and the ${other} ${pick(JUDGEMENTS)}.`;
        case 2: return `Project ${code} asks whether to ${pick(domain.verbs)} the ${noun} before week ${Math.floor(rand() * 52) + 1}.`;
        case 3: return `We assume the ${noun} holds; ${who} thinks the ${other} ${pick(JUDGEMENTS)}.`;
        default: return `Option ${Math.floor(rand() * 4) + 1}: ${pick(domain.verbs)} the ${noun} and ${pick(domain.verbs)} the ${other} (${figure} in total)?`;
      }
    };
    const paragraph = () => Array.from({ length: 3 + Math.floor(rand() * 5) }, sentence).join(' ');
    const parts: string[] = [];
    let bytes = 0;
    const add = (text: string) => {
      parts.push(text);
      bytes += Buffer.byteLength(text) + 2;
    };
    add(markdown ? `# ${domainName} review ${code}, ${place}` : `${domainName.toUpperCase()} REVIEW ${code} (${place})`);
    for (let section = 1; bytes < size; section++) {
      if (markdown) add(`## ${section}. ${pick(domain.nouns)} and ${pick(domain.nouns)}`);
      else add(`Section ${section}: ${pick(domain.nouns)}`);
      for (let p = 0; p < 3 && bytes < size; p++) add(paragraph());
      if (markdown && rand() < 0.5) add(Array.from({ length: 4 }, () => `- ${sentence()}`).join('\n'));
      if (markdown && rand() < 0.3) {
        const rows = Array.from({ length: 4 }, () => `| ${pick(domain.nouns)} | ${Math.floor(rand() * 90_000)} | ${pick(parties)} |`);
        add(['| item | amount | owner |', '| --- | --- | --- |', ...rows].join('\n'));
      }
    }
    return {
      title: `${domainName} review ${code} (${index + 1} of ${count})${markdown ? '.md' : '.txt'}`,
      contentType: markdown ? 'text/markdown' : 'text/plain',
      content: parts.join('\n\n'),
    };
  });
}
