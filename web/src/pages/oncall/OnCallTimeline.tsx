import { Group, Text } from "@mantine/core";
import { useMemo } from "react";
import type { Gap, Timeline } from "../../api/oncall";
import { formatTime, userTimeZone } from "../../components/time";
import { dayTicks, layoutGaps, layoutRows } from "./layout";
import classes from "./Timeline.module.css";

const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });

/** Horizontal bars per responder over the range (the user's zone); overrides striped orange, gaps
 * (nobody on call) hatched red in their own row. Each bar is named for screen readers. */
export function OnCallTimeline({ timeline, gaps, now = Date.now() }: { timeline: Timeline; gaps: Gap[]; now?: number }) {
  const rows = useMemo(() => layoutRows(timeline.slots, timeline.start, timeline.end), [timeline]);
  const gapSpans = useMemo(() => layoutGaps(gaps, timeline.start, timeline.end), [gaps, timeline]);
  const ticks = useMemo(() => dayTicks(timeline.start, timeline.end), [timeline]);
  const rangeStart = new Date(timeline.start).getTime();
  const rangeEnd = new Date(timeline.end).getTime();
  const nowLeft = now > rangeStart && now < rangeEnd ? ((now - rangeStart) / (rangeEnd - rangeStart)) * 100 : null;
  const zone = userTimeZone();

  const gridLines = (
    <>
      {ticks.map((tick) => (
        <span key={tick.left} className={classes.tick} style={{ left: `${tick.left}%` }} aria-hidden />
      ))}
      {nowLeft !== null && <span className={classes.now} style={{ left: `${nowLeft}%` }} aria-hidden />}
    </>
  );

  return (
    <div>
      <div className={classes.chart} role="group" aria-label={`On-call timeline from ${formatTime(timeline.start)} to ${formatTime(timeline.end)}`}>
        <div className={classes.row} aria-hidden>
          <span />
          <div className={classes.axis}>
            {ticks.filter((tick) => tick.left < 96).map((tick) => (
              <span key={tick.left} className={classes.tickLabel} style={{ left: `${tick.left}%` }}>
                {dayLabel.format(tick.date)}
              </span>
            ))}
          </div>
        </div>
        {rows.map((row) => (
          <div key={row.responder} className={classes.row}>
            <span className={classes.name} title={row.responder}>
              {row.responder}
            </span>
            <div className={classes.track}>
              {gridLines}
              {row.bars.map((bar) => {
                const label = `${row.responder} on call${bar.slot.is_override ? " (override)" : ` (${bar.slot.layer_name})`} from ${formatTime(bar.slot.start, zone)} to ${formatTime(bar.slot.end, zone)}`;
                return (
                  <div
                    key={`${bar.slot.start}-${bar.slot.layer_name}`}
                    role="img"
                    aria-label={label}
                    title={label}
                    data-override={bar.slot.is_override || undefined}
                    className={`${classes.bar} ${bar.slot.is_override ? classes.override : ""}`}
                    style={{ left: `${bar.left}%`, width: `${bar.width}%` }}
                  />
                );
              })}
            </div>
          </div>
        ))}
        <div className={classes.row}>
          <span className={classes.name}>Nobody on call</span>
          <div className={classes.track}>
            {gridLines}
            {gapSpans.map((gap) => {
              const label = `Gap: nobody on call from ${formatTime(gap.start, zone)} to ${formatTime(gap.end, zone)}`;
              return (
                <div
                  key={gap.start}
                  role="img"
                  aria-label={label}
                  title={label}
                  className={classes.gap}
                  style={{ left: `${gap.left}%`, width: `${gap.width}%` }}
                />
              );
            })}
          </div>
        </div>
      </div>
      <Group gap="lg" mt="xs">
        <Text size="xs">
          <span className={`${classes.legend} ${classes.bar}`} style={{ position: "static" }} aria-hidden />
          Rotation
        </Text>
        <Text size="xs">
          <span className={`${classes.legend} ${classes.override}`} aria-hidden />
          Override
        </Text>
        <Text size="xs">
          <span className={`${classes.legend} ${classes.gap}`} style={{ position: "static" }} aria-hidden />
          Nobody on call {gapSpans.length === 0 ? "(no gaps in this range)" : `(${gapSpans.length} gap${gapSpans.length === 1 ? "" : "s"})`}
        </Text>
        <Text size="xs">
          <span className={classes.legend} style={{ borderLeft: "2px solid var(--mantine-color-dark-6)" }} aria-hidden />
          Now
        </Text>
      </Group>
    </div>
  );
}
