/** Device status donut. ECharts is tree-shaken (echarts/core + the pieces used) and this module is
 * lazy-loaded, so the chart library is not in the initial bundle. */
import { useEffect } from "react";
import * as echarts from "echarts/core";
import { useEChart } from "./useEChart";
import { PieChart } from "echarts/charts";
import { LegendComponent, TooltipComponent } from "echarts/components";
import { SVGRenderer } from "echarts/renderers";

echarts.use([PieChart, LegendComponent, TooltipComponent, SVGRenderer]);

export interface StatusCounts {
  online: number;
  stale: number;
  offline: number;
}

export default function StatusChart({ counts }: { counts: StatusCounts }) {
  const { element, chart } = useEChart("svg");

  useEffect(() => {
    chart.current?.setOption({
      animation: false,
      aria: { enabled: true },
      tooltip: { trigger: "item" },
      legend: { bottom: 0 },
      series: [
        {
          type: "pie",
          radius: ["45%", "70%"],
          label: { show: false },
          data: [
            { name: "Online", value: counts.online, itemStyle: { color: "#2f9e44" } },
            { name: "Stale", value: counts.stale, itemStyle: { color: "#f08c00" } },
            { name: "Offline", value: counts.offline, itemStyle: { color: "#e03131" } },
          ],
        },
      ],
    });
  }, [counts.online, counts.stale, counts.offline]);

  return (
    <div
      ref={element}
      style={{ height: 220, width: "100%" }}
      role="img"
      aria-label={`Device status: ${counts.online} online, ${counts.stale} stale, ${counts.offline} offline`}
    />
  );
}
