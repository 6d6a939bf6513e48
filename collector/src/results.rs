//! Per-variant results of one experiment: turns stored aggregates and the experiment's config
//! into conversion rates, lifts, intervals, chances to win, revenue, funnel and the SRM check.

use std::collections::BTreeMap;

use serde::Serialize;
use splitbeam_core::config::Experiment;

use crate::stats::{self, Sample};
use crate::store::ExperimentTotals;

/// SRM alarm threshold on the chi-square p-value.
pub const SRM_ALARM_P: f64 = 0.001;
/// gbstats' default tuning of the sequential (always-valid) interval: the sample size it is tuned for.
pub const SEQUENTIAL_TUNING: f64 = 5000.0;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExperimentResults {
    pub experiment: String,
    pub name: String,
    pub status: String,
    /// Goal keys in config order.
    pub goals: Vec<String>,
    /// The first variant is the control.
    pub variants: Vec<VariantResults>,
    pub srm: Srm,
    pub funnel: Funnel,
    /// Bots (crawlers, automated browsers) exposed but kept out of these results.
    pub bot_visitors_excluded: u64,
    /// Milliseconds since the epoch when these results were computed.
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VariantResults {
    pub key: String,
    pub weight: f64,
    pub visitors: u64,
    /// By goal key (serialised in key order; `ExperimentResults::goals` has the config's order).
    pub goals: BTreeMap<String, GoalResult>,
}

/// One goal in one variant. Comparisons are against control and `null` for control itself or
/// when there is not enough data. Fields in alphabetical order: the order the API has always
/// answered in (these were serialized through a sorted map before they were typed).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GoalResult {
    /// Absolute difference of the rates, with its 95 % interval.
    pub abs_ci: Option<[f64; 2]>,
    pub abs_lift: Option<f64>,
    pub chance_to_win: Option<f64>,
    /// The 95 % Welch interval on `lift`.
    pub ci: Option<[f64; 2]>,
    pub conversions: u64,
    /// Relative lift of the conversion rate, with the Welch 95 % interval and p-value on it.
    pub lift: Option<f64>,
    pub p_value: Option<f64>,
    pub rate: Option<f64>,
    /// Expected loss of choosing [control, this variant].
    pub risk: Option<[f64; 2]>,
    /// Always-valid interval on the relative lift: honest under daily peeking.
    pub sequential_ci: Option<[f64; 2]>,
    /// For goals with a value (revenue): the per-visitor value and its comparison.
    pub value: Option<ValueResult>,
}

