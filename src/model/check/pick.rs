//! Picking among what exists, with one input byte.

use arbitrary::Arbitrary;

/// One byte that picks an element among however many there are (modulo), so an op can name a
/// session, stream or event whatever has been created by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub struct Pick(pub u8);

impl Pick {
    /// The index this pick names among `len` elements; `None` when there are none.
    pub fn index(self, len: usize) -> Option<usize> {
        (len > 0).then(|| usize::from(self.0) % len)
    }

    /// The element this pick names; `None` when the slice is empty.
    pub fn get<T>(self, items: &[T]) -> Option<&T> {
        self.index(items.len()).map(|at| &items[at])
    }
}
