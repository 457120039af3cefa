//! The tools a scenario's calls go to, and the arguments they get.
//!
//! A scenario names calls by kind ([`ToolCall`]): echo untrusted text, stream, fetch with a
//! fresh or a repeated key, subscribe, monitor. Against the reference, rmcp and the `targets/`
//! servers those are the target's own tools of the same names ([`ToolCatalog::builtin`]).
//! Against any other server the catalog is what its `tools/list` says
//! ([`ToolCatalog::from_tools_list`]): a call goes to the tool of its own name when the server
//! has one, else to a tool chosen by the call's own bytes, and its arguments are generated from
//! that tool's `inputSchema`. Generation is deterministic (the same call and counter give the
//! same arguments) and keeps what each kind of call is for:
//! - every string of an echo call is the untrusted text followed by the session's canary, so
//!   injection and cross-session leaks show whichever argument the tool reflects;
//! - a fresh-key fetch and a subscribe put a value never used before in every string, which is
//!   what makes caches, listeners and timers keyed on arguments grow per call;
//! - every other leaf climbs a ladder of values as a schema fuzzer would, each rung chosen by
//!   the call's own bytes ([`Rung`]): small values most of the time, then the schema's
//!   boundaries (`minimum`, `maximum`, their exclusive forms, `minLength`, `maxLength`), powers
//!   of two up to the maximum (or [`HEAVY_CEILING`] without one), long strings, and every
//!   `enum` member. Arguments are never shrunk to bound time: a call off the small rung is
//!   *budgeted* ([`Rungs::budgeted`]), and the client cancels it when its budget passes.

use serde_json::{json, Map, Value};

use crate::scenario::{CacheKey, ToolCall};
use crate::trace::{Rung, Rungs};

/// How deep nested object and array schemas are followed; deeper values are left out.
const MAX_DEPTH: usize = 4;

/// The largest number generated for a property without its own meaning.
const SMALL_NUMBER: i64 = 1;

/// One tool as `tools/list` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    /// The tool's name, as calls address it.
    pub name: String,
    /// Its `inputSchema` (a JSON Schema object).
    pub input_schema: Value,
}

/// The tools calls may go to. Empty means the built-in tool names and argument shapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolCatalog {
    tools: Vec<Tool>,
    /// Delays and intervals are a few milliseconds (real time), not up to seconds.
    real_time: bool,
    /// Every call goes to this tool, its arguments in this shape (a probe's unit of work).
    pinned: Option<(usize, Shape)>,
    /// The first fresh value a run hands out: runs that must not repeat each other's fresh
    /// values (the units of a probe) start from different bases.
    fresh_base: u64,
}

/// How a pinned call's arguments are made from the tool's `inputSchema`. Strings are always
/// fresh (never used before), so that state keyed on arguments grows per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// What makes a server work: each number at its maximum, or at [`HEAVY_CEILING`] when it
    /// has none or a larger one; a delay (`delay`, `wait`, `sleep`) at its minimum, so the work
    /// comes at once; a lasting time (`interval`, `duration`, `timeout`, `ms`, ...) at 1000,
    /// so that what it starts outlives the probe. The client bounds the time such a call takes
    /// (it reads for a while, then closes the stream), not its arguments.
    Heavy,
    /// As [`Shape::Heavy`] with [`ENDLESS_CEILING`]: work that outlasts any window the client
    /// watches, for a call the client closes at once.
    Endless,
}

/// The largest number a [`Shape::Heavy`] call sends (2^12): two such numbers multiplied (a
/// count of events and their size) make 16 MiB, enough to pass a byte cap or a high-water
/// mark many times over, and little enough that a server without either stays within memory.
pub const HEAVY_CEILING: i64 = 1 << 12;

/// The largest number a [`Shape::Endless`] call sends (2^15): 1 GiB of events, more of a
/// server's CPU than the abort probe's two windows (the stream's, and its session's), if
/// nobody stops it.
pub const ENDLESS_CEILING: i64 = 1 << 15;

