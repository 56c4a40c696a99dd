// Charts with Chart.js (window.Chart, from /vendor/chart.umd.js). Every chart carries a text alternative, and
// without Chart.js the text is what shows.
import { h } from './dom.js';

export const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4b5563'];

const live = new Set();

/** Destroys the charts whose canvas has left the page (the view they belonged to was replaced). */
export function releaseDetachedCharts() {
  for (const chart of live) {
    if (!chart.canvas?.isConnected) {
      chart.destroy();
      live.delete(chart);
    }
  }
}

function make(canvas, config) {
  const chart = new window.Chart(canvas, config);
  live.add(chart);
  return chart;
}

const available = () => typeof window.Chart === 'function';

/**
 * A small line (or bar) without axes for a table cell. `values` may hold nulls (days without data).
 * `summary` is the text a screen reader gets, and what shows without Chart.js.
 */
export function sparkline(values, { summary, color = PALETTE[0], type = 'line', min, max } = {}) {
  if (!available()) return h('span', { class: 'muted' }, summary);
  const canvas = h('canvas', { width: 120, height: 32, role: 'img', 'aria-label': summary });
  make(canvas, {
    type,
    data: {
      labels: values.map((_, i) => i),
      datasets: [
        {
          data: values,
          borderColor: color,
          backgroundColor: type === 'bar' ? color : 'transparent',
          borderWidth: type === 'bar' ? 0 : 2,
          pointRadius: values.length === 1 ? 2 : 0,
          spanGaps: true,
          tension: 0.3,
          barPercentage: 0.9,
          maxBarThickness: 10,
          categoryPercentage: 1,
        },
      ],
    },
    options: {
      responsive: false,
      animation: false,
      events: [],
      plugins: { legend: { display: false }, tooltip: { enabled: false } },
      scales: { x: { display: false }, y: { display: false, min, max, beginAtZero: type === 'bar' } },
    },
  });
  return h('span', { class: 'sparkline' }, canvas);
}

/**
 * A chart for a panel: `labels` on the x axis, `datasets` as Chart.js takes them, `format` for the y ticks and
 * tooltips (`counts`: whole numbers only). `summary` describes it in words for screen readers.
 */
export function chart({
  type = 'line',
  labels,
  datasets,
  format = String,
  summary,
  min,
  max,
  stacked = false,
  counts = false,
}) {
  if (!available()) return h('p', { class: 'muted' }, summary);
  const canvas = h('canvas', { role: 'img', 'aria-label': summary });
  make(canvas, {
    type,
    data: {
      labels,
      datasets: datasets.map(({ color, ...rest }, i) => ({
        borderColor: color ?? PALETTE[i % PALETTE.length],
        backgroundColor: color ?? PALETTE[i % PALETTE.length],
        borderWidth: 2,
        pointRadius: labels.length > 30 ? 0 : 3,
        spanGaps: true,
        tension: 0.25,
        maxBarThickness: 48,
        ...rest,
      })),
    },
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { display: datasets.length > 1, position: 'bottom', labels: { boxWidth: 12 } },
        tooltip: {
          callbacks: {
            label: (ctx) => `${ctx.dataset.label}: ${ctx.raw === null ? '—' : format(ctx.raw)}`,
          },
        },
      },
      scales: {
        x: { stacked, grid: { display: false } },
        y: {
          stacked,
          min,
          max,
          beginAtZero: true,
          ticks: { callback: (v) => format(v), precision: counts ? 0 : undefined },
        },
      },
    },
  });
  return h('div', { class: 'chart-box' }, canvas);
}
