//! The session store's oracle: a [`World`] that runs [`SessionOp`]s (see [`super::session_ops`])
//! beside an oracle of what the store should hold, checking every answer.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::fmt::Debug;

use bytes::Bytes;

use super::session_ops::{MintedIdPick, SessionEnd, SessionOp};
use super::violation::ensure;
use super::{resume, Invariant, Pick, Violation};
use crate::model::{
    AtCapacity, Entropy, Millis, ResumeError, SessionConfig, SessionError, SessionId, SessionStore,
    StreamKind, StreamNo,
};

/// What the oracle knows of one session.
#[derive(Debug)]
pub(super) struct SessionTruth {
    pub id: SessionId,
    pub live: bool,
    pub last_active: Millis,
    /// Every stream ever opened, in order: `streams[n]` is `StreamNo(n)`.
    pub streams: Vec<StreamTruth>,
    /// The events appended to this session, as indices into [`World`]'s events.
    pub minted: Vec<usize>,
}

impl SessionTruth {
    fn expired(&self, idle_timeout: Millis, now: Millis) -> bool {
        self.live && now >= self.last_active.after(idle_timeout)
    }
}

/// What the oracle knows of one stream.
#[derive(Debug)]
pub(super) struct StreamTruth {
    pub kind: StreamKind,
    pub open: bool,
    pub next_seq: u64,
    /// The events the log should keep: (seq, encoded length), oldest first.
    pub kept: VecDeque<(u64, usize)>,
    pub kept_bytes: usize,
    /// Every event appended, by sequence number, as indices into [`World`]'s events.
    pub events: Vec<usize>,
}

impl StreamTruth {
    /// The oldest sequence number the log should keep (`next_seq` when it keeps none).
    pub(super) fn first_kept(&self) -> u64 {
        self.kept.front().map_or(self.next_seq, |&(seq, _)| seq)
    }
}

/// One event that was appended.
#[derive(Debug)]
pub(super) struct EventTruth {
    pub session: usize,
    pub stream: StreamNo,
    pub seq: u64,
    pub id: String,
    pub frame: Bytes,
}

/// A session store beside an oracle of what it should hold.
///
/// [`apply`](World::apply) checks every answer of the store against the oracle: lifecycle
/// (sessions live until deleted, expired or evicted, and unknown from then on; caps; one
/// standalone stream; fresh ids; contiguous sequence numbers) and every resume
/// ([`Invariant::Isolation`], [`Invariant::Forgery`]).
#[derive(Debug)]
pub struct World {
    config: SessionConfig,
    store: SessionStore,
    seed: u64,
    now: Millis,
    /// Every session ever created: a [`Pick`] picks among them.
    sessions: Vec<SessionTruth>,
    /// The sessions marked live, by index in `sessions` (at most the session cap, plus those
    /// marked ended since the last sweep of the list), so that expiry and capacity look at
    /// these only, not at every session ever created.
    live: Vec<usize>,
    /// Every session id ever issued, to see one reused.
    issued: BTreeSet<SessionId>,
    /// Every appended event, oldest first.
    events: Vec<EventTruth>,
    /// Each minted id's event, in `events`.
    by_id: HashMap<String, usize>,
    /// Ids minted by another server instance, made when a resume first asks for one.
    foreign_ids: Vec<String>,
}

impl World {
    /// A store with `config`, its key and session ids drawn from `Entropy::Seeded(seed)`.
    pub fn new(config: SessionConfig, seed: u64) -> Self {
        Self {
            config,
            store: SessionStore::new(config, Entropy::Seeded(seed)).expect("seeded entropy"),
            seed,
            now: Millis::ZERO,
            sessions: Vec::new(),
            live: Vec::new(),
            issued: BTreeSet::new(),
            events: Vec::new(),
            by_id: HashMap::new(),
            foreign_ids: Vec::new(),
        }
    }