/// Fields in alphabetical order, as `GoalResult`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueResult {
    pub chance_to_win: Option<f64>,
    pub ci: Option<[f64; 2]>,
    pub lift: Option<f64>,
    pub p_value: Option<f64>,
    pub per_visitor: Option<f64>,
    pub sum: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Srm {
    pub p_value: Option<f64>,
    pub alarm: bool,
    pub observed: Vec<u64>,
    pub expected_weights: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Funnel {
    pub steps: Vec<String>,
    pub variants: Vec<FunnelVariant>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunnelVariant {
    pub key: String,
    pub counts: Vec<u64>,
}

/// Builds the results of experiment `key`. With `experiment` (its config) the variants, weights,
/// goals and funnel come from it; without, from the stored data with equal weights assumed.
pub fn experiment_results(
    key: &str,
    experiment: Option<&Experiment>,
    totals: &ExperimentTotals,
    updated_at: i64,
) -> ExperimentResults {
    let variants = variant_keys(experiment, totals);
    let weights = match experiment {
        Some(exp) if exp.variants.len() == variants.len() => exp.normalized_weights(),
        _ => vec![1.0 / variants.len().max(1) as f64; variants.len()],
    };
    let goals = goal_keys(experiment, totals);
    let visitors: Vec<u64> = variants
        .iter()
        .map(|v| totals.variants.iter().filter(|c| c.variant == *v).map(|c| c.visitors).sum())
        .collect();

    let mut variant_results: Vec<VariantResults> = variants
        .iter()
        .zip(&weights)
        .zip(&visitors)
        .map(|((key, weight), visitors)| VariantResults {
            key: key.clone(),
            weight: *weight,
            visitors: *visitors,
            goals: BTreeMap::new(),
        })
        .collect();
    for (goal, valued) in &goals {
        let samples: Vec<(Sample, Sample)> = variants
            .iter()
            .zip(&visitors)
            .map(|(variant, visitors)| goal_samples(totals, variant, goal, *visitors))
            .collect();
        for (i, row) in variant_results.iter_mut().enumerate() {
            row.goals.insert(goal.clone(), goal_result(&samples[0], &samples[i], i == 0, *valued));
        }
    }

    let total: u64 = visitors.iter().sum();
    let srm_p = (total > 0 && variants.len() > 1).then(|| {
        let observed: Vec<f64> = visitors.iter().map(|v| *v as f64).collect();
        stats::srm_p_value(&observed, &weights)
    });
    let srm_p = srm_p.filter(|p| p.is_finite());

    let steps = experiment.map(|e| e.funnel.clone()).unwrap_or_default();
    let funnel_variants = variants
        .iter()
        .map(|variant| FunnelVariant {
            key: variant.clone(),
            counts: totals
                .funnel
                .iter()
                .find(|f| f.variant == *variant)
                .map(|f| f.counts.clone())
                .unwrap_or_else(|| vec![0; steps.len()]),
        })
        .collect();

    ExperimentResults {
        experiment: key.to_string(),
        name: experiment.map(|e| e.name.clone()).filter(|n| !n.is_empty()).unwrap_or_else(|| key.to_string()),
        status: experiment.map(|e| status_name(e.status)).unwrap_or("unknown").to_string(),
        goals: goals.into_iter().map(|(goal, _)| goal).collect(),
        variants: variant_results,
        srm: Srm { p_value: srm_p, alarm: srm_p.is_some_and(|p| p < SRM_ALARM_P), observed: visitors, expected_weights: weights },
        funnel: Funnel { steps, variants: funnel_variants },
        bot_visitors_excluded: totals.bot_visitors,
        updated_at,
    }
}

pub fn status_name(status: splitbeam_core::config::Status) -> &'static str {
    match status {
        splitbeam_core::config::Status::Draft => "draft",
        splitbeam_core::config::Status::Running => "running",
        splitbeam_core::config::Status::Stopped => "stopped",
    }
}

/// The variant with the highest conversion rate on the first goal (in config order) that anyone
/// converted on; `None` before any conversion.
pub fn leading_variant(results: &ExperimentResults) -> Option<String> {
    for goal in &results.goals {
        let mut best: Option<(&str, f64)> = None;
        for variant in &results.variants {
            let Some(goal) = variant.goals.get(goal) else { continue };
            if let (true, Some(rate)) = (goal.conversions > 0, goal.rate) {
                if best.is_none_or(|(_, r)| rate > r) {
                    best = Some((&variant.key, rate));
                }
            }
        }
        if let Some((key, _)) = best {
            return Some(key.to_string());
        }
    }
    None
}

fn variant_keys(experiment: Option<&Experiment>, totals: &ExperimentTotals) -> Vec<String> {
    if let Some(exp) = experiment {
        return exp.variants.iter().map(|v| v.key.clone()).collect();
    }
    let mut keys: Vec<String> = totals.variants.iter().map(|v| v.variant.clone()).collect();
    keys.sort();
    keys.dedup();
    // Without a config, a variant called "control" is the baseline.
    if let Some(i) = keys.iter().position(|k| k == "control") {
        let control = keys.remove(i);
        keys.insert(0, control);
    }
    keys
}

/// Goal keys with whether they carry a value.
fn goal_keys(experiment: Option<&Experiment>, totals: &ExperimentTotals) -> Vec<(String, bool)> {
    if let Some(exp) = experiment {
        return exp.goals.iter().map(|g| (g.key.clone(), g.value_prop.is_some())).collect();
    }
    let mut keys: Vec<String> = totals.goals.iter().map(|g| g.goal.clone()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|goal| {
            let valued = totals.goals.iter().any(|g| g.goal == goal && g.value_sum != 0.0);
            (goal, valued)
        })
        .collect()
}

/// (conversion sample, value sample) of one goal in one variant.
fn goal_samples(totals: &ExperimentTotals, variant: &str, goal: &str, visitors: u64) -> (Sample, Sample) {
    let row = totals.goals.iter().find(|g| g.variant == variant && g.goal == goal);
    let conversions = row.map_or(0.0, |g| g.conversions as f64);
    let n = visitors as f64;
    (
        Sample { n, sum: conversions, sum_sq: conversions },
        Sample { n, sum: row.map_or(0.0, |g| g.value_sum), sum_sq: row.map_or(0.0, |g| g.value_sum_sq) },
    )
}

fn goal_result(control: &(Sample, Sample), this: &(Sample, Sample), is_control: bool, valued: bool) -> GoalResult {
    let (conv, value) = this;
    let rate = finite((conv.n > 0.0).then(|| conv.sum / conv.n));
    let value_result = valued.then(|| {
        let mut result = ValueResult {
            sum: value.sum,
            per_visitor: finite((value.n > 0.0).then(|| value.sum / value.n)),
            lift: None,
            ci: None,
            p_value: None,
            chance_to_win: None,
        };
        if !is_control {
            let welch = stats::welch(&control.1, value, true);
            result.lift = finite(welch.map(|w| w.lift));
            result.ci = interval(welch.map(|w| w.ci));
            result.p_value = finite(welch.map(|w| w.p_value));
            result.chance_to_win = finite(stats::bayesian(&control.1, value, true).map(|b| b.chance_to_win));
        }
        result
    });
    let mut result = GoalResult {
        conversions: conv.sum as u64,
        rate,
        lift: None,
        ci: None,
        p_value: None,
        abs_lift: None,
        abs_ci: None,
        chance_to_win: None,
        risk: None,
        sequential_ci: None,
        value: value_result,
    };
    if !is_control {
        let relative = stats::welch(&control.0, conv, true);
        let absolute = stats::welch(&control.0, conv, false);
        let bayesian = stats::bayesian(&control.0, conv, true);
        let sequential = stats::sequential(&control.0, conv, true, SEQUENTIAL_TUNING);
        result.lift = finite(relative.map(|w| w.lift));
        result.ci = interval(relative.map(|w| w.ci));
        result.p_value = finite(relative.map(|w| w.p_value));
        result.abs_lift = finite(absolute.map(|w| w.lift));
        result.abs_ci = interval(absolute.map(|w| w.ci));
        result.chance_to_win = finite(bayesian.map(|b| b.chance_to_win));
        result.risk = interval(bayesian.map(|b| b.risk));
        result.sequential_ci = interval(sequential.map(|s| s.ci));
    }
    result
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

fn interval(x: Option<(f64, f64)>) -> Option<[f64; 2]> {
    x.filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| [a, b])
}
