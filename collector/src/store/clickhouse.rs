//! The ClickHouse backend, for many stateless collectors in front of one ClickHouse cluster: each
//! batch is one JSONEachRow INSERT over HTTP; results are aggregated from the raw events at read time.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use super::contribution::{contribution, GoalHit};
use super::sqlite::Overloaded;
use super::{ExperimentTotals, FunnelCounts, GoalTotals, InsertOutcome, PendingInsert, Store, VariantCount};
use crate::ingest::{Event, EventType};

/// Inserts in flight at once; beyond this `/collect` answers 503 and the snippet retries, so a
/// slow ClickHouse does not pile up blocking threads.
const MAX_INFLIGHT_INSERTS: usize = 64;
/// How long one request to ClickHouse may take before the batch is refused (and retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Answers larger than this are refused (results are a few rows; export streams instead).
const MAX_ANSWER_BYTES: u64 = 256 * 1024 * 1024;

/// The raw event log. ReplacingMergeTree drops resent events (same visitor and id) when parts
/// merge; every read also keeps one row per id, so a resend is never counted before the merge.
const CREATE_EVENTS: &str = "CREATE TABLE IF NOT EXISTS {db}.events (\
    id String, type String, ts Int64, visitor String, session String, url String, \
    experiment Nullable(String), variant Nullable(String), goal Nullable(String), \
    value Nullable(Float64), body String\
) ENGINE = ReplacingMergeTree() ORDER BY (visitor, id)";

pub struct ClickHouseStore {
    client: Arc<Client>,
    inserts: Arc<Semaphore>,
}

/// A blocking HTTP client for one ClickHouse database.
struct Client {
    agent: ureq::Agent,
    /// e.g. `http://127.0.0.1:8123`, without a trailing slash.
    url: String,
    /// Checked to be a plain identifier, so it can be spliced into SQL.
    database: String,
}

impl ClickHouseStore {
    /// Connects to ClickHouse at `url` and creates `database` and its table if missing.
    /// Blocking: call it outside the async runtime's worker threads.
    pub fn open(url: &str, database: &str) -> anyhow::Result<ClickHouseStore> {
        if database.is_empty() || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            anyhow::bail!("ClickHouse database name {database:?} must be letters, digits and underscores");
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build();
        let client = Client { agent: config.into(), url: url.trim_end_matches('/').to_string(), database: database.to_string() };
        client
            .execute(&format!("CREATE DATABASE IF NOT EXISTS {database}"))
            .with_context(|| format!("creating database {database:?} on ClickHouse at {url}"))?;
        client
            .execute(&client.sql(CREATE_EVENTS))
            .with_context(|| format!("creating table {database}.events on ClickHouse at {url}"))?;
        Ok(ClickHouseStore { client: Arc::new(client), inserts: Arc::new(Semaphore::new(MAX_INFLIGHT_INSERTS)) })
    }

    /// `insert_batch` for callers without an async runtime (tests, tools).
    pub fn insert_batch_blocking(&self, events: Vec<Event>) -> anyhow::Result<InsertOutcome> {
        self.client.insert(events)
    }
}

impl Store for ClickHouseStore {
    fn insert_batch(&self, events: Vec<Event>) -> PendingInsert {
        let permit = self.inserts.clone().try_acquire_owned().map_err(|_| anyhow::Error::new(Overloaded));
        let client = self.client.clone();
        Box::pin(async move {
            let permit = permit?;
            let outcome = tokio::task::spawn_blocking(move || client.insert(events))
                .await
                .context("the ClickHouse insert task failed")?;
            drop(permit);
            outcome
        })
    }

    /// Funnels are computed from the raw events at read time, so there is nothing to keep.
    fn register_funnels(&self, _funnels: Vec<(String, Vec<String>)>) -> anyhow::Result<()> {
        Ok(())
    }

    fn experiment_totals(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
        self.client
            .totals(experiment, funnel)
            .with_context(|| format!("reading the results of experiment {experiment:?} from ClickHouse"))
    }

