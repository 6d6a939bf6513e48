// API answers for the dashboard tests, in the shape the collector's /api/experiments endpoints send.
// Builders take overrides so each test states only what it is about.

export function goalResult(conversions, visitors, extra = {}) {
  return {
    conversions, rate: visitors > 0 ? conversions / visitors : null,
    lift: null, ci: null, p_value: null, chance_to_win: null, risk: null, sequential_ci: null,
    ...extra,
  };
}

/** A two-variant experiment where `b` converts 30 % better on purchase. */
export function resultsFixture({ name = 'Hero headline: free shipping vs season', experiment = 'hero-headline',
  controlVisitors = 1000, treatmentVisitors = 1000, treatmentKey = 'free-shipping', srmAlarm = false } = {}) {
  return {
    experiment, name, status: 'running',
    goals: ['add_to_cart', 'purchase'],
    variants: [
      {
        key: 'control', weight: 0.5, visitors: controlVisitors,
        goals: {
          add_to_cart: goalResult(300, controlVisitors),
          purchase: {
            ...goalResult(100, controlVisitors),
            value: { sum: 4990, per_visitor: 4990 / controlVisitors, lift: null, ci: null, p_value: null, chance_to_win: null },
          },
        },
      },
      {
        key: treatmentKey, weight: 0.5, visitors: treatmentVisitors,
        goals: {
          add_to_cart: goalResult(330, treatmentVisitors, {
            lift: 0.1, ci: [-0.04, 0.25], p_value: 0.18, chance_to_win: 0.91, risk: [0.01, 0.002], sequential_ci: [-0.12, 0.35],
          }),
          purchase: {
            ...goalResult(130, treatmentVisitors, {
              lift: 0.3, ci: [0.012, 0.588], abs_lift: 0.03, abs_ci: [0.001, 0.059], p_value: 0.04, chance_to_win: 0.98, risk: [0.02, 0.0004], sequential_ci: [-0.08, 0.71],
            }),
            value: { sum: 6487, per_visitor: 6487 / treatmentVisitors, lift: 0.3, ci: [0.01, 0.59], p_value: 0.041, chance_to_win: 0.979 },
          },
        },
      },
    ],
    srm: {
      p_value: srmAlarm ? 0.00001 : 0.62, alarm: srmAlarm,
      observed: [controlVisitors, treatmentVisitors], expected_weights: [0.5, 0.5],
    },
    funnel: {
      steps: ['add_to_cart', 'checkout', 'purchase'],
      variants: [
        { key: 'control', counts: [300, 160, 100] },
        { key: treatmentKey, counts: [330, 190, 130] },
      ],
    },
    updated_at: 1764216000000,
  };
}

export function listFixture({ name = 'Hero headline: free shipping vs season', srmAlarm = false } = {}) {
  return {
    experiments: [
      {
        key: 'hero-headline', name, status: 'running', visitors: 2000,
        variants: [{ key: 'control', weight: 0.5, visitors: 1000 }, { key: 'free-shipping', weight: 0.5, visitors: 1000 }],
        leading: 'free-shipping', srm_alarm: false,
      },
      {
        key: 'add-to-cart-button', name: 'Add-to-cart button: bigger, with urgency', status: 'stopped', visitors: 1530,
        variants: [{ key: 'control', weight: 0.5, visitors: 700 }, { key: 'big-urgent', weight: 0.5, visitors: 830 }],
        leading: null, srm_alarm: srmAlarm,
      },
    ],
  };
}

/**
 * GET /api/experiments/:key/results/over-time for `results` (resultsFixture's shape): `days` daily
 * points with visitors growing linearly to the results' totals and the lift narrowing around its final value.
 */
export function overTimeFixture(results, { days = 5 } = {}) {
  const variants = results.variants.map((v) => v.key);
  const goals = results.goals.slice();
  const day = 86_400_000;
  const first = Date.UTC(2025, 10, 20);
  const points = [];
  for (let d = 0; d < days; d++) {
    const share = (d + 1) / days;
    points.push({
      start: first + d * day,
      variants: results.variants.map((variant, i) => ({
        visitors: Math.round(variant.visitors * share),
        new_visitors: Math.round(variant.visitors / days),
        goals: goals.map((goal) => {
          const now = variant.goals[goal] || {};
          const widen = 1 / Math.sqrt(share);
          const lift = i === 0 || typeof now.lift !== 'number' ? null : now.lift;
          return {
            conversions: Math.round((now.conversions || 0) * share), rate: now.rate ?? null, lift,
            ci: lift === null || !Array.isArray(now.ci) ? null
              : [lift - (lift - now.ci[0]) * widen, lift + (now.ci[1] - lift) * widen],
          };
        }),
      })),
    });
  }
  return {
    experiment: results.experiment, granularity: 'daily', bucket_ms: day, variants, goals,
    truncated: false, points, updated_at: results.updated_at,
  };
}
