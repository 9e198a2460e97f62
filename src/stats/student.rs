//! Student's t distribution and the pooled two-sample t-test, for the change-point
//! significance test (the t-test variant of E-divisive that Apache Otava uses: deterministic,
//! unlike a permutation test).

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; relative error below 1e-13).
fn ln_gamma(x: f64) -> f64 {
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Continued fraction for the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta I_x(a, b).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Two-sided p-value P(|T| ≥ |t|) for Student's t with `df` degrees of freedom.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if !t.is_finite() {
        return if t.is_nan() { 1.0 } else { 0.0 };
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0)
}

/// Student's two-sample t-test of equal means with a pooled variance (scipy's `ttest_ind`
/// default, as Otava uses it): the two-sided p-value. Pooling matters for change points,
/// where one side may hold only a few points whose own variance is unreliable. Both
/// samples need at least two values; two constant samples give 1 when equal, 0 when not.
pub fn pooled_t_test(a: &[f64], b: &[f64]) -> f64 {
    let (ma, va) = mean_var(a);
    let (mb, vb) = mean_var(b);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let df = na + nb - 2.0;
    let pooled = ((na - 1.0) * va + (nb - 1.0) * vb) / df;
    let se2 = pooled * (1.0 / na + 1.0 / nb);
    if se2 <= 0.0 || !se2.is_finite() {
        return if ma == mb { 1.0 } else { 0.0 };
    }
    student_t_two_sided((ma - mb) / se2.sqrt(), df)
}

/// Mean and unbiased variance (n − 1).
fn mean_var(x: &[f64]) -> (f64, f64) {
    assert!(x.len() >= 2, "the t-test needs two values per sample");
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs()
    }

    #[test]
    fn t_tail_matches_scipy() {
        // scipy.stats.t.sf(|t|, df) * 2
        assert!(close(
            student_t_two_sided(2.0, 10.0),
            0.073_388_034_770_740_37,
            1e-9
        ));
        assert!(close(
            student_t_two_sided(-3.5, 4.5),
            0.020_541_689_969_385_577,
            1e-6
        ));
        assert!(close(student_t_two_sided(0.0, 7.0), 1.0, 1e-12));
        assert!(close(
            student_t_two_sided(10.0, 30.0),
            4.575_251_408_229_618e-11,
            1e-6
        ));
    }

    #[test]
    fn pooled_matches_scipy() {
        // scipy.stats.ttest_ind(a, b).pvalue
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [2.5, 3.5, 4.5, 6.0, 7.0, 8.0];
        assert!(close(pooled_t_test(&a, &b), 0.081_758_698_249_743_54, 1e-6));
    }

    #[test]
    fn constant_samples() {
        assert_eq!(pooled_t_test(&[1.0, 1.0], &[1.0, 1.0, 1.0]), 1.0);
        assert_eq!(pooled_t_test(&[1.0, 1.0], &[2.0, 2.0]), 0.0);
    }
}
