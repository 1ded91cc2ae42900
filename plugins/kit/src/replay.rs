//! Replaying recorded provider traffic through a stream state machine, for adapters' unit tests
//! (feature `test-support`). The helpers are generic over the input and action types, so each
//! adapter wraps them for its generated contract types.

use std::fmt::Debug;
use std::path::Path;

/// The chunk sizes every recorded body is replayed with: whole, byte by byte, and primes that cut
/// samples, lines, UTF-8 sequences and `\r\n` pairs at different places.
pub const CHUNK_SIZES: &[usize] = &[usize::MAX, 1, 2, 3, 7, 13, 61, 257];

/// The file `tests/recordings/<name>` of the crate in `crate_dir` (`env!("CARGO_MANIFEST_DIR")`).
pub fn recording(crate_dir: &str, name: &str) -> Vec<u8> {
    let path = Path::new(crate_dir).join("tests/recordings").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Feeds one response to `handle`: `head`, then `body` in `chunk`-byte pieces (each wrapped by
/// `piece`), then `end`; returns everything `handle` returned, in order.
pub fn respond<I, A>(
    mut handle: impl FnMut(I) -> Vec<A>,
    head: I,
    body: &[u8],
    chunk: usize,
    piece: impl Fn(Vec<u8>) -> I,
    end: I,
) -> Vec<A> {
    let mut out = handle(head);
    for bytes in body.chunks(chunk.clamp(1, body.len().max(1))) {
        out.extend(handle(piece(bytes.to_vec())));
    }
    out.extend(handle(end));
    out
}

/// The one item of `items` that `pick` accepts (named `what` in the panic when there is not
/// exactly one).
pub fn only_one<T: Debug, R>(items: &[T], what: &str, pick: impl FnMut(&T) -> Option<R>) -> R {
    let mut picked: Vec<R> = items.iter().filter_map(pick).collect();
    assert_eq!(picked.len(), 1, "expected one {what} in {items:?}");
    picked.pop().unwrap_or_else(|| unreachable!())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum In {
        Head,
        Piece(Vec<u8>),
        End,
    }

    #[test]
    fn responses_are_cut_into_pieces() {
        let replay = |body: &[u8], chunk| respond(|input| vec![input], In::Head, body, chunk, In::Piece, In::End);
        assert_eq!(replay(b"abc", usize::MAX), [In::Head, In::Piece(b"abc".to_vec()), In::End]);
        assert_eq!(replay(b"abc", 2), [In::Head, In::Piece(b"ab".to_vec()), In::Piece(b"c".to_vec()), In::End]);
        assert_eq!(replay(b"", 0), [In::Head, In::End]);
    }

    #[test]
    fn only_one_picks_the_single_match() {
        assert_eq!(only_one(&[1, 2, 3], "even number", |n| (n % 2 == 0).then_some(*n)), 2);
    }

    #[test]
    #[should_panic(expected = "expected one odd number in [1, 2, 3]")]
    fn only_one_refuses_many() {
        only_one(&[1, 2, 3], "odd number", |n| (n % 2 == 1).then_some(*n));
    }
}
