//! Deliberately broken variants of the models, used to prove that the properties can fail.
//!
//! A correct model runs with no fault (`None` in its config). Each property test also runs
//! against the variant its invariant is about and expects a counterexample, so no property
//! holds vacuously. The project's vulnerable fixtures (the reference server with exactly one
//! bug switched on) reuse these same switches.

/// One classic transport bug, switched on in a model's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    // The bounded stream.
    /// Offers are never refused at the high-water mark: a stalled reader's buffer grows without
    /// bound (caught by `byte_caps`).
    NoBackpressure,
    /// The byte cap lets one byte too many through before the terminal event (`byte_caps`).
    ByteCapOffByOne,
    /// The idle deadline never fires: a stalled stream stays open (`deadlines`).
    NoIdleTimeout,
    /// The maximum duration restarts at every read, so a slowly read stream lives forever
    /// (`deadlines`).
    DurationResetsOnRead,
    /// A writer's abort drops the buffered chunks without releasing them (`cleanup`).
    LeakOnAbort,
    /// A deadline that closes the stream while its reader holds part of an event still sends
    /// the terminal event, glued to the cut event's last line (`byte_caps`).
    TerminalMidEvent,

    // Sessions and resumption.
    /// Event data is written raw (`data: {payload}`), bypassing the safe encoder, so untrusted
    /// text can inject events, fields and ids (`escaping`).
    RawData,
    /// Resume trusts the session named inside the id instead of the session that asks, and
    /// replays another session's events (`resume_isolation`).
    ResumeIgnoresSession,
    /// Resume replays the session's most recently opened stream instead of the id's stream
    /// (`resume_isolation`).
    ResumeUsesLatestStream,
    /// Resume replays the Last-Event-ID event itself (`resume_isolation`).
    InclusiveReplay,
    /// Resume after an evicted id replays what is left instead of reporting `Evicted`, so the
    /// client sees a silent gap (`resume_isolation`).
    SilentEviction,
    /// Event ids are parsed but their tag is never checked, so forged ids are accepted
    /// (`resume_isolation`).
    UncheckedTag,
    /// Idle expiry forgets a session without releasing its streams and logs (`cleanup`).
    LeakOnExpiry,
}
