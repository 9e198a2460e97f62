//! Reference implementations in plain Rust, accumulating in f64. They verify every kernel,
//! CPU and GPU alike, so they favour obviously-correct over fast. Each computes only the
//! requested output rows, so large shapes can be checked on a sample.

use super::Shape;

/// Rows `rows` of C = A·B (row-major, A is m×k, B is k×n), each n wide.
/// Time: O(rows · k · n).
pub fn gemm_rows(a: &[f32], b: &[f32], m: u64, n: u64, k: u64, rows: &[u64]) -> Vec<f64> {
    let (n, k) = (n as usize, k as usize);
    let mut out = vec![0.0f64; rows.len() * n];
    for (r, &i) in rows.iter().enumerate() {
        assert!(i < m, "row {i} out of range for m = {m}");
        let acc = &mut out[r * n..(r + 1) * n];
        for kk in 0..k {
            let aik = f64::from(a[i as usize * k + kk]);
            for (c, &bkj) in acc.iter_mut().zip(&b[kk * n..(kk + 1) * n]) {
                *c += aik * f64::from(bkj);
            }
        }
    }
    out
}

/// STREAM's triad b + s·c, element by element. Time: O(n).
pub fn triad(b: &[f32], c: &[f32], s: f64) -> Vec<f64> {
    b.iter()
        .zip(c)
        .map(|(&x, &y)| f64::from(x) + s * f64::from(y))
        .collect()
}

/// Rows of attention output O for the flat query rows `rows` (row r is query r % sq of
/// batch·head r / sq), each head_dim wide. Query i sees key j when j ≤ i + (sk − sq) under
/// causal masking; a query that sees no key outputs zeros.
/// Time: O(rows · sk · head_dim).
pub fn attention_rows(q: &[f32], k: &[f32], v: &[f32], shape: &Shape, rows: &[u64]) -> Vec<f64> {
    let Shape::Attention {
        sq,
        sk,
        head_dim,
        causal,
        ..
    } = *shape
    else {
        panic!("attention_rows needs an attention shape");
    };
    let (sq, sk, d) = (sq as usize, sk as usize, head_dim as usize);
    let mut out = vec![0.0f64; rows.len() * d];
    for (r, &row) in rows.iter().enumerate() {
        let (bh, i) = (row as usize / sq, row as usize % sq);
        let visible = if causal {
            (i as i64 + sk as i64 - sq as i64 + 1).clamp(0, sk as i64) as usize
        } else {
            sk
        };
        let keys = bh * sk * d..(bh * sk + visible) * d;
        attend(
            &q[(bh * sq + i) * d..(bh * sq + i + 1) * d],
            &k[keys.clone()],
            &v[keys],
            &mut out[r * d..(r + 1) * d],
        );
    }
    out
}

/// Rows of decode attention output O for the flat rows `rows` (row r is query head
/// r % heads of batch r / heads), each head_dim wide: query head h reads KV head
/// h / (heads / kv_heads) and sees every key.
/// Time: O(rows · seq · head_dim).
pub fn decode_rows(q: &[f32], k: &[f32], v: &[f32], shape: &Shape, rows: &[u64]) -> Vec<f64> {
    let Shape::Decode {
        heads,
        kv_heads,
        seq,
        head_dim,
        ..
    } = *shape
    else {
        panic!("decode_rows needs a decode shape");
    };
    let (heads, seq, d) = (heads as usize, seq as usize, head_dim as usize);
    let group = heads / kv_heads as usize;
    let mut out = vec![0.0f64; rows.len() * d];
    for (r, &row) in rows.iter().enumerate() {
        let row = row as usize;
        let (b, h) = (row / heads, row % heads);
        let kv = b * kv_heads as usize + h / group;
        let keys = kv * seq * d..(kv + 1) * seq * d;
        attend(
            &q[row * d..(row + 1) * d],
            &k[keys.clone()],
            &v[keys],
            &mut out[r * d..(r + 1) * d],
        );
    }
    out
}