    /// Applies one op and checks the store's answer.
    pub fn apply(&mut self, op: &SessionOp) -> Result<(), Violation> {
        let pick = |s: &Pick| s.index(self.sessions.len());
        match op {
            SessionOp::Create => self.create(),
            SessionOp::Open(s, kind) => pick(s).map_or(Ok(()), |s| self.open(s, *kind)),
            SessionOp::Close(s, t) => pick(s).map_or(Ok(()), |s| self.close(s, *t)),
            SessionOp::Append(s, t, data) => pick(s).map_or(Ok(()), |s| self.append(s, *t, data)),
            SessionOp::Resume(s, id) => pick(s).map_or(Ok(()), |s| self.resume(s, id)),
            SessionOp::Delete(s) => pick(s).map_or(Ok(()), |s| self.delete(s)),
            SessionOp::Advance(ms) => {
                self.now = self.now.after(Millis(*ms));
                Ok(())
            }
            SessionOp::Sweep => {
                let expected = self.expire_all();
                let ended = self.store.expire_idle(self.now);
                ensure!(
                    ended == expected,
                    Invariant::Lifecycle,
                    "the expiry sweep ended {ended} sessions, {expected} were due"
                );
                Ok(())
            }
        }
    }

    /// A stream of session `s` (closed ones included), or stream 0 if it has none.
    fn pick_stream(&self, s: usize, t: Pick) -> StreamNo {
        let n = t.index(self.sessions[s].streams.len()).unwrap_or(0);
        StreamNo(u32::try_from(n).expect("fewer streams than ops"))
    }

    /// Marks every expired session ended, and drops the ended ones from `live`; returns how
    /// many expired.
    fn expire_all(&mut self) -> usize {
        let (idle, now) = (self.config.idle_timeout, self.now);
        let sessions = &mut self.sessions;
        let mut ended = 0;
        self.live.retain(|&s| {
            let truth = &mut sessions[s];
            if truth.expired(idle, now) {
                truth.live = false;
                ended += 1;
            }
            truth.live
        });
        ended
    }

    /// Checks an answer about session `s` for liveness (see [`expect_live`]).
    fn expect_live<T: Debug>(
        &mut self,
        s: usize,
        answer: &Result<T, SessionError>,
    ) -> Result<bool, Violation> {
        let unknown = matches!(answer, Err(SessionError::UnknownSession));
        expect_live(
            &mut self.sessions[s],
            self.config.idle_timeout,
            self.now,
            unknown,
            answer,
        )
    }

    fn create(&mut self) -> Result<(), Violation> {
        let answer = self.store.create_session(self.now);
        self.expire_all();
        let live = self.live.len();
        if live >= self.config.max_sessions {
            let sessions = &self.sessions;
            let idlest = (0..live).min_by_key(|&n| {
                let truth = &sessions[self.live[n]];
                (truth.last_active, truth.id)
            });
            match (self.config.at_capacity, idlest) {
                (AtCapacity::EvictIdlest, Some(n)) => {
                    let evicted = self.live.swap_remove(n);
                    self.sessions[evicted].live = false;
                }
                _ => {
                    ensure!(
                        matches!(answer, Err(SessionError::TooManySessions { .. })),
                        Invariant::Lifecycle,
                        "creating a session at the cap of {live}: {answer:?}"
                    );
                    return Ok(());
                }
            }
        }
        let id = answer.map_err(|e| {
            Violation::new(Invariant::Lifecycle, format!("creating a session: {e}"))
        })?;
        if self.sessions.is_empty() {
            // The written form is a pure function of the id: checked once a case, it is
            // checked for every seed.
            check_written_form(id)?;
        }
        ensure!(
            self.issued.insert(id),
            Invariant::Lifecycle,
            "a session id was reused: {id}"
        );
        self.live.push(self.sessions.len());
        self.sessions.push(SessionTruth {
            id,
            live: true,
            last_active: self.now,
            streams: Vec::new(),
            minted: Vec::new(),
        });
        Ok(())
    }

