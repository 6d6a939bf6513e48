//! Synthetic visitors for `splitbeam simulate`: each walks the demo shop's funnel with known
//! conversion rates and a known true uplift, and yields the events the snippet would send for it.
//!
//! Everything here is pure (seeded randomness, a given clock); `cmd::simulate` does the HTTP.
//! Assignment goes through `splitbeam_core::assign`, the same code (and the same GrowthBook hashing
//! and bucket ranges) as the snippet, so a simulated visitor lands where a real browser would.

use splitbeam_core::assign::{assign_one, Visitor};
use splitbeam_core::attributes::{self, PageContext};
use splitbeam_core::config::{Config, Experiment, Status};
use splitbeam_core::event::{new_id, new_visitor_id, Event, EventKind};
use splitbeam_core::json::Value;
use splitbeam_core::url::Url;
use splitbeam_core::js_engine::NativeJs;

/// The goals of the demo funnel, in order: the keys `www/experiments.json` defines.
pub const FUNNEL_GOALS: [&str; 3] = ["add_to_cart", "checkout", "purchase"];

/// The demo catalogue's prices in EUR (`www/shop/shop.js`); an order is one to three of them.
const PRICES: [f64; 6] = [24.9, 14.5, 12.9, 49.0, 89.0, 22.0];

/// Time between two pages of one visit: the events of a visit are spread like a short real visit.
const STEP_MS: u64 = 4_000;

/// A desktop Chrome user agent, so `device`/`browser` attributes look like a real visitor's.
const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

/// Conversion probabilities of the funnel, each conditional on the step before it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FunnelRates {
    /// P(add to cart | exposed).
    pub add_to_cart: f64,
    /// P(reach checkout | added to cart).
    pub checkout: f64,
    /// P(purchase | reached checkout).
    pub purchase: f64,
}

/// The control's rates: 30 % of visitors add to cart, half of those check out, 60 % of those buy,
/// so goal rates are add_to_cart 30 %, checkout 15 %, purchase 9 %. Higher than a real shop's, so
/// that a demo of a few thousand visitors already shows a clear result.
pub const DEMO_RATES: FunnelRates = FunnelRates { add_to_cart: 0.30, checkout: 0.50, purchase: 0.60 };

impl FunnelRates {
    /// Unconditional rate of each goal of `FUNNEL_GOALS`: the share of exposed visitors reaching it.
    pub fn goal_rates(&self) -> [f64; 3] {
        let cart = self.add_to_cart;
        let checkout = cart * self.checkout;
        [cart, checkout, checkout * self.purchase]
    }

    /// The treatment's rates for a true relative `uplift` (0.2 = +20 %). The uplift acts on the
    /// first step and the step-through rates stay the same, so every goal's rate is exactly
    /// control × (1 + uplift): one number is the truth for every goal on the dashboard.
    pub fn with_uplift(&self, uplift: f64) -> Result<FunnelRates, String> {
        let add_to_cart = self.add_to_cart * (1.0 + uplift);
        if !uplift.is_finite() || !(0.0..=1.0).contains(&add_to_cart) {
            let highest = 1.0 / self.add_to_cart - 1.0;
            return Err(format!(
                "uplift {uplift} would make the add-to-cart probability {add_to_cart}; it must be between -1 and {highest:.3}"
            ));
        }
        Ok(FunnelRates { add_to_cart, ..*self })
    }
}

/// A small seeded generator (SplitMix64): reproducible runs from `--seed`, no dependency.
/// Statistical quality is ample for a simulation; it is not for anything secret.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.next_f64() < probability
    }

    fn below(&mut self, n: usize) -> usize {
        // n is tiny here (a catalogue), so the modulo bias is negligible.
        (self.next_u64() % n as u64) as usize
    }

    fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        out
    }
}

/// How far one visitor got down the funnel, and what they paid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub add_to_cart: bool,
    pub checkout: bool,
    /// The order value in EUR when the visitor bought.
    pub purchase: Option<f64>,
}

