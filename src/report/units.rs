//! Human units: times with 4 significant digits in s/ms/µs/ns, rates in decimal SI prefixes
//! (GB/s as GPU vendors quote bandwidth).

/// The first 7 hex digits of a commit id, as git prints it.
pub(super) fn short_commit(commit: &str) -> &str {
    &commit[..commit.len().min(7)]
}

/// `1.234 ms`, `56.78 µs`, …
pub fn format_seconds(s: f64) -> String {
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else if s >= 1e-6 {
        (s * 1e6, "µs")
    } else {
        (s * 1e9, "ns")
    };
    format!("{} {unit}", four_digits(value))
}

fn four_digits(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else if v >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn si(value: f64, unit: &str) -> String {
    let prefixes = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];
    for (scale, p) in prefixes {
        if value >= scale {
            return format!("{} {p}{unit}", four_digits(value / scale));
        }
    }
    format!("{} {unit}", four_digits(value))
}

/// `12.34 GFLOP/s`
pub fn format_flops(flop_per_s: f64) -> String {
    si(flop_per_s, "FLOP/s")
}

/// `45.67 GB/s`
pub fn format_bytes_per_s(bytes_per_s: f64) -> String {
    si(bytes_per_s, "B/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(format_seconds(1.5e-3), "1.500 ms");
        assert_eq!(format_seconds(12.346e-6), "12.35 µs");
        assert_eq!(format_seconds(2.0), "2.000 s");
        assert_eq!(format_seconds(500e-9), "500.0 ns");
        assert_eq!(format_flops(12.345e9), "12.35 GFLOP/s");
        assert_eq!(format_bytes_per_s(3.35e12), "3.350 TB/s");
        assert_eq!(format_bytes_per_s(10.0), "10.00 B/s");
    }
}