impl ToolCatalog {
    /// The built-in tools (`echo`, `stream`, `fetch_cached`, `subscribe`, `monitor`) with their
    /// own argument shapes: what the in-process targets and `targets/` servers serve.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// The catalog a `tools/list` response lists: `message` is the whole JSON-RPC response.
    /// A server with no tools, or a response without `result.tools`, is an error.
    pub fn from_tools_list(message: &Value) -> Result<Self, String> {
        if let Some(error) = message.get("error") {
            return Err(format!("tools/list failed: {error}"));
        }
        let listed = message
            .pointer("/result/tools")
            .and_then(Value::as_array)
            .ok_or("the tools/list response has no result.tools array")?;
        let tools: Vec<Tool> = listed
            .iter()
            .filter_map(|tool| {
                Some(Tool {
                    name: tool.get("name")?.as_str()?.to_owned(),
                    input_schema: tool
                        .get("inputSchema")
                        .cloned()
                        .unwrap_or_else(|| json!({ "type": "object" })),
                })
            })
            .collect();
        if tools.is_empty() {
            return Err("the server lists no tools".to_owned());
        }
        Ok(Self {
            tools,
            ..Self::default()
        })
    }

    /// The same catalog with every call sent to the tool named `tool`, its arguments in
    /// `shape`, and fresh values counted from `fresh_base`; `None` if the catalog has no such
    /// tool.
    pub fn pinned(&self, tool: &str, shape: Shape, fresh_base: u64) -> Option<Self> {
        let index = self.tools.iter().position(|t| t.name == tool)?;
        Some(Self {
            pinned: Some((index, shape)),
            fresh_base,
            ..self.clone()
        })
    }

    /// The fresh values a run of this catalog starts from.
    pub(super) fn fresh(&self) -> Fresh {
        Fresh(self.fresh_base)
    }

    /// The same tools, with the delays and intervals of `stream` and `monitor` calls cut to a
    /// few milliseconds: in real time a call must end well within the executor's drain
    /// deadline (255 events at most 4 ms apart), where in virtual time waiting costs nothing.
    pub fn in_real_time(mut self) -> Self {
        self.real_time = true;
        self
    }

    /// The tools, in the server's order.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The arguments of `tool` that its schema marks `x-mcp-header`, as `(header, property
    /// path)`: for the built-in tools, `echo`'s `text` as `Text` (as the reference server and
    /// the rmcp target declare it).
    pub(super) fn marked_arguments(&self, tool: &str) -> Vec<(String, Vec<String>)> {
        if self.tools.is_empty() {
            return match tool {
                "echo" => vec![("Text".to_owned(), vec!["text".to_owned()])],
                _ => Vec::new(),
            };
        }
        self.tools
            .iter()
            .find(|known| known.name == tool)
            .map(|known| super::stateless::marked_arguments(&known.input_schema))
            .unwrap_or_default()
    }

    /// The tool `call` goes to and its arguments; `canary` ends every untrusted text and
    /// `fresh` hands out values never used before in this scenario.
    pub(super) fn arguments(&self, call: &ToolCall, canary: &str, fresh: &mut Fresh) -> Arguments {
        if let Some((index, shape)) = self.pinned {
            let tool = &self.tools[index];
            let mut pinned = Pinned { shape, fresh };
            return Arguments {
                tool: tool.name.clone(),
                value: pinned.object(&tool.input_schema, 0),
                rungs: Rungs::default(),
            };
        }
        let (name, builtin) = builtin_arguments(call, canary, fresh, self.real_time);
        if self.tools.is_empty() {
            return Arguments {
                tool: name.to_owned(),
                value: builtin,
                rungs: Rungs::default(),
            };
        }
        let tool = self
            .tools
            .iter()
            .find(|tool| tool.name == name)
            .unwrap_or_else(|| &self.tools[selector(call) % self.tools.len()]);
        let mut filler = Filler {
            call,
            canary,
            fresh,
            builtin: &builtin,
            entropy: entropy(call),
            leaf: 0,
            rungs: Rungs::default(),
        };
        let value = filler.object(&tool.input_schema, 0);
        Arguments {
            tool: tool.name.clone(),
            value,
            rungs: filler.rungs,
        }
    }
}

/// A call's tool, its arguments, and the rungs its leaves took.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Arguments {
    /// The tool called.
    pub tool: String,
    /// Its `arguments` object.
    pub value: Value,
    /// The rungs of the ladder its leaves took (empty for built-in and pinned calls).
    pub rungs: Rungs,
}

/// The length of a long string: big enough to strain a parser, a log or a cache entry, small
/// enough to keep requests within any sane body limit.
pub const LONG_STRING: usize = 64 << 10;

