//! Ranking with ties, shared by the rank tests.

/// 1-based ranks of `values` (ties get the average of their ranks) and the sum of t³ − t
/// over tie groups of size t, which the tests' variance corrections need.
/// Time: O(n log n).
pub fn ranks_with_ties(values: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut tie_term = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold equal values: ranks start+1..=end, averaged.
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        let t = (end - start) as f64;
        tie_term += t * t * t - t;
        start = end;
    }
    (ranks, tie_term)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_average_rank() {
        let (ranks, ties) = ranks_with_ties(&[10.0, 20.0, 10.0, 30.0, 10.0]);
        assert_eq!(ranks, vec![2.0, 4.0, 2.0, 5.0, 2.0]);
        assert_eq!(ties, 24.0); // one group of 3: 27 − 3
    }
}
