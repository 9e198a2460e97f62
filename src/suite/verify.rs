//! Checking a kernel's output against the f64 reference. A wrong result is a failure,
//! never a timing.
//!
//! The error measure is normwise: the largest absolute error over the checked elements
//! divided by the largest reference magnitude (∞-norm relative error). Unlike an
//! element-wise relative error it does not explode on outputs that happen to be near zero,
//! and unlike an absolute error it does not depend on the problem's scale. Any NaN fails.
//! Large outputs are checked on a sample of rows spread evenly over the whole output
//! (always including the first and last), as many as a fixed reference budget allows; the
//! NaN/Inf scan always covers every element, so an element the kernel never wrote (outputs
//! are poisoned with NaN) is always caught.

use serde::{Deserialize, Serialize};

use super::reference;
use super::{Benchmark, Inputs, Output, Shape};

/// Multiply-adds the reference may spend on one check: quick shapes are checked in full,
/// large ones on a sample of rows.
const REFERENCE_BUDGET: u64 = 200_000_000;
/// Rows checked at least, however expensive a row is. 64 rows spread over an 8192-row GPU
/// GEMM land in every 128-row block tile; at 8192³ they cost 4.3·10⁹ f64 multiply-adds on the
/// host (a few seconds), where 256 rows cost four times as much for every large shape.
const MIN_CHECKED_ROWS: u64 = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub passed: bool,
    /// Normwise relative error (see the module docs); 0 for an exact match; `None` when a
    /// checked element is NaN or missing, so there is no finite error to report.
    pub max_rel_error: Option<f64>,
    pub tolerance: f64,
    /// Elements compared with the reference.
    pub checked: u64,
    /// Elements in the whole output.
    pub total: u64,
    /// Elements that are NaN or infinite anywhere in the output (`nan_count` in the first
    /// v1 files, which counted NaN only).
    #[serde(alias = "nan_count")]
    pub nonfinite_count: u64,
    /// Checked elements whose error exceeds the tolerance.
    pub mismatches: u64,
    /// Flat index of the worst element, when there is an error at all.
    pub worst_index: Option<u64>,
    /// The worst element as the kernel wrote it and as the reference has it (NaN where the
    /// kernel wrote a non-finite value or nothing). Absent in files before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst: Option<Worst>,
}

/// The worst checked element: what the kernel wrote, and what it should have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Worst {
    /// JSON has no NaN: serde_json writes it as `null`, read back here as NaN.
    #[serde(deserialize_with = "null_as_nan")]
    pub actual: f64,
    #[serde(deserialize_with = "null_as_nan")]
    pub expected: f64,
}

fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}

impl Verification {
    /// One line for tables and logs.
    pub fn summary(&self) -> String {
        if self.passed && self.tolerance == 0.0 {
            "ok (exact)".to_string()
        } else if self.passed {
            format!("ok (err {:.1e})", self.max_rel_error.unwrap_or(0.0))
        } else if self.nonfinite_count > 0 {
            format!(
                "FAIL: {} NaN/Inf of {}{}",
                self.nonfinite_count,
                self.total,
                self.worst_text()
            )
        } else {
            let err = self
                .max_rel_error
                .map_or("undefined".to_string(), |e| format!("{e:.2e}"));
            format!(
                "FAIL: err {err} > {:.0e} ({} of {} checked){}",
                self.tolerance,
                self.mismatches,
                self.checked,
                self.worst_text()
            )
        }
    }

    /// "; worst [i]: got vs want", where the worst element is known.
    fn worst_text(&self) -> String {
        match (self.worst_index, self.worst) {
            // As f32, the outputs' type: shortest digits that round-trip.
            (Some(i), Some(w)) => format!(
                "; worst [{i}]: {} vs {}",
                w.actual as f32, w.expected as f32
            ),
            (Some(i), None) => format!("; worst [{i}]"),
            _ => String::new(),
        }
    }
}

/// Rows to check out of `rows` when one row costs `row_cost` multiply-adds: all of them if
/// the budget allows, else as many as it allows (at least `MIN_CHECKED_ROWS`) spread evenly.
fn sample_rows(rows: u64, row_cost: u64) -> Vec<u64> {
    let limit = (REFERENCE_BUDGET / row_cost.max(1)).max(MIN_CHECKED_ROWS);
    if rows <= limit {
        return (0..rows).collect();
    }
    let last = rows - 1;
    let mut picked: Vec<u64> = (0..limit).map(|i| i * last / (limit - 1)).collect();
    picked.dedup();
    picked
}

