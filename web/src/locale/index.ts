// The page's language. One import site: switch the import below for another locale file.
import { ru } from "./ru";

type Widen<T> = T extends string
  ? string
  : T extends (...args: infer A) => string
    ? (...args: A) => string
    : T extends readonly (infer E)[]
      ? Widen<E>[]
      : { [K in keyof T]: Widen<T[K]> };

// The shape every locale file has (derived from the Russian one, the reference).
export type Strings = Widen<typeof ru>;

export const t: Strings = ru;

/** The label of a code from one of the locale's tables, else the server's label, else the code. */
export function label(table: Record<string, string>, code: string, fallback?: string | null): string {
  return table[code] ?? fallback ?? code;
}
