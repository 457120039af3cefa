//! The input of the stream targets: a stream and the sizes of the chunks to cut it into.

/// Reads `[n] [n chunk sizes] [stream]`: `n` is taken modulo 16, and each size byte is a chunk
/// length (zero: an empty chunk; sizes cycle, see [`crate::chunking::cut_cycling`]). `None`
/// for an empty input. A seed file is a zero byte followed by a plain stream (fed whole).
pub fn chunked_stream(data: &[u8]) -> Option<(Vec<usize>, &[u8])> {
    let (&count, rest) = data.split_first()?;
    let (sizes, stream) = rest.split_at(usize::from(count % 16).min(rest.len()));
    Some((sizes.iter().map(|&s| usize::from(s)).collect(), stream))
}
