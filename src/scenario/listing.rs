//! The human-readable listing of a scenario: one numbered op per line.

use std::fmt;

use super::{IdPick, Op, Scenario, ToolCall};

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (number, op) in self.ops.iter().enumerate() {
            writeln!(f, "{number:>3}  {op}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Initialize { session, version } => {
                write!(f, "s{} initialize {}", session.index(), version.as_str())
            }
            Op::Initialized { session } => {
                write!(f, "s{} notifications/initialized", session.index())
            }
            Op::ListTools { session } => write!(f, "s{} tools/list", session.index()),
            Op::Call {
                session,
                call,
                upload,
            } => {
                write!(f, "s{} tools/call {call}", session.index())?;
                if !upload.chunks.is_empty() {
                    write!(f, " upload-chunks={:?}", upload.chunks)?;
                }
                if let Some(after) = upload.abort_after {
                    write!(f, " abort-after={after}")?;
                }
                Ok(())
            }
            Op::Read { stream, bytes } => write!(f, "read {bytes} bytes from stream #{}", stream.0),
            Op::Stall { millis } => write!(f, "stall {millis} ms"),
            Op::DropResponse { stream } => write!(f, "drop stream #{}", stream.0),
            Op::Resume { session, id } => write!(f, "s{} GET resume from {id}", session.index()),
            Op::OpenGet { session } => write!(f, "s{} GET standalone stream", session.index()),
            Op::Delete { session } => write!(f, "s{} DELETE", session.index()),
            Op::Misstep { session, misstep } => {
                write!(f, "s{} misstep {misstep:?}", session.index())
            }
            Op::Flood { session, streams } => {
                write!(f, "s{} flood of {streams:?} streams", session.index())
            }
            Op::Oversize { session, body } => {
                write!(
                    f,
                    "s{} oversized tools/call body, {body:?}",
                    session.index()
                )
            }
            Op::Discover { client } => write!(f, "c{} server/discover", client.index()),
            Op::Listen { client, interests } => write!(
                f,
                "c{} subscriptions/listen interests={:#04x}",
                client.index(),
                interests.0
            ),
            Op::Stateless {
                client,
                call,
                deviation,
            } => write!(
                f,
                "c{} 2026 tools/call {call} deviation={deviation:?}",
                client.index()
            ),
        }
    }
}

impl fmt::Display for ToolCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolCall::Echo { text } => write!(f, "echo {:?}", text.render()),
            ToolCall::Stream {
                count,
                size,
                delay_ms,
            } => write!(f, "stream count={count} size={size} delay={delay_ms}ms"),
            ToolCall::FetchCached { key } => write!(f, "fetch_cached {key:?}"),
            ToolCall::Subscribe => f.write_str("subscribe"),
            ToolCall::Monitor { count, interval_ms } => {
                write!(f, "monitor count={count} interval={interval_ms}ms")
            }
        }
    }
}

impl fmt::Display for IdPick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdPick::Own { stream, event } => write!(f, "own id #{event} of stream #{}", stream.0),
            IdPick::OtherStream { stream, event } => {
                write!(f, "id #{event} of other stream #{}", stream.0)
            }
            IdPick::OtherSession { session, event } => {
                write!(f, "id #{event} of session s{}", session.index())
            }
            IdPick::Mutated { event, at, with } => {
                write!(f, "own id #{event} with byte {at} set to {with:#04x}")
            }
            IdPick::Forged { seq } => write!(f, "forged id seq={seq}"),
        }
    }
}
