//! Reading response bodies at the client's pace, into [`StreamRecord`]s.

use std::time::Duration;

use http_body_util::BodyExt;
use tokio::time::{timeout_at, Instant};

use crate::adapter::ResponseBody;
use crate::alloc::{charged_to, Side};
use crate::model::Millis;
use crate::sse::{Limits, RawBlock, RawDecoder, RawLine};
use crate::trace::{
    EventRecord, Observation, StreamEnd, StreamRecord, STREAM_KEEP_BYTES, STREAM_KEEP_EVENTS,
};

/// Limits of the decoder the client reads every stream with: far above any sane message, so
/// only a broken stream trips them.
const CLIENT_LIMITS: Limits = Limits {
    max_line_bytes: 1 << 20,
    max_event_bytes: 4 << 20,
};

/// A response body the client still holds, with the decoder that reads it.
pub(super) struct OpenBody {
    /// Its record (index into the trace's streams).
    pub stream: usize,
    body: ResponseBody,
    decoder: Option<RawDecoder>,
    blocks: Vec<RawBlock>,
}

/// How much to read, and for how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadPlan {
    /// Stop once this many bytes arrived.
    pub want: u64,
    /// Stop when nothing arrives for this long.
    pub quiet: Duration,
    /// Stop at this instant whatever happens.
    pub until: Instant,
}

/// What a read left the body in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AfterRead {
    Open,
    Ended,
}

impl OpenBody {
    pub(super) fn new(stream: usize, body: ResponseBody, sse: bool) -> Self {
        Self {
            stream,
            body,
            decoder: sse.then(|| RawDecoder::new(CLIENT_LIMITS)),
            blocks: Vec::new(),
        }
    }

    /// Reads as `plan` says, recording into `record`; `clock` gives the run's instants.
    pub(super) async fn read(
        &mut self,
        record: &mut StreamRecord,
        plan: ReadPlan,
        clock: impl Fn() -> Millis,
    ) -> AfterRead {
        record.observations.push(Observation::ReadStart {
            at: clock(),
            want: plan.want,
        });
        let mut got = 0u64;
        while got < plan.want {
            let deadline = (Instant::now() + plan.quiet).min(plan.until);
            let frame =
                match timeout_at(deadline, charged_to(Side::Server, self.body.frame())).await {
                    Err(_) => {
                        record.observations.push(Observation::ReadStop {
                            at: clock(),
                            waited: true,
                        });
                        return AfterRead::Open;
                    }
                    Ok(frame) => frame,
                };
            let at = clock();
            match frame {
                None => {
                    self.finish(record);
                    record.end = Some(StreamEnd::Finished { at });
                    return AfterRead::Ended;
                }
                Some(Err(error)) => {
                    self.finish(record);
                    record.end = Some(StreamEnd::Failed {
                        at,
                        error: error.to_string(),
                    });
                    return AfterRead::Ended;
                }
                Some(Ok(frame)) => {
                    let Ok(data) = frame.into_data() else {
                        continue;
                    };
                    got += data.len() as u64;
                    record.observations.push(Observation::Data {
                        at,
                        bytes: data.len() as u64,
                    });
                    self.take(record, &data, at);
                }
            }
        }
        record.observations.push(Observation::ReadStop {
            at: clock(),
            waited: false,
        });
        AfterRead::Open
    }

    /// Records `data`, decoding at most [`STREAM_KEEP_BYTES`] of the stream.
    fn take(&mut self, record: &mut StreamRecord, data: &[u8], at: Millis) {
        let room = STREAM_KEEP_BYTES.saturating_sub(record.bytes);
        let kept = &data[..data.len().min(usize::try_from(room).unwrap_or(usize::MAX))];
        record.bytes += data.len() as u64;
        match &mut self.decoder {
            Some(decoder) => {
                if let Err(error) = decoder.feed(kept, &mut self.blocks) {
                    record.decode_error = Some(error.to_string());
                    self.decoder = None;
                }
                keep_events(record, self.blocks.drain(..), at);
            }
            None if record.sse => {}
            None => record.text.push_str(&String::from_utf8_lossy(kept)),
        }
    }

    /// The end of the body: a block left without its blank line is not an event (L7).
    fn finish(&mut self, record: &mut StreamRecord) {
        if let Some(mut decoder) = self.decoder.take() {
            if let Err(error) = decoder.finish() {
                record.decode_error = Some(error.to_string());
            }
        }
    }
}

/// Turns raw blocks into event records, keeping at most [`STREAM_KEEP_EVENTS`]; blocks of
/// comments only (keep-alives) are not events.
fn keep_events(record: &mut StreamRecord, blocks: impl Iterator<Item = RawBlock>, at: Millis) {
    for block in blocks {
        if record.events.len() >= STREAM_KEEP_EVENTS {
            continue;
        }
        let mut event = EventRecord {
            at,
            ..EventRecord::default()
        };
        let mut data_lines = Vec::new();
        let mut fields = 0;
        for line in block.lines {
            match line {
                RawLine::Comment { comment } => event.comments.push(comment),
                RawLine::Field { name, value } => {
                    fields += 1;
                    match name.as_str() {
                        "data" => data_lines.push(value),
                        "id" => event.id = Some(value),
                        "event" => event.event_type = Some(value),
                        "retry" => event.retry = Some(value),
                        _ => event.other_fields.push(format!("{name}:{value}")),
                    }
                }
            }
        }
        if fields == 0 {
            continue;
        }
        event.data_lines = data_lines.len();
        event.data = data_lines.join("\n");
        record.events.push(event);
    }
}
