export * from './users.js';
export * from './cases.js';
export * from './chat.js';
export * from './events.js';
export * from './documents.js';
