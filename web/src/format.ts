// How the operators' screens write numbers and times: money `36 201,67`, dates `22.10.2025`,
// times `17:23`. Money is formatted from the server's decimal string, never through a float.

const NBSP = "\u00a0"; // a space that does not break a sum across lines

/** "36201.67" -> "36 201,67"; "-5" -> "−5,00"; keeps every digit the server sent. */
export function money(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const text = String(value).trim();
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = ""] = match;
  const kopecks = (fraction + "00").slice(0, Math.max(2, fraction.length));
  const grouped = whole.replace(/^0+(?=\d)/, "").replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  return `${sign === "-" ? "\u2212" : ""}${grouped},${kopecks}`;
}

/** A reading or volume: "12345.6" -> "12 345,6" (no forced decimals). */
export function decimal(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(String(value).trim());
  if (!match) return String(value);
  const [, sign, whole, fraction] = match;
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, NBSP);
  return `${sign === "-" ? "\u2212" : ""}${grouped}${fraction ? "," + fraction : ""}`;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "2025-10-22" or an ISO timestamp -> "22.10.2025" (a bare date is not shifted by time zone). */
export function date(value: string | null | undefined): string {
  if (!value) return "";
  const bare = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (bare) return `${bare[3]}.${bare[2]}.${bare[1]}`;
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return `${pad(d.getDate())}.${pad(d.getMonth() + 1)}.${d.getFullYear()}`;
}

/** An ISO timestamp -> "17:23" in the browser's time zone. */
export function time(value: string | null | undefined, withSeconds = false): string {
  if (!value) return "";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return withSeconds ? `${hm}:${pad(d.getSeconds())}` : hm;
}

/** "22.10.2025 17:23" */
export function dateTime(value: string | null | undefined): string {
  return value ? `${date(value)} ${time(value)}` : "";
}

/** "2025-10-01" -> "10.2025" (a billing period). */
export function period(value: string | null | undefined): string {
  const m = value ? /^(\d{4})-(\d{2})/.exec(value) : null;
  return m ? `${m[2]}.${m[1]}` : value ?? "";
}

/** Seconds -> "4:05" or "1:02:03"; negative counts as zero. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = pad(s % 60);
  return h > 0 ? `${h}:${pad(m)}:${rest}` : `${m}:${rest}`;
}

/** "+79121234567" -> "+7 912 123-45-67" (other numbers as they are). */
export function phone(e164: string | null | undefined): string {
  if (!e164) return "";
  const m = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(e164);
  return m ? `+7 ${m[1]} ${m[2]}-${m[3]}-${m[4]}` : e164;
}

/** A share 0..1 -> "87,5 %" (one decimal, none when it is ,0); null -> "". */
export function percent(share: number | null | undefined): string {
  if (share === null || share === undefined || Number.isNaN(share)) return "";
  const text = (Math.round(share * 1000) / 10).toFixed(1).replace(/\.0$/, "").replace(".", ",");
  return `${text}${NBSP}%`;
}

/** 5 -> "5", 2.5 -> "2,5" (a decimal comma, at most `digits` decimals). */
export function plainNumber(value: number, digits = 1): string {
  const factor = 10 ** digits;
  return String(Math.round(value * factor) / factor).replace(".", ",");
}
