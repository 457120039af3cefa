//! The `mcp-transport-fuzz` command line: parse arguments, call the library.

use std::io::{self, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mcp_transport_fuzz::adapter::{Launch, RmcpVariant};
use mcp_transport_fuzz::campaign::Budget;
use mcp_transport_fuzz::chunking::Chunking;
use mcp_transport_fuzz::commands::list::{self, Listing};
use mcp_transport_fuzz::commands::run::{self, RunOptions};
use mcp_transport_fuzz::commands::{self, replay, sse::View, Exit};
use mcp_transport_fuzz::model::Millis;
use mcp_transport_fuzz::oracle::Oracle;
use mcp_transport_fuzz::runner::{Endpoint, PolicyLimits, RunTarget, TargetSpec};
use mcp_transport_fuzz::scenario::Era;
use mcp_transport_fuzz::sse::Limits;

/// In process, every job runs on its own thread, and the counting allocator charges what the
/// target holds there to the server side: `run` judges heap growth as the fuzz targets do.
#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

#[derive(Parser)]
#[command(
    version,
    about = "Fuzzing and property tests for MCP Streamable HTTP transports"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The reference event-stream codec.
    #[command(subcommand)]
    Sse(SseCommand),
    /// Run generated scenarios against a target and report what the oracles find.
    Run(RunArgs),
    /// Re-run reproducer files and say whether each still fails.
    Replay(ReplayArgs),
    /// List the fixtures (NAME ORACLE), the targets or the oracles.
    List {
        #[arg(value_enum)]
        what: ListWhat,
    },
    /// Serve an in-process target (the reference, a fixture, rmcp) on 127.0.0.1, in real time,
    /// until killed.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// `reference`, `fixture:NAME` or `rmcp:VARIANT` (see `list targets`).
    #[arg(long, default_value = "reference")]
    target: TargetSpec,
    /// The port; 0 picks a free one (the `listening on` line says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

/// Which target to drive, shared by `run` and `replay`.
#[derive(Args)]
struct TargetArgs {
    /// An in-process target: `reference`, `rmcp[:local|:event-store|:stateless]` or
    /// `fixture:NAME` (see `list targets`). Without it and without --url: rmcp.
    #[arg(long, conflicts_with = "url")]
    target: Option<TargetSpec>,
    /// A running server's MCP endpoint (loopback only, unless --allow-remote).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Start the server with this shell command (PORT is set from --url), wait until --url
    /// accepts connections, and restart it when it crashes.
    #[arg(long, value_name = "COMMAND", requires = "url")]
    cmd: Option<String>,
    /// Where the started server's output goes (appended); by default a file of this run's
    /// own, `findings/server-UNIXTIME-PID.log`.
    #[arg(long, value_name = "FILE", requires = "cmd")]
    server_log: Option<PathBuf>,
    /// Allow a --url that is not on loopback.
    #[arg(long, requires = "url")]
    allow_remote: bool,
    /// Start the server with Node's inspector on a free loopback port (through NODE_OPTIONS),
    /// so that leak probes read its live heap exactly, after a forced collection.
    #[arg(long, requires = "cmd")]
    node_inspect: bool,
    /// N of the resource probes run before fuzzing a server started with --cmd: each unit of
    /// work is repeated N, 2N and 4N times while /proc is read (0: no probes).
    #[arg(long, value_name = "N", default_value_t = mcp_transport_fuzz::probe::DEFAULT_DOSE)]
    probe_dose: u32,
    /// Probe only these tools (comma-separated); by default every tool the server lists.
    #[arg(long, value_name = "TOOLS", value_delimiter = ',')]
    probe_tools: Vec<String>,
    /// Judge response streams against this byte cap.
    #[arg(long, value_name = "N")]
    max_stream_bytes: Option<u64>,
    /// Judge streams against this idle timeout (e.g. 30s).
    #[arg(long, value_parser = humantime::parse_duration)]
    idle_timeout: Option<Duration>,
    /// Judge streams against this maximum duration (e.g. 5m).
    #[arg(long, value_parser = humantime::parse_duration)]
    max_duration: Option<Duration>,
    /// Also report hardening findings: what careful servers do that the specification does not
    /// ask (such as refusing an Accept that names neither JSON nor SSE).
    #[arg(long)]
    hardening: bool,
    /// Judge request bodies against this limit in bytes (default 4 MiB, the TypeScript SDK's):
    /// an oversized request sends eight times it, and a server should refuse it early.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1024..=(64 << 20)))]
    max_request_bytes: Option<u64>,
    /// How many long-lived streams a flood opens for one principal (default 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(2..=512))]
    probe_streams: Option<u32>,
    /// Judge the concurrent streams of one principal against this cap, exactly.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_streams_per_principal: Option<u32>,
    /// The protocol era to speak: `2025` (sessions), `2026` (stateless 2026-07-28), or `both`
    /// (each slot as the scenario says; `server/discover` falls back to initialize).
    #[arg(long, value_name = "ERA", default_value = "both", value_parser = parse_era)]
    era: Era,
}

fn parse_era(text: &str) -> Result<Era, String> {
    Era::parse(text).ok_or_else(|| format!("{text:?} is not an era: use 2025, 2026 or both"))
}

/// The server log of this run when none is given: named after the run (its start and the
/// suite's process id), so that no two runs share one.
fn run_log() -> PathBuf {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    PathBuf::from(format!(
        "findings/server-{started}-{}.log",
        std::process::id()
    ))
}

impl TargetArgs {
    /// The target named, or `default` when none is.
    fn target(&self, default: Option<TargetSpec>) -> Result<Option<RunTarget>, Exit> {
        if let Some(url) = &self.url {
            let launch = match &self.cmd {
                Some(command) => {
                    let port = url
                        .parse::<http::Uri>()
                        .map_err(|e| Exit::Usage(format!("--url {url:?}: {e}")))?
                        .port_u16();
                    let log = self.server_log.clone().unwrap_or_else(run_log);
                    let mut launch = Launch::new(command.clone(), log);
                    launch.port = port;
                    if self.node_inspect {
                        let free = std::net::TcpListener::bind("127.0.0.1:0")
                            .and_then(|listener| listener.local_addr())
                            .map_err(|e| {
                                Exit::Usage(format!("no free port for the inspector: {e}"))
                            })?;
                        launch.node_inspect = Some(free.port());
                    }
                    Some(launch)
                }
                None => None,
            };
            return Ok(Some(RunTarget::BlackBox(Endpoint {
                url: url.clone(),
                launch,
                allow_remote: self.allow_remote,
                probe_dose: self.probe_dose,
                probe_tools: self.probe_tools.clone(),
                group: Default::default(),
            })));
        }
        Ok(self.target.or(default).map(RunTarget::InProcess))
    }

    fn limits(&self) -> PolicyLimits {
        let millis = |d: Duration| Millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        PolicyLimits {
            max_stream_bytes: self.max_stream_bytes,
            idle_timeout: self.idle_timeout.map(millis),
            max_duration: self.max_duration.map(millis),
            hardening: self.hardening,
            max_request_bytes: self.max_request_bytes,
            probe_streams: self.probe_streams,
            max_streams_per_principal: self.max_streams_per_principal,
            era: self.era,
        }
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Stop after this long (e.g. 60s, 10m); 60s when neither this nor --scenarios is given.
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "scenarios")]
    duration: Option<Duration>,
    /// Stop after this many scenarios.
    #[arg(long, value_name = "N")]
    scenarios: Option<u64>,
    /// The seed of the scenario generator: the same seed runs the same scenarios.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Parallel jobs, one thread (and runtime) each. By default 1 in process (one per core is
    /// the most that helps) and 16 against a URL (black-box jobs mostly wait on the server).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// Seed inputs (every file of the folder); by default corpus/harness_reference when it
    /// exists.
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,
    /// Write one JSON object per line and per deduplicated finding.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write the findings as SARIF 2.1.0.
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Where reproducer files go.
    #[arg(long, value_name = "DIR", default_value = "findings")]
    findings_dir: PathBuf,
    /// Stop as soon as this oracle reports a finding (see `list oracles`).
    #[arg(long, value_name = "ORACLE", value_parser = parse_oracle)]
    until: Option<Oracle>,
}

