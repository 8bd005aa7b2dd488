import { useEffect, useRef, useState } from "react";
import { Anchor, Box, Group, SegmentedControl, Text, TextInput } from "@mantine/core";
import { Link } from "react-router-dom";
import { useDebouncedValue } from "@mantine/hooks";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useDevices, type DeviceFilter } from "../api/queries";
import type { Device, DeviceStatus } from "../api/types";
import { StatusBadge } from "../components/Badges";
import { Empty, ErrorState, Loading } from "../components/States";
import { TimeText } from "../components/TimeText";
import { PageHeader } from "./PageHeader";
import classes from "./DevicesPage.module.css";

const ROW_HEIGHT = 44;
const STATUS_CHOICES = [
  { value: "", label: "All" },
  { value: "ONLINE", label: "Online" },
  { value: "STALE", label: "Stale" },
  { value: "OFFLINE", label: "Offline" },
];
const COLUMNS = ["Device", "Site", "Type", "Status", "Last seen"];

/** Only the rows in view are in the DOM, so 10,000 devices scroll smoothly. */
export function VirtualDeviceTable({ devices }: { devices: Device[] }) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: devices.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  return (
    <div role="table" aria-label="Devices" aria-rowcount={devices.length + 1} className={classes.table}>
      <div role="rowgroup">
        <div role="row" className={classes.row} aria-rowindex={1}>
          {COLUMNS.map((column) => (
            <div role="columnheader" key={column} className={classes.header}>
              {column}
            </div>
          ))}
        </div>
      </div>
      <div ref={scroller} className={classes.scroller} tabIndex={0} aria-label="Device rows, scrollable" role="rowgroup">
        <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
          {virtualizer.getVirtualItems().map((item) => {
            const device = devices[item.index];
            if (!device) return null;
            return (
              <div
                role="row"
                aria-rowindex={item.index + 2}
                key={device.device_id}
                className={classes.row}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: ROW_HEIGHT, transform: `translateY(${item.start}px)` }}
              >
                <div role="cell" className={classes.cell}>
                  <Anchor
                    component={Link}
                    to={`/devices/${encodeURIComponent(device.device_id)}`}
                    size="sm"
                    fw={500}
                    className={classes.link}
                  >
                    {device.device_id}
                  </Anchor>
                </div>
                <div role="cell" className={classes.cell}>
                  {device.site_id}
                </div>
                <div role="cell" className={classes.cell}>
                  {device.device_type ?? "—"}
                </div>
                <div role="cell" className={classes.cell}>
                  <StatusBadge status={device.status} />
                </div>
                <div role="cell" className={classes.cell}>
                  <TimeText iso={device.last_seen_at} relative />
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}

export function DevicesPage() {
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState<DeviceStatus | "">("");
  const [q] = useDebouncedValue(search, 300);
  const filter: DeviceFilter = { q, status };
  const devices = useDevices(filter);
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((t) => t + 1), 15_000); // keep "… ago" current
    return () => clearInterval(timer);
  }, []);

  return (
    <>
      <PageHeader title="Devices" />
      <Group mb="md" align="flex-end">
        <TextInput
          label="Search"
          placeholder="Device id, model, serial, address"
          value={search}
          onChange={(event) => setSearch(event.currentTarget.value)}
          w={320}
        />
        <Box>
          <Text size="sm" fw={500} mb={2} id="device-status-label">
            Status
          </Text>
          <SegmentedControl
            aria-labelledby="device-status-label"
            data={STATUS_CHOICES}
            value={status}
            onChange={(value) => setStatus(value as DeviceStatus | "")}
          />
        </Box>
      </Group>
      {devices.isPending ? (
        <Loading label="Loading devices…" />
      ) : devices.isError ? (
        <ErrorState error={devices.error} onRetry={() => void devices.refetch()} />
      ) : devices.data.length === 0 ? (
        <Empty title={q || status ? "No device matches" : "No devices yet"}>
          {q || status ? "Change the search or the status filter." : "Provisioned devices are listed here."}
        </Empty>
      ) : (
        <>
          <Text size="sm" c="dimmed" mb="xs" aria-live="polite">
            {devices.data.length.toLocaleString()} device{devices.data.length === 1 ? "" : "s"}
          </Text>
          <VirtualDeviceTable devices={devices.data} />
        </>
      )}
    </>
  );
}
