// Small numeric helpers shared by the sections.
import { setTimeout } from 'node:timers';

export function median(values) {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** `1234.5` → `1,235`; fractions below 10 keep `digits` decimals. */
export function formatNumber(value, digits = 2) {
  if (!Number.isFinite(value)) return 'n/a';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(digits);
}

/** Nanoseconds per op as the most readable unit. */
export function formatDuration(ns) {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns >= 1e6) return `${formatNumber(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${formatNumber(ns / 1e3)} µs`;
  return `${Math.round(ns)} ns`;
}

export function formatRatio(value) {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a';
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
