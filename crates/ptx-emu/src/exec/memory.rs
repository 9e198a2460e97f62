//! Global memory: named allocations at 256-byte aligned device addresses with unmapped gaps
//! between them. Storage is `AtomicU32` words so blocks on several host threads can share it
//! without data races: ordinary accesses are Relaxed, `atom`/`red` are SeqCst read-modify-writes.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// First device address handed out.
pub const GLOBAL_BASE: u64 = 0x1000_0000;
/// Unmapped bytes left after every allocation (rounded up to 256).
pub const GAP: u64 = 0x1_0000;
/// Generic-address window of the block's shared memory (PTX ISA 6.4.1 generic addressing).
pub const SHARED_WINDOW: u64 = 0x7f00_0000_0000;
/// Generic-address window of the thread's local memory.
pub const LOCAL_WINDOW: u64 = 0x7e00_0000_0000;
const WINDOW_SIZE: u64 = 1 << 32;

pub(crate) struct Alloc {
    pub name: String,
    pub base: u64,
    pub len: u64,
    words: Vec<AtomicU32>,
}

/// An access outside every allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemError {
    pub addr: u64,
    pub len: u64,
}

impl fmt::Display for MemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} bytes at {:#x} are not inside one allocation",
            self.len, self.addr
        )
    }
}

impl std::error::Error for MemError {}

/// Device global memory.
#[derive(Default)]
pub struct Global {
    allocs: Vec<Alloc>,
    wide: Mutex<()>,
}

impl fmt::Debug for Global {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut l = f.debug_list();
        for a in &self.allocs {
            l.entry(&(&a.name, a.base, a.len));
        }
        l.finish()
    }
}

impl Global {
    pub fn new() -> Global {
        Global::default()
    }