/// Values that make each call's arguments fresh or repeated.
#[derive(Debug, Default)]
pub(super) struct Fresh(u64);

impl Fresh {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// The built-in tool's name and arguments for `call`, paced for real time if `real_time`.
fn builtin_arguments(
    call: &ToolCall,
    canary: &str,
    fresh: &mut Fresh,
    real_time: bool,
) -> (&'static str, Value) {
    let (max_delay, min_interval, max_interval) = if real_time {
        (4, 1, 10)
    } else {
        (2000, 10, 5000)
    };
    match call {
        ToolCall::Echo { text } => (
            "echo",
            json!({ "text": format!("{}{canary}", text.render()) }),
        ),
        ToolCall::Stream {
            count,
            size,
            delay_ms,
        } => (
            "stream",
            json!({ "count": count, "size": size % 1025, "delay_ms": delay_ms % (max_delay + 1) }),
        ),
        ToolCall::FetchCached { key } => {
            let key = match key {
                CacheKey::Fresh => format!("fresh-{}", fresh.next()),
                CacheKey::Repeat(n) => format!("key-{}", n % 4),
            };
            ("fetch_cached", json!({ "key": key }))
        }
        ToolCall::Subscribe => (
            "subscribe",
            json!({ "topic": format!("topic-{}", fresh.next()) }),
        ),
        ToolCall::Monitor { count, interval_ms } => (
            "monitor",
            json!({ "count": count % 33, "interval_ms": min_interval + interval_ms % (max_interval - min_interval + 1) }),
        ),
    }
}

/// Which of a server's tools a call without a same-named tool goes to: chosen by the call's
/// kind and its own bytes, so a fuzzer reaches every tool by mutating the call.
fn selector(call: &ToolCall) -> usize {
    match call {
        ToolCall::Echo { text } => text.0.len(),
        ToolCall::Stream { count, .. } => 1 + usize::from(*count),
        ToolCall::FetchCached {
            key: CacheKey::Fresh,
        } => 2,
        ToolCall::FetchCached {
            key: CacheKey::Repeat(n),
        } => 3 + usize::from(*n),
        ToolCall::Subscribe => 4,
        ToolCall::Monitor { count, .. } => 5 + usize::from(*count),
    }
}

/// The bytes of `call` that choose its rungs, mixed into one number: a fuzzer that mutates
/// the call moves its leaves along their ladders.
fn entropy(call: &ToolCall) -> u64 {
    match call {
        ToolCall::Echo { text } => text.render().bytes().fold(0, |h, b| mix(h ^ u64::from(b))),
        ToolCall::Stream {
            count,
            size,
            delay_ms,
        } => u64::from(*count) | u64::from(*size) << 8 | u64::from(*delay_ms) << 24,
        ToolCall::FetchCached {
            key: CacheKey::Repeat(n),
        } => u64::from(*n % 4),
        ToolCall::FetchCached {
            key: CacheKey::Fresh,
        }
        | ToolCall::Subscribe => 0,
        ToolCall::Monitor { count, interval_ms } => {
            u64::from(*count) | u64::from(*interval_ms) << 8
        }
    }
}

/// A 64-bit mixer (splitmix64's finaliser): every input bit moves every output bit.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Generates a value for a schema, in the spirit of one call.
struct Filler<'a> {
    call: &'a ToolCall,
    canary: &'a str,
    fresh: &'a mut Fresh,
    /// The built-in arguments: a property of the same name and type takes their value.
    builtin: &'a Value,
    /// The call's [`entropy`].
    entropy: u64,
    /// Leaves generated so far: each leaf draws its own rung from the call's entropy.
    leaf: u64,
    /// The rungs taken.
    rungs: Rungs,
}

/// Walks a JSON Schema to a value: an object gets every property it lists (required or not:
/// an optional one left out gets the server's default, which may be anything, such as
/// server-everything's `trigger-long-running-operation` taking 10 s), a `const` its value, a
/// combinator its first branch, an array [`SchemaWalk::items`] items, nesting stops at
/// [`MAX_DEPTH`]. What each generator chooses is the leaves.
trait SchemaWalk {
    /// The `enum` member to send.
    fn choose(&mut self, choices: &[Value]) -> Option<Value>;
    /// A value of scalar type `kind` (`string`, `integer`, `number`, `boolean`; anything else
    /// is sent as a string) for property `name`.
    fn scalar(&mut self, kind: &str, name: &str, schema: &Value) -> Value;
    /// How many items an array gets (given its `minItems`, if any).
    fn items(&self, min_items: Option<u64>) -> u64;

