/**
 * The store as every layer sees it: the `Store` interface and its types, and backend-neutral helpers.
 * No backend is imported here; choosing and opening one is the composition root's job (open.ts).
 */
export * from './types.js';