/// One visitor's walk down the funnel with the given rates.
pub fn walk(rates: &FunnelRates, rng: &mut Rng) -> Outcome {
    let add_to_cart = rng.chance(rates.add_to_cart);
    let checkout = add_to_cart && rng.chance(rates.checkout);
    let purchase = (checkout && rng.chance(rates.purchase)).then(|| order_value(rng));
    Outcome { add_to_cart, checkout, purchase }
}

/// One to three catalogue items, rounded to cents like the shop's cart.
fn order_value(rng: &mut Rng) -> f64 {
    let items = 1 + rng.below(3);
    let total: f64 = (0..items).map(|_| PRICES[rng.below(PRICES.len())]).sum();
    (total * 100.0).round() / 100.0
}

/// One simulated visitor: their events in the order the snippet would send them, and the variant
/// of the target experiment they were assigned to (`None` when not in it).
#[derive(Debug, Clone)]
pub struct SimulatedVisitor {
    pub events: Vec<Event>,
    pub target_variant: Option<usize>,
    pub outcome: Outcome,
}

/// Generates visitors for one config. Visitors in any non-control variant of `target` convert at
/// the treatment's rates; everyone else (control, other experiments, no experiment) at the control's.
pub struct Simulation<'c> {
    config: &'c Config,
    target: &'c Experiment,
    control: FunnelRates,
    treatment: FunnelRates,
    rng: Rng,
}

impl<'c> Simulation<'c> {
    /// `target`: the experiment key with the true uplift, or the first running experiment.
    pub fn new(config: &'c Config, target: Option<&str>, uplift: f64, seed: u64) -> Result<Simulation<'c>, String> {
        let experiment = match target {
            Some(key) => config.experiments.iter().find(|e| e.key == key).ok_or_else(|| {
                let known: Vec<&str> = config.experiments.iter().map(|e| e.key.as_str()).collect();
                format!("no valid experiment {key:?} in the config (valid: {})", known.join(", "))
            })?,
            None => config
                .experiments
                .iter()
                .find(|e| e.status == Status::Running)
                .ok_or("the config has no valid running experiment to simulate")?,
        };
        if experiment.status != Status::Running {
            return Err(format!("experiment {:?} is not running: its visitors would not be tracked", experiment.key));
        }
        if experiment.variants.len() < 2 {
            return Err(format!("experiment {:?} needs a control and at least one treatment", experiment.key));
        }
        for goal in FUNNEL_GOALS {
            if !experiment.goals.iter().any(|g| g.key == goal) {
                return Err(format!(
                    "experiment {:?} has no goal {goal:?}: simulate drives the demo funnel ({})",
                    experiment.key,
                    FUNNEL_GOALS.join(" → ")
                ));
            }
        }
        Ok(Simulation {
            config,
            target: experiment,
            control: DEMO_RATES,
            treatment: DEMO_RATES.with_uplift(uplift)?,
            rng: Rng::new(seed),
        })
    }

    pub fn target(&self) -> &'c Experiment {
        self.target
    }

    /// The next visitor, whose visit starts at `start_ms` and takes `STEP_MS` per page.
    pub fn next_visitor(&mut self, start_ms: u64) -> SimulatedVisitor {
        let mut visit = Visit::new(self.config, &mut self.rng, start_ms);
        let product = format!("/shop/product.html?id={}", ["house-blend", "ethiopia-guji", "hand-grinder"][visit.rng.below(3)]);
        visit.view("/shop/");
        visit.view("/shop/products.html");
        visit.view(&product);

        let target_variant = visit.assigned.iter().find(|(key, _)| *key == self.target.key).map(|&(_, i)| i);
        let rates = if target_variant.is_some_and(|i| i > 0) { &self.treatment } else { &self.control };
        let outcome = walk(rates, visit.rng);

        if outcome.add_to_cart {
            visit.goal("add_to_cart", None);
            visit.view("/shop/cart.html");
        }
        if outcome.checkout {
            visit.view("/shop/checkout.html");
            visit.goal("checkout", None);
        }
        if let Some(value) = outcome.purchase {
            visit.view("/shop/thank-you.html");
            visit.goal("purchase", Some(value));
        }
        SimulatedVisitor { events: visit.events, target_variant, outcome }
    }
}

