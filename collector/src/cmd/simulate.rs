//! `splitbeam simulate`: sends synthetic visitors with a known true uplift through the demo funnel
//! to a collector, as real HTTP batches, so the dashboard fills and its statistics can be checked.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context};

use crate::config_file;
use crate::simulate::{batches, Simulation, DEMO_RATES, FUNNEL_GOALS};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many visitors to send.
    #[arg(long)]
    pub visitors: u64,
    /// True relative uplift of the treatment on every goal (0.2 = +20 %, -0.1 = -10 %).
    #[arg(long, allow_hyphen_values = true)]
    pub uplift: f64,
    /// The collector's event endpoint (plain http).
    #[arg(long, default_value = "http://127.0.0.1:8080/collect")]
    pub collector: String,
    /// The experiments file the collector serves.
    #[arg(long, default_value = "www/experiments.json")]
    pub config: PathBuf,
    /// The experiment with the uplift; the first running one by default. Others get none (A/A).
    #[arg(long)]
    pub experiment: Option<String>,
    /// Random seed, for a reproducible run. By default it comes from the clock, so that every run
    /// sends new visitors (the collector ignores event ids it has already stored).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Events per HTTP request.
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
}

/// Visits of the run are spread over this much past time, ending now.
const SPREAD_MS: u64 = 10 * 60 * 1000;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = config_file::read(&args.config)?;
    for problem in file.problems() {
        eprintln!("simulate: warning: {problem}");
    }
    let config = &file.loaded.config;
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).context("the system clock is before 1970")?.as_millis() as u64;
    let seed = args.seed.unwrap_or(now_ms);
    let mut simulation = Simulation::new(config, args.experiment.as_deref(), args.uplift, seed).map_err(|e| anyhow!(e))?;
    let target = simulation.target();
    let endpoint = Endpoint::parse(&args.collector)?;
    let batch_size = args.batch_size.max(1);

    println!(
        "simulate: {} visitors → {} (seed {seed}); true uplift {:+.1} % on every goal of {:?}, every variant vs {:?}; none in other experiments",
        args.visitors,
        args.collector,
        args.uplift * 100.0,
        target.key,
        target.variants[0].key,
    );
    let [cart, checkout, purchase] = DEMO_RATES.goal_rates();
    println!(
        "simulate: control rates {} {:.0} %, {} {:.0} %, {} {:.0} %",
        FUNNEL_GOALS[0], cart * 100.0, FUNNEL_GOALS[1], checkout * 100.0, FUNNEL_GOALS[2], purchase * 100.0
    );

    let started = Instant::now();
    let mut per_variant = vec![[0u64; 2]; target.variants.len()]; // [visitors, purchases]
    let mut pending = Vec::new();
    let (mut events_sent, mut requests) = (0usize, 0usize);
    let spacing = SPREAD_MS / args.visitors.max(1);
    let first_start = now_ms - SPREAD_MS - 60_000;
    for i in 0..args.visitors {
        let visitor = simulation.next_visitor(first_start + i * spacing);
        if let Some(variant) = visitor.target_variant {
            per_variant[variant][0] += 1;
            per_variant[variant][1] += u64::from(visitor.outcome.purchase.is_some());
        }
        pending.extend(visitor.events);
        // Full batches as they fill up; the remainder once the last visitor is done.
        let ready = if i + 1 == args.visitors { pending.len() } else { pending.len() / batch_size * batch_size };
        if ready > 0 {
            for chunk in pending[..ready].chunks(batch_size) {
                for body in batches(chunk, batch_size, now_ms) {
                    endpoint.post(&body).with_context(|| format!("after {events_sent} events were accepted"))?;
                }
                events_sent += chunk.len();
                requests += 1;
            }
            pending.drain(..ready);
        }
    }

    let seconds = started.elapsed().as_secs_f64();
    println!("simulate: {events_sent} events accepted in {requests} requests, {seconds:.1} s ({:.0} events/s)", events_sent as f64 / seconds.max(1e-9));
    for (variant, [visitors, purchases]) in target.variants.iter().zip(&per_variant) {
        let rate = if *visitors > 0 { *purchases as f64 / *visitors as f64 * 100.0 } else { 0.0 };
        println!("simulate: {} / {}: {visitors} visitors, {purchases} purchases ({rate:.2} %)", target.key, variant.key);
    }
    Ok(ExitCode::SUCCESS)
}

