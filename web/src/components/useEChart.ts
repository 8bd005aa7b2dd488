/** One ECharts instance bound to a div for the component's lifetime: created on mount, resized with
 * the window, disposed on unmount. Each chart module registers the echarts pieces it uses. */
import { useEffect, useRef } from "react";
import * as echarts from "echarts/core";

export function useEChart(renderer: "svg" | "canvas") {
  const element = useRef<HTMLDivElement>(null);
  const chart = useRef<echarts.ECharts | null>(null);

  useEffect(() => {
    if (!element.current) return;
    chart.current = echarts.init(element.current, undefined, { renderer });
    const resize = () => chart.current?.resize();
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      chart.current?.dispose();
      chart.current = null;
    };
  }, [renderer]);

  return { element, chart };
}