fn parse_oracle(name: &str) -> Result<Oracle, String> {
    Oracle::from_name(name).ok_or_else(|| format!("unknown oracle {name:?} (see `list oracles`)"))
}

#[derive(Args)]
struct ReplayArgs {
    /// Reproducer files (scenario bytes).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The target to replay against; by default the one each file's sidecar names.
    #[command(flatten)]
    target: TargetArgs,
    /// Also print each scenario and the evidence of every finding.
    #[arg(long, short)]
    verbose: bool,
    /// Shrink each reproducer that still fails to a minimal scenario that still shows its
    /// finding (the same oracle and kind), written beside it as a new reproducer; the original
    /// is kept. Against a server in real time, each candidate gets 3 tries.
    #[arg(long)]
    minimize: bool,
    /// Run each in-process reproducer again over a real socket, against its target served by
    /// `serve` on a free loopback port, and say whether its finding shows there too.
    #[arg(long)]
    confirm: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ListWhat {
    Fixtures,
    Targets,
    Oracles,
}

#[derive(Subcommand)]
enum SseCommand {
    /// Decode an event stream and print one JSON object per record.
    Decode(DecodeArgs),
    /// Read JSON lines of {event?, data, id?, retry?} from stdin and write an event stream.
    Encode,
}

#[derive(Args)]
struct DecodeArgs {
    /// The stream to read; stdin when absent or `-`.
    file: Option<PathBuf>,
    /// Feed the input in chunks of N bytes.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "split_seed")]
    chunk_size: Option<u64>,
    /// Feed the input in pseudo-random chunks (0 to 16 bytes) drawn from seed S.
    #[arg(long, value_name = "S")]
    split_seed: Option<u64>,
    /// Print each block's raw lines instead of dispatched events.
    #[arg(long)]
    raw: bool,
    /// The longest line and the largest event accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::DEFAULT_BYTES)]
    max_bytes: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = match cli.command {
        Command::Sse(SseCommand::Decode(args)) => run_decode(args, &mut out),
        Command::Sse(SseCommand::Encode) => commands::sse::encode(io::stdin().lock(), &mut out),
        Command::Run(args) => run(args),
        Command::Replay(args) => replay(&args, &mut out),
        Command::List { what } => {
            let what = match what {
                ListWhat::Fixtures => Listing::Fixtures,
                ListWhat::Targets => Listing::Targets,
                ListWhat::Oracles => Listing::Oracles,
            };
            list::list(what, &mut out).map_err(Exit::io("cannot write the list"))
        }
        Command::Serve(args) => serve(args, &mut out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => {
            drop(out);
            eprintln!("mcp-transport-fuzz: {exit}");
            ExitCode::from(exit.code() as u8)
        }
    }
}

fn serve(args: ServeArgs, out: &mut impl io::Write) -> Result<(), Exit> {
    commands::serve::serve(args.target, args.port, out).map(|never| match never {})
}

fn run_decode(args: DecodeArgs, out: &mut impl io::Write) -> Result<(), Exit> {
    let input = read_input(args.file.as_deref())?;
    let chunking = match (args.chunk_size, args.split_seed) {
        (Some(size), _) => Chunking::Fixed(usize::try_from(size).unwrap_or(usize::MAX)),
        (None, Some(seed)) => Chunking::Seeded(seed),
        (None, None) => Chunking::Whole,
    };
    let view = if args.raw {
        View::RawBlocks
    } else {
        View::Records
    };
    let limits = Limits {
        max_line_bytes: args.max_bytes,
        max_event_bytes: args.max_bytes,
    };
    commands::sse::decode(&input, chunking, view, limits, out)
}

/// Jobs against a URL when --jobs is not given: on 2 cores, the TypeScript SDK server took
/// 905, 1,244 and 1,492 requests/s from 8, 12 and 16 jobs (30 s each).
const BLACK_BOX_JOBS: u16 = 16;

/// The default seed corpus, relative to the working directory (the repository's root).
const DEFAULT_CORPUS: &str = "corpus/harness_reference";

fn run(args: RunArgs) -> Result<(), Exit> {
    let budget = match (args.duration, args.scenarios) {
        (_, Some(n)) => Budget::Scenarios(n),
        (Some(duration), None) => Budget::Duration(duration),
        (None, None) => Budget::Duration(Duration::from_secs(60)),
    };
    let corpus = args.corpus.or_else(|| {
        let default = PathBuf::from(DEFAULT_CORPUS);
        default.is_dir().then_some(default)
    });
    let target = args
        .target
        .target(Some(TargetSpec::Rmcp(RmcpVariant::Local)))?
        .expect("a default target is given");
    let jobs = args.jobs.unwrap_or(match target {
        RunTarget::InProcess(_) => 1,
        RunTarget::BlackBox(_) => BLACK_BOX_JOBS,
    });
    let options = RunOptions {
        target,
        limits: args.target.limits(),
        budget,
        seed: args.seed,
        jobs: usize::from(jobs),
        corpus,
        report: args.report,
        sarif: args.sarif,
        findings_dir: args.findings_dir,
        until: args.until,
        progress_bar: io::stderr().is_terminal(),
    };
    run::run(&options, &mut io::stderr()).map(drop)
}

fn replay(args: &ReplayArgs, out: &mut impl io::Write) -> Result<(), Exit> {
    let target = args.target.target(None)?;
    let options = replay::ReplayOptions {
        verbose: args.verbose,
        minimize: args.minimize,
        confirm: args.confirm,
    };
    replay::replay(
        &args.files,
        target.as_ref(),
        &args.target.limits(),
        options,
        out,
    )
}

fn read_input(file: Option<&std::path::Path>) -> Result<Vec<u8>, Exit> {
    let mut input = Vec::new();
    match file {
        None => io::stdin().read_to_end(&mut input),
        Some(path) if path.as_os_str() == "-" => io::stdin().read_to_end(&mut input),
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut input)),
    }
    .map_err(|e| {
        let name = file.map_or("stdin".into(), |p| p.display().to_string());
        Exit::Usage(format!("cannot read {name}: {e}"))
    })?;
    Ok(input)
}
