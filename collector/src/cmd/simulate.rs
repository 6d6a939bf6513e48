//! `splitbeam simulate`: sends synthetic visitors with a known true uplift through the demo funnel
//! to a collector, as real HTTP batches, so the dashboard fills and its statistics can be checked.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
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

/// Where to POST: host, port and path of an `http://` URL. A minimal HTTP/1.1 client, so the
/// CLI needs no HTTP client crate for this one request shape.
struct Endpoint {
    host: String,
    port: u16,
    path: String,
}

const MAX_ATTEMPTS: u32 = 6;

impl Endpoint {
    fn parse(url: &str) -> anyhow::Result<Endpoint> {
        let Some(rest) = url.strip_prefix("http://") else {
            bail!("--collector {url:?}: only http:// URLs are supported (simulate is for a local collector)");
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/collect"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().with_context(|| format!("--collector {url:?}: bad port {port:?}"))?),
            None => (authority, 80),
        };
        if host.is_empty() {
            bail!("--collector {url:?}: no host");
        }
        Ok(Endpoint { host: host.trim_start_matches('[').trim_end_matches(']').to_string(), port, path: path.to_string() })
    }

    /// Posts one batch; retries when the collector asks to (429/503, honouring Retry-After) or
    /// drops the connection. Any other non-2xx answer is an error with the collector's message.
    fn post(&self, body: &str) -> anyhow::Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.post_once(body);
            let wait = match &outcome {
                Ok((status, _, _)) if (200..300).contains(status) => return Ok(()),
                Ok((status @ (429 | 503), retry_after, _)) if attempt < MAX_ATTEMPTS => {
                    eprintln!("simulate: collector answered {status}; retrying");
                    retry_after.unwrap_or(Duration::from_millis(250 << attempt))
                }
                Ok((status, _, message)) => bail!("the collector refused a batch with {status}: {}", message.trim()),
                // A refused first connection means no collector is listening: say so at once.
                Err(e) if attempt == 1 && is_connection_refused(e) => {
                    bail!("cannot connect to {}:{}; is `splitbeam serve` running? ({e})", self.host, self.port)
                }
                Err(e) if attempt < MAX_ATTEMPTS => {
                    eprintln!("simulate: {e:#}; retrying");
                    Duration::from_millis(250 << attempt)
                }
                Err(e) => return Err(anyhow!("{e:#}").context(format!("POST {} failed {MAX_ATTEMPTS} times", self.path))),
            };
            std::thread::sleep(wait.min(Duration::from_secs(30)));
        }
    }

    /// One request on a fresh connection: (status, Retry-After, body).
    fn post_once(&self, body: &str) -> anyhow::Result<(u16, Option<Duration>, String)> {
        let address = (self.host.as_str(), self.port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to no address", self.host))?;
        let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.set_write_timeout(Some(Duration::from_secs(30)))?;
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        // text/plain like the snippet's beacons: the collector must accept it without CORS preflight.
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {host}:{}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: splitbeam-simulate\r\n\r\n",
            self.path,
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut response = Vec::new();
        // `Connection: close`: the answer ends when the server closes; a bound keeps memory in check.
        stream.take(1 << 20).read_to_end(&mut response)?;
        parse_response(&response)
    }
}

fn is_connection_refused(error: &anyhow::Error) -> bool {
    error.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// Status code, Retry-After (seconds form) and body of an HTTP/1.1 response.
fn parse_response(response: &[u8]) -> anyhow::Result<(u16, Option<Duration>, String)> {
    let text = String::from_utf8_lossy(response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| anyhow!("the collector sent no HTTP status line (got {:?})", status_line))?;
    let retry_after = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .map(Duration::from_secs);
    Ok((status, retry_after, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collector_url_splits_into_host_port_and_path() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/custom/collect").unwrap();
        assert_eq!((endpoint.host.as_str(), endpoint.port, endpoint.path.as_str()), ("127.0.0.1", 9000, "/custom/collect"));
    }

    #[test]
    fn an_https_collector_is_refused_with_a_reason() {
        let message = Endpoint::parse("https://collect.example.com/collect").err().unwrap().to_string();
        assert!(message.contains("only http://"), "{message}");
    }

    #[test]
    fn a_response_gives_its_status_retry_after_and_body() {
        let (status, retry, body) = parse_response(b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\n\r\nslow down").unwrap();
        assert_eq!((status, retry, body.as_str()), (429, Some(Duration::from_secs(2)), "slow down"));
    }
}
