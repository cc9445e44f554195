export * from './users.js';
export * from './cases.js';
export * from './chat.js';
export * from './events.js';
export * from './documents.js';
export * from './evidence.js';
export * from './briefs.js';
export * from './agents.js';
