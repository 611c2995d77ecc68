import type { AuthEventMap } from './types.js';

type Listener = (detail: never) => void;

export interface Events {
  emit<E extends keyof AuthEventMap>(this: void, event: E, detail: AuthEventMap[E]): void;
  on<E extends keyof AuthEventMap>(this: void, event: E, listener: (detail: AuthEventMap[E]) => void): () => void;
}

/** The client's event listeners. A listener that throws is reported, and the others still run. */
export function createEvents(): Events {
  const listeners = new Map<keyof AuthEventMap, Set<Listener>>();
  return {
    emit(event, detail) {
      for (const listener of listeners.get(event) ?? []) {
        try {
          listener(detail as never);
        } catch (error) {
          reportError(error);
        }
      }
    },
    on(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => void set.delete(listener);
    },
  };
}
