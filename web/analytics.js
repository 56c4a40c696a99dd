// Turning the rows of GET /loop-apps/{id}/analytics (one per day and version) into series for charts.

const DAY_MS = 86_400_000;

/** The days from the first to the last as `YYYY-MM-DD`, with the days in between that have no row. */
function daySpan(first, last, maxDays) {
  const out = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  const start = Math.max(Date.parse(`${first}T00:00:00Z`), end - (maxDays - 1) * DAY_MS);
  for (let t = start; t <= end; t += DAY_MS) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const maxOf = (values) => {
  const known = values.filter((v) => typeof v === 'number');
  return known.length ? Math.max(...known) : null;
};

/**
 * One entry a day (the last `maxDays` days on record, gaps filled), versions combined: counts add up, accuracy is
 * correct / validated. Latency percentiles of several versions cannot be merged exactly; the larger value is an
 * upper bound of the combined percentile, so that is what is shown.
 */
export function byDay(rows, maxDays = 60) {
  if (!rows?.length) return [];
  const days = [...new Set(rows.map((r) => r.day))].sort();
  return daySpan(days[0], days.at(-1), maxDays).map((day) => {
    const same = rows.filter((r) => r.day === day);
    const sum = (key) => same.reduce((n, r) => n + (r[key] ?? 0), 0);
    const validations = sum('validations');
    const correct = sum('correct');
    return {
      day,
      executions: sum('executions'),
      errors: sum('errors'),
      validations,
      correct,
      accuracy: validations ? correct / validations : null,
      savings: sum('estimated_savings'),
      p50: maxOf(same.map((r) => r.latency_ms?.p50)),
      p95: maxOf(same.map((r) => r.latency_ms?.p95)),
      p99: maxOf(same.map((r) => r.latency_ms?.p99)),
      versions: Object.fromEntries(same.map((r) => [r.version, r])),
    };
  });
}

/** The versions that appear in the rows, in version order (v2 before v10). */
export const versionsOf = (rows) =>
  [...new Set((rows ?? []).map((r) => r.version))].sort((a, b) =>
    a.localeCompare(b, undefined, { numeric: true }),
  );