    fn object(&mut self, schema: &Value, depth: usize) -> Value {
        let mut object = Map::new();
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if let Some(value) = self.value(name, property, depth + 1) {
                    object.insert(name.clone(), value);
                }
            }
        }
        Value::Object(object)
    }

    fn value(&mut self, name: &str, schema: &Value, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(constant) = schema.get("const") {
            return Some(constant.clone());
        }
        if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
            return self.choose(choices);
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let Some(first) = schema
                .get(combinator)
                .and_then(Value::as_array)
                .and_then(|a| a.first())
            {
                return self.value(name, first, depth + 1);
            }
        }
        Some(match schema_type(schema) {
            "array" => {
                let wanted = self.items(schema.get("minItems").and_then(Value::as_u64));
                let items = schema
                    .get("items")
                    .cloned()
                    .unwrap_or(json!({ "type": "string" }));
                let values = (0..wanted).filter_map(|_| self.value(name, &items, depth + 1));
                Value::Array(values.collect())
            }
            "object" => self.object(schema, depth),
            kind => self.scalar(kind, name, schema),
        })
    }
}

/// A schema's integer bounds: `minimum` (or just above `exclusiveMinimum`) and `maximum` (or
/// just below `exclusiveMaximum`).
fn integer_bounds(schema: &Value) -> (Option<i64>, Option<i64>) {
    let bound = |key: &str, exclusive: &str, step: i64| {
        schema
            .get(key)
            .and_then(Value::as_f64)
            .map(|b| b.ceil() as i64)
            .or_else(|| {
                schema
                    .get(exclusive)
                    .and_then(Value::as_f64)
                    .map(|b| b.floor() as i64 + step)
            })
    };
    (
        bound("minimum", "exclusiveMinimum", 1),
        bound("maximum", "exclusiveMaximum", -1),
    )
}

impl SchemaWalk for Filler<'_> {
    fn choose(&mut self, choices: &[Value]) -> Option<Value> {
        let index = (self.draw() % choices.len().max(1) as u64) as usize;
        if index > 0 {
            self.rungs.add(Rung::OtherMember);
        }
        choices.get(index).cloned()
    }

    fn scalar(&mut self, kind: &str, name: &str, schema: &Value) -> Value {
        let known = self.builtin.get(name);
        match kind {
            "integer" => json!(self.number(schema, known)),
            "number" => json!(self.number(schema, known) as f64),
            "boolean" => Value::Bool(self.draw().is_multiple_of(2)),
            _ => Value::String(self.string(name, schema, known)),
        }
    }

    fn items(&self, min_items: Option<u64>) -> u64 {
        min_items.unwrap_or(1).min(2)
    }
}

/// Of every [`LADDER_STEPS`] draws, how many take the small rung: three in four, so most calls
/// stay quick and a campaign keeps its pace, while every boundary comes up within a few
/// hundred calls (and the campaign keeps the inputs whose heavy calls showed something new).
const SMALL_STEPS: u64 = 24;

/// The rungs a draw picks from: [`SMALL_STEPS`] small, then minimum, above it, maximum,
/// below it, and four powers of two (numbers); or minimum, maximum and long (strings).
const LADDER_STEPS: u64 = SMALL_STEPS + 8;