    fn open(&mut self, s: usize, kind: StreamKind) -> Result<(), Violation> {
        let answer = self.store.open_stream(&self.sessions[s].id, kind, self.now);
        if !self.expect_live(s, &answer)? {
            return Ok(());
        }
        let truth = &mut self.sessions[s];
        let open = truth.streams.iter().filter(|t| t.open).count();
        let standalone = truth
            .streams
            .iter()
            .any(|t| t.open && t.kind == StreamKind::Standalone);
        if open >= self.config.max_streams {
            ensure!(
                matches!(answer, Err(SessionError::TooManyStreams { .. })),
                Invariant::Lifecycle,
                "opening a stream at the cap of {open}: {answer:?}"
            );
        } else if kind == StreamKind::Standalone && standalone {
            ensure!(
                matches!(answer, Err(SessionError::StandaloneStreamOpen)),
                Invariant::Lifecycle,
                "opening a second standalone stream: {answer:?}"
            );
        } else {
            let expected = StreamNo(u32::try_from(truth.streams.len()).expect("few streams"));
            ensure!(
                matches!(answer, Ok(stream) if stream == expected),
                Invariant::Lifecycle,
                "opening stream {expected}: {answer:?}"
            );
            truth.streams.push(StreamTruth {
                kind,
                open: true,
                next_seq: 0,
                kept: VecDeque::new(),
                kept_bytes: 0,
                events: Vec::new(),
            });
        }
        Ok(())
    }

    fn close(&mut self, s: usize, t: Pick) -> Result<(), Violation> {
        let stream = self.pick_stream(s, t);
        let answer = self
            .store
            .close_stream(&self.sessions[s].id, stream, self.now);
        if !self.expect_live(s, &answer)? {
            return Ok(());
        }
        match self.sessions[s].streams.get_mut(stream.0 as usize) {
            Some(truth) if truth.open => {
                ensure!(
                    answer.is_ok(),
                    Invariant::Lifecycle,
                    "closing open stream {stream}: {answer:?}"
                );
                truth.open = false;
            }
            _ => ensure!(
                matches!(answer, Err(SessionError::UnknownStream { .. })),
                Invariant::Lifecycle,
                "closing stream {stream}, which is not open: {answer:?}"
            ),
        }
        Ok(())
    }

    fn append(&mut self, s: usize, t: Pick, data: &str) -> Result<(), Violation> {
        let stream = self.pick_stream(s, t);
        let answer = self
            .store
            .append(&self.sessions[s].id, stream, data, self.now);
        if !self.expect_live(s, &answer)? {
            return Ok(());
        }
        let limits = self.config.log;
        let event = self.events.len();
        let session = &mut self.sessions[s];
        let Some(truth) = session
            .streams
            .get_mut(stream.0 as usize)
            .filter(|t| t.open)
        else {
            ensure!(
                matches!(answer, Err(SessionError::UnknownStream { .. })),
                Invariant::Lifecycle,
                "appending to stream {stream}, which is not open: {answer:?}"
            );
            return Ok(());
        };
        let appended = answer.map_err(|e| {
            Violation::new(
                Invariant::Lifecycle,
                format!("appending to open stream {stream}: {e}"),
            )
        })?;
        ensure!(
            appended.seq == truth.next_seq,
            Invariant::Lifecycle,
            "sequence number {} after {} events",
            appended.seq,
            truth.next_seq
        );
        truth.next_seq += 1;
        truth.events.push(event);
        truth.kept.push_back((appended.seq, appended.frame.len()));
        truth.kept_bytes += appended.frame.len();
        while truth.kept.len() > limits.max_events || truth.kept_bytes > limits.max_bytes {
            let Some((_, len)) = truth.kept.pop_front() else {
                break;
            };
            truth.kept_bytes -= len;
        }
        session.minted.push(event);
        let Entry::Vacant(slot) = self.by_id.entry(appended.id.clone()) else {
            return Err(Violation::new(
                Invariant::Lifecycle,
                format!("an event id was minted twice: {}", appended.id),
            ));
        };
        slot.insert(event);
        self.events.push(EventTruth {
            session: s,
            stream,
            seq: appended.seq,
            id: appended.id,
            frame: appended.frame,
        });
        Ok(())
    }

