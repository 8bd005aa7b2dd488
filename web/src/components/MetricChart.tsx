/** One metric of a device over time: the average as a line, min–max as a band. The columnar chart
 * API's arrays go to ECharts as they are. Tree-shaken and lazy-loaded (see StatusChart). */
import { useEffect } from "react";
import * as echarts from "echarts/core";
import { useEChart } from "./useEChart";
import { LineChart } from "echarts/charts";
import { DataZoomComponent, GridComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";
import type { ChartColumns } from "../api/types";

echarts.use([LineChart, GridComponent, TooltipComponent, DataZoomComponent, CanvasRenderer]);

export interface MetricChartProps {
  metric: string;
  timestamps: number[];
  columns: ChartColumns;
  label: string;
}

function zip(timestamps: number[], values: (number | null)[]): [number, number | null][] {
  return timestamps.map((t, i) => [t, values[i] ?? null]);
}

export default function MetricChart({ metric, timestamps, columns, label }: MetricChartProps) {
  const { element, chart } = useEChart("canvas");

  useEffect(() => {
    // the band: min as an invisible base, max−min stacked on it
    const band = columns.max.map((max, i) => {
      const min = columns.min[i];
      return max === null || min === null || min === undefined ? null : max - min;
    });
    // a line needs two neighbouring buckets: with few values, draw each one as a dot too
    const sparse = columns.avg.filter((v) => v !== null).length < 120;
    chart.current?.setOption(
      {
        animation: false,
        aria: { enabled: false }, // described by the wrapper's label
        grid: { left: 48, right: 16, top: 32, bottom: 56 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "time" },
        yAxis: { type: "value", scale: true, name: metric, nameTextStyle: { align: "left" } },
        dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
        series: [
          {
            name: "min",
            type: "line",
            stack: "band",
            symbol: "none",
            lineStyle: { opacity: 0 },
            data: zip(timestamps, columns.min),
          },
          {
            name: "max",
            type: "line",
            stack: "band",
            symbol: "none",
            lineStyle: { opacity: 0 },
            areaStyle: { color: "rgba(34, 139, 230, 0.18)" },
            tooltip: { show: false },
            data: zip(timestamps, band),
          },
          {
            name: "avg",
            type: "line",
            symbol: sparse ? "circle" : "none",
            symbolSize: 5,
            connectNulls: false,
            lineStyle: { width: 2, color: "#1971c2" },
            itemStyle: { color: "#1971c2" },
            data: zip(timestamps, columns.avg),
          },
        ],
      },
      true,
    );
  }, [metric, timestamps, columns]);

  // the label sits on a wrapper: ECharts writes its own aria-label onto the element it draws in
  return (
    <div role="img" aria-label={label}>
      <div ref={element} style={{ height: 280, width: "100%" }} />
    </div>
  );
}
