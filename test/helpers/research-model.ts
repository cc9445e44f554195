/**
 * A scripted research model for the fake OpenAI server (test/helpers/fake-openai.ts): answers
 * each research purpose (and the critique's and brief's reports) by its response format's schema name, and counts the calls per
 * purpose at the server, which sees every call (a killed attempt's too). Its findings quote
 * the first words of each source it was shown, so they pass the grounding gate; `inject`
 * adds the findings a prompt-injected page would ask for.
 */
import type { FakeReply } from './fake-openai.js';

export interface ResearchModel {
  calls: Record<string, number>;
  reply(body: any): FakeReply;
}

const SOURCE = /<untrusted-source index="(\d+)"[^>]*>\n([\s\S]*?)\n<\/untrusted-source>/g;

export function researchModel(options: { nextQuery?: string; invent?: boolean } = {}): ResearchModel {
  const calls: Record<string, number> = {};
  const nextQuery = options.nextQuery ?? 'oven leasing costs';
  return {
    calls,
    reply(body: any): FakeReply {
      const name: string = body?.response_format?.json_schema?.name ?? 'text';
      calls[name] = (calls[name] ?? 0) + 1;
      const prompt: string = (body?.messages ?? []).map((m: { content: string }) => m.content).join('\n');
      switch (name) {
        case 'research_plan':
          return { json: { questions: ['What do bakery premises cost near the station?'], queries: ['bakery rents station'] } };
        case 'research_findings': {
          const findings = [...prompt.matchAll(SOURCE)].map(([, index, text]) => ({
            source: Number(index), quote: text!.trim().split(/\s+/).slice(0, 8).join(' '), claim: `Source ${index} says so`, relevance: 0.8,
          }));
          if (options.invent) findings.push({ source: 42, quote: 'a page never retrieved', claim: 'obeyed the page', relevance: 0.99 });
          return { json: { findings } };
        }
        case 'research_evaluation':
          return { json: { novel: [0], goOn: !prompt.includes(nextQuery), nextQueries: [nextQuery] } };
        case 'research_report':
          return { json: { title: 'Bakery costs', markdown: '# Bakery costs\n- Rents are known [1].\n- An invented claim [99].' } };
        case 'critique_report':
          return { json: { title: 'Critique of the case', markdown: '# Critique\n- The rent claim rests on one item [1].\n- An invented claim [99].' } };
        case 'brief_document':
          return { json: { title: 'The bakery brief', markdown: '# Brief\n## Summary\nRents are known [1].\n- An invented claim [99].' } };
        default:
          return { content: 'ok' };
      }
    },
  };
}