impl Filler<'_> {
    /// The next leaf's draw from the call's entropy.
    fn draw(&mut self) -> u64 {
        self.leaf += 1;
        mix(self.entropy ^ self.leaf.wrapping_mul(0xa076_1d64_78bd_642f))
    }

    fn string(&mut self, name: &str, schema: &Value, known: Option<&Value>) -> String {
        if let Some(text) = known.and_then(Value::as_str) {
            return text.to_owned();
        }
        let (value, fresh) = match self.call {
            ToolCall::Echo { text } => (format!("{}{}", text.render(), self.canary), false),
            ToolCall::FetchCached {
                key: CacheKey::Fresh,
            }
            | ToolCall::Subscribe => (format!("{name}-fresh-{}", self.fresh.next()), true),
            ToolCall::FetchCached {
                key: CacheKey::Repeat(n),
            } => (format!("{name}-{}", n % 4), false),
            ToolCall::Stream { .. } | ToolCall::Monitor { .. } => (format!("{name}-1"), false),
        };
        if fresh {
            self.rungs.add(Rung::Fresh);
        }
        let length = |key| schema.get(key).and_then(Value::as_u64).map(|n| n as usize);
        let (min_length, max_length) = (length("minLength").unwrap_or(0), length("maxLength"));
        // Untrusted text and fresh values keep their content (the canary, the new key); the
        // others may be stretched to a boundary.
        let wanted = if matches!(self.call, ToolCall::Echo { .. }) || fresh {
            None
        } else {
            match self.draw() % LADDER_STEPS {
                step if step < SMALL_STEPS + 2 => None,
                step if step < SMALL_STEPS + 4 => Some((Rung::Minimum, min_length)),
                step if step < SMALL_STEPS + 6 => max_length
                    .map(|max| (Rung::Maximum, max.min(LONG_STRING)))
                    .or(Some((Rung::Long, LONG_STRING))),
                _ => Some((
                    Rung::Long,
                    LONG_STRING.min(max_length.unwrap_or(usize::MAX)),
                )),
            }
        };
        let value = match wanted {
            Some((rung, length)) => {
                self.rungs.add(rung);
                fit(value, length, length)
            }
            None => {
                if !fresh {
                    self.rungs.add(Rung::Small);
                }
                fit(value, min_length, max_length.unwrap_or(usize::MAX))
            }
        };
        match schema.get("format").and_then(Value::as_str) {
            // A closed loopback port: a tool that fetches it fails at once, and never leaves
            // the machine.
            Some("uri" | "url") => format!("http://127.0.0.1:9/{}", urlencode_safe(&value)),
            _ => value,
        }
    }

    /// The built-in number of the same name if there is one, clamped into the schema's
    /// bounds; else a rung of the ladder between the bounds (a maximum of [`HEAVY_CEILING`]
    /// when the schema has none).
    fn number(&mut self, schema: &Value, known: Option<&Value>) -> i64 {
        let (low, high) = integer_bounds(schema);
        let floor = low.unwrap_or(0);
        if let Some(known) = known.and_then(Value::as_i64) {
            return known.clamp(floor, high.unwrap_or(i64::MAX).max(floor));
        }
        let top = high.unwrap_or(HEAVY_CEILING.max(floor)).max(floor);
        let draw = self.draw();
        let (rung, value) = match draw % LADDER_STEPS {
            step if step < SMALL_STEPS => (
                Rung::Small,
                floor.saturating_add((selector(self.call) as i64) % (SMALL_NUMBER + 1)),
            ),
            step if step == SMALL_STEPS => (Rung::Minimum, floor),
            step if step == SMALL_STEPS + 1 => (Rung::AboveMinimum, floor.saturating_add(1)),
            step if step == SMALL_STEPS + 2 => (Rung::Maximum, top),
            step if step == SMALL_STEPS + 3 => (Rung::BelowMaximum, top.saturating_sub(1)),
            _ => {
                let bits = 64 - top.max(1).leading_zeros() as u64;
                (Rung::PowerOfTwo, 1i64 << ((draw >> 8) % bits))
            }
        };
        self.rungs.add(rung);
        value.clamp(floor, top)
    }
}

/// `value` cut or padded (with `.`) to between `min` and `max` bytes, on a character
/// boundary.
fn fit(mut value: String, min: usize, max: usize) -> String {
    if value.len() > max {
        let mut end = max;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    if value.len() < min {
        value.extend(std::iter::repeat_n('.', min - value.len()));
    }
    value
}

/// Generates the arguments of a pinned call ([`ToolCatalog::pinned`]).
struct Pinned<'a> {
    shape: Shape,
    fresh: &'a mut Fresh,
}

impl SchemaWalk for Pinned<'_> {
    fn choose(&mut self, choices: &[Value]) -> Option<Value> {
        choices.first().cloned()
    }

    fn scalar(&mut self, kind: &str, name: &str, schema: &Value) -> Value {
        match kind {
            "integer" => json!(self.number(name, schema)),
            "number" => json!(self.number(name, schema) as f64),
            "boolean" => Value::Bool(false),
            _ => {
                let fresh = format!("{name}-fresh-{}", self.fresh.next());
                match schema.get("format").and_then(Value::as_str) {
                    Some("uri" | "url") => format!("http://127.0.0.1:9/{fresh}"),
                    _ => fresh,
                }
                .into()
            }
        }
    }

    fn items(&self, min_items: Option<u64>) -> u64 {
        min_items.unwrap_or(1).min(4)
    }
}

