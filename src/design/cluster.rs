//! Cluster identifiers: whole-number and text cluster columns renumbered densely, with a
//! fast hash for the keys.

use super::*;
use crate::data::{ColumnData, Dataset, MISSING_CODE};
use crate::error::Result;

/// A multiply-rotate hash for the cluster look-up (the keys are the user's own data, so
/// the default hasher's protection against adversarial keys buys nothing here).
#[derive(Default, Clone, Copy)]
pub(super) struct FastHash;

#[derive(Default)]
pub(super) struct FastHasher(u64);

impl FastHasher {
    pub(super) fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i)
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64)
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

/// Stable identity of a cluster value, so clusters are numbered in sorted order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum ClusterKey<'d> {
    Num(i64, u64),
    Text(&'d str),
}

/// The cluster variable as stored: keys are made row by row when they are needed, not
/// materialised for every row of the dataset.
pub(super) enum ClusterColumn<'d> {
    Num(&'d [f64]),
    Codes(&'d [u32]),
    Text(&'d [Option<String>]),
}

impl<'d> ClusterColumn<'d> {
    pub(super) fn of(ds: &'d Dataset, name: &str) -> Result<ClusterColumn<'d>> {
        let col = ds.column(name).ok_or_else(|| unknown(ds, name))?;
        Ok(match &col.data {
            ColumnData::Numeric(v) => ClusterColumn::Num(v),
            ColumnData::Categorical(f) => ClusterColumn::Codes(&f.codes),
            ColumnData::Text(v) => ClusterColumn::Text(v),
        })
    }

    /// Row `i`'s key (`None`: missing).
    #[inline]
    pub(super) fn key(&self, i: usize) -> Option<ClusterKey<'d>> {
        match self {
            ClusterColumn::Num(v) => {
                let x = v[i];
                // Order by value: integer part, then the bits of the fraction.
                (!x.is_nan()).then(|| ClusterKey::Num(x.floor() as i64, (x - x.floor()).to_bits()))
            }
            ClusterColumn::Codes(c) => (c[i] != MISSING_CODE).then(|| ClusterKey::Num(c[i] as i64, 0)),
            ClusterColumn::Text(v) => v[i].as_deref().map(ClusterKey::Text),
        }
    }

    /// Dense cluster ids of `rows` in sorted order of their values, by table, when every value
    /// is a whole number from 0 to a bound of the order of the row count (city or community
    /// codes, a coded factor); `None` otherwise (the caller then sorts the distinct keys). For
    /// those values the order of the numbers is the order of [`ClusterKey`]s.
    pub(super) fn small_integer_ids(&self, rows: &[usize]) -> Option<(Vec<u32>, usize)> {
        let bound = 4 * rows.len() + 1024;
        let slot = |i: usize| -> Option<usize> {
            match self {
                ClusterColumn::Num(v) => {
                    let x = v[i];
                    (x >= 0.0 && x < bound as f64 && x.fract() == 0.0).then_some(x as usize)
                }
                ClusterColumn::Codes(c) => ((c[i] as usize) < bound).then_some(c[i] as usize),
                ClusterColumn::Text(_) => None,
            }
        };
        let slots: Vec<usize> = rows.iter().map(|&i| slot(i)).collect::<Option<_>>()?;
        let size = slots.iter().max().map_or(0, |&m| m + 1);
        let (table, count) = dense_table(size, slots.iter().copied());
        Some((slots.iter().map(|&s| table[s]).collect(), count))
    }
}

/// Dense ids for the values `slots` (each below `size`): a table from value to id that numbers
/// the values present in increasing order (`u32::MAX` for the absent ones), and their count.
pub(super) fn dense_table(size: usize, slots: impl Iterator<Item = usize>) -> (Vec<u32>, usize) {
    let mut table = vec![u32::MAX; size];
    for s in slots {
        table[s] = 0;
    }
    let mut present = 0u32;
    for t in table.iter_mut().filter(|t| **t == 0) {
        *t = present;
        present += 1;
    }
    (table, present as usize)
}
