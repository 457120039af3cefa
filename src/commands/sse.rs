//! `sse decode` and `sse encode`.

use std::io::{BufRead, Write};

use crate::chunking::Chunking;
use crate::sse::{Decoder, Frame, Limits, RawDecoder};

use super::Exit;

/// Which view `sse decode` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// `{"event":..,"data":..,"id":..}` and `{"retry":..}` lines.
    Records,
    /// One `{"lines":[..]}` object per raw block.
    RawBlocks,
}

/// Decodes `input`, fed in `chunking`, and prints one compact JSON object per record.
pub fn decode(
    input: &[u8],
    chunking: Chunking,
    view: View,
    limits: Limits,
    out: &mut impl Write,
) -> Result<(), Exit> {
    let chunks = chunking.split(input);
    match view {
        View::Records => {
            let mut decoder = Decoder::new(limits);
            let mut records = Vec::new();
            for chunk in chunks {
                let fed = decoder.feed_owned(chunk, &mut records);
                for record in records.drain(..) {
                    write_json_line(&record, out)?;
                }
                fed.map_err(|e| Exit::Rejected(format!("input rejected: {e}")))?;
            }
            decoder
                .finish()
                .map_err(|e| Exit::Rejected(format!("input rejected: {e}")))?;
        }
        View::RawBlocks => {
            let mut decoder = RawDecoder::new(limits);
            let mut blocks = Vec::new();
            for chunk in chunks {
                let fed = decoder.feed(chunk, &mut blocks);
                for block in blocks.drain(..) {
                    write_json_line(&block, out)?;
                }
                fed.map_err(|e| Exit::Rejected(format!("input rejected: {e}")))?;
            }
        }
    }
    out.flush().map_err(write_failed)
}

/// One line of `sse encode` input.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EncodeRecord {
    event: Option<String>,
    /// A string is sent as it is; any other JSON value is sent as written on its line (so
    /// with its keys in their order), through the same safe encoder (E5).
    data: Box<serde_json::value::RawValue>,
    id: Option<String>,
    retry: Option<u64>,
}

/// Reads JSON lines of `{event?, data, id?, retry?}` and writes one SSE event for each.
///
/// A line that is not such a record, or whose values the strict encoder refuses, stops the run
/// with [`Exit::Rejected`] naming the line; every record before it has been written and flushed.
pub fn encode(input: impl BufRead, out: &mut impl Write) -> Result<(), Exit> {
    let mut bytes = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(Exit::io("cannot read input"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: EncodeRecord = serde_json::from_str(&line)
            .map_err(|e| Exit::Rejected(format!("line {number}: not a record: {e}")))?;
        let text: String;
        let data = if record.data.get().starts_with('"') {
            text = serde_json::from_str(record.data.get())
                .map_err(|e| Exit::Rejected(format!("line {number}: not a record: {e}")))?;
            text.as_str()
        } else {
            record.data.get()
        };
        let frame = Frame {
            event: record.event.as_deref(),
            id: record.id.as_deref(),
            retry: record.retry,
            ..Frame::data(data)
        };
        bytes.clear();
        if let Err(error) = frame.encode(&mut bytes) {
            out.flush().map_err(write_failed)?;
            return Err(Exit::Rejected(format!("line {number}: {error}")));
        }
        out.write_all(&bytes).map_err(write_failed)?;
    }
    out.flush().map_err(write_failed)
}

fn write_json_line(value: &impl serde::Serialize, out: &mut impl Write) -> Result<(), Exit> {
    serde_json::to_writer(&mut *out, value).map_err(|e| write_failed(e.into()))?;
    out.write_all(b"\n").map_err(write_failed)
}

fn write_failed(source: std::io::Error) -> Exit {
    Exit::Io {
        what: "cannot write output".to_owned(),
        source,
    }
}
