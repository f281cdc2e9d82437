//! Medians, ranges and within-round ratios over the records of several rounds.
//!
//! A ratio is always taken between two figures of the *same* round (measured minutes apart
//! on the same machine load), and only then summarized across rounds: on a shared, noisy
//! machine that is far steadier than a ratio of two medians taken at different times.

use std::collections::{BTreeMap, BTreeSet};

use crate::record::Record;

/// Median and range of a set of figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// The median (the mean of the two middle figures for an even count).
    pub median: f64,
    /// The smallest figure.
    pub min: f64,
    /// The largest figure.
    pub max: f64,
    /// How many figures.
    pub count: usize,
}

/// The summary of `values`, `None` when empty.
///
/// ```
/// use ctxflow_benches::report::stats::summarize;
/// let s = summarize(&[3.0, 1.0, 2.0, 10.0]).unwrap();
/// assert_eq!((s.median, s.min, s.max, s.count), (2.5, 1.0, 10.0, 4));
/// ```
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    Some(Summary { median, min: v[0], max: v[n - 1], count: n })
}

/// All records, indexed by group, contender and round.
#[derive(Default)]
pub struct Results {
    by_key: BTreeMap<(String, String), BTreeMap<u32, f64>>,
    order: Vec<(String, String)>,
    units: BTreeMap<String, String>,
}

impl Results {
    /// Indexes `records`; a later record of the same group, contender and round wins.
    pub fn new(records: &[Record]) -> Results {
        let mut r = Results::default();
        for rec in records {
            let key = (rec.group.clone(), rec.name.clone());
            if !r.by_key.contains_key(&key) {
                r.order.push(key.clone());
            }
            r.by_key.entry(key).or_default().insert(rec.round, rec.value);
            r.units.insert(rec.group.clone(), rec.unit.clone());
        }
        r
    }

    /// How many rounds the figures come from: the distinct rounds of every record (0 marks a
    /// figure of no round).
    pub fn round_count(&self) -> usize {
        let rounds: BTreeSet<u32> = self.by_key.values().flat_map(|r| r.keys().copied()).filter(|&n| n > 0).collect();
        rounds.len()
    }

    /// The unit of a group's figures.
    pub fn unit(&self, group: &str) -> &str {
        self.units.get(group).map_or("", String::as_str)
    }

    /// The contenders measured in `group`: those named in `super::groups::ORDER` in that
    /// order, then the others in the order first seen.
    pub fn names(&self, group: &str) -> Vec<&str> {
        let mut names: Vec<&str> = self.order.iter().filter(|(g, _)| g == group).map(|(_, n)| n.as_str()).collect();
        let rank = |n: &str| super::groups::ORDER.iter().position(|o| *o == n).unwrap_or(usize::MAX);
        names.sort_by_key(|n| rank(n)); // stable: unlisted names keep their order
        names
    }

    fn rounds(&self, group: &str, name: &str) -> Option<&BTreeMap<u32, f64>> {
        self.by_key.get(&(group.to_string(), name.to_string()))
    }

    /// The summary of one contender's figures across rounds.
    pub fn summary(&self, group: &str, name: &str) -> Option<Summary> {
        summarize(&self.rounds(group, name)?.values().copied().collect::<Vec<_>>())
    }

    /// `combine(figure of name, figure of base)` in each round where both were measured.
    fn paired(&self, group: &str, name: &str, base: &str, combine: impl Fn(f64, f64) -> f64) -> Option<Summary> {
        let a = self.rounds(group, name)?;
        let b = self.rounds(group, base)?;
        let v: Vec<f64> = a.iter().filter_map(|(round, x)| Some(combine(*x, *b.get(round)?))).collect();
        summarize(&v)
    }

    /// `name / base`, within each round.
    pub fn ratio(&self, group: &str, name: &str, base: &str) -> Option<Summary> {
        self.paired(group, name, base, |x, b| x / b)
    }

