//! What one exposed visitor adds to their variant's aggregates: which goals they reached after
//! their first exposure, the value they brought per goal, and how deep into the funnel they went.
//!
//! Goal attribution, the one rule every store follows (README "Events"): a visitor belongs to the
//! variant of their earliest exposure to the experiment (by `ts`, then by event id within one
//! millisecond), and their goals count from that exposure's time on. A goal's `experiments` map (what the page showed then) is not consulted: it drifts when
//! a sticky assignment is reset or a QA link forces a variant, while the exposure log does not.
//! SQLite calls `contribution` per visitor (the first exposure is chosen in `sqlite/aggregates.rs`);
//! the ClickHouse store computes the same in its SQL (`argMin` by `(ts, id)`).

use std::collections::BTreeMap;

/// A goal event of the visitor, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalHit {
    pub goal: String,
    pub ts: i64,
    pub value: Option<f64>,
}

/// One visitor's contribution to one experiment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    /// Goals converted after the first exposure, sorted by goal key, with the sum of their values.
    pub goals: Vec<(String, f64)>,
    /// Funnel steps reached in order (0 = none).
    pub funnel_depth: u32,
}

/// `hits` are the visitor's goal events in any order; only those at or after `first_exposure_ts`
/// count. Funnel step k is reached at the first hit of goal k at or after the time step k-1 was
/// reached (the exposure for step 1), so a later step before an earlier one does not count.
pub fn contribution(first_exposure_ts: i64, hits: &[GoalHit], funnel: &[String]) -> Contribution {
    let mut after: Vec<&GoalHit> = hits.iter().filter(|h| h.ts >= first_exposure_ts).collect();
    after.sort_by_key(|h| h.ts);

    // A map, not a search per hit: a visitor's goal names are chosen by whoever posts them.
    let mut sums: BTreeMap<&str, f64> = BTreeMap::new();
    for hit in &after {
        *sums.entry(hit.goal.as_str()).or_default() += hit.value.unwrap_or(0.0);
    }
    let goals = sums.into_iter().map(|(goal, sum)| (goal.to_string(), sum)).collect();

    let mut depth = 0u32;
    let mut reached_at = first_exposure_ts;
    for step in funnel {
        match after.iter().find(|h| h.goal == *step && h.ts >= reached_at) {
            Some(hit) => {
                depth += 1;
                reached_at = hit.ts;
            }
            None => break,
        }
    }
    Contribution { goals, funnel_depth: depth }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(goal: &str, ts: i64, value: Option<f64>) -> GoalHit {
        GoalHit { goal: goal.to_string(), ts, value }
    }

    fn steps(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| k.to_string()).collect()
    }

    #[test]
    fn goals_before_the_first_exposure_do_not_count() {
        let c = contribution(100, &[hit("buy", 99, Some(5.0)), hit("buy", 100, Some(7.0))], &[]);
        assert_eq!(c.goals, vec![("buy".to_string(), 7.0)]);
    }

    #[test]
    fn values_of_one_goal_add_up_per_visitor() {
        let c = contribution(0, &[hit("buy", 1, Some(2.5)), hit("buy", 2, Some(4.0)), hit("cart", 3, None)], &[]);
        assert_eq!(c.goals, vec![("buy".to_string(), 6.5), ("cart".to_string(), 0.0)]);
    }

    #[test]
    fn funnel_steps_count_only_in_order() {
        let funnel = steps(&["cart", "checkout", "buy"]);
        // checkout happened before cart: the visitor reached step 1 only.
        let c = contribution(0, &[hit("checkout", 1, None), hit("cart", 2, None), hit("buy", 3, None)], &funnel);
        assert_eq!(c.funnel_depth, 1);
        let c = contribution(0, &[hit("cart", 1, None), hit("checkout", 2, None), hit("buy", 3, None)], &funnel);
        assert_eq!(c.funnel_depth, 3);
    }
}
