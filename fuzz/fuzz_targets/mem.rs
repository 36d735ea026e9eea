//! An in-memory byte source for the fuzz targets.

use llmrig_formats::{ByteSource, SourceError};

pub struct Mem<'a>(pub &'a [u8]);

impl ByteSource for Mem<'_> {
    fn name(&self) -> String {
        "fuzz".into()
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_at(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, SourceError> {
        let a = usize::try_from(offset).unwrap_or(usize::MAX).min(self.0.len());
        let b = a.saturating_add(len).min(self.0.len());
        Ok(self.0[a..b].to_vec())
    }
    fn bytes_fetched(&self) -> u64 {
        0
    }
}