    fn resume(&mut self, s: usize, pick: &MintedIdPick) -> Result<(), Violation> {
        if matches!(pick, MintedIdPick::ForeignKey(_)) && self.foreign_ids.is_empty() {
            self.foreign_ids = foreign_ids(self.seed);
        }
        let asking = &self.sessions[s];
        let text = id_text(&self.events, &asking.minted, &self.foreign_ids, pick);
        let answer = self.store.resume(&asking.id, &text, self.now);
        let unknown = matches!(answer, Err(ResumeError::UnknownSession));
        let (idle, now) = (self.config.idle_timeout, self.now);
        expect_live(&mut self.sessions[s], idle, now, unknown, &answer)?;
        let named = self.by_id.get(text.as_ref()).map(|&e| &self.events[e]);
        resume::check(&self.sessions, &self.events, s, &text, named, answer)
    }

    fn delete(&mut self, s: usize) -> Result<(), Violation> {
        let answer = self.store.end_session(&self.sessions[s].id, self.now);
        if self.expect_live(s, &answer)? {
            ensure!(
                answer.is_ok(),
                Invariant::Lifecycle,
                "DELETE of a live session: {answer:?}"
            );
            self.sessions[s].live = false;
        }
        Ok(())
    }

    /// The ledger holds exactly what the store says it holds: a handle and an expiry timer per
    /// session, a handle per stream, a buffer per logged event; nothing was released twice.
    pub fn check_ledger(&self) -> Result<(), Violation> {
        let store = &self.store;
        let ledger = store.ledger();
        let (sessions, streams) = (store.session_count(), store.stream_count());
        ensure!(
            !ledger.overdrawn(),
            Invariant::Ledger,
            "something was released twice"
        );
        let held = (sessions + streams, sessions, store.logged_events());
        let counted = (ledger.handles(), ledger.timers(), ledger.buffers());
        ensure!(
            counted == held,
            Invariant::Ledger,
            "the ledger counts (handles, timers, buffers) {counted:?} beside {sessions} sessions, \
             {streams} streams and {} logged events",
            held.2
        );
        Ok(())
    }

    /// Ends every session still live, each the way `ends` says in turn (`Delete` if empty);
    /// then checks that nothing stays held and that every session id ever issued is unknown.
    pub fn end_every_session(&mut self, ends: &[SessionEnd]) -> Result<(), Violation> {
        let sessions = &self.sessions;
        self.live.retain(|&s| sessions[s].live);
        let live = std::mem::take(&mut self.live);
        let mut expire = Vec::new();
        for (n, &s) in live.iter().enumerate() {
            let end = ends.get(n % ends.len().max(1)).copied();
            match end.unwrap_or(SessionEnd::Delete) {
                SessionEnd::Delete => {
                    let answer = self.store.end_session(&self.sessions[s].id, self.now);
                    // An idle session may have expired already; either way it is gone.
                    ensure!(
                        matches!(answer, Ok(()) | Err(SessionError::UnknownSession)),
                        Invariant::Lifecycle,
                        "DELETE: {answer:?}"
                    );
                }
                end => expire.push((s, end)),
            }
        }
        if !expire.is_empty() {
            self.now = self.now.after(self.config.idle_timeout);
            for (s, end) in expire {
                let id = self.sessions[s].id;
                if end == SessionEnd::ExpireOnUse {
                    let answer = self.store.open_stream(&id, StreamKind::Request, self.now);
                    ensure!(
                        matches!(answer, Err(SessionError::UnknownSession)),
                        Invariant::Lifecycle,
                        "an expired session answered {answer:?}"
                    );
                } else {
                    self.store.expire_idle(self.now);
                }
            }
        }
        let store = &self.store;
        let left = (
            store.session_count(),
            store.stream_count(),
            store.logged_events(),
        );
        ensure!(
            left == (0, 0, 0),
            Invariant::Ledger,
            "every session ended, but (sessions, streams, log entries) {left:?} are left"
        );
        ensure!(
            store.ledger().is_zero(),
            Invariant::Ledger,
            "every session ended, but the ledger holds {:?}",
            store.ledger()
        );
        let now = self.now;
        for truth in &self.sessions {
            let id = truth.id;
            let store = &mut self.store;
            let answers = [
                matches!(
                    store.open_stream(&id, StreamKind::Standalone, now),
                    Err(SessionError::UnknownSession)
                ),
                matches!(
                    store.append(&id, StreamNo(0), "after the end", now),
                    Err(SessionError::UnknownSession)
                ),
                matches!(
                    store.resume(
                        &id,
                        "0-0-0000000000000000-00000000000000000000000000000000",
                        now
                    ),
                    Err(ResumeError::UnknownSession)
                ),
                matches!(
                    store.end_session(&id, now),
                    Err(SessionError::UnknownSession)
                ),
            ];
            ensure!(
                answers.iter().all(|&unknown| unknown),
                Invariant::Lifecycle,
                "ended session {id} is not unknown to (open, append, resume, DELETE): {answers:?}"
            );
        }
        Ok(())
    }
}

