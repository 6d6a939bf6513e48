//! An experiment's results over time: at the end of each hour or day, the cumulative results as
//! they stood then (relative lift and its 95 % interval per goal and variant), and the visitors
//! first exposed in each bucket. This is what shows whether a test has settled.
//!
//! Computed from the stored events (each exposed visitor's first exposure and goals, by the one
//! attribution rule of `store::contribution`) and turned into statistics by the same code as the
//! current results (`results::experiment_results`), so the last point is the current results.
//! Cost: one pass over the experiment's visitors and their goals, then `MAX_POINTS` at most.

use std::collections::HashMap;

use serde::Serialize;
use splitbeam_core::config::Experiment;

use crate::results;
use crate::store::{ExperimentTotals, GoalTotals, VariantCount, VisitorTimeline};

/// Points at most: a month of hours fits. Older events are folded into the first point, so the
/// cumulative figures stay right; only the early shape is lost.
pub const MAX_POINTS: usize = 750;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    Hourly,
    Daily,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "hourly" | "hour" => Some(Granularity::Hourly),
            "daily" | "day" => Some(Granularity::Daily),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Granularity::Hourly => "hourly",
            Granularity::Daily => "daily",
        }
    }

    /// Bucket width; buckets start at UTC hours and midnights.
    pub fn millis(self) -> i64 {
        match self {
            Granularity::Hourly => 3_600_000,
            Granularity::Daily => 86_400_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ResultsOverTime {
    pub experiment: String,
    pub granularity: &'static str,
    pub bucket_ms: i64,
    /// Variant keys, control first; each point's `variants` is in this order.
    pub variants: Vec<String>,
    /// Goal keys in config order; each point variant's `goals` is in this order.
    pub goals: Vec<String>,
    /// Data older than the first point was folded into it (the series is capped at `MAX_POINTS`).
    pub truncated: bool,
    pub points: Vec<Point>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Point {
    /// The bucket's start (ms since the epoch, UTC).
    pub start: i64,
    pub variants: Vec<PointVariant>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PointVariant {
    /// Visitors exposed up to the end of this bucket.
    pub visitors: u64,
    /// Visitors first exposed in this bucket.
    pub new_visitors: u64,
    pub goals: Vec<PointGoal>,
}

/// One goal of one variant, cumulative up to the end of the bucket (null where the current
/// results would say null: control, or too little data).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PointGoal {
    pub conversions: u64,
    pub rate: Option<f64>,
    pub lift: Option<f64>,
    pub ci: Option<[f64; 2]>,
}

/// Per-bucket changes, gathered visitor by visitor; buckets are absolute (`ts / width`) and clamped
/// to the `MAX_POINTS` ending at `now`.
pub struct Accumulator<'a> {
    experiment: &'a Experiment,
    granularity: Granularity,
    last: i64,
    first_allowed: i64,
    /// Lowest bucket any visitor or goal fell in (before clamping).
    earliest: Option<i64>,
    variant_index: HashMap<&'a str, usize>,
    goal_index: HashMap<&'a str, usize>,
    /// [bucket][variant]
    new_visitors: Vec<Vec<u64>>,
    /// [bucket][variant][goal]: conversions, value sum, value sum of squares (as differences).
    goals: Vec<Vec<Vec<GoalDelta>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct GoalDelta {
    conversions: u64,
    value_sum: f64,
    value_sum_sq: f64,
}

impl<'a> Accumulator<'a> {
    pub fn new(experiment: &'a Experiment, granularity: Granularity, now_ms: i64) -> Accumulator<'a> {
        let last = now_ms.div_euclid(granularity.millis());
        let first_allowed = last - (MAX_POINTS as i64 - 1);
        let variants = experiment.variants.len();
        let goals = experiment.goals.len();
        Accumulator {
            experiment,
            granularity,
            last,
            first_allowed,
            earliest: None,
            variant_index: experiment.variants.iter().enumerate().map(|(i, v)| (v.key.as_str(), i)).collect(),
            goal_index: experiment.goals.iter().enumerate().map(|(i, g)| (g.key.as_str(), i)).collect(),
            new_visitors: vec![vec![0; variants]; MAX_POINTS],
            goals: vec![vec![vec![GoalDelta::default(); goals]; variants]; MAX_POINTS],
        }
    }

    /// Index into the dense arrays; times outside the window go to its first or last bucket.
    fn slot(&mut self, ts: i64) -> usize {
        let bucket = ts.div_euclid(self.granularity.millis());
        self.earliest = Some(self.earliest.map_or(bucket, |e| e.min(bucket)));
        (bucket.clamp(self.first_allowed, self.last) - self.first_allowed) as usize
    }

    /// One exposed visitor: counted from their first exposure, each goal converting at its first
    /// hit, its per-visitor value growing with each hit (hits are in time order).
    pub fn add(&mut self, visitor: VisitorTimeline<'_>) {
        // A variant the config no longer has is not in the results either.
        let Some(&variant) = self.variant_index.get(visitor.variant) else { return };
        let exposed = self.slot(visitor.first_ts);
        self.new_visitors[exposed][variant] += 1;
        let mut per_goal: HashMap<usize, f64> = HashMap::new();
        for hit in visitor.hits.iter().filter(|h| h.ts >= visitor.first_ts) {
            let Some(&goal) = self.goal_index.get(hit.goal.as_str()) else { continue };
            let slot = self.slot(hit.ts).max(exposed);
            let delta = &mut self.goals[slot][variant][goal];
            let value = hit.value.unwrap_or(0.0);
            let before = match per_goal.get(&goal) {
                Some(sum) => *sum,
                None => {
                    delta.conversions += 1;
                    0.0
                }
            };
            let after = before + value;
            delta.value_sum += value;
            delta.value_sum_sq += after * after - before * before;
            per_goal.insert(goal, after);
        }
    }

    /// The cumulative results at the end of each bucket from the first with data to now.
    pub fn finish(self, now_ms: i64) -> ResultsOverTime {
        let exp = self.experiment;
        let width = self.granularity.millis();
        let first = self.earliest.map_or(self.last, |e| e.clamp(self.first_allowed, self.last));
        let truncated = self.earliest.is_some_and(|e| e < self.first_allowed);
        let goal_keys: Vec<String> = exp.goals.iter().map(|g| g.key.clone()).collect();
        let variant_keys: Vec<String> = exp.variants.iter().map(|v| v.key.clone()).collect();
        let mut visitors = vec![0u64; variant_keys.len()];
        let mut running = vec![vec![GoalDelta::default(); goal_keys.len()]; variant_keys.len()];
        let mut points = Vec::new();
        for bucket in first..=self.last {
            let slot = (bucket - self.first_allowed) as usize;
            for (v, count) in visitors.iter_mut().enumerate() {
                *count += self.new_visitors[slot][v];
                for (g, total) in running[v].iter_mut().enumerate() {
                    let delta = self.goals[slot][v][g];
                    total.conversions += delta.conversions;
                    total.value_sum += delta.value_sum;
                    total.value_sum_sq += delta.value_sum_sq;
                }
            }
            let totals = ExperimentTotals {
                variants: variant_keys
                    .iter()
                    .zip(&visitors)
                    .map(|(key, n)| VariantCount { experiment: exp.key.clone(), variant: key.clone(), visitors: *n })
                    .collect(),
                goals: variant_keys
                    .iter()
                    .zip(&running)
                    .flat_map(|(variant, goals)| {
                        goal_keys.iter().zip(goals).filter(|(_, t)| t.conversions > 0).map(|(goal, t)| GoalTotals {
                            variant: variant.clone(),
                            goal: goal.clone(),
                            conversions: t.conversions,
                            value_sum: t.value_sum,
                            value_sum_sq: t.value_sum_sq,
                        })
                    })
                    .collect(),
                funnel: Vec::new(),
                bot_visitors: 0,
            };
            let res = results::experiment_results(&exp.key, Some(exp), &totals, now_ms);
            let variants = res
                .variants
                .iter()
                .enumerate()
                .map(|(v, row)| PointVariant {
                    visitors: row.visitors,
                    new_visitors: self.new_visitors[slot].get(v).copied().unwrap_or(0),
                    goals: goal_keys
                        .iter()
                        .map(|goal| {
                            let g = row.goals.get(goal);
                            PointGoal {
                                conversions: g.map_or(0, |g| g.conversions),
                                rate: g.and_then(|g| g.rate),
                                lift: g.and_then(|g| g.lift),
                                ci: g.and_then(|g| g.ci),
                            }
                        })
                        .collect(),
                })
                .collect();
            points.push(Point { start: bucket * width, variants });
        }
        ResultsOverTime {
            experiment: exp.key.clone(),
            granularity: self.granularity.name(),
            bucket_ms: width,
            variants: variant_keys,
            goals: goal_keys,
            truncated,
            points,
            updated_at: now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contribution::GoalHit;

    const HOUR: i64 = 3_600_000;

    fn experiment() -> Experiment {
        use splitbeam_core::config::{Goal, GoalTrigger, Status, Variant};
        use splitbeam_core::pages::PageRules;
        Experiment {
            key: "hero".to_string(),
            name: String::new(),
            status: Status::Running,
            pages: PageRules::default(),
            audience: None,
            traffic: 1.0,
            variants: vec![
                Variant { key: "control".to_string(), weight: 1.0, changes: vec![], applier_json: String::new(), redirect: None },
                Variant { key: "b".to_string(), weight: 1.0, changes: vec![], applier_json: String::new(), redirect: None },
            ],
            goals: vec![Goal { key: "buy".to_string(), trigger: GoalTrigger::Event("buy".to_string()), value_prop: Some("value".to_string()) }],
            funnel: vec![],
            seed: "hero".to_string(),
            hash_attribute: "id".to_string(),
            hash_version: 2,
            namespace: None,
            start_ms: None,
            end_ms: None,
            winner: None,
        }
    }

    fn hit(ts: i64, value: f64) -> GoalHit {
        GoalHit { goal: "buy".to_string(), ts, value: Some(value) }
    }

    #[test]
    fn each_point_is_cumulative_and_new_visitors_are_per_bucket() {
        let exp = experiment();
        let now = 10 * HOUR + 5;
        let mut acc = Accumulator::new(&exp, Granularity::Hourly, now);
        acc.add(VisitorTimeline { variant: "control", first_ts: 8 * HOUR, hits: &[] });
        acc.add(VisitorTimeline { variant: "b", first_ts: 8 * HOUR + 1, hits: &[hit(9 * HOUR, 2.0), hit(10 * HOUR, 3.0)] });
        acc.add(VisitorTimeline { variant: "gone", first_ts: 8 * HOUR, hits: &[] });
        let out = acc.finish(now);
        assert_eq!(out.points.iter().map(|p| p.start).collect::<Vec<_>>(), vec![8 * HOUR, 9 * HOUR, 10 * HOUR]);
        let b: Vec<&PointVariant> = out.points.iter().map(|p| &p.variants[1]).collect();
        assert_eq!(b.iter().map(|v| v.new_visitors).collect::<Vec<_>>(), vec![1, 0, 0]);
        assert_eq!(b.iter().map(|v| v.visitors).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert_eq!(b.iter().map(|v| v.goals[0].conversions).collect::<Vec<_>>(), vec![0, 1, 1], "converts once, at the first hit");
        assert!(!out.truncated);
    }

    #[test]
    fn older_data_folds_into_the_first_of_max_points() {
        let exp = experiment();
        let now = 2000 * HOUR;
        let mut acc = Accumulator::new(&exp, Granularity::Hourly, now);
        acc.add(VisitorTimeline { variant: "control", first_ts: 0, hits: &[] });
        let out = acc.finish(now);
        assert_eq!(out.points.len(), MAX_POINTS);
        assert!(out.truncated);
        assert_eq!(out.points[0].variants[0].visitors, 1);
    }
}
