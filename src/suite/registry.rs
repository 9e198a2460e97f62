//! Builds the list of benchmarks of a run: every kernel of a backend's manifest on every
//! shape of its family for the profile, narrowed by the user's filter.

use regex::Regex;

use super::{Benchmark, Family, Profile, Shape, attention, decode, emu, gemm, memcpy};
use crate::error::{Error, Result};
use crate::kernels::{KernelSpec, Op};

/// A regular expression over benchmark ids; no pattern matches everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pattern: Option<Regex>,
}

impl Filter {
    pub fn new(pattern: Option<&str>) -> Result<Self> {
        let pattern = pattern
            .map(|p| {
                Regex::new(p).map_err(|source| Error::BadFilter {
                    pattern: p.to_string(),
                    source,
                })
            })
            .transpose()?;
        Ok(Filter { pattern })
    }

    pub fn matches(&self, id: &str) -> bool {
        self.pattern.as_ref().is_none_or(|re| re.is_match(id))
    }

    pub fn as_str(&self) -> Option<&str> {
        self.pattern.as_ref().map(Regex::as_str)
    }
}

fn shapes(spec: &KernelSpec, profile: Profile) -> Vec<Shape> {
    if profile == Profile::Emu {
        return emu::shapes(spec);
    }
    let sizes = spec.sizes;
    match spec.op {
        Op::Copy => memcpy::shapes(profile, sizes),
        Op::Transfer => memcpy::transfer_shapes(profile),
        Op::Triad => memcpy::triad_shapes(profile, sizes),
        Op::Gemm => gemm::shapes(profile, sizes),
        Op::Attention => attention::shapes(profile, sizes),
        Op::Decode => decode::shapes(profile, sizes),
    }
}

/// The benchmarks of `kernels` for `profile` whose ids match `filter`, grouped by family
/// (memcpy, gemm, attention), then in manifest order, then in shape order.
pub fn build_suite(kernels: &[KernelSpec], profile: Profile, filter: &Filter) -> Vec<Benchmark> {
    let mut out = Vec::new();
    for family in [Family::Memcpy, Family::Gemm, Family::Attention] {
        for spec in kernels.iter().filter(|k| k.family() == family) {
            for shape in shapes(spec, profile) {
                let too_big = spec
                    .max_gflop
                    .is_some_and(|limit| shape.flops() as f64 / 1e9 > limit)
                    || matches!((shape.head_dim(), spec.max_head_dim),
                        (Some(head_dim), Some(max)) if head_dim > max);
                let bench = Benchmark::new(&spec.name, spec.dtype, shape);
                if !too_big && filter.matches(&bench.id) {
                    out.push(bench);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{self, KernelTree};

    fn builtin() -> Vec<KernelSpec> {
        kernels::load_manifest(&KernelTree::Embedded, "cpu").unwrap()
    }

    #[test]
    fn quick_suite_covers_all_families_with_unique_ids() {
        let suite = build_suite(&builtin(), Profile::Quick, &Filter::default());
        for family in ["memcpy/", "gemm/", "attention/"] {
            assert!(suite.iter().any(|b| b.id.starts_with(family)), "{family}");
        }
        let mut ids: Vec<_> = suite.iter().map(|b| b.id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), suite.len(), "ids must be unique");
    }

    #[test]
    fn filter_narrows_and_bad_regex_is_an_error() {
        let gemm_only = build_suite(
            &builtin(),
            Profile::Quick,
            &Filter::new(Some("^gemm/")).unwrap(),
        );
        assert!(!gemm_only.is_empty());
        assert!(gemm_only.iter().all(|b| b.id.starts_with("gemm/")));
        assert!(matches!(
            Filter::new(Some("gemm[")),
            Err(Error::BadFilter { .. })
        ));
    }

    #[test]
    fn max_gflop_keeps_slow_kernels_off_big_shapes() {
        let full = build_suite(&builtin(), Profile::Full, &Filter::default());
        assert!(
            full.iter()
                .any(|b| b.id == "gemm/blocked/f32/m2048n2048k2048")
        );
        assert!(
            !full
                .iter()
                .any(|b| b.id == "gemm/naive/f32/m2048n2048k2048")
        );
    }

    #[test]
    fn decode_kernels_get_decode_shapes_and_prefill_kernels_do_not() {
        let suite = build_suite(&builtin(), Profile::Quick, &Filter::default());
        let decode: Vec<_> = suite
            .iter()
            .filter(|b| matches!(b.shape, Shape::Decode { .. }))
            .collect();
        assert!(!decode.is_empty());
        assert!(decode.iter().all(|b| b.kernel == "decode"), "{decode:?}");
        assert!(
            suite
                .iter()
                .filter(|b| b.kernel == "decode")
                .all(|b| matches!(b.shape, Shape::Decode { .. }))
        );
        assert!(
            suite
                .iter()
                .any(|b| b.id == "attention/decode/f32/b2h8kv2s1024d64")
        );
    }
}
