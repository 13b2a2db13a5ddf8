/** One time series drawn by uPlot (canvas), sized to its container and redrawn on resize. */
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  title: string;
  /** seconds since the epoch */
  x: number[];
  y: (number | null)[];
  unit?: string;
  color?: string;
  format?: (value: number) => string;
}

export function Chart({ title, x, y, unit = '', color = '#2f6fde', format }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const fmt = format ?? ((v: number) => `${Math.round(v * 100) / 100}${unit}`);
    const plot = new uPlot(
      {
        width: Math.max(el.clientWidth, 200),
        height: 180,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: '#6b7280', grid: { stroke: '#eef0f3' } },
          {
            stroke: '#6b7280',
            grid: { stroke: '#eef0f3' },
            size: 56,
            values: (_u, values) => values.map((v) => fmt(v)),
          },
        ],
        series: [{}, { label: title, stroke: color, width: 2, fill: `${color}22`, spanGaps: false }],
      },
      [x, y],
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(el.clientWidth, 200), height: 180 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [title, x, y, unit, color, format]);
  return <div ref={box} className="chart" role="img" aria-label={`${title} chart`} />;
}
