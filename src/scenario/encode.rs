//! Scenarios back to bytes: the inverse of [`Scenario::from_bytes`], for writing seed files
//! and test scenarios by hand.
//!
//! It follows `arbitrary`'s reading rules (as pinned in Cargo.lock): integers little-endian,
//! an enum variant as a `u32` scaled onto the variant count, `bool` as the low bit of a byte,
//! `Option` as a bool then the value, `Vec` as a continue-bool before each element and a
//! false after the last. `Scenario::from_bytes(&s.to_bytes()?) == s` is tested.

use super::{
    CacheKey, Deviation, Flood, IdPick, Misstep, Op, Oversize, Scenario, Slot, StreamPick,
    ToolCall, Upload, Version,
};
use crate::input::Piece;

impl Scenario {
    /// The bytes that read back as this scenario, or `None` when it holds a free-text piece
    /// (whose length `arbitrary` reads from the end of the input, so it has no position-free
    /// encoding) or more than [`super::MAX_OPS`] ops.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        if self.ops.len() > super::MAX_OPS {
            return None;
        }
        let mut out = Writer(Vec::new());
        for op in &self.ops {
            out.op(op)?;
        }
        Some(out.0)
    }
}

struct Writer(Vec<u8>);

impl Writer {
    /// Variant `index` of an enum of `count` variants.
    fn variant(&mut self, index: u64, count: u64) {
        let value = ((index << 32).div_ceil(count)) as u32;
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }

    fn u16(&mut self, value: u16) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn bool(&mut self, value: bool) {
        self.0.push(u8::from(value));
    }

    fn slot(&mut self, slot: Slot) {
        self.u8(slot.raw());
    }

    fn pick(&mut self, pick: StreamPick) {
        self.u8(pick.0);
    }

    fn op(&mut self, op: &Op) -> Option<()> {
        const OPS: u64 = 16;
        match op {
            Op::Initialize { session, version } => {
                self.variant(0, OPS);
                self.slot(*session);
                let index = match version {
                    Version::V2025_03_26 => 0,
                    Version::V2025_06_18 => 1,
                    Version::V2025_11_25 => 2,
                };
                self.variant(index, 3);
            }
            Op::Initialized { session } => {
                self.variant(1, OPS);
                self.slot(*session);
            }
            Op::ListTools { session } => {
                self.variant(2, OPS);
                self.slot(*session);
            }
            Op::Call {
                session,
                call,
                upload,
            } => {
                self.variant(3, OPS);
                self.slot(*session);
                self.call(call)?;
                self.upload(upload);
            }
            Op::Read { stream, bytes } => {
                self.variant(4, OPS);
                self.pick(*stream);
                self.u16(*bytes);
            }
            Op::Stall { millis } => {
                self.variant(5, OPS);
                self.u16(*millis);
            }
            Op::DropResponse { stream } => {
                self.variant(6, OPS);
                self.pick(*stream);
            }
            Op::Resume { session, id } => {
                self.variant(7, OPS);
                self.slot(*session);
                self.id_pick(id);
            }
            Op::OpenGet { session } => {
                self.variant(8, OPS);
                self.slot(*session);
            }
            Op::Delete { session } => {
                self.variant(9, OPS);
                self.slot(*session);
            }
            Op::Misstep { session, misstep } => {
                self.variant(10, OPS);
                self.slot(*session);
                let index = match misstep {
                    Misstep::MissingSessionId => 0,
                    Misstep::UnknownSessionId => 1,
                    Misstep::BadProtocolVersion => 2,
                    Misstep::ForeignOrigin => 3,
                    Misstep::ForeignHost => 4,
                    Misstep::BadAccept => 5,
                };
                self.variant(index, 6);
            }
            Op::Flood { session, streams } => {
                self.variant(11, OPS);
                self.slot(*session);
                let index = match streams {
                    Flood::Calls => 0,
                    Flood::Gets => 1,
                    Flood::SpreadCalls => 2,
                };
                self.variant(index, 3);
            }
            Op::Oversize { session, body } => {
                self.variant(12, OPS);
                self.slot(*session);
                let index = match body {
                    Oversize::Sized => 0,
                    Oversize::Chunked => 1,
                    Oversize::OneChunk => 2,
                    Oversize::Gzip => 3,
                    Oversize::Deflate => 4,
                };
                self.variant(index, 5);
            }
            Op::Discover { client } => {
                self.variant(13, OPS);
                self.slot(*client);
            }
            Op::Listen { client, interests } => {
                self.variant(14, OPS);
                self.slot(*client);
                self.u8(interests.0);
            }
            Op::Stateless {
                client,
                call,
                deviation,
            } => {
                self.variant(15, OPS);
                self.slot(*client);
                self.call(call)?;
                self.deviation(*deviation);
            }
        }
        Some(())
    }

