//! The `mcp-transport-fuzz` command line: parse arguments, call the library.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mcp_transport_fuzz::campaign::Budget;
use mcp_transport_fuzz::chunking::Chunking;
use mcp_transport_fuzz::commands::harness::{self, Listing, RunOptions};
use mcp_transport_fuzz::commands::{self, sse::View, Exit};
use mcp_transport_fuzz::harness::TargetSpec;
use mcp_transport_fuzz::oracle::Oracle;
use mcp_transport_fuzz::sse::Limits;

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
    /// Serve the reference server (or a fixture) on 127.0.0.1, in real time, until killed.
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// `reference` or `fixture:NAME` (see `list targets`).
    #[arg(long, default_value = "reference")]
    target: TargetSpec,
    /// The port; 0 picks a free one (the `listening on` line says which).
    #[arg(long, default_value_t = 0)]
    port: u16,
}

#[derive(Args)]
struct RunArgs {
    /// `reference` or `fixture:NAME` (see `list targets`).
    #[arg(long, default_value = "reference")]
    target: TargetSpec,
    /// Stop after this long (e.g. 60s, 10m).
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with = "scenarios")]
    duration: Option<Duration>,
    /// Stop after this many scenarios.
    #[arg(long, value_name = "N")]
    scenarios: Option<u64>,
    /// The seed of the scenario generator: the same seed runs the same scenarios.
    #[arg(long, default_value_t = 0)]
    seed: u64,
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
    #[arg(long)]
    target: Option<TargetSpec>,
    /// Also print each scenario and the evidence of every finding.
    #[arg(long, short)]
    verbose: bool,
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
        Command::Replay(args) => harness::replay(&args.files, args.target, args.verbose, &mut out),
        Command::List { what } => {
            let what = match what {
                ListWhat::Fixtures => Listing::Fixtures,
                ListWhat::Targets => Listing::Targets,
                ListWhat::Oracles => Listing::Oracles,
            };
            harness::list(what, &mut out).map_err(|e| Exit::Usage(e.to_string()))
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
    let options = RunOptions {
        target: args.target,
        budget,
        seed: args.seed,
        corpus,
        report: args.report,
        sarif: args.sarif,
        findings_dir: args.findings_dir,
        until: args.until,
        progress_every: Duration::from_secs(5),
    };
    harness::run(&options, &mut io::stderr().lock()).map(drop)
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