/// One visit in progress: identity, clock, current page, assignments so far, events so far.
struct Visit<'a, 'c> {
    config: &'c Config,
    rng: &'a mut Rng,
    visitor: String,
    session: String,
    clock_ms: u64,
    url: String,
    /// (experiment key, variant index) of every experiment the visitor was exposed to.
    assigned: Vec<(&'c str, usize)>,
    events: Vec<Event>,
}

impl<'a, 'c> Visit<'a, 'c> {
    fn new(config: &'c Config, rng: &'a mut Rng, start_ms: u64) -> Visit<'a, 'c> {
        let visitor = new_visitor_id(rng.bytes16());
        let session = format!("s_{}", &new_visitor_id(rng.bytes16())[2..]);
        Visit { config, rng, visitor, session, clock_ms: start_ms, url: String::new(), assigned: Vec::new(), events: Vec::new() }
    }

    fn event(&mut self, kind: EventKind) {
        let id = new_id(self.rng.bytes16(), self.clock_ms);
        self.events.push(Event {
            id,
            ts: self.clock_ms,
            visitor: self.visitor.clone(),
            session: self.session.clone(),
            url: self.url.clone(),
            kind,
        });
    }

    /// A page load: the snippet assigns every experiment on this page (an exposure the first time
    /// the visitor is tracked in one), then records the page view.
    fn view(&mut self, path: &str) {
        if !self.events.is_empty() {
            self.clock_ms += STEP_MS;
        }
        self.url = path.to_string();
        let attributes = attributes::build(&PageContext {
            visitor_id: &self.visitor,
            href: path,
            user_agent: USER_AGENT,
            language: "en-GB",
            new_visitor: self.events.is_empty(),
            custom: None,
        });
        let visitor = Visitor { attributes: &attributes, href: path, now_ms: self.clock_ms as f64, forced: &[], sticky: &[], regex: &NativeJs };
        let url = Url::parse(path);
        let config = self.config;
        for experiment in &config.experiments {
            if self.assigned.iter().any(|(key, _)| *key == experiment.key) {
                continue;
            }
            let decision = assign_one(config, experiment, &visitor, &url);
            if let (true, Some(variant)) = (decision.tracked, decision.variant) {
                self.assigned.push((experiment.key.as_str(), variant));
                let variant = experiment.variants[variant].key.clone();
                self.event(EventKind::Exposure { experiment: experiment.key.clone(), variant });
            }
        }
        self.event(EventKind::Pageview { referrer: None, title: None });
    }

