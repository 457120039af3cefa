//! The `mcp-transport-fuzz` command line: parse arguments, call the library.

use std::io::{self, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mcp_transport_fuzz::chunking::Chunking;
use mcp_transport_fuzz::commands::{self, sse::View, Exit};
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
