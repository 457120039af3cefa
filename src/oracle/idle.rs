//! `idle/duration`: "a stalled stream stays open past its idle timeout or maximum duration".
//!
//! A client only sees a stream while it reads, so the rule is judged at reads. Per SSE stream
//! the deadline is D = min(last_data_at + idle, opened_at + max_duration) + slack over the
//! limits that are set, where last_data_at is the last `Data` observation so far (opened_at if
//! none):
//! - a read that starts at T ≥ D (the client stalled past the deadline) must get everything at
//!   once (`Data` at ≤ T + slack) and then the stream's end (at ≤ T + slack); from then on D no
//!   longer moves;
//! - while a read is in progress, `Data` after D, a read that gives up waiting
//!   (`ReadStop{waited}`) after D, or an end after D show the server kept the stream open.
//!
//! Streams never read after their deadline are not judged; a client drop ends the judgement.

use serde_json::json;

use super::facts::{finding, stream_step};
use super::{Finding, Oracle, Severity};
use crate::model::Millis;
use crate::trace::{Observation, Policy, StreamEnd, StreamRecord, Trace};

/// Every stream kept open past its deadline (at most one finding per stream).
pub(super) fn check(trace: &Trace) -> Vec<Finding> {
    let policy = &trace.policy;
    if policy.idle_timeout.is_none() && policy.max_duration.is_none() {
        return Vec::new();
    }
    let judged = trace.streams.iter().enumerate().filter(|(_, s)| s.sse);
    judged
        .filter_map(|(index, stream)| {
            let late = first_overrun(policy, stream)?;
            Some(overrun(trace, index, stream, late))
        })
        .collect()
}

/// Which limit made the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Limit {
    Idle,
    Duration,
}

/// A deadline, slack included, and the limit that set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Deadline {
    at: Millis,
    limit: Limit,
}

/// The stream's deadline given the last data at `last_data`.
fn deadline(policy: &Policy, opened_at: Millis, last_data: Millis) -> Option<Deadline> {
    let idle = policy.idle_timeout.map(|idle| Deadline {
        at: last_data.after(idle),
        limit: Limit::Idle,
    });
    let duration = policy.max_duration.map(|max| Deadline {
        at: opened_at.after(max),
        limit: Limit::Duration,
    });
    let first = match (idle, duration) {
        (Some(idle), Some(duration)) if duration.at < idle.at => duration,
        (Some(idle), _) => idle,
        (None, duration) => duration?,
    };
    Some(Deadline {
        at: first.at.after(policy.slack),
        limit: first.limit,
    })
}

/// What showed the stream open too long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Overrun {
    deadline: Deadline,
    last_data: Millis,
    /// The start of the read that began after the deadline, if one did.
    late_read: Option<Millis>,
    /// When, and what was seen.
    at: Millis,
    seen: &'static str,
}

/// Where the walk over a stream's observations is.
#[derive(Debug, Clone, Copy)]
struct Walk<'p> {
    policy: &'p Policy,
    opened_at: Millis,
    last_data: Millis,
    /// The deadline the client stalled past, and the start of its latest read since.
    late: Option<(Deadline, Millis)>,
}

impl Walk<'_> {
    fn deadline(&self) -> Option<Deadline> {
        match self.late {
            Some((deadline, _)) => Some(deadline),
            None => deadline(self.policy, self.opened_at, self.last_data),
        }
    }

    /// The latest instant at which something may still arrive or the stream end.
    fn limit(&self, deadline: Deadline) -> Millis {
        match self.late {
            Some((_, since)) => since.after(self.policy.slack),
            None => deadline.at,
        }
    }

    /// Takes `observation` in; an overrun if it shows the stream open too long.
    fn step(&mut self, observation: Observation) -> Option<Overrun> {
        let deadline = self.deadline()?;
        let (at, seen) = match observation {
            Observation::ReadStart { at, .. } => {
                if self.late.is_some() || at >= deadline.at {
                    self.late = Some((deadline, at));
                }
                return None;
            }
            Observation::Data { at, .. } if at <= self.limit(deadline) => {
                if self.late.is_none() {
                    self.last_data = at;
                }
                return None;
            }
            Observation::Data { at, .. } => (at, "data"),
            Observation::ReadStop { at, waited: true } if at > deadline.at => {
                (at, "a read that waited with the stream still open")
            }
            Observation::ReadStop { .. } => return None,
        };
        Some(self.overrun(deadline, at, seen))
    }

    /// The end of the stream, if the client saw it end: too late is an overrun.
    fn end(&self, end: &StreamEnd) -> Option<Overrun> {
        let at = match end {
            StreamEnd::Finished { at } | StreamEnd::Failed { at, .. } => *at,
            StreamEnd::Dropped { .. } | StreamEnd::Abandoned { .. } => return None,
        };
        let deadline = self.deadline()?;
        (at > self.limit(deadline)).then(|| self.overrun(deadline, at, "the end"))
    }

    fn overrun(&self, deadline: Deadline, at: Millis, seen: &'static str) -> Overrun {
        Overrun {
            deadline,
            last_data: self.last_data,
            late_read: self.late.map(|(_, since)| since),
            at,
            seen,
        }
    }
}