/// Verifies `output` of `bench` run on `inputs`.
pub fn verify(bench: &Benchmark, inputs: &Inputs, output: &Output) -> Verification {
    let tolerance = bench.dtype.tolerance();
    match (bench.shape, inputs, output) {
        (Shape::Copy { .. } | Shape::Transfer { .. }, Inputs::Copy { src }, Output::Bytes(dst)) => {
            verify_copy(src, dst)
        }
        (Shape::Triad { .. }, Inputs::Triad { b, c }, Output::F32(a)) => {
            let expected = reference::triad(b, c, f64::from(super::memcpy::TRIAD_SCALAR));
            compare_rows(a, &[0], expected.len() as u64, &expected, tolerance)
        }
        (Shape::Gemm { m, n, k }, Inputs::Gemm { a, b }, Output::F32(c)) => {
            let rows = sample_rows(m, n * k);
            let expected = reference::gemm_rows(a, b, m, n, k, &rows);
            compare_rows(c, &rows, n, &expected, tolerance)
        }
        (shape @ Shape::Attention { .. }, Inputs::Attention { q, k, v }, Output::F32(o)) => {
            let Shape::Attention {
                batch,
                heads,
                sq,
                sk,
                head_dim,
                ..
            } = shape
            else {
                unreachable!()
            };
            let rows = sample_rows(batch * heads * sq, sk * head_dim);
            let expected = reference::attention_rows(q, k, v, &shape, &rows);
            compare_rows(o, &rows, head_dim, &expected, tolerance)
        }
        (
            shape @ Shape::Decode {
                batch,
                heads,
                seq,
                head_dim,
                ..
            },
            Inputs::Attention { q, k, v },
            Output::F32(o),
        ) => {
            let rows = sample_rows(batch * heads, seq * head_dim);
            let expected = reference::decode_rows(q, k, v, &shape, &rows);
            compare_rows(o, &rows, head_dim, &expected, tolerance)
        }
        _ => Verification {
            passed: false,
            max_rel_error: None,
            tolerance,
            checked: 0,
            total: 0,
            nonfinite_count: 0,
            mismatches: 0,
            worst_index: None,
            worst: None,
        },
    }
}

fn verify_copy(src: &[u8], dst: &[u8]) -> Verification {
    let mismatches = if src.len() == dst.len() {
        src.iter().zip(dst).filter(|(a, b)| a != b).count() as u64
    } else {
        src.len().max(dst.len()) as u64
    };
    let first = src.iter().zip(dst).position(|(a, b)| a != b);
    let worst_index = first.map(|i| i as u64);
    Verification {
        worst: first.map(|i| Worst {
            actual: f64::from(dst[i]),
            expected: f64::from(src[i]),
        }),
        passed: mismatches == 0,
        max_rel_error: Some(if mismatches == 0 { 0.0 } else { 1.0 }),
        tolerance: 0.0,
        checked: src.len() as u64,
        total: dst.len() as u64,
        nonfinite_count: 0,
        mismatches,
        worst_index,
    }
}