    fn deviation(&mut self, deviation: Deviation) {
        const DEVIATIONS: u64 = 16;
        let index = match deviation {
            Deviation::None => 0,
            Deviation::LogLevel(level) => {
                self.variant(1, DEVIATIONS);
                self.u8(level);
                return;
            }
            Deviation::NoClientInfo => 2,
            Deviation::NoMetaVersion => 3,
            Deviation::NoCapabilities => 4,
            Deviation::UnsupportedVersion => 5,
            Deviation::VersionMismatch => 6,
            Deviation::NoVersionHeader => 7,
            Deviation::NoMethodHeader => 8,
            Deviation::WrongMethodHeader => 9,
            Deviation::NoNameHeader => 10,
            Deviation::WrongNameHeader => 11,
            Deviation::NoParamHeader => 12,
            Deviation::WrongParamHeader => 13,
            Deviation::StaleSessionId => 14,
            Deviation::StaleLastEventId => 15,
        };
        self.variant(index, DEVIATIONS);
    }

    fn call(&mut self, call: &ToolCall) -> Option<()> {
        const TOOLS: u64 = 5;
        match call {
            ToolCall::Echo { text } => {
                self.variant(0, TOOLS);
                for piece in &text.0 {
                    self.bool(true);
                    self.piece(piece)?;
                }
                self.bool(false);
            }
            ToolCall::Stream {
                count,
                size,
                delay_ms,
            } => {
                self.variant(1, TOOLS);
                self.u8(*count);
                self.u16(*size);
                self.u16(*delay_ms);
            }
            ToolCall::FetchCached { key } => {
                self.variant(2, TOOLS);
                match key {
                    CacheKey::Fresh => self.variant(0, 2),
                    CacheKey::Repeat(n) => {
                        self.variant(1, 2);
                        self.u8(*n);
                    }
                }
            }
            ToolCall::Subscribe => self.variant(3, TOOLS),
            ToolCall::Monitor { count, interval_ms } => {
                self.variant(4, TOOLS);
                self.u8(*count);
                self.u16(*interval_ms);
            }
        }
        Some(())
    }

    fn piece(&mut self, piece: &Piece) -> Option<()> {
        const PIECES: u64 = 13;
        let index = match piece {
            Piece::Lf => 0,
            Piece::Cr => 1,
            Piece::CrLf => 2,
            Piece::Colon => 3,
            Piece::Space => 4,
            Piece::Nul => 5,
            Piece::Bom => 6,
            Piece::DataField => 7,
            Piece::IdField => 8,
            Piece::EventField => 9,
            Piece::RetryField => 10,
            Piece::InjectedEvent => 11,
            Piece::Text(_) => return None,
        };
        self.variant(index, PIECES);
        Some(())
    }

    fn upload(&mut self, upload: &Upload) {
        for &size in &upload.chunks {
            self.bool(true);
            self.u8(size);
        }
        self.bool(false);
        match upload.abort_after {
            Some(after) => {
                self.bool(true);
                self.u8(after);
            }
            None => self.bool(false),
        }
    }

    fn id_pick(&mut self, pick: &IdPick) {
        const PICKS: u64 = 5;
        match *pick {
            IdPick::Own { stream, event } => {
                self.variant(0, PICKS);
                self.pick(stream);
                self.u8(event);
            }
            IdPick::OtherStream { stream, event } => {
                self.variant(1, PICKS);
                self.pick(stream);
                self.u8(event);
            }
            IdPick::OtherSession { session, event } => {
                self.variant(2, PICKS);
                self.slot(session);
                self.u8(event);
            }
            IdPick::Mutated { event, at, with } => {
                self.variant(3, PICKS);
                self.u8(event);
                self.u8(at);
                self.u8(with);
            }
            IdPick::Forged { seq } => {
                self.variant(4, PICKS);
                self.u16(seq);
            }
        }
    }
}
