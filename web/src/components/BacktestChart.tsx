/** One device's metric over the backtest window with the rule's threshold line and the periods its
 * condition held shaded. Lazy-loaded (tree-shaken ECharts), like StatusChart. */
import { useEffect } from "react";
import * as echarts from "echarts/core";
import { useEChart } from "./useEChart";
import { LineChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
} from "echarts/components";
import { SVGRenderer } from "echarts/renderers";
import type { BacktestSeries } from "../api/rules";

echarts.use([LineChart, GridComponent, LegendComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, SVGRenderer]);

export interface BacktestChartProps {
  deviceId: string;
  series: BacktestSeries;
  thresholds: { metric: string; operator: string; threshold: number }[];
  firing: [number, number][];
  description: string;
}

const COLORS = ["#1c7ed6", "#7048e8", "#0b7285", "#5c940d"];

export default function BacktestChart({ deviceId, series, thresholds, firing, description }: BacktestChartProps) {
  const { element, chart } = useEChart("svg");

  useEffect(() => {
    const metrics = Object.keys(series.series);
    chart.current?.setOption(
      {
        animation: false,
        aria: { enabled: true },
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 48, right: 24, top: 24, bottom: 48 },
        xAxis: { type: "time" },
        yAxis: { type: "value", scale: true },
        series: metrics.map((metric, i) => {
          const values = series.series[metric]?.avg ?? [];
          // a few points in a long window: draw them as dots, or they vanish (lines need two neighbours)
          const sparse = values.filter((v) => v !== null && v !== undefined).length < 60;
          const lines = thresholds.filter((t) => t.metric === metric);
          return {
            name: `${metric} (avg)`,
            type: "line",
            showSymbol: sparse,
            symbolSize: 5,
            connectNulls: false,
            itemStyle: { color: COLORS[i % COLORS.length] },
            data: series.timestamps.map((ts, j) => [ts, values[j] ?? null]),
            markLine: {
              silent: true,
              symbol: "none",
              lineStyle: { color: "#c92a2a", type: "dashed" },
              label: { position: "insideEndTop", formatter: (p: { value: number }) => `threshold ${p.value}` },
              data: lines.map((t) => ({ yAxis: t.threshold })),
            },
            markArea:
              i === 0
                ? {
                    silent: true,
                    itemStyle: { color: "rgba(224, 49, 49, 0.15)" },
                    // at least one bucket wide, so a period of one sample is still seen
                    data: firing.map(([from, to]) => [
                      { xAxis: from },
                      { xAxis: Math.max(to, from + series.bucket_seconds * 1000) },
                    ]),
                  }
                : undefined,
          };
        }),
      },
      true,
    );
  }, [series, thresholds, firing]);

  return (
    <div
      ref={element}
      style={{ height: 260, width: "100%" }}
      role="img"
      aria-label={`${deviceId}: ${description}`}
    />
  );
}