    /// `name - base`, within each round.
    pub fn difference(&self, group: &str, name: &str, base: &str) -> Option<Summary> {
        self.paired(group, name, base, |x, b| x - b)
    }

    /// What `name` adds to `base` as a share of what `other` adds, `(name - base) / (other -
    /// base)`, within each round (rounds where `other` adds nothing are left out). Two medians of
    /// differences, taken apart, can come from different rounds: one slow round of either
    /// contender then moves the share by itself.
    pub fn added_share(&self, group: &str, name: &str, other: &str, base: &str) -> Option<Summary> {
        let a = self.rounds(group, name)?;
        let o = self.rounds(group, other)?;
        let b = self.rounds(group, base)?;
        let v: Vec<f64> = a
            .iter()
            .filter_map(|(round, x)| {
                let base = *b.get(round)?;
                let added = *o.get(round)? - base;
                (added > 0.0).then(|| (x - base) / added)
            })
            .collect();
        summarize(&v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(group: &str, name: &str, value: f64, round: u32) -> Record {
        Record { group: group.into(), name: name.into(), value, unit: "ns".into(), round }
    }

    #[test]
    fn ratios_pair_figures_of_the_same_round() {
        let r = Results::new(&[
            rec("g", "base", 10.0, 1),
            rec("g", "x", 11.0, 1),
            rec("g", "base", 20.0, 2),
            rec("g", "x", 24.0, 2),
            rec("g", "x", 99.0, 3), // no base in round 3: left out of the ratio
        ]);
        let ratio = r.ratio("g", "x", "base").unwrap();
        assert_eq!(ratio.count, 2);
        assert!((ratio.min - 1.1).abs() < 1e-9 && (ratio.max - 1.2).abs() < 1e-9);
        assert_eq!(r.difference("g", "x", "base").unwrap().median, 2.5);
        assert_eq!(r.summary("g", "x").unwrap().count, 3);
        assert_eq!(r.names("g"), vec!["base", "x"]);
        let ordered =
            Results::new(&[rec("h", "opentelemetry", 1.0, 1), rec("h", "zz", 1.0, 1), rec("h", "tokio", 1.0, 1)]);
        assert_eq!(ordered.names("h"), vec!["tokio", "opentelemetry", "zz"]);
        assert!(r.ratio("g", "x", "missing").is_none());
    }

    #[test]
    fn an_added_share_pairs_the_three_figures_of_each_round() {
        // Added by x: 5, 6, 40; added by y: 30, 10, 100. Medians taken apart give 6 / 30 = 0.2;
        // round by round the shares are 1/6, 0.6 and 0.4.
        let r = Results::new(&[
            rec("g", "base", 10.0, 1),
            rec("g", "x", 15.0, 1),
            rec("g", "y", 40.0, 1),
            rec("g", "base", 10.0, 2),
            rec("g", "x", 16.0, 2),
            rec("g", "y", 20.0, 2),
            rec("g", "base", 10.0, 3),
            rec("g", "x", 50.0, 3),
            rec("g", "y", 110.0, 3),
            rec("g", "base", 10.0, 4),
            rec("g", "x", 12.0, 4),
            rec("g", "y", 9.0, 4), // y adds nothing in round 4: no share
        ]);
        let share = r.added_share("g", "x", "y", "base").unwrap();
        assert_eq!(share.count, 3);
        assert!((share.median - 0.4).abs() < 1e-9);
        assert!((share.min - 1.0 / 6.0).abs() < 1e-9 && (share.max - 0.6).abs() < 1e-9);
    }

    #[test]
    fn rounds_are_counted_from_the_figures() {
        // Run by hand (round 0) counts for nothing; a round counts once, however many figures.
        let r =
            Results::new(&[rec("g", "a", 1.0, 1), rec("g", "b", 1.0, 1), rec("h", "a", 1.0, 3), rec("m", "a", 1.0, 0)]);
        assert_eq!(r.round_count(), 2);
        assert_eq!(Results::new(&[rec("m", "a", 1.0, 0)]).round_count(), 0);
    }
}
