//! Which stored events count toward results. Everything a caller sends that is well-formed is
//! stored (export keeps it), but only an exposure to an experiment and variant of the live config
//! opens a running aggregate; a goal counts only for the configured experiments its visitor was
//! exposed to. So the experiments one event can touch are bounded by the live config however many
//! a caller invents. Bots are kept out of results unless the shop counts them (`serve --count-bots`).

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use splitbeam_core::config::Config;

use splitbeam_core::event::EventKind;

use crate::ingest::Received;

/// A visitor's goals that count toward results: the first this many after their first exposure,
/// in both stores. Far above any shopper's, it bounds what one goal event can cost (re-deriving the
/// visitor reads at most this many rows) however many a caller posts for one visitor id.
pub const MAX_COUNTED_GOALS: i64 = 1_000;

/// The names the live config aggregates.
#[derive(Debug, Default)]
pub struct Counting {
    /// Experiment key → its variant keys.
    variants: HashMap<String, HashSet<String>>,
}

impl Counting {
    pub fn new(config: &Config) -> Counting {
        let variants = config
            .experiments
            .iter()
            .map(|e| (e.key.clone(), e.variants.iter().map(|v| v.key.clone()).collect()))
            .collect();
        Counting { variants }
    }

    /// Whether the live config names this experiment (results of any other key are a 404).
    pub fn knows_experiment(&self, key: &str) -> bool {
        self.variants.contains_key(key)
    }

    /// Sets `bot` and `counted` on each event of one request. `bot` is the request's verdict
    /// (`is_bot_request`); `count_bots` is the shop's choice to count them anyway.
    pub fn mark(&self, events: &mut [Received], bot: bool, count_bots: bool) {
        for received in events {
            received.bot = bot;
            let named = match &received.event.kind {
                EventKind::Exposure { experiment, variant } => {
                    self.variants.get(experiment).is_some_and(|variants| variants.contains(variant))
                }
                // Any goal key: a goal added to the config later still finds its history.
                EventKind::Goal { .. } => true,
                // Page views feed no aggregate: export only.
                EventKind::Pageview { .. } => false,
            };
            received.counted = named && (count_bots || !bot);
        }
    }
}

/// The maintained crawler list (omrilotan/isbot patterns), compiled once.
static CRAWLERS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);

/// A request from a crawler (by its User-Agent), or from a browser the snippet found automated
/// (`navigator.webdriver`, sent as the batch's `"automated": true`).
pub fn is_bot_request(user_agent: Option<&str>, automated: bool) -> bool {
    automated || user_agent.is_some_and(|ua| CRAWLERS.is_bot(ua))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind) -> Received {
        let event = splitbeam_core::event::Event {
            id: "e".into(),
            ts: 1,
            visitor: "v".into(),
            session: "s".into(),
            url: "/".into(),
            kind,
        };
        Received { event, body: "{}".into(), counted: true, bot: false }
    }

    fn exposure(experiment: &str, variant: &str) -> Received {
        event(EventKind::Exposure { experiment: experiment.into(), variant: variant.into() })
    }

    #[test]
    fn only_exposures_the_config_names_count_and_bots_count_only_when_asked() {
        let text = r#"{"version":1,"experiments":[{"key":"hero","status":"running","variants":[{"key":"a","weight":1},{"key":"b","weight":1}]}]}"#;
        let (value, _) = splitbeam_core::json::parse(text).expect("config JSON");
        let loaded = splitbeam_core::config::load(&value);
        assert_eq!(loaded.config.experiments.len(), 1, "{:?}", loaded.issues);
        let counting = Counting::new(&loaded.config);
        let mut events = vec![
            exposure("hero", "b"),
            exposure("hero", "invented"),
            exposure("invented", "a"),
            event(EventKind::Goal {
                goal: "invented".into(),
                value: None,
                experiments: Vec::new(),
                props: splitbeam_core::Value::Object(Vec::new()),
            }),
            event(EventKind::Pageview { referrer: None, title: None }),
        ];
        counting.mark(&mut events, false, false);
        assert_eq!(events.iter().map(|e| e.counted).collect::<Vec<_>>(), [true, false, false, true, false]);
        counting.mark(&mut events, true, false);
        assert!(events.iter().all(|e| e.bot && !e.counted));
        counting.mark(&mut events, true, true);
        assert_eq!(events.iter().map(|e| e.counted).collect::<Vec<_>>(), [true, false, false, true, false]);
        assert!(counting.knows_experiment("hero") && !counting.knows_experiment("invented"));
    }

    #[test]
    fn crawlers_and_automation_are_bots_and_shoppers_are_not() {
        let googlebot = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) \
                         Chrome/120.0.6099.129 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        let bingbot = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";
        let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36";
        let shopper = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
        for ua in [googlebot, bingbot, headless] {
            assert!(is_bot_request(Some(ua), false), "{ua}");
        }
        assert!(!is_bot_request(Some(shopper), false));
        // `splitbeam simulate` feeds the demo dashboard: its visitors count.
        assert!(!is_bot_request(Some("splitbeam-simulate"), false));
        assert!(!is_bot_request(None, false));
        assert!(is_bot_request(Some(shopper), true));
    }
}