/// Where to POST, and the HTTP client (ureq, already the ClickHouse store's) that does it.
struct Endpoint {
    url: String,
    agent: ureq::Agent,
}

const MAX_ATTEMPTS: u32 = 6;
/// A collector's answer is a small JSON object; anything longer is cut in the error message.
const MAX_ANSWER_BYTES: u64 = 1 << 20;

impl Endpoint {
    fn parse(url: &str) -> anyhow::Result<Endpoint> {
        // ureq is built without TLS: simulate is for a local (or tunnelled) collector.
        if !url.starts_with("http://") {
            bail!("--collector {url:?}: only http:// URLs are supported (simulate is for a local collector)");
        }
        let uri: ureq::http::Uri = url.parse().with_context(|| format!("--collector {url:?} is not a URL"))?;
        if uri.host().is_none_or(str::is_empty) {
            bail!("--collector {url:?}: no host");
        }
        let agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(30)))
            // 429/503 are answers to act on, not errors.
            .http_status_as_error(false)
            .user_agent("splitbeam-simulate")
            .build()
            .into();
        Ok(Endpoint { url: url.to_string(), agent })
    }

    /// Posts one batch; retries when the collector asks to (429/503, honouring Retry-After) or
    /// drops the connection. Any other non-2xx answer is an error with the collector's message.
    fn post(&self, body: &str) -> anyhow::Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.post_once(body);
            let wait = match &outcome {
                Ok(answer) if (200..300).contains(&answer.status) => return Ok(()),
                Ok(answer @ Answer { status: 429 | 503, .. }) if attempt < MAX_ATTEMPTS => {
                    eprintln!("simulate: collector answered {}; retrying", answer.status);
                    answer.retry_after.unwrap_or(Duration::from_millis(250 << attempt))
                }
                Ok(answer) => bail!("the collector refused a batch with {}: {}", answer.status, answer.body.trim()),
                // A refused first connection means no collector is listening: say so at once.
                Err(e) if attempt == 1 && is_connection_refused(e) => {
                    bail!("cannot connect to {}; is `splitbeam serve` running? ({e})", self.url)
                }
                Err(e) if attempt < MAX_ATTEMPTS => {
                    eprintln!("simulate: {e}; retrying");
                    Duration::from_millis(250 << attempt)
                }
                Err(e) => return Err(anyhow!("{e}").context(format!("POST {} failed {MAX_ATTEMPTS} times", self.url))),
            };
            std::thread::sleep(wait.min(Duration::from_secs(30)));
        }
    }

    fn post_once(&self, body: &str) -> Result<Answer, ureq::Error> {
        // text/plain like the snippet's beacons: the collector must accept it without CORS preflight.
        let mut response = self.agent.post(&self.url).content_type("text/plain;charset=UTF-8").send(body)?;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let body = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_string().unwrap_or_default();
        Ok(Answer { status: response.status().as_u16(), retry_after, body })
    }
}

/// The collector's answer to one batch.
struct Answer {
    status: u16,
    /// Retry-After in its seconds form.
    retry_after: Option<Duration>,
    body: String,
}

fn is_connection_refused(error: &ureq::Error) -> bool {
    matches!(error, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_https_collector_is_refused_with_a_reason() {
        let message = Endpoint::parse("https://collect.example.com/collect").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("only http://"), "{message}");
    }

    #[test]
    fn a_collector_url_without_a_host_is_refused() {
        assert!(Endpoint::parse("http:///collect").is_err());
    }

    #[test]
    fn no_collector_listening_is_said_at_once() {
        // A port just released by the OS: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}/collect")).expect("a valid URL");
        let message = endpoint.post("{}").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("is `splitbeam serve` running?"), "{message}");
    }
}
