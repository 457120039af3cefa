//! Byte searches for the codec: release builds use the memchr crate, fuzz builds the C library.
//!
//! cargo-fuzz builds with `--cfg fuzzing` and compiles every Rust crate with coverage and
//! comparison tracing. The memchr crate's vector loops then call the tracer at each length
//! check, and its CPU dispatch becomes a traced indirect call: in `sse_decode` its searches
//! took a quarter of each execution's instructions (fuzz/README.md, "Speed of the codec
//! targets"). The C library's `memchr` is not instrumented, so under `cfg(fuzzing)` a search
//! costs what it costs in a release build and adds no coverage of its own for the fuzzer to
//! chase. In a release build the crate is the faster of the two on short lines (it finds CR
//! and LF in one pass, inlined), so it stays there. Tests hold both to a plain scan.

/// The index of the first `needle` in `haystack`.
#[inline]
pub(crate) fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
    #[cfg(fuzzing)]
    return c_library::find(needle, haystack);
    #[cfg(not(fuzzing))]
    memchr::memchr(needle, haystack)
}

/// Every index of a CR or LF in `haystack`, in increasing order.
#[inline]
pub(crate) fn line_breaks(haystack: &[u8]) -> impl Iterator<Item = usize> + '_ {
    #[cfg(fuzzing)]
    return c_library::Positions::new([b'\r', b'\n'], haystack);
    #[cfg(not(fuzzing))]
    memchr::memchr2_iter(b'\r', b'\n', haystack)
}

/// Every index of a CR, LF or NUL in `haystack`, in increasing order.
#[inline]
pub(crate) fn line_breaks_or_nul(haystack: &[u8]) -> impl Iterator<Item = usize> + '_ {
    #[cfg(fuzzing)]
    return c_library::Positions::new([b'\r', b'\n', 0], haystack);
    #[cfg(not(fuzzing))]
    memchr::memchr3_iter(b'\r', b'\n', 0, haystack)
}

/// The searches of fuzz builds, through the C library's `memchr`.
#[cfg(any(fuzzing, test))]
mod c_library {
    /// The index of the first `needle` in `haystack`.
    #[inline]
    pub(super) fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
        if haystack.is_empty() {
            return None;
        }
        // SAFETY: memchr reads at most `haystack.len()` bytes from its start, all inside the
        // slice, and returns either null or a pointer to one of those bytes.
        let found =
            unsafe { libc::memchr(haystack.as_ptr().cast(), needle.into(), haystack.len()) };
        (!found.is_null()).then(|| found as usize - haystack.as_ptr() as usize)
    }

    /// Every index of `haystack` holding one of the `N` needles, in increasing order.
    ///
    /// Invariant: `next[i]` is the first index after the last one yielded where `needles[i]`
    /// occurs, or None when it occurs no more; so each needle's search reads each byte once,
    /// and a whole iteration reads the haystack at most `N` times.
    #[derive(Debug, Clone)]
    pub(super) struct Positions<'h, const N: usize> {
        needles: [u8; N],
        haystack: &'h [u8],
        next: [Option<usize>; N],
    }

    impl<'h, const N: usize> Positions<'h, N> {
        pub(super) fn new(needles: [u8; N], haystack: &'h [u8]) -> Self {
            Self {
                needles,
                haystack,
                next: needles.map(|needle| find(needle, haystack)),
            }
        }
    }

    impl<const N: usize> Iterator for Positions<'_, N> {
        type Item = usize;

        fn next(&mut self) -> Option<usize> {
            let (which, at) = self
                .next
                .iter()
                .enumerate()
                .filter_map(|(which, at)| Some((which, (*at)?)))
                .min_by_key(|&(_, at)| at)?;
            let after = at + 1;
            self.next[which] =
                find(self.needles[which], &self.haystack[after..]).map(|found| after + found);
            Some(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The plain definition every search must agree with.
    fn positions_of(needles: &[u8], haystack: &[u8]) -> Vec<usize> {
        (0..haystack.len())
            .filter(|&i| needles.contains(&haystack[i]))
            .collect()
    }

    proptest! {
        /// Both builds' searches: this build's, and the C library's of fuzz builds.
        #[test]
        fn searches_agree_with_a_scan(
            haystack in proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(0u8), any::<u8>()],
                0..300,
            ),
        ) {
            let first_lf = positions_of(b"\n", &haystack).first().copied();
            prop_assert_eq!(find(b'\n', &haystack), first_lf);
            prop_assert_eq!(c_library::find(b'\n', &haystack), first_lf);
            let breaks = positions_of(b"\r\n", &haystack);
            prop_assert_eq!(&line_breaks(&haystack).collect::<Vec<_>>(), &breaks);
            let c_breaks = c_library::Positions::new([b'\r', b'\n'], &haystack);
            prop_assert_eq!(&c_breaks.collect::<Vec<_>>(), &breaks);
            let with_nul = positions_of(b"\r\n\0", &haystack);
            prop_assert_eq!(&line_breaks_or_nul(&haystack).collect::<Vec<_>>(), &with_nul);
            let c_with_nul = c_library::Positions::new([b'\r', b'\n', 0], &haystack);
            prop_assert_eq!(&c_with_nul.collect::<Vec<_>>(), &with_nul);
        }
    }

    #[test]
    fn nothing_is_found_in_nothing() {
        assert_eq!(c_library::find(b'a', b""), None);
        assert_eq!(c_library::Positions::new([b'\r'], b"").next(), None);
        let breaks = c_library::Positions::new([b'\r', b'\n'], b"a\r\n\nb");
        assert_eq!(breaks.collect::<Vec<_>>(), [1, 2, 3]);
    }
}