/// A session id is written as [`SessionId::TEXT_LEN`] visible ASCII characters (as
/// `Mcp-Session-Id` requires) that parse back to it.
fn check_written_form(id: SessionId) -> Result<(), Violation> {
    let text = id.to_string();
    ensure!(
        text.len() == SessionId::TEXT_LEN && text.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        Invariant::Lifecycle,
        "a session id that is not {} visible ASCII characters: {text:?}",
        SessionId::TEXT_LEN
    );
    ensure!(
        SessionId::parse(&text) == Some(id),
        Invariant::Lifecycle,
        "a session id that does not parse back: {text:?}"
    );
    Ok(())
}

/// Checks an answer about a session for liveness: an ended or expired session must get
/// `UnknownSession`, a live one must not. Returns whether the session is live (and then marks
/// it active at `now`).
fn expect_live(
    truth: &mut SessionTruth,
    idle_timeout: Millis,
    now: Millis,
    unknown: bool,
    answer: &dyn Debug,
) -> Result<bool, Violation> {
    if truth.expired(idle_timeout, now) {
        truth.live = false;
    }
    ensure!(
        unknown != truth.live,
        Invariant::Lifecycle,
        "session {} (live: {}) answered {answer:?}",
        truth.id,
        truth.live
    );
    if truth.live {
        truth.last_active = truth.last_active.max(now);
    }
    Ok(truth.live)
}

/// The Last-Event-ID text that `pick` names, for a resume by the session that minted `own`.
fn id_text<'a>(
    events: &'a [EventTruth],
    own: &[usize],
    foreign_ids: &'a [String],
    pick: &'a MintedIdPick,
) -> Cow<'a, str> {
    let minted = |i: Pick| i.get(events).map_or("", |e| e.id.as_str());
    match pick {
        MintedIdPick::Genuine(i) => Cow::Borrowed(minted(*i)),
        MintedIdPick::Own(i) => Cow::Borrowed(match i.get(own) {
            Some(&e) => &events[e].id,
            None => minted(*i),
        }),
        MintedIdPick::Mutated(i, at, byte) => {
            let mut bytes = minted(*i).as_bytes().to_vec();
            if let Some(at) = at.index(bytes.len()) {
                bytes[at] = *byte;
            }
            Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
        }
        MintedIdPick::ForeignKey(i) => Cow::Borrowed(i.get(foreign_ids).map_or("", String::as_str)),
        MintedIdPick::Garbage(text) => Cow::Borrowed(text),
    }
}

/// Ids minted by another server instance (another key) for two streams of six events each:
/// the same shapes of stream and sequence as this store's.
fn foreign_ids(seed: u64) -> Vec<String> {
    let mut other = SessionStore::new(SessionConfig::default(), Entropy::Seeded(!seed))
        .expect("seeded entropy");
    let session = other.create_session(Millis::ZERO).expect("an empty store");
    let mut ids = Vec::new();
    for _ in 0..2 {
        let stream = other
            .open_stream(&session, StreamKind::Request, Millis::ZERO)
            .expect("within the stream cap");
        for _ in 0..6 {
            let appended = other
                .append(&session, stream, "elsewhere", Millis::ZERO)
                .expect("a live stream");
            ids.push(appended.id);
        }
    }
    ids
}