    /// A goal, attributed (like the snippet does) to every experiment the visitor is in.
    fn goal(&mut self, goal: &str, value: Option<f64>) {
        let experiments = self
            .assigned
            .iter()
            .filter_map(|&(key, i)| {
                let experiment = self.config.experiments.iter().find(|e| e.key == key)?;
                Some((key.to_string(), experiment.variants[i].key.clone()))
            })
            .collect();
        let props = match value {
            Some(_) => Value::Object(vec![("currency".into(), Value::String("EUR".into()))]),
            None => Value::Object(Vec::new()),
        };
        self.event(EventKind::Goal { goal: goal.to_string(), value, experiments, props });
    }
}

/// Event batches in DESIGN.md's format, at most `max_events` each (the snippet sends 20 at a time;
/// a simulation may send more, staying well under the 60 KB a beacon allows).
pub fn batches(events: &[Event], max_events: usize, sent_at_ms: u64) -> Vec<String> {
    events
        .chunks(max_events.max(1))
        .map(|chunk| {
            let mut body = format!("{{\"v\":1,\"sent_at\":{sent_at_ms},\"events\":[");
            for (i, event) in chunk.iter().enumerate() {
                if i > 0 {
                    body.push(',');
                }
                body.push_str(&event.to_json(&|n| n.to_string()));
            }
            body.push_str("]}");
            body
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config_file;
    use crate::ingest;
    use splitbeam_core::hash;
    use std::path::Path;

    const START_MS: u64 = 1_764_216_000_000;

    fn demo_config() -> Config {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www/experiments.json");
        let file = config_file::read(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(file.is_valid(), "www/experiments.json has problems: {:?}", file.problems());
        file.loaded.config
    }

    /// Observed rate of each funnel goal over `visitors` walks.
    fn observed_rates(rates: &FunnelRates, visitors: u32, rng: &mut Rng) -> [f64; 3] {
        let mut counts = [0u32; 3];
        for _ in 0..visitors {
            let outcome = walk(rates, rng);
            counts[0] += u32::from(outcome.add_to_cart);
            counts[1] += u32::from(outcome.checkout);
            counts[2] += u32::from(outcome.purchase.is_some());
        }
        counts.map(|c| f64::from(c) / f64::from(visitors))
    }

    #[test]
    fn the_treatments_true_rate_of_every_goal_is_the_controls_times_one_plus_uplift() {
        let treatment = DEMO_RATES.with_uplift(0.25).unwrap();
        for (c, t) in DEMO_RATES.goal_rates().iter().zip(treatment.goal_rates()) {
            assert!((t / c - 1.25).abs() < 1e-12, "control {c}, treatment {t}");
        }
    }

    #[test]
    fn over_many_visitors_the_treatments_observed_rate_is_the_controls_times_one_plus_uplift() {
        let uplift = 0.2;
        let mut rng = Rng::new(7);
        let control = observed_rates(&DEMO_RATES, 200_000, &mut rng);
        let treatment = observed_rates(&DEMO_RATES.with_uplift(uplift).unwrap(), 200_000, &mut rng);
        // Purchase (9 %) over 200 000 visitors per arm: the ratio's standard error is about 1 %.
        for (goal, (c, t)) in FUNNEL_GOALS.iter().zip(control.iter().zip(treatment)) {
            assert!((t / c - (1.0 + uplift)).abs() < 0.04, "{goal}: control {c}, treatment {t}, ratio {}", t / c);
        }
    }

    #[test]
    fn the_control_converts_at_the_documented_base_rates() {
        let observed = observed_rates(&DEMO_RATES, 200_000, &mut Rng::new(11));
        for (goal, (o, truth)) in FUNNEL_GOALS.iter().zip(observed.iter().zip([0.30, 0.15, 0.09])) {
            assert!((o - truth).abs() < 0.005, "{goal}: observed {o}, documented {truth}");
        }
    }

    #[test]
    fn a_negative_uplift_lowers_the_treatment() {
        let treatment = DEMO_RATES.with_uplift(-0.5).unwrap();
        assert!((treatment.goal_rates()[2] - 0.045).abs() < 1e-12);
    }

    #[test]
    fn an_uplift_that_would_make_a_probability_leave_zero_to_one_is_refused() {
        assert!(DEMO_RATES.with_uplift(2.5).is_err());
        assert!(DEMO_RATES.with_uplift(-1.5).is_err());
        assert!(DEMO_RATES.with_uplift(f64::NAN).is_err());
    }

    #[test]
    fn the_same_seed_gives_the_same_visitors() {
        let config = demo_config();
        let mut a = Simulation::new(&config, None, 0.1, 42).unwrap();
        let mut b = Simulation::new(&config, None, 0.1, 42).unwrap();
        for _ in 0..20 {
            let (x, y) = (a.next_visitor(START_MS), b.next_visitor(START_MS));
            assert_eq!(x.events, y.events);
        }
    }

    #[test]
    fn visitors_are_assigned_with_growthbooks_hash_and_bucket_ranges() {
        let config = demo_config();
        let mut simulation = Simulation::new(&config, Some("hero-headline"), 0.1, 3).unwrap();
        let experiment = simulation.target();
        let weights = experiment.normalized_weights();
        let ranges = hash::bucket_ranges(experiment.variants.len() as i64, experiment.traffic, Some(&weights));
        for _ in 0..200 {
            let visitor = simulation.next_visitor(START_MS);
            let id = &visitor.events[0].visitor;
            let n = hash::hash(&experiment.seed, id, 2).unwrap();
            assert_eq!(visitor.target_variant, hash::choose_variation(n, &ranges), "visitor {id}");
        }
    }

    #[test]
    fn every_simulated_batch_passes_the_collectors_validation() {
        let config = demo_config();
        let mut simulation = Simulation::new(&config, None, 0.3, 5).unwrap();
        let events: Vec<Event> = (0..300).flat_map(|_| simulation.next_visitor(START_MS).events).collect();
        let bodies = batches(&events, 50, START_MS + 60_000);
        assert!(bodies.len() > 1);
        let mut accepted = 0;
        for body in &bodies {
            assert!(body.len() < 60 * 1024, "a batch of {} bytes would not fit a beacon", body.len());
            accepted += ingest::parse_batch(body.as_bytes()).unwrap_or_else(|e| panic!("{e}: {body}")).len();
        }
        assert_eq!(accepted, events.len());
    }

    #[test]
    fn goals_follow_the_first_exposure_and_name_the_visitors_variants() {
        let config = demo_config();
        let mut simulation = Simulation::new(&config, None, 0.5, 9).unwrap();
        let mut goals_seen = 0;
        for _ in 0..200 {
            let visitor = simulation.next_visitor(START_MS);
            let exposures: Vec<(&str, &str, u64)> = visitor
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Exposure { experiment, variant } => Some((experiment.as_str(), variant.as_str(), e.ts)),
                    _ => None,
                })
                .collect();
            assert_eq!(exposures.len(), 2, "both demo experiments run on the visitor's path");
            for event in &visitor.events {
                if let EventKind::Goal { experiments, .. } = &event.kind {
                    goals_seen += 1;
                    for (experiment, variant, ts) in &exposures {
                        assert!(event.ts > *ts);
                        assert!(experiments.iter().any(|(e, v)| e == experiment && v == variant));
                    }
                }
            }
        }
        assert!(goals_seen > 0);
    }

    #[test]
    fn the_target_experiment_shows_the_uplift_and_the_other_experiment_none() {
        let config = demo_config();
        let uplift = 0.5;
        let mut simulation = Simulation::new(&config, Some("hero-headline"), uplift, 21).unwrap();
        // experiment → variant → [exposed, added to cart]
        let mut counts: std::collections::HashMap<(String, String), [u32; 2]> = Default::default();
        for _ in 0..20_000 {
            let visitor = simulation.next_visitor(START_MS);
            for event in &visitor.events {
                match &event.kind {
                    EventKind::Exposure { experiment, variant } => {
                        counts.entry((experiment.clone(), variant.clone())).or_default()[0] += 1
                    }
                    EventKind::Goal { goal, experiments, .. } if goal == "add_to_cart" => {
                        for (e, v) in experiments {
                            counts.entry((e.clone(), v.clone())).or_default()[1] += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
        let rate = |e: &str, v: &str| {
            let [exposed, converted] = counts[&(e.to_string(), v.to_string())];
            f64::from(converted) / f64::from(exposed)
        };
        // About 10 000 visitors per arm at 30 %: the ratio's standard error is about 2.5 %.
        let target = rate("hero-headline", "free-shipping") / rate("hero-headline", "control");
        assert!((target - (1.0 + uplift)).abs() < 0.1, "hero-headline ratio {target}");
        let other = rate("add-to-cart-button", "big-urgent") / rate("add-to-cart-button", "control");
        assert!((other - 1.0).abs() < 0.1, "add-to-cart-button ratio {other}");
    }

    #[test]
    fn an_unknown_target_experiment_is_refused_with_the_known_keys() {
        let config = demo_config();
        let message = Simulation::new(&config, Some("nope"), 0.1, 1).err().unwrap();
        assert!(message.contains("hero-headline"), "{message}");
    }
}
