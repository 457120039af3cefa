//! A bounded in-memory [`EventStore`] for rmcp's `LocalSessionManager`, in the pattern of
//! rmcp's own test store: events are kept per stream, and an event id names its stream, so a
//! replay finds the stream from the id alone.
//!
//! Event ids are `S-N`: the store's number `S` for the stream (in order of each stream's first
//! event) and the event's sequence number `N` on it (from 0). Both are counters, so a run that
//! stores the same events in the same order gives the same ids.
//!
//! rmcp hands the store only a stream id and, on replay, only the `Last-Event-ID`: never a
//! session. So the store cannot tell which session asks, and cannot free a session's events
//! when it ends; it is bounded instead ([`MAX_EVENTS_PER_STREAM`], [`MAX_EVENTS`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use rmcp::transport::streamable_http_server::session::{
    EventId, EventStore, EventStoreError, EventStream, ServerSseMessage,
};

/// The most events kept per stream; a stream's oldest event is forgotten past it.
pub(super) const MAX_EVENTS_PER_STREAM: usize = 256;
/// The most events kept in all; the oldest streams are forgotten whole past it.
pub(super) const MAX_EVENTS: usize = 4096;

/// Why a replay was refused.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReplayError {
    #[error("`{0}` is not an event id of this store")]
    Malformed(String),
    #[error("no stream kept for event `{0}`")]
    UnknownStream(String),
    #[error("event `{0}` was never stored")]
    UnknownEvent(String),
    #[error("events after `{0}` were forgotten")]
    Expired(String),
}

/// The store. Cheap to share behind an `Arc`; every method takes the lock once and never
/// awaits while holding it.
#[derive(Debug, Default)]
pub(super) struct MemoryEventStore {
    log: Mutex<Log>,
}

impl MemoryEventStore {
    /// Events kept now, over all streams.
    pub(super) fn events(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Invariants: `numbers` and `streams` name the same streams (rmcp's id ↔ ours); `total` is
/// the sum of the streams' event counts and at most [`MAX_EVENTS`]; each stream keeps at most
/// [`MAX_EVENTS_PER_STREAM`] events, in sequence order, the last one numbered `next_seq - 1`.
#[derive(Debug, Default)]
struct Log {
    next_stream: u64,
    numbers: HashMap<String, u64>,
    streams: BTreeMap<u64, Stream>,
    total: usize,
}

#[derive(Debug)]
struct Stream {
    /// rmcp's id of the stream.
    key: String,
    next_seq: u64,
    /// `(sequence number, event with its id set)`, oldest first.
    events: VecDeque<(u64, ServerSseMessage)>,
}

impl Log {
    fn store(&mut self, key: &str, event: &ServerSseMessage) -> EventId {
        let number = match self.numbers.get(key) {
            Some(&number) => number,
            None => {
                let number = self.next_stream;
                self.next_stream += 1;
                self.numbers.insert(key.to_owned(), number);
                let stream = Stream {
                    key: key.to_owned(),
                    next_seq: 0,
                    events: VecDeque::new(),
                };
                self.streams.insert(number, stream);
                number
            }
        };
        let stream = self
            .streams
            .get_mut(&number)
            .expect("numbers and streams agree");
        let seq = stream.next_seq;
        stream.next_seq += 1;
        let id = format!("{number}-{seq}");
        let mut event = event.clone();
        event.event_id = Some(id.clone());
        stream.events.push_back((seq, event));
        self.total += 1;
        if stream.events.len() > MAX_EVENTS_PER_STREAM {
            stream.events.pop_front();
            self.total -= 1;
        }
        while self.total > MAX_EVENTS {
            let Some((_, oldest)) = self.streams.pop_first() else {
                break;
            };
            self.numbers.remove(&oldest.key);
            self.total -= oldest.events.len();
        }
        id
    }

    /// The events after `id` on its stream, or why there are none to give.
    fn after(&self, id: &str) -> Result<Vec<ServerSseMessage>, ReplayError> {
        let (number, seq) = parse(id).ok_or_else(|| ReplayError::Malformed(id.to_owned()))?;
        let stream = self
            .streams
            .get(&number)
            .ok_or_else(|| ReplayError::UnknownStream(id.to_owned()))?;
        if seq >= stream.next_seq {
            return Err(ReplayError::UnknownEvent(id.to_owned()));
        }
        let first_kept = stream
            .events
            .front()
            .map_or(stream.next_seq, |(seq, _)| *seq);
        if seq + 1 < first_kept {
            return Err(ReplayError::Expired(id.to_owned()));
        }
        Ok(stream
            .events
            .iter()
            .filter(|(kept, _)| *kept > seq)
            .map(|(_, event)| event.clone())
            .collect())
    }
}

/// `S-N` as `(S, N)`, both plain decimal.
fn parse(id: &str) -> Option<(u64, u64)> {
    let (number, seq) = id.split_once('-')?;
    let decimal = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((decimal(number)?, decimal(seq)?))
}

#[async_trait::async_trait]
impl EventStore for MemoryEventStore {
    async fn store_event(
        &self,
        stream_id: &str,
        event: &ServerSseMessage,
    ) -> Result<EventId, EventStoreError> {
        Ok(self.lock().store(stream_id, event))
    }

    /// A finite replay: the events stored after `last_event_id` until now (rmcp ends the
    /// resumed response after them).
    async fn replay_events_after(
        &self,
        last_event_id: &str,
    ) -> Result<EventStream, EventStoreError> {
        let events = self.lock().after(last_event_id)?;
        Ok(Box::pin(futures::stream::iter(events)))
    }
}
