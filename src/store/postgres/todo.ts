/** Placeholder of parts being written (removed when every part exists). */
export function notYet<T extends object>(what: string): T {
  return new Proxy({} as T, {
    get: (_t, prop) => () => Promise.reject(new Error(`postgres ${what}.${String(prop)}: not implemented yet`)),
  });
}
