// When a commitment is due, as the agent reads it: a time of today alone, another day's with its
// date (a 4-hour promise made in the evening is due tomorrow).
import { date, dateTime, time } from "../../format";

export function when(iso: string, at: number): string {
  return date(iso) === date(new Date(at).toISOString()) ? time(iso) : dateTime(iso);
}