impl Pinned<'_> {
    /// The number this shape sends for property `name`, within the schema's bounds.
    fn number(&self, name: &str, schema: &Value) -> i64 {
        let (low, high) = integer_bounds(schema);
        let ceiling = match self.shape {
            Shape::Heavy => HEAVY_CEILING,
            Shape::Endless => ENDLESS_CEILING,
        };
        let wanted = match pace(name) {
            Some(Pace::Immediate) => low.unwrap_or(0),
            Some(Pace::Lasting) => LASTING,
            None => high.map_or(ceiling, |h| h.min(ceiling)),
        };
        let low = low.unwrap_or(i64::MIN);
        wanted.clamp(low, high.unwrap_or(i64::MAX).max(low))
    }
}

/// How a time-like property is set in a heavy call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    /// A delay before work (`delay`, `wait`, `sleep`): its minimum, so the work comes at once.
    Immediate,
    /// How long work lasts (`interval`, `period`, `duration`, `timeout`, `ttl`, a bare unit
    /// such as `ms`): [`LASTING`], so that what it starts outlives the probe's readings.
    Lasting,
}

/// What a [`Pace::Lasting`] property gets, within its bounds: a monitor ticking each second
/// lives for the whole of a probe; a duration of 1000 seconds outlasts any client.
const LASTING: i64 = 1000;

/// How property `name` is paced if it names a time: one of its words (split at `_`, `-` and
/// lower-to-upper case changes) is a word of time.
fn pace(name: &str) -> Option<Pace> {
    const IMMEDIATE: &[&str] = &["delay", "wait", "sleep"];
    const LASTING_WORDS: &[&str] = &[
        "interval",
        "period",
        "duration",
        "timeout",
        "ttl",
        "ms",
        "millis",
        "milliseconds",
        "sec",
        "secs",
        "seconds",
    ];
    let mut words = Vec::new();
    let mut word = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        let boundary = !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && previous_lower);
        if boundary && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        previous_lower = c.is_ascii_lowercase();
    }
    words.push(word);
    let any = |list: &[&str]| words.iter().any(|word| list.contains(&word.as_str()));
    if any(IMMEDIATE) {
        Some(Pace::Immediate)
    } else if any(LASTING_WORDS) {
        Some(Pace::Lasting)
    } else {
        None
    }
}

/// A schema's type; the first non-null one of a list.
fn schema_type(schema: &Value) -> &str {
    match schema.get("type") {
        Some(Value::String(kind)) => kind,
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("string"),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    }
}