/// Compares rows `rows` (each `width` wide) of `actual` with `expected` (those rows only).
fn compare_rows(
    actual: &[f32],
    rows: &[u64],
    width: u64,
    expected: &[f64],
    tolerance: f64,
) -> Verification {
    let nonfinite_count = actual.iter().filter(|x| !x.is_finite()).count() as u64;
    let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let scale = if scale > 0.0 {
        scale
    } else {
        f64::MIN_POSITIVE
    };
    let mut max_err = 0.0f64;
    let mut worst_index = None;
    let mut worst = None;
    let mut mismatches = 0;
    for (r, &row) in rows.iter().enumerate() {
        for col in 0..width {
            let index = row * width + col;
            let want = expected[r * width as usize + col as usize];
            let got = actual
                .get(index as usize)
                .map_or(f64::NAN, |&x| f64::from(x));
            let err = if got.is_finite() {
                (got - want).abs() / scale
            } else {
                f64::INFINITY
            };
            if err > tolerance {
                mismatches += 1;
            }
            if err > max_err || (err.is_infinite() && worst_index.is_none()) {
                max_err = err;
                worst_index = Some(index);
                worst = Some(Worst {
                    actual: got,
                    expected: want,
                });
            }
        }
    }
    let size_ok = actual.len() as u64 >= rows.last().map_or(0, |r| (r + 1) * width);
    Verification {
        passed: nonfinite_count == 0 && mismatches == 0 && size_ok,
        max_rel_error: max_err.is_finite().then_some(max_err),
        tolerance,
        checked: rows.len() as u64 * width,
        total: actual.len() as u64,
        nonfinite_count,
        mismatches,
        worst_index,
        worst,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Dtype, generate_inputs};

    fn gemm_case() -> (Benchmark, Inputs, Vec<f32>) {
        let bench = Benchmark::new("t", Dtype::F32, Shape::Gemm { m: 3, n: 4, k: 5 });
        let inputs = generate_inputs(&bench, 7);
        let Inputs::Gemm { a, b } = &inputs else {
            unreachable!()
        };
        let good = reference::gemm_rows(a, b, 3, 4, 5, &[0, 1, 2])
            .iter()
            .map(|&x| x as f32)
            .collect();
        (bench, inputs, good)
    }

    #[test]
    fn correct_gemm_passes_and_perturbed_gemm_fails() {
        let (bench, inputs, good) = gemm_case();
        let v = verify(&bench, &inputs, &Output::F32(good.clone()));
        assert!(v.passed, "{v:?}");
        assert_eq!(v.checked, 12);

        let mut bad = good.clone();
        bad[5] += 0.01;
        let v = verify(&bench, &inputs, &Output::F32(bad.clone()));
        assert!(!v.passed);
        assert_eq!(v.mismatches, 1);
        assert_eq!(v.worst_index, Some(5));
        // The summary names the element and both values.
        let worst = v.worst.unwrap();
        assert_eq!(worst.actual, f64::from(bad[5]));
        assert!((worst.expected - f64::from(good[5])).abs() < 1e-6);
        let summary = v.summary();
        assert!(
            summary.contains(&format!("worst [5]: {} vs ", bad[5])),
            "{summary}"
        );
    }

    #[test]
    fn any_nan_or_inf_fails() {
        let (bench, inputs, mut out) = gemm_case();
        out[11] = f32::NAN;
        out[3] = f32::INFINITY;
        let v = verify(&bench, &inputs, &Output::F32(out));
        assert!(!v.passed);
        assert_eq!(v.nonfinite_count, 2);
        assert!(v.summary().contains("NaN"));
    }

    #[test]
    fn short_output_fails() {
        let (bench, inputs, mut out) = gemm_case();
        out.pop();
        assert!(!verify(&bench, &inputs, &Output::F32(out)).passed);
    }

    #[test]
    fn triad_is_checked_against_b_plus_s_c() {
        let bench = Benchmark::new("t", Dtype::F32, Shape::Triad { bytes: 64 });
        let inputs = generate_inputs(&bench, 3);
        let Inputs::Triad { b, c } = &inputs else {
            unreachable!()
        };
        let good: Vec<f32> = b.iter().zip(c).map(|(x, y)| x + 3.0 * y).collect();
        let v = verify(&bench, &inputs, &Output::F32(good.clone()));
        assert!(v.passed && v.checked == 16, "{v:?}");
        // s·c forgotten on one element, or the scalar taken as 2: both fail.
        let mut one_off = good;
        one_off[7] = b[7];
        assert!(!verify(&bench, &inputs, &Output::F32(one_off)).passed);
        let wrong_scalar: Vec<f32> = b.iter().zip(c).map(|(x, y)| x + 2.0 * y).collect();
        assert!(!verify(&bench, &inputs, &Output::F32(wrong_scalar)).passed);
    }

    #[test]
    fn copy_must_match_exactly() {
        let src = vec![1u8, 2, 3];
        assert!(verify_copy(&src, &[1, 2, 3]).passed);
        let v = verify_copy(&src, &[1, 9, 3]);
        assert!(!v.passed);
        assert_eq!(v.worst_index, Some(1));
    }

    #[test]
    fn row_sample_spans_first_to_last() {
        assert_eq!(sample_rows(3, 10), vec![0, 1, 2]);
        // 10 000 rows of 1e6 multiply-adds: 200 fit the budget.
        let rows = sample_rows(10_000, 1_000_000);
        assert_eq!(rows.len(), 200);
        assert_eq!((rows[0], *rows.last().unwrap()), (0, 9_999));
        // 8192 rows of 6.7e7 (a GPU GEMM): the floor.
        let rows = sample_rows(8192, 8192 * 8192);
        assert_eq!(rows.len() as u64, MIN_CHECKED_ROWS);
        assert_eq!((rows[0], *rows.last().unwrap()), (0, 8191));
        // Every 128-row block tile holds a checked row.
        let mut tiles: Vec<u64> = rows.iter().map(|r| r / 128).collect();
        tiles.dedup();
        assert_eq!(tiles.len(), 64);
        // Cheap rows are all checked.
        assert_eq!(sample_rows(10_000, 1_000).len(), 10_000);
    }

    #[test]
    fn a_non_finite_worst_value_survives_json() {
        let w = Worst {
            actual: f64::NAN,
            expected: 2.5,
        };
        let text = serde_json::to_string(&w).unwrap();
        assert_eq!(text, r#"{"actual":null,"expected":2.5}"#);
        let back: Worst = serde_json::from_str(&text).unwrap();
        assert!(back.actual.is_nan() && back.expected == 2.5);
    }
}
