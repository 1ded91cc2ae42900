//! How the LLM fakes cut a tool call's JSON into streamed pieces: uneven runs of characters, the
//! way model tokens break it apart.

/// `text` in pieces of `sizes[0]`, `sizes[1]`... characters, the sizes repeating; the last piece
/// takes what is left. Empty text gives no pieces.
pub(crate) fn split_uneven(text: &str, sizes: &[usize]) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pieces = Vec::new();
    let mut start = 0;
    for size in sizes.iter().cycle() {
        if start >= chars.len() {
            break;
        }
        let end = (start + size).min(chars.len());
        pieces.push(chars[start..end].iter().collect());
        start = end;
    }
    pieces
}