/// `value` with every byte outside `[A-Za-z0-9-]` percent-encoded.
fn urlencode_safe(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Untrusted;

    fn everything_like() -> ToolCatalog {
        ToolCatalog::from_tools_list(&json!({
            "jsonrpc": "2.0", "id": 1,
            "result": { "tools": [
                { "name": "echo", "inputSchema": { "type": "object",
                    "properties": { "message": { "type": "string" } }, "required": ["message"] } },
                { "name": "trigger-long-running-operation", "inputSchema": { "type": "object",
                    "properties": {
                        "duration": { "type": "number", "default": 10, "minimum": 0 },
                        "steps": { "type": "integer", "minimum": 1, "maximum": 100 } },
                    "required": ["duration", "steps"] } },
                { "name": "lookup", "inputSchema": { "type": "object",
                    "properties": {
                        "key": { "type": "string" },
                        "mode": { "enum": ["fast", "slow"] },
                        "url": { "type": "string", "format": "uri" },
                        "verbose": { "type": "boolean" } },
                    "required": ["key", "mode", "url"] } }
            ] }
        }))
        .expect("a catalog")
    }

    #[test]
    fn a_pinned_call_goes_to_its_tool_in_its_shape() {
        let catalog = ToolCatalog::from_tools_list(&json!({
            "jsonrpc": "2.0", "id": 1,
            "result": { "tools": [
                { "name": "echo", "inputSchema": { "type": "object",
                    "properties": { "text": { "type": "string" } } } },
                { "name": "stream", "inputSchema": { "type": "object", "properties": {
                    "count": { "type": "integer", "minimum": 0, "maximum": 100000, "default": 5 },
                    "size": { "type": "integer", "minimum": 0, "maximum": 100 },
                    "delay_ms": { "type": "integer", "minimum": 0, "default": 10 },
                    "intervalSeconds": { "type": "number", "minimum": 1 },
                    "items": { "type": "integer" } } } }
            ] }
        }))
        .expect("a catalog");
        let call = ToolCall::Subscribe;
        let heavy = catalog.pinned("stream", Shape::Heavy, 0).expect("a tool");
        let made = heavy.arguments(&call, "C", &mut heavy.fresh());
        let (name, arguments) = (made.tool, made.value);
        assert_eq!(name, "stream");
        assert_eq!(
            arguments,
            json!({ "count": 4096, "size": 100, "delay_ms": 0, "intervalSeconds": 1000.0, "items": 4096 })
        );
        let endless = catalog.pinned("stream", Shape::Endless, 0).expect("a tool");
        let arguments = endless.arguments(&call, "C", &mut endless.fresh()).value;
        assert_eq!(
            arguments,
            json!({ "count": 32768, "size": 100, "delay_ms": 0, "intervalSeconds": 1000.0, "items": 32768 })
        );
        let echo = catalog.pinned("echo", Shape::Heavy, 7).expect("a tool");
        let mut fresh = echo.fresh();
        let first = echo.arguments(&call, "C", &mut fresh).value;
        let second = echo.arguments(&call, "C", &mut fresh).value;
        assert_eq!(first, json!({ "text": "text-fresh-8" }));
        assert_ne!(first, second, "every string is fresh");
        assert!(catalog.pinned("nope", Shape::Heavy, 0).is_none());
    }

    #[test]
    fn the_builtin_catalog_keeps_the_builtin_shapes() {
        let call = ToolCall::Stream {
            count: 3,
            size: 2000,
            delay_ms: 5,
        };
        let made = ToolCatalog::builtin().arguments(&call, "C", &mut Fresh::default());
        let (name, arguments) = (made.tool, made.value);
        assert_eq!(name, "stream");
        assert_eq!(
            arguments,
            json!({ "count": 3, "size": 2000 % 1025, "delay_ms": 5 })
        );
    }

    #[test]
    fn an_echo_call_puts_its_untrusted_text_and_canary_in_every_string() {
        let call = ToolCall::Echo {
            text: Untrusted(Vec::new()),
        };
        let made = everything_like().arguments(&call, "mcp-canary-0001x", &mut Fresh::default());
        let (name, arguments) = (made.tool, made.value);
        assert_eq!(name, "echo");
        assert_eq!(arguments, json!({ "message": "mcp-canary-0001x" }));
    }

    #[test]
    fn fresh_calls_get_values_never_used_before_and_repeats_do_not() {
        let catalog = everything_like();
        let mut fresh = Fresh::default();
        let fresh_call = ToolCall::FetchCached {
            key: CacheKey::Fresh,
        };
        let first = catalog.arguments(&fresh_call, "C", &mut fresh);
        let second = catalog.arguments(&fresh_call, "C", &mut fresh);
        assert_eq!(first.tool, "lookup");
        assert_ne!(first.value["key"], second.value["key"], "fresh keys differ");
        let repeat = ToolCall::FetchCached {
            key: CacheKey::Repeat(2),
        };
        assert_eq!(
            catalog.arguments(&repeat, "C", &mut fresh).value["key"],
            json!("key-2")
        );
        assert_eq!(
            catalog.arguments(&repeat, "C", &mut fresh).value["key"],
            json!("key-2")
        );
    }

    #[test]
    fn numbers_enums_and_urls_stay_within_the_schema() {
        let catalog = everything_like();
        for count in 0..=255 {
            let stream = ToolCall::Stream {
                count,
                size: 1,
                delay_ms: 1,
            };
            let made = catalog.arguments(&stream, "C", &mut Fresh::default());
            let arguments = &made.value;
            if made.tool != "trigger-long-running-operation" {
                continue;
            }
            assert!(
                arguments["steps"]
                    .as_i64()
                    .is_some_and(|s| (1..=100).contains(&s)),
                "{arguments}"
            );
            assert!(
                arguments["duration"]
                    .as_f64()
                    .is_some_and(|d| (0.0..=HEAVY_CEILING as f64).contains(&d)),
                "{arguments}"
            );
        }
        let lookup = catalog
            .arguments(
                &ToolCall::FetchCached {
                    key: CacheKey::Repeat(2),
                },
                "C",
                &mut Fresh::default(),
            )
            .value;
        assert!(
            ["fast", "slow"].contains(&lookup["mode"].as_str().unwrap_or_default()),
            "{lookup}"
        );
        assert!(
            lookup["url"]
                .as_str()
                .is_some_and(|u| u.starts_with("http://127.0.0.1:9/")),
            "{lookup}"
        );
        assert!(
            lookup["verbose"].is_boolean(),
            "optional properties are set too: {lookup}"
        );
    }

    /// Every value a sweep of 4096 calls generates for one tool's property `name` (not a
    /// property of the built-in `stream`, whose value it would take).
    fn sweep(schema: Value, name: &str) -> Vec<(Value, bool)> {
        let catalog = ToolCatalog::from_tools_list(&json!({
            "result": { "tools": [{ "name": "work", "inputSchema": { "type": "object",
                "properties": { name: schema } } }] }
        }))
        .expect("a catalog");
        (0..4096u32)
            .map(|n| {
                let call = ToolCall::Stream {
                    count: n as u8,
                    size: (n >> 8) as u16,
                    delay_ms: 0,
                };
                let made = catalog.arguments(&call, "C", &mut Fresh::default());
                (made.value[name].clone(), made.rungs.budgeted())
            })
            .collect()
    }

    #[test]
    fn a_sweep_of_calls_climbs_every_rung_and_budgets_the_calls_off_the_small_one() {
        let numbers = sweep(
            json!({ "type": "integer", "exclusiveMinimum": 2, "maximum": 1000 }),
            "amount",
        );
        let seen: Vec<i64> = numbers.iter().filter_map(|(v, _)| v.as_i64()).collect();
        assert_eq!(seen.len(), numbers.len(), "every value an integer");
        assert!(seen.iter().all(|n| (3..=1000).contains(n)), "within bounds");
        for boundary in [3, 4, 999, 1000, 8, 16, 256, 512] {
            assert!(seen.contains(&boundary), "{boundary} never sent");
        }
        let small = numbers.iter().filter(|(_, budgeted)| !budgeted).count();
        assert!(
            (numbers.len() * 7 / 10..numbers.len() * 8 / 10).contains(&small),
            "three calls in four stay small and unbudgeted: {small}"
        );
        assert!(numbers
            .iter()
            .filter(|(v, _)| v.as_i64().is_some_and(|n| n > 4))
            .all(|(_, budgeted)| *budgeted));

        let unbounded = sweep(json!({ "type": "integer" }), "n");
        assert!(unbounded.iter().any(|(v, _)| v == &json!(HEAVY_CEILING)));

        let strings = sweep(
            json!({ "type": "string", "minLength": 3, "maxLength": 100 }),
            "name",
        );
        let lengths: Vec<usize> = strings
            .iter()
            .filter_map(|(v, _)| v.as_str().map(str::len))
            .collect();
        assert!(
            lengths.iter().all(|n| (3..=100).contains(n)),
            "within bounds"
        );
        assert!(lengths.contains(&3) && lengths.contains(&100));
        let long = sweep(json!({ "type": "string" }), "text");
        assert!(long
            .iter()
            .any(|(v, budgeted)| *budgeted && v.as_str().is_some_and(|s| s.len() == LONG_STRING)));

        let members = sweep(json!({ "enum": ["a", "b", "c"] }), "mode");
        for member in ["a", "b", "c"] {
            assert!(
                members.iter().any(|(v, _)| v == member),
                "{member} never sent"
            );
        }
    }

    #[test]
    fn a_repeated_call_repeats_its_arguments() {
        let catalog = everything_like();
        let call = ToolCall::FetchCached {
            key: CacheKey::Repeat(1),
        };
        let first = catalog.arguments(&call, "C", &mut Fresh::default());
        assert_eq!(first, catalog.arguments(&call, "C", &mut Fresh::default()));
    }

    #[test]
    fn a_list_without_tools_is_an_error() {
        assert!(ToolCatalog::from_tools_list(&json!({ "result": { "tools": [] } })).is_err());
        assert!(ToolCatalog::from_tools_list(&json!({ "error": { "code": -1 } })).is_err());
        assert!(ToolCatalog::from_tools_list(&json!({ "result": {} })).is_err());
    }
}