    fn visitor_counts(&self) -> anyhow::Result<Vec<VariantCount>> {
        let sql = self.client.sql(
            "SELECT experiment, variant, count() AS visitors FROM (\
                SELECT experiment, visitor, argMin(variant, (ts, id)) AS variant \
                FROM (SELECT id, assumeNotNull(experiment) AS experiment, visitor, ts, assumeNotNull(variant) AS variant \
                      FROM {db}.events WHERE type = 'exposure' ORDER BY id LIMIT 1 BY id) \
                GROUP BY experiment, visitor) \
             GROUP BY experiment, variant ORDER BY experiment, variant",
        );
        let rows: Vec<VariantRow> = self.client.rows(&sql).context("counting visitors per variant in ClickHouse")?;
        Ok(rows
            .into_iter()
            .map(|r| VariantCount { experiment: r.experiment, variant: r.variant, visitors: r.visitors })
            .collect())
    }

    fn export(&self, experiment: &str, each: &mut dyn FnMut(&Event) -> anyhow::Result<()>) -> anyhow::Result<u64> {
        let x = literal(experiment);
        let db = &self.client.database;
        let sql = format!(
            "SELECT id, type, ts, visitor, session, url, experiment, variant, goal, value, body FROM {db}.events \
             WHERE visitor IN (SELECT visitor FROM {db}.events WHERE type = 'exposure' AND experiment = {x}) \
             AND (type <> 'exposure' OR experiment = {x}) \
             ORDER BY visitor, ts, id LIMIT 1 BY id"
        );
        let mut written = 0u64;
        self.client
            .stream(&sql, &mut |line| {
                let row: EventRow =
                    serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable event row {line:?}"))?;
                let kind = EventType::parse(&row.kind).with_context(|| format!("stored event has unknown type {:?}", row.kind))?;
                let event = Event {
                    id: row.id,
                    kind,
                    ts: row.ts,
                    visitor: row.visitor,
                    session: row.session,
                    url: row.url,
                    experiment: row.experiment,
                    variant: row.variant,
                    goal: row.goal,
                    value: row.value,
                    body: row.body,
                };
                each(&event)?;
                written += 1;
                Ok(())
            })
            .with_context(|| format!("exporting experiment {experiment:?} from ClickHouse"))?;
        Ok(written)
    }
}

// ---- rows as ClickHouse sends and receives them (JSONEachRow) ----

#[derive(Serialize)]
struct InsertRow<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    ts: i64,
    visitor: &'a str,
    session: &'a str,
    url: &'a str,
    experiment: Option<&'a str>,
    variant: Option<&'a str>,
    goal: Option<&'a str>,
    value: Option<f64>,
    body: &'a str,
}

#[derive(Deserialize)]
struct EventRow {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    ts: i64,
    visitor: String,
    session: String,
    url: String,
    experiment: Option<String>,
    variant: Option<String>,
    goal: Option<String>,
    value: Option<f64>,
    body: String,
}

#[derive(Deserialize)]
struct IdRow {
    id: String,
}

#[derive(Deserialize)]
struct VariantRow {
    #[serde(default)]
    experiment: String,
    variant: String,
    visitors: u64,
}

#[derive(Deserialize)]
struct GoalRow {
    variant: String,
    goal: String,
    conversions: u64,
    value_sum: f64,
    value_sum_sq: f64,
}

#[derive(Deserialize)]
struct FunnelRow {
    variant: String,
    first_ts: i64,
    goals: Vec<String>,
    times: Vec<i64>,
}

impl Client {
    /// Substitutes the database name for `{db}` in a constant statement (never one holding
    /// literals from events: those are formatted with the name directly).
    fn sql(&self, template: &str) -> String {
        template.replace("{db}", &self.database)
    }