/// softmax(q·Kᵀ/√d)·V for one query row over the key rows of `k` and `v` (row-major, d =
/// q.len() wide), written to `out`; zeros when there are no keys.
fn attend(q: &[f32], k: &[f32], v: &[f32], out: &mut [f64]) {
    let d = q.len();
    let scale = 1.0 / (d as f64).sqrt();
    let scores: Vec<f64> = k
        .chunks_exact(d)
        .map(|krow| {
            let dot: f64 = q
                .iter()
                .zip(krow)
                .map(|(&x, &y)| f64::from(x) * f64::from(y))
                .sum();
            dot * scale
        })
        .collect();
    out.fill(0.0);
    if scores.is_empty() {
        return;
    }
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut denom = 0.0;
    for (&s, vrow) in scores.iter().zip(v.chunks_exact(d)) {
        let p = (s - max).exp();
        denom += p;
        for (o, &x) in out.iter_mut().zip(vrow) {
            *o += p * f64::from(x);
        }
    }
    out.iter_mut().for_each(|o| *o /= denom);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_matches_hand_computed_product() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
        let out = gemm_rows(&[1., 2., 3., 4.], &[5., 6., 7., 8.], 2, 2, 2, &[0, 1]);
        assert_eq!(out, vec![19., 22., 43., 50.]);
        assert_eq!(
            gemm_rows(&[1., 2., 3., 4.], &[5., 6., 7., 8.], 2, 2, 2, &[1]),
            vec![43., 50.]
        );
    }

    fn shape(sq: u64, sk: u64, causal: bool) -> Shape {
        Shape::Attention {
            batch: 1,
            heads: 1,
            sq,
            sk,
            head_dim: 1,
            causal,
        }
    }

    #[test]
    fn attention_is_a_softmax_weighted_average() {
        // d = 1, scale = 1: q = 0 gives equal weights, so o = mean(v).
        let out = attention_rows(&[0.0], &[1.0, 2.0], &[1.0, 3.0], &shape(1, 2, false), &[0]);
        assert!((out[0] - 2.0).abs() < 1e-12);
        // q = 1: weights e^1, e^2.
        let out = attention_rows(&[1.0], &[1.0, 2.0], &[1.0, 3.0], &shape(1, 2, false), &[0]);
        let (w1, w2) = (1f64.exp(), 2f64.exp());
        assert!((out[0] - (w1 + 3.0 * w2) / (w1 + w2)).abs() < 1e-12);
    }

    #[test]
    fn causal_mask_hides_future_keys() {
        // Two queries over two keys: query 0 sees only key 0, so o0 = v0.
        let out = attention_rows(
            &[1.0, 1.0],
            &[1.0, 2.0],
            &[5.0, 7.0],
            &shape(2, 2, true),
            &[0, 1],
        );
        assert_eq!(out[0], 5.0);
        assert!(out[1] > 5.0 && out[1] < 7.0);
    }

    #[test]
    fn decode_reads_the_kv_head_of_its_group() {
        // 4 query heads over 2 KV heads, d = 1, 2 keys each. Query heads 0 and 1 read KV
        // head 0 (values 1 and 3), heads 2 and 3 read KV head 1 (values 10 and 30); q = 0
        // weighs both keys equally.
        let shape = Shape::Decode {
            batch: 1,
            heads: 4,
            kv_heads: 2,
            seq: 2,
            head_dim: 1,
        };
        let out = decode_rows(
            &[0.0; 4],
            &[1.0, 2.0, 1.0, 2.0],
            &[1.0, 3.0, 10.0, 30.0],
            &shape,
            &[0, 1, 2, 3],
        );
        assert_eq!(out, vec![2.0, 2.0, 20.0, 20.0]);
        // Only the requested rows, in order.
        assert_eq!(
            decode_rows(&[0.0; 4], &[1.0; 4], &[1.0, 3.0, 10.0, 30.0], &shape, &[3]),
            vec![20.0]
        );
    }
}
