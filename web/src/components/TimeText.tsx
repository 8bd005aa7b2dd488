import { formatAgo, formatTime } from "./time";

/** A time as "3 min ago" with the absolute time (in the user's zone, zone named) beside it for
 * screen readers and on hover. */
export function TimeText({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  const absolute = formatTime(iso);
  if (!relative) return <time dateTime={iso ?? undefined}>{absolute}</time>;
  return (
    <time dateTime={iso ?? undefined} title={absolute}>
      {formatAgo(iso)}
    </time>
  );
}