    /// Stores the batch's new events with one INSERT (one block: ClickHouse stores it whole or
    /// not at all) and returns only after ClickHouse acknowledged it.
    fn insert(&self, events: Vec<Event>) -> anyhow::Result<InsertOutcome> {
        let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
        let mut fresh: Vec<&Event> = events.iter().filter(|e| seen.insert(e.id.as_str())).collect();
        let stored_before = self.existing_ids(&fresh)?;
        fresh.retain(|e| !stored_before.contains(&e.id));
        let outcome = InsertOutcome { stored: fresh.len() as u64, duplicates: (events.len() - fresh.len()) as u64 };
        if fresh.is_empty() {
            return Ok(outcome);
        }
        let mut body = self.sql("INSERT INTO {db}.events FORMAT JSONEachRow\n").into_bytes();
        for e in fresh {
            let row = InsertRow {
                id: &e.id,
                kind: e.kind.as_str(),
                ts: e.ts,
                visitor: &e.visitor,
                session: &e.session,
                url: &e.url,
                experiment: e.experiment.as_deref(),
                variant: e.variant.as_deref(),
                goal: e.goal.as_deref(),
                value: e.value,
                body: &e.body,
            };
            serde_json::to_writer(&mut body, &row).context("encoding an event for ClickHouse")?;
            body.push(b'\n');
        }
        self.post(body, "inserting a batch")?;
        Ok(outcome)
    }

