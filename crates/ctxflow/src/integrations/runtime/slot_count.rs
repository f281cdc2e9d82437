//! How many slots a shard has, and which slot a task's position takes among them.
//!
//! The slots grow as the live tasks outnumber seven eighths of them. Doubling them would leave
//! them between seven sixteenths and seven eighths full, so that a live task's share of the
//! slots would depend on the count of live tasks by a factor of two; growing by a quarter, a
//! fifth, a sixth and a seventh in turn keeps them between seven tenths and seven eighths full.
//! A count of the form `m · 2^s`, `m` from 4 to 7, grows so, and dividing a position by it
//! stays cheap: a shift, and a multiplication by the reciprocal of `m`.

/// A number of slots, `factor << scale`.
#[derive(Clone, Copy)]
pub(crate) struct SlotCount {
    factor: u64,
    scale: u32,
    /// `2^64 / factor`, rounded up: the high half of its product with `n` is `n / factor` for
    /// every `n` below `2^64 / (factor - 1)` (see [`SlotCount::place`]).
    reciprocal: u64,
}

impl SlotCount {
    /// The slots of a shard's first insert: two runs of positions (`task_hash.rs`).
    pub(crate) const FIRST: SlotCount = SlotCount::new(4, 4);

    const fn new(factor: u64, scale: u32) -> SlotCount {
        SlotCount { factor, scale, reciprocal: u64::MAX / factor + 1 }
    }

    /// The number of slots.
    pub(crate) fn get(self) -> usize {
        (self.factor as usize) << self.scale
    }

    /// The count the slots grow to: larger by a quarter, a fifth, a sixth or a seventh.
    pub(crate) fn next(self) -> SlotCount {
        match self.factor {
            7 => SlotCount::new(4, self.scale + 1),
            m => SlotCount::new(m + 1, self.scale),
        }
    }

    /// The slot of `position` and its generation, the quotient: `position` is `generation ·
    /// count + slot`. The quotient by the count is that of `position >> scale` by `factor`.
    ///
    /// That quotient comes from the reciprocal. With `r = 2^64 / factor + e / factor`
    /// (`0 <= e < factor`), `n · r / 2^64` exceeds `n / factor` by `n · e / (factor · 2^64)`,
    /// less than `1 / factor` when `n < 2^64 / (factor - 1)`; and the fraction of `n / factor`
    /// is at most `(factor - 1) / factor`, so the floor is exact. Positions are below `2^58`
    /// (`task_hash.rs`), far inside that bound.
    #[inline]
    pub(crate) fn place(self, position: u64) -> (usize, u64) {
        let high = position >> self.scale;
        let generation = ((u128::from(high) * u128::from(self.reciprocal)) >> 64) as u64;
        ((position - generation * (self.factor << self.scale)) as usize, generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_by_a_quarter_to_a_seventh() {
        let mut count = SlotCount::FIRST;
        let mut lengths = vec![count.get()];
        for _ in 0..8 {
            count = count.next();
            lengths.push(count.get());
        }
        assert_eq!(lengths, [64, 80, 96, 112, 128, 160, 192, 224, 256]);
    }

    #[test]
    fn a_position_is_its_generation_times_the_count_plus_its_slot() {
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut count = SlotCount::FIRST;
        for _ in 0..40 {
            let n = count.get() as u64;
            let edges = [0, 1, n - 1, n, n + 1, (1 << 58) - 1, (1 << 58) - n, u64::from(u32::MAX) * n + n - 1];
            let random = (0..if cfg!(miri) { 20 } else { 2_000 }).map(|_| next() >> 6);
            for position in edges.into_iter().chain(random) {
                let (slot, generation) = count.place(position);
                assert_eq!((slot as u64, generation), (position % n, position / n), "{position} over {n}");
            }
            count = count.next();
        }
    }
}
