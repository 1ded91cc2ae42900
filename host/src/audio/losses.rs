//! Counting frames and packets lost on the hot path (full queues, codec errors): each loss is
//! counted, and the first and then every 50th (a second of 20 ms frames) is worth a log line,
//! so a stall is seen without a line per frame.

/// Counts one more loss in `counter`; whether this one should be logged.
pub fn count(counter: &mut u64) -> bool {
    *counter += 1;
    *counter % 50 == 1
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_and_every_fiftieth_are_logged() {
        let mut counter = 0;
        let logged: Vec<u64> = (1..=120).filter(|_| super::count(&mut counter)).collect();
        assert_eq!((logged, counter), (vec![1, 51, 101], 120));
    }
}