    /// Which of these events' ids are already stored. Looked up by (visitor, id), the table's key:
    /// a resent event carries the same visitor.
    fn existing_ids(&self, events: &[&Event]) -> anyhow::Result<HashSet<String>> {
        if events.is_empty() {
            return Ok(HashSet::new());
        }
        let visitors: HashSet<&str> = events.iter().map(|e| e.visitor.as_str()).collect();
        let visitors: Vec<String> = visitors.into_iter().map(literal).collect();
        let ids: Vec<String> = events.iter().map(|e| literal(&e.id)).collect();
        let db = &self.database;
        let sql = format!(
            "SELECT DISTINCT id FROM {db}.events WHERE visitor IN ({}) AND id IN ({})",
            visitors.join(","),
            ids.join(",")
        );
        let rows: Vec<IdRow> = self.rows(&sql).context("looking up already stored event ids")?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn totals(&self, experiment: &str, funnel: &[String]) -> anyhow::Result<ExperimentTotals> {
        let x = literal(experiment);
        let db = &self.database;
        // First exposure per visitor (ties broken by event id), one row per event id.
        let exposed = format!(
            "SELECT visitor, argMin(variant, (ts, id)) AS variant, min(ts) AS first_ts FROM (\
                SELECT id, visitor, ts, assumeNotNull(variant) AS variant FROM {db}.events \
                WHERE type = 'exposure' AND experiment = {x} ORDER BY id LIMIT 1 BY id) \
             GROUP BY visitor"
        );
        // Goal events of the exposed visitors, one row per event id.
        let goal_hits = |only: &str| {
            format!(
                "SELECT id, visitor, ts, assumeNotNull(goal) AS goal, ifNull(value, 0) AS value FROM {db}.events \
                 WHERE type = 'goal' AND isNotNull(goal) {only} \
                 AND visitor IN (SELECT visitor FROM {db}.events WHERE type = 'exposure' AND experiment = {x}) \
                 ORDER BY id LIMIT 1 BY id"
            )
        };

        let variants: Vec<VariantRow> = self.rows(&format!(
            "SELECT variant, count() AS visitors FROM ({exposed}) GROUP BY variant ORDER BY variant"
        ))?;
        let variants = variants
            .into_iter()
            .map(|r| VariantCount { experiment: experiment.to_string(), variant: r.variant, visitors: r.visitors })
            .collect();

        // Per visitor and goal: the summed value after the first exposure; then per variant.
        let goals: Vec<GoalRow> = self.rows(&format!(
            "SELECT variant, goal, count() AS conversions, sum(visitor_value) AS value_sum, \
                    sum(visitor_value * visitor_value) AS value_sum_sq FROM (\
                SELECT visitor, variant, goal, sum(value) AS visitor_value \
                FROM ({exposed}) ALL INNER JOIN ({}) USING visitor \
                WHERE ts >= first_ts GROUP BY visitor, variant, goal) \
             GROUP BY variant, goal ORDER BY variant, goal",
            goal_hits("")
        ))?;
        let goals = goals
            .into_iter()
            .map(|r| GoalTotals {
                variant: r.variant,
                goal: r.goal,
                conversions: r.conversions,
                value_sum: r.value_sum,
                value_sum_sq: r.value_sum_sq,
            })
            .collect();

        let funnel = if funnel.is_empty() { Vec::new() } else { self.funnel(&exposed, &goal_hits, funnel)? };
        Ok(ExperimentTotals { variants, goals, funnel })
    }

    /// ClickHouse gathers each exposed visitor's funnel-step hits after their first exposure; the
    /// depth is then decided by the same `contribution` rule as SQLite's, so both agree exactly.
    fn funnel(&self, exposed: &str, goal_hits: &dyn Fn(&str) -> String, steps: &[String]) -> anyhow::Result<Vec<FunnelCounts>> {
        let step_list: Vec<String> = steps.iter().map(|s| literal(s)).collect();
        let only_steps = format!("AND goal IN ({})", step_list.join(","));
        let sql = format!(
            "SELECT variant, first_ts, groupArray(goal) AS goals, groupArray(ts) AS times \
             FROM ({exposed}) ALL INNER JOIN ({}) USING visitor \
             WHERE ts >= first_ts GROUP BY visitor, variant, first_ts",
            goal_hits(&only_steps)
        );
        let mut counts: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        self.stream(&sql, &mut |line| {
            let row: FunnelRow =
                serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable funnel row {line:?}"))?;
            let hits: Vec<GoalHit> =
                row.goals.into_iter().zip(row.times).map(|(goal, ts)| GoalHit { goal, ts, value: None }).collect();
            let depth = contribution(row.first_ts, &hits, steps).funnel_depth as usize;
            if depth > 0 {
                let per_step = counts.entry(row.variant).or_insert_with(|| vec![0; steps.len()]);
                for step in per_step.iter_mut().take(depth) {
                    *step += 1;
                }
            }
            Ok(())
        })
        .context("computing funnel depths")?;
        Ok(counts.into_iter().map(|(variant, counts)| FunnelCounts { variant, counts }).collect())
    }

    /// Runs a statement that returns nothing of interest.
    fn execute(&self, sql: &str) -> anyhow::Result<()> {
        self.post(sql.as_bytes().to_vec(), "running a statement").map(|_| ())
    }

    /// Runs a query and parses every row of its JSONEachRow answer.
    fn rows<T: DeserializeOwned>(&self, sql: &str) -> anyhow::Result<Vec<T>> {
        let mut rows = Vec::new();
        self.stream(sql, &mut |line| {
            rows.push(serde_json::from_str(line).with_context(|| format!("ClickHouse sent an unreadable row {line:?}"))?);
            Ok(())
        })?;
        Ok(rows)
    }

    /// Runs a query and hands each line of its JSONEachRow answer to `each` as it arrives.
    fn stream(&self, sql: &str, each: &mut dyn FnMut(&str) -> anyhow::Result<()>) -> anyhow::Result<()> {
        let body = format!("{sql} FORMAT JSONEachRow");
        let response = self.post(body.into_bytes(), "running a query")?;
        let reader = BufReader::new(response.into_body().into_with_config().limit(MAX_ANSWER_BYTES).reader());
        for line in reader.lines() {
            let line = line.context("reading ClickHouse's answer")?;
            if !line.is_empty() {
                each(&line)?;
            }
        }
        Ok(())
    }

    /// POSTs `body` (a statement, or an INSERT followed by its rows) and fails with ClickHouse's
    /// own message unless it answers 200.
    fn post(&self, body: Vec<u8>, what: &str) -> anyhow::Result<ureq::http::Response<ureq::Body>> {
        // 64-bit integers as JSON numbers (18.x quotes them by default).
        let url = format!("{}/?output_format_json_quote_64bit_integers=0", self.url);
        let mut response = self
            .agent
            .post(&url)
            .content_type("text/plain; charset=utf-8")
            .send(&body[..])
            .with_context(|| format!("{what}: ClickHouse at {} did not answer", self.url))?;
        if response.status() != 200 {
            let status = response.status();
            let message = response.body_mut().read_to_string().unwrap_or_default();
            anyhow::bail!("{what}: ClickHouse at {} answered {status}: {}", self.url, message.trim());
        }
        Ok(response)
    }
}

/// A ClickHouse string literal: quotes and backslashes escaped (18.x has no query parameters).
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::literal;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal(r"it's a\b"), r"'it\'s a\\b'");
    }
}