    /// Allocates a copy of `bytes`; returns its device address (256-byte aligned).
    pub fn alloc(&mut self, name: &str, bytes: &[u8]) -> u64 {
        let base = match self.allocs.last() {
            None => GLOBAL_BASE,
            Some(a) => (a.base + a.len.max(1) + GAP).div_ceil(256) * 256,
        };
        let words = bytes
            .chunks(4)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..c.len()].copy_from_slice(c);
                AtomicU32::new(u32::from_le_bytes(w))
            })
            .collect();
        self.allocs.push(Alloc {
            name: name.to_string(),
            base,
            len: bytes.len() as u64,
            words,
        });
        base
    }

    pub fn alloc_zeroed(&mut self, name: &str, len: usize) -> u64 {
        self.alloc(name, &vec![0; len])
    }

    pub fn alloc_f32(&mut self, name: &str, v: &[f32]) -> u64 {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.alloc(name, &b)
    }

    pub fn alloc_u32(&mut self, name: &str, v: &[u32]) -> u64 {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.alloc(name, &b)
    }

    pub fn alloc_u16(&mut self, name: &str, v: &[u16]) -> u64 {
        let b: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.alloc(name, &b)
    }

    /// The device address of the allocation called `name`.
    pub fn addr_of(&self, name: &str) -> Option<u64> {
        self.allocs.iter().find(|a| a.name == name).map(|a| a.base)
    }

    /// All bytes of the allocation starting at `addr`.
    pub fn bytes(&self, addr: u64) -> Option<Vec<u8>> {
        let a = self.allocs.iter().find(|a| a.base == addr)?;
        self.read(addr, a.len as usize).ok()
    }

    pub fn read(&self, addr: u64, len: usize) -> Result<Vec<u8>, MemError> {
        let a = self.find(addr, len as u64).ok_or(MemError {
            addr,
            len: len as u64,
        })?;
        let off = addr - a.base;
        Ok((0..len as u64)
            .map(|i| {
                let o = off + i;
                (a.words[(o / 4) as usize].load(Ordering::Relaxed) >> ((o % 4) * 8)) as u8
            })
            .collect())
    }

    pub fn write(&mut self, addr: u64, bytes: &[u8]) -> Result<(), MemError> {
        for (i, &b) in bytes.iter().enumerate() {
            self.store(addr + i as u64, 1, b as u64).ok_or(MemError {
                addr,
                len: bytes.len() as u64,
            })?;
        }
        Ok(())
    }

    pub fn read_f32(&self, addr: u64, n: usize) -> Result<Vec<f32>, MemError> {
        Ok(self
            .read(addr, n * 4)?
            .chunks(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    pub fn read_u32(&self, addr: u64, n: usize) -> Result<Vec<u32>, MemError> {
        Ok(self
            .read(addr, n * 4)?
            .chunks(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    pub fn read_u16(&self, addr: u64, n: usize) -> Result<Vec<u16>, MemError> {
        Ok(self
            .read(addr, n * 2)?
            .chunks(2)
            .map(|c| u16::from_le_bytes(c.try_into().expect("2 bytes")))
            .collect())
    }

    /// The allocation holding all of `[addr, addr+len)`.
    #[inline]
    pub(crate) fn find(&self, addr: u64, len: u64) -> Option<&Alloc> {
        let i = self.allocs.partition_point(|a| a.base <= addr);
        let a = self.allocs.get(i.checked_sub(1)?)?;
        (addr.checked_add(len)? <= a.base + a.len).then_some(a)
    }

    /// The allocation nearest to `addr`: (name, start, end).
    pub(crate) fn nearest(&self, addr: u64) -> Option<(String, u64, u64)> {
        self.allocs
            .iter()
            .min_by_key(|a| {
                if addr < a.base {
                    a.base - addr
                } else {
                    addr.saturating_sub(a.base + a.len)
                }
            })
            .map(|a| (a.name.clone(), a.base, a.base + a.len))
    }

    /// Loads `size` (1, 2, 4 or 8) naturally aligned bytes.
    #[inline]
    pub(crate) fn load(&self, addr: u64, size: u32) -> Option<u64> {
        let a = self.find(addr, size as u64)?;
        let off = addr - a.base;
        let w = (off / 4) as usize;
        Some(match size {
            8 => {
                let lo = a.words[w].load(Ordering::Relaxed) as u64;
                let hi = a.words[w + 1].load(Ordering::Relaxed) as u64;
                lo | (hi << 32)
            }
            4 => a.words[w].load(Ordering::Relaxed) as u64,
            _ => {
                let v = a.words[w].load(Ordering::Relaxed) >> ((off % 4) * 8);
                (v & ((1u64 << (size * 8)) - 1) as u32) as u64
            }
        })
    }

    /// Stores `size` naturally aligned bytes.
    #[inline]
    pub(crate) fn store(&self, addr: u64, size: u32, v: u64) -> Option<()> {
        let a = self.find(addr, size as u64)?;
        let off = addr - a.base;
        let w = (off / 4) as usize;
        match size {
            8 => {
                a.words[w].store(v as u32, Ordering::Relaxed);
                a.words[w + 1].store((v >> 32) as u32, Ordering::Relaxed);
            }
            4 => a.words[w].store(v as u32, Ordering::Relaxed),
            _ => {
                let sh = (off % 4) * 8;
                let m = (((1u64 << (size * 8)) - 1) as u32) << sh;
                let bits = ((v as u32) << sh) & m;
                // a sub-word store is a read-modify-write of its word; CAS keeps neighbours intact
                let _ = a.words[w].fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| {
                    Some((x & !m) | bits)
                });
            }
        }
        Some(())
    }

    /// Atomic read-modify-write of an aligned 32-bit word; returns the old value.
    #[inline]
    pub(crate) fn rmw32(&self, addr: u64, f: impl Fn(u32) -> u32) -> Option<u32> {
        let a = self.find(addr, 4)?;
        let w = &a.words[((addr - a.base) / 4) as usize];
        Some(
            w.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| Some(f(x)))
                .unwrap_or_else(|x| x),
        )
    }

    #[inline]
    pub(crate) fn add32(&self, addr: u64, b: u32) -> Option<u32> {
        let a = self.find(addr, 4)?;
        Some(a.words[((addr - a.base) / 4) as usize].fetch_add(b, Ordering::SeqCst))
    }

    /// 64-bit read-modify-write: serialised by a lock (the words are two `AtomicU32`).
    pub(crate) fn rmw64(&self, addr: u64, f: impl Fn(u64) -> u64) -> Option<u64> {
        self.find(addr, 8)?;
        let _g = self.wide.lock().unwrap_or_else(|e| e.into_inner());
        std::sync::atomic::fence(Ordering::SeqCst);
        let old = self.load(addr, 8)?;
        self.store(addr, 8, f(old))?;
        std::sync::atomic::fence(Ordering::SeqCst);
        Some(old)
    }
}

/// Where a generic address points (PTX ISA 6.4.1).
pub(crate) enum Generic {
    Global(u64),
    Shared(u64),
    Local(u64),
}

#[inline]
pub(crate) fn classify(addr: u64) -> Generic {
    if (SHARED_WINDOW..SHARED_WINDOW + WINDOW_SIZE).contains(&addr) {
        Generic::Shared(addr - SHARED_WINDOW)
    } else if (LOCAL_WINDOW..LOCAL_WINDOW + WINDOW_SIZE).contains(&addr) {
        Generic::Local(addr - LOCAL_WINDOW)
    } else {
        Generic::Global(addr)
    }
}

#[inline]
pub(crate) fn load_bytes(mem: &[u8], off: u64, size: u32) -> Option<u64> {
    let off = usize::try_from(off).ok()?;
    let s = mem.get(off..off.checked_add(size as usize)?)?;
    let mut b = [0u8; 8];
    b[..s.len()].copy_from_slice(s);
    Some(u64::from_le_bytes(b))
}

#[inline]
pub(crate) fn store_bytes(mem: &mut [u8], off: u64, size: u32, v: u64) -> Option<()> {
    let off = usize::try_from(off).ok()?;
    let s = mem.get_mut(off..off.checked_add(size as usize)?)?;
    s.copy_from_slice(&v.to_le_bytes()[..size as usize]);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_and_separated() {
        let mut g = Global::new();
        let a = g.alloc("a", &[1, 2, 3]);
        let b = g.alloc_zeroed("b", 8);
        assert_eq!(a, GLOBAL_BASE);
        assert_eq!(b % 256, 0);
        assert!(b >= a + 3 + GAP);
        assert_eq!(g.load(a + 1, 1), Some(2));
        assert_eq!(g.load(a + 3, 1), None);
        g.store(b + 6, 2, 0xbeef).unwrap();
        assert_eq!(g.read(b, 8).unwrap(), vec![0, 0, 0, 0, 0, 0, 0xef, 0xbe]);
        assert_eq!(g.nearest(a + 10).unwrap().0, "a");
    }
}