/// The first observation (or the end) that shows `stream` open past its deadline.
fn first_overrun(policy: &Policy, stream: &StreamRecord) -> Option<Overrun> {
    let mut walk = Walk {
        policy,
        opened_at: stream.opened_at,
        last_data: stream.opened_at,
        late: None,
    };
    for observation in &stream.observations {
        if let Some(overrun) = walk.step(*observation) {
            return Some(overrun);
        }
    }
    walk.end(stream.end.as_ref()?)
}

fn overrun(trace: &Trace, index: usize, stream: &StreamRecord, late: Overrun) -> Finding {
    let (kind, limit) = match late.deadline.limit {
        Limit::Idle => ("open-past-idle", "idle timeout"),
        Limit::Duration => ("open-past-duration", "maximum duration"),
    };
    let summary = format!(
        "stream {index} was still open at {} ({}): its {limit} deadline with slack was {}",
        late.at, late.seen, late.deadline.at
    );
    let evidence = json!({
        "stream": index,
        "exchange": stream.exchange,
        "opened_at": stream.opened_at,
        "last_data_at": late.last_data,
        "deadline": late.deadline.at,
        "limit": limit,
        "late_read_at": late.late_read,
        "at": late.at,
        "seen": late.seen,
        "idle_timeout": trace.policy.idle_timeout,
        "max_duration": trace.policy.max_duration,
        "slack": trace.policy.slack,
    });
    finding(
        Oracle::IdleDuration,
        Severity::Medium,
        kind,
        summary,
        evidence,
        stream_step(trace, index),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, Build};
    use crate::trace::Purpose;

    const fn ms(n: u64) -> Millis {
        Millis(n)
    }

    fn start(at: u64) -> Observation {
        Observation::ReadStart {
            at: ms(at),
            want: 100,
        }
    }

    fn data(at: u64) -> Observation {
        Observation::Data {
            at: ms(at),
            bytes: 10,
        }
    }

    fn stop(at: u64, waited: bool) -> Observation {
        Observation::ReadStop { at: ms(at), waited }
    }

    /// A standalone stream opened at 0 under idle 5 s, duration 60 s, slack 1 s.
    fn judged(observations: &[Observation], end: Option<StreamEnd>) -> Vec<Finding> {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        b.trace.policy.idle_timeout = Some(ms(5_000));
        b.trace.policy.max_duration = Some(ms(60_000));
        let get = b.request(Purpose::OpenGet, Some(s));
        let stream = b.stream(get);
        b.trace.streams[stream].opened_at = ms(0);
        b.observe(stream, observations, end);
        check(&b.trace)
    }

    #[test]
    fn passes_a_stalled_stream_that_ended_at_its_idle_deadline() {
        let end = Some(StreamEnd::Finished { at: ms(12_000) });
        let found = judged(&[start(12_000), data(12_000)], end);
        assert_eq!(found, []);
    }

    #[test]
    fn passes_a_stream_read_while_data_keeps_coming() {
        let obs = [
            start(0),
            data(4_000),
            data(8_000),
            data(12_000),
            stop(12_000, false),
        ];
        assert_eq!(judged(&obs, None), []);
        let end = Some(StreamEnd::Finished { at: ms(6_000) });
        assert_eq!(judged(&[start(3_000), data(3_100)], end), []);
    }

    #[test]
    fn catches_a_stalled_stream_still_open() {
        let found = judged(&[start(12_000), data(12_000), stop(14_000, true)], None);
        assert_eq!(kinds(&found), ["open-past-idle"]);
    }

    #[test]
    fn catches_data_that_keeps_a_stalled_stream_alive() {
        let found = judged(&[start(12_000), data(12_000), data(13_500)], None);
        assert_eq!(kinds(&found), ["open-past-idle"]);
    }

    #[test]
    fn catches_a_read_that_waits_past_the_deadline() {
        let found = judged(&[start(5_000), stop(7_000, true)], None);
        assert_eq!(kinds(&found), ["open-past-idle"]);
        assert_eq!(judged(&[start(3_000), stop(5_000, true)], None), []);
    }

    #[test]
    fn catches_a_stream_past_its_maximum_duration() {
        let obs: Vec<Observation> = std::iter::once(start(0))
            .chain((1..=70).map(|n| data(n * 1_000)))
            .collect();
        assert_eq!(kinds(&judged(&obs, None)), ["open-past-duration"]);
        assert_eq!(judged(&obs[..61], None), []);
    }

    #[test]
    fn catches_an_end_later_than_the_deadline() {
        let end = Some(StreamEnd::Finished { at: ms(9_000) });
        assert_eq!(kinds(&judged(&[start(3_000)], end)), ["open-past-idle"]);
    }

    #[test]
    fn does_not_judge_without_limits_or_without_reads() {
        assert_eq!(judged(&[], Some(StreamEnd::Dropped { at: ms(99_000) })), []);
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let get = b.request(Purpose::OpenGet, Some(s));
        let stream = b.stream(get);
        b.observe(stream, &[start(99_000), stop(101_000, true)], None);
        assert_eq!(check(&b.trace), []);
    }
}
